#!/usr/bin/env python
"""End-to-end retrain benchmark on MovieLens: load -> read -> pivot -> train -> score -> write -> publish.

Runs the product's own retrain service on a fresh database (a temporary SQLite file unless
--database-url is given, which must point at an empty database) and prints one JSON object.

    .venv/bin/python bench/retrain.py --dataset ../shared/datasets/ml-100k --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--dataset", required=True, help="MovieLens folder (u.data + u.item, or ratings.csv + movies.csv)."
    )
    parser.add_argument("--objective", choices=["completion", "expected_completion"], help="Training objective.")
    parser.add_argument("--architecture", choices=["mlp", "neumf"], help="Network architecture.")
    parser.add_argument("--epochs", type=int, help="Maximum epochs.")
    parser.add_argument("--batch-size", type=int, help="Training batch size.")
    parser.add_argument("--embedding-dim", type=int, help="Embedding size.")
    parser.add_argument("--seed", type=int, help="Random seed.")
    parser.add_argument("--database-url", help="An EMPTY database to use instead of a temporary SQLite file.")
    parser.add_argument("--json", action="store_true", help="Print only the JSON object (default prints it indented).")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-retrain-"))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["MODEL_DIR"] = str(workdir / "models")
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from django.core.management import call_command

    from recommender.services import retrain, train_config_build
    from videos.movielens import movielens_load

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    loaded = movielens_load(args.dataset)
    load_s = time.perf_counter() - started

    config = train_config_build(
        objective=args.objective,
        architecture=args.architecture,
        epochs=args.epochs,
        batch_size=args.batch_size,
        embedding_dim=args.embedding_dim,
        seed=args.seed,
    )
    # Import TensorFlow before the clock starts: a worker process has it loaded already.
    import recommender.ml.train  # noqa: F401

    version = retrain(config=config, triggered_by="benchmark")
    d = version.durations
    result = {
        "dataset": str(Path(args.dataset).resolve().name),
        "database": "postgresql" if (args.database_url or "").startswith("postgres") else "sqlite",
        "objective": version.objective,
        "architecture": version.architecture,
        "events": version.n_events,
        "users": version.n_users,
        "videos": version.n_videos,
        "interactions": version.n_interactions,
        "epochs_run": version.metrics.get("epochs_run"),
        "seconds": {
            "load": round(load_s, 3),
            "read": d.get("read"),
            "pivot": d.get("pivot"),
            "train": d.get("train"),
            "score": d.get("score"),
            "save": d.get("save"),
            "write": d.get("write"),
            "publish": d.get("publish"),
            "retrain": d.get("total"),
            "total": round(load_s + d.get("total", 0.0), 3),
        },
        "events_loaded_per_s": round(loaded.events_created / load_s, 1),
        "events_pivoted_per_s": round(version.n_events / max(d["read"] + d["pivot"], 1e-9), 1),
        "train_samples_per_s": version.metrics.get("train_samples_per_s"),
        "pairs_scored": version.metrics.get("pairs_scored"),
        "pairs_scored_per_s": version.metrics.get("pairs_scored_per_s"),
        "recommendations_written": version.n_recommendations,
        "holdout_rmse_stars": _stars(version.metrics.get("holdout_rmse")),
        "holdout_mae_stars": _stars(version.metrics.get("holdout_mae")),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def _stars(value):
    return round(value * 5, 4) if isinstance(value, (int, float)) else None


if __name__ == "__main__":
    sys.exit(main())
