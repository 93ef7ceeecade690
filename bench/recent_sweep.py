#!/usr/bin/env python
"""How far to rank videos like a viewer's latest watches higher (``TrainConfig.recent_boost`` and
``recent_window``), measured on a VALIDATION split of MovieLens 100K (never the test split).

The boost is applied at scoring only, so one training per seed serves the whole grid: the
``ranking`` preset is trained as a retrain trains it (the size-adapted schedule of
``recommender.ml.schedule``) on ``u.data`` without every user's latest rating (the test pair, left
untouched) nor their second latest (the validation pair), and every (window, boost) of the grid
ranks the validation pair against 99 sampled never-watched movies (``boost`` 0: the model alone).
Prints one JSON object: {"seed", "results": [{"window", "boost", "val_hr_at_10", ...}]}.

    .venv/bin/python bench/recent_sweep.py --dataset ../shared/datasets/ml-100k --seed 42 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import read_ratings

from recommender.ml.config import preset_config
from recommender.ml.holdout import evaluation_split, split_metrics
from recommender.ml.recent import recent_affinity
from recommender.ml.schedule import LARGE_DATA_MIN_SAMPLES, schedule_for
from recommender.ml.score import score_pairs
from recommender.ml.train import train_model


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",")]


def sweep(dataset: str, seed: int, windows: list[int], boosts: list[float]) -> list[dict]:
    ratings = read_ratings(dataset)
    full = ratings.matrix()
    seen = ratings.last_seen(full)
    full = full.with_seen(seen)
    test = evaluation_split(full, seen, holdout_fraction=0.0, seed=seed)
    val = evaluation_split(test.train, seen[~test.held_out], holdout_fraction=0.0, seed=seed)
    config = preset_config("ranking", seed=seed)
    config = schedule_for(config, val.train.n_interactions, min_samples=LARGE_DATA_MIN_SAMPLES).config
    started = time.perf_counter()
    model = train_model(val.train, config).model
    trained_s = round(time.perf_counter() - started, 2)
    grid = [(0, 0.0)] + [(w, b) for w in windows for b in boosts if b > 0]
    results = []
    for window, boost in grid:
        affinity = recent_affinity(model, val.train, config.replace(recent_boost=boost, recent_window=max(window, 1)))
        metrics = split_metrics(lambda u, v, a=affinity: score_pairs(model, u, v, affinity=a), full, val, seed=seed)
        results.append(
            {
                "window": window,
                "boost": boost,
                "val_hr_at_10": round(metrics["hr_at_10"], 4),
                "val_ndcg_at_10": round(metrics["ndcg_at_10"], 4),
                "train_seconds": trained_s,
            }
        )
        print(json.dumps(results[-1]), file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="MovieLens 100K folder (u.data).")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--windows", type=_ints, default=[3, 5, 8, 12], help="recent_window values (default 3,5,8,12).")
    parser.add_argument("--boosts", type=_floats, default=[2, 3, 4, 6], help="recent_boost values (default 2,3,4,6).")
    parser.add_argument("--json", action="store_true", help="Compact JSON (default: indented).")
    args = parser.parse_args(argv)
    if min(args.windows) < 1 or min(args.boosts) < 0:
        parser.error("--windows takes whole numbers >= 1, --boosts numbers >= 0")
    out = {"seed": args.seed, "results": sweep(args.dataset, args.seed, args.windows, args.boosts)}
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
