"""How the published model should be trained after the held-out evaluation: measured on the watch
that comes *next*.

A retrain evaluates its configuration on a held-out split, then publishes a model trained on every
pair. This benchmark reproduces that on a MovieLens-shaped folder with one more level of hold-out:

1. every viewer's latest watch is set aside as the *future* (never seen by any model below);
2. on the rest, the retrain's own evaluation runs (``offline_evaluate``: latest watch of the rest
   and a random 10 % held out, early stopping) and records its figures;
3. the published model is made each way the product can make it -- ``none`` (publish the evaluated
   model, ``RECOMMENDER_REFIT=false``), ``cold`` (a fresh model for the evaluated one's epochs, the
   default) and ``warm-N`` (the evaluated model trained N more epochs on every pair,
   ``RECOMMENDER_REFIT_WARM_EPOCHS=N``) -- and each is timed;
4. each published model ranks every viewer's future watch against 99 never-watched videos:
   HR@10 and NDCG@10 (the NCF paper's protocol), the quality viewers get.

Prints one JSON object.

    .venv/bin/python bench/refit.py --dataset ../shared/datasets/ml-100k --warm 1 2 4 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import loo_last_seen, peak_rss_mb  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="MovieLens folder (u.data or ratings.csv).")
    parser.add_argument("--preset", default="ranking", help="Configuration preset (default: the retrain's).")
    parser.add_argument("--seed", type=int, default=42, help="Seed of the splits and the training.")
    parser.add_argument("--warm", type=int, nargs="*", default=[1, 2, 4], help="Warm-refit epoch counts to try.")
    parser.add_argument("--no-cold", action="store_true", help="Skip the cold refit (the slowest variant).")
    parser.add_argument("--max-ranked-users", type=int, default=20_000, help="Viewers ranked in each measurement.")
    parser.add_argument(
        "--large-data-samples",
        type=int,
        default=None,
        help="Samples per epoch from which the large-data schedule applies, as RECOMMENDER_LARGE_DATA_SAMPLES "
        "(default: the product's default; 0 = never).",
    )
    parser.add_argument("--json", action="store_true", help="Print only the JSON object.")
    args = parser.parse_args(argv)
    if not Path(args.dataset).is_dir():
        parser.error(f"--dataset: {args.dataset} is not a folder")
    if any(n < 1 for n in args.warm):
        parser.error("--warm: epoch counts must be at least 1")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    from recommender.ml.config import preset_config
    from recommender.ml.holdout import evaluation_split, split_metrics
    from recommender.ml.offline import offline_evaluate, warm_start_weights
    from recommender.ml.schedule import LARGE_DATA_MIN_SAMPLES, schedule_for
    from recommender.ml.score import score_pairs
    from recommender.ml.train import train_model

    data, seen = loo_last_seen(args.dataset)
    future = evaluation_split(data, seen, holdout_fraction=0.0, seed=args.seed)
    past = future.train
    past_seen = np.asarray(seen)[~future.held_out]
    min_samples = LARGE_DATA_MIN_SAMPLES if args.large_data_samples is None else args.large_data_samples
    schedule = schedule_for(preset_config(args.preset, seed=args.seed), past.n_interactions, min_samples=min_samples)
    config = schedule.config

    def quality(model) -> dict:
        measured = split_metrics(
            lambda u, v: score_pairs(model, np.asarray(u), np.asarray(v)),
            data,
            future,
            negatives=99,
            k=10,
            seed=args.seed,
            max_ranked_users=args.max_ranked_users,
        )
        return {key: round(measured[key], 4) for key in ("hr_at_10", "ndcg_at_10")}

    started = time.perf_counter()
    evaluation = offline_evaluate(
        past, past_seen, config, holdout_fraction=0.1, negatives=99, k=10, max_ranked_users=args.max_ranked_users
    )
    evaluated = evaluation.result
    best = max(1, evaluated.best_epoch)
    report: dict = {
        "dataset": str(args.dataset),
        "viewers": data.n_users,
        "videos": data.n_videos,
        "pairs": int(data.matrix.nnz),
        "config": {
            "preset": args.preset,
            "seed": args.seed,
            "epochs_max": config.epochs,
            "large_data_schedule": schedule.describe(preset_config(args.preset, seed=args.seed)),
        },
        "recorded_evaluation": {
            "hr_at_10": round(evaluation.metrics["hr_at_10"], 4),
            "ndcg_at_10": round(evaluation.metrics["ndcg_at_10"], 4),
            "best_epoch": evaluated.best_epoch,
            "seconds": round(time.perf_counter() - started, 1),
        },
        "published": {"none": {"train_seconds": 0.0, **quality(evaluated.model)}},
    }
    if not args.no_cold:
        t0 = time.perf_counter()
        cold = train_model(past, config.replace(epochs=best, validation_fraction=0.0))
        report["published"]["cold"] = {
            "epochs": best,
            "train_seconds": round(time.perf_counter() - t0, 1),
            **quality(cold.model),
        }
    weights = warm_start_weights(evaluated.model, config)
    for n in args.warm if weights is not None else []:
        t0 = time.perf_counter()
        warm = train_model(
            past,
            config.replace(
                epochs=n, validation_fraction=0.0, learning_rate=config.learning_rate * config.lr_decay**best
            ),
            initial_weights=weights,
        )
        report["published"][f"warm-{n}"] = {
            "epochs": n,
            "train_seconds": round(time.perf_counter() - t0, 1),
            **quality(warm.model),
        }
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(report, indent=None if args.json else 2))
    return report


if __name__ == "__main__":
    main()
