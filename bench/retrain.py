#!/usr/bin/env python
"""End-to-end retrain benchmark and model quality on MovieLens (read where you keep it).

1. Timed, on a fresh database (a temporary SQLite file unless --database-url names an EMPTY
   database): load the ratings file (``manage.py load_movielens``'s service), then the product's
   own retrain -- read, pivot, evaluate (held-out split), train the published model, score every
   (user, unwatched movie) pair, write the top N per user, publish.  ``seconds.total`` is that
   whole road, load to publish.
2. Ranking quality (not timed): the NCF paper's leave-one-out protocol on the full ratings file
   with the retrain's configuration -- HR@10, NDCG@10, and under ``baselines.ranking`` most-popular,
   EASE and implicit ALS on the same split and sampled negatives (``bench/baselines.py``);
   ``--loo-ties both`` measures both tie rules.
3. Rating quality (not timed, MovieLens 100K only): RMSE / MAE in stars on ``u1.test`` (or the
   mean over ``u1``..``u5`` with ``--folds 5``) of the ``--rating-preset`` configuration, trained
   on the matching ``.base`` file, with the bias baseline on the same folds.

Prints one JSON object.

    .venv/bin/python bench/retrain.py --dataset ../shared/datasets/ml-100k --folds 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, fold_rmse, leave_one_out, peak_rss_mb


def main(argv: list[str] | None = None) -> int:
    from recommender.ml.config import ARCHITECTURES, OBJECTIVES, PRESETS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--dataset", required=True, help="MovieLens folder (u.data + u.item, or ratings.csv + movies.csv)."
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), help="Configuration preset of the timed retrain.")
    parser.add_argument("--objective", choices=OBJECTIVES, help="Training objective of the timed retrain.")
    parser.add_argument("--architecture", choices=ARCHITECTURES, help="Network architecture.")
    parser.add_argument("--epochs", type=int, help="Maximum epochs.")
    parser.add_argument("--batch-size", type=int, help="Training batch size.")
    parser.add_argument("--embedding-dim", type=int, help="Embedding size.")
    parser.add_argument("--seed", type=int, help="Random seed.")
    parser.add_argument(
        "--folds", type=int, choices=[0, 1, 5], default=1, help="RMSE on u1 (1), u1..u5 (5) or not at all (0)."
    )
    parser.add_argument(
        "--rating-preset", choices=sorted(PRESETS), default="rating", help="Configuration of the RMSE figure."
    )
    parser.add_argument("--no-ranking", action="store_true", help="Skip the leave-one-out ranking run.")
    parser.add_argument(
        "--loo-ties",
        choices=["recorded", "movie_id", "both"],
        default="recorded",
        help="Ratings sharing a user's latest timestamp: hold out the one recorded last (default) or the "
        "one with the highest movie id (a harder variant); both: one run of each (the top-level figures "
        "are the recorded-order ones).",
    )
    parser.add_argument("--database-url", help="An EMPTY database to use instead of a temporary SQLite file.")
    parser.add_argument("--json", action="store_true", help="Print compact JSON (default: indented).")
    args = parser.parse_args(argv)
    dataset = Path(args.dataset)
    if args.folds and not (dataset / "u1.base").exists():
        parser.error(f"{dataset} has no u1.base: RMSE folds need MovieLens 100K (or pass --folds 0)")

    workdir = Path(tempfile.mkdtemp(prefix="bench-retrain-"))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["MODEL_DIR"] = str(workdir / "models")
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CACHE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings")
    # An offline run on a throwaway database: the development settings (and key) are fine.
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.chdir(ROOT)

    import django

    django.setup()
    from django.core.management import call_command

    from recommender.ml.config import preset_config
    from recommender.services import retrain, train_config_build
    from videos.movielens import movielens_load

    config = train_config_build(
        preset=args.preset,
        objective=args.objective,
        architecture=args.architecture,
        epochs=args.epochs,
        batch_size=args.batch_size,
        embedding_dim=args.embedding_dim,
        seed=args.seed,
    )
    call_command("migrate", verbosity=0)
    # Import TensorFlow before the clock starts: a worker process has it loaded already.
    import recommender.ml.train  # noqa: F401

    started = time.perf_counter()
    loaded = movielens_load(dataset)
    load_s = time.perf_counter() - started
    version = retrain(config=config, triggered_by="benchmark", force=True)
    d = version.durations
    m = version.metrics
    result: dict = {
        "dataset": dataset.resolve().name,
        "database": "postgresql" if (args.database_url or "").startswith("postgres") else "sqlite",
        "cpus": os.cpu_count(),
        "config": version.hyperparameters,
        "events": version.n_events,
        "users": version.n_users,
        "videos": version.n_videos,
        "interactions": version.n_interactions,
        "seconds": {
            "load": round(load_s, 3),
            "read": d.get("read"),
            "pivot": d.get("pivot"),
            "evaluate": d.get("evaluate"),
            "train": d.get("train"),
            "save": d.get("save"),
            "score": d.get("score"),
            "write": d.get("write"),
            "prepare": d.get("prepare"),
            "publish": d.get("publish"),
            "retrain": d.get("total"),
            "total": round(load_s + d.get("total", 0.0), 3),
        },
        "epochs": {"evaluation": m.get("evaluation_epochs_run"), "published_model": m.get("epochs_run")},
        "events_loaded_per_s": round(loaded.events_created / load_s, 1),
        "train_samples_per_s": m.get("train_samples_per_s"),
        "peak_rss_mb_after_retrain": round(peak_rss_mb(), 1),
        "pairs_scored": m.get("pairs_scored"),
        "pairs_scored_per_s": m.get("pairs_scored_per_s"),
        "recommendations_written": version.n_recommendations,
        "version_status": version.status,
        # The figures the product recorded on the version (held-out split of the retrain itself).
        "version_metrics": {
            k: m.get(k)
            for k in (
                "hr_at_10",
                "ndcg_at_10",
                "rmse",
                "mae",
                "n_ranked",
                "n_rated",
                "coverage_at_10",
                "users_served_share",
                "baseline_popular_hr_at_10",
                "baseline_popular_ndcg_at_10",
                "baseline_bias_rmse",
                "schedule",
                "recent_boost_applied",
                "recent_order_gap",
                "recent_order_z",
                "refit_epochs",
                "refit_warm",
            )
        },
    }
    baselines: dict = {}
    if not args.no_ranking:
        rules = ["recorded", "movie_id"] if args.loo_ties == "both" else [args.loo_ties]
        for ties in rules:
            loo = leave_one_out(dataset, config, ties=ties, baselines=True)
            ranking = {name: loo.pop(name) for name in ("hr_at_10", "ndcg_at_10")}
            if ties == rules[0]:
                result.update(**ranking, leave_one_out=loo)
                baselines.update(popular_hr_at_10=loo["popular_hr_at_10"], popular_ndcg_at_10=loo["popular_ndcg_at_10"])
            loo.update(ranking)
            # On the same split and the same sampled negatives as the model: most-popular, EASE, ALS.
            baselines.setdefault("ranking", {})[ties] = loo.pop("baselines")
            result.setdefault("ranking_by_ties", {})[ties] = loo
    if args.folds:
        rating_config = preset_config(args.rating_preset, **({"seed": args.seed} if args.seed is not None else {}))
        folds = [fold_rmse(dataset, f, rating_config) for f in range(1, args.folds + 1)]
        result.update(
            rating_config=rating_config.to_dict(),
            rmse_stars=round(statistics.mean(f["rmse_stars"] for f in folds), 4),
            mae_stars=round(statistics.mean(f["mae_stars"] for f in folds), 4),
            rmse_stars_folds=[f["rmse_stars"] for f in folds],
            mae_stars_folds=[f["mae_stars"] for f in folds],
            folds=folds,
        )
        baselines.update(
            bias_rmse_stars=round(statistics.mean(f["bias_rmse_stars"] for f in folds), 4),
            bias_mae_stars=round(statistics.mean(f["bias_mae_stars"] for f in folds), 4),
        )
    result["baselines"] = baselines
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
