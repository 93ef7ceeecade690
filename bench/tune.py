#!/usr/bin/env python
"""Hyper-parameter search on a VALIDATION split of MovieLens 100K (never the test split).

Two tasks, each with a fixed list of named candidates (configuration overrides):

* ``rating`` -- objective ``completion``.  Data: ``u1.base`` (``--folds 1,2,3``: each of those
  base files in turn; never a ``.test`` file); a seeded random 10 % of every user's ratings
  in it is the validation set.  Figure: validation RMSE in stars (mean over the folds).
* ``ranking`` -- objective ``expected_completion``.  Data: ``u.data``; every user's
  latest rating is the *test* pair (left untouched here), their second latest the
  validation pair, ranked against 99 sampled never-watched movies.  Figures: validation
  HR@10 / NDCG@10.

Early stopping inside training uses train_model's own validation split, carved from
the training part.  Prints one JSON object: {"task", "results": [...]}.

    .venv/bin/python bench/tune.py --dataset ../shared/datasets/ml-100k --task rating --json

``--average K`` measures a candidate as the mean prediction of K models trained with consecutive
seeds (what averaging several seeds would give).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from common import read_ratings
from pretrain import pretrained_neumf

from recommender.ml.config import PRESETS, TrainConfig
from recommender.ml.holdout import BiasBaseline, evaluation_split, split_metrics
from recommender.ml.metrics import rmse


def _preset_candidate(preset: str, base: dict[str, Any]) -> dict[str, Any]:
    """A shipped preset as a candidate: its settings that differ from the task's base."""
    return {name: value for name, value in PRESETS[preset].items() if base.get(name) != value}


# A candidate's key that is not a TrainConfig field: pre-train GMF for this many epochs and the MLP,
# then train NeuMF from both (bench/pretrain.py).
PRETRAIN = "pretrain_gmf_epochs"


RATING_BASE = {"objective": "completion", "epochs": 150, "patience": 10}
RATING: dict[str, dict[str, Any]] = {
    # Round 1: the reference network and light regularisation (all stop within ~15 epochs).
    "reference": {},
    "reference-b256": {"batch_size": 256},
    "mlp-bias": {"use_bias": True},
    "mlp-bias-l2-1e-5": {"use_bias": True, "l2": 1e-5},
    "mlp-bias-l2-1e-4": {"use_bias": True, "l2": 1e-4},
    "mlp-bias-rows-1e-3": {"use_bias": True, "l2_rows": 1e-3},
    "mlp-bias-rows-1e-2": {"use_bias": True, "l2_rows": 1e-2},
    "mlp-bias-dropout-0.3": {"use_bias": True, "dropout": 0.3},
    "neumf-bias-l2-1e-4": {"architecture": "neumf", "use_bias": True, "l2": 1e-4},
    # Round 2: strong L2 on the embedding tables, trained for longer.
    "mlp-bias-l2-1e-3": {"use_bias": True, "l2": 1e-3},
    "neumf-bias-l2-5e-4": {"architecture": "neumf", "use_bias": True, "l2": 5e-4},
    "neumf-bias-l2-1e-3": {"architecture": "neumf", "use_bias": True, "l2": 1e-3},
    "neumf-bias-l2-2e-3": {"architecture": "neumf", "use_bias": True, "l2": 2e-3},
    "neumf-bias-l2-1e-3-d128": {"architecture": "neumf", "use_bias": True, "l2": 1e-3, "embedding_dim": 128},
    "neumf-bias-l2-2e-3-d128": {"architecture": "neumf", "use_bias": True, "l2": 2e-3, "embedding_dim": 128},
    "neumf-bias-l2-1e-3-d256": {"architecture": "neumf", "use_bias": True, "l2": 1e-3, "embedding_dim": 256},
    # Round 3 (validated on u1, u2, u3.base): smaller tower, per-example L2 on top.
    "neumf-bias-l2-1e-3-h32": {"architecture": "neumf", "use_bias": True, "l2": 1e-3, "hidden_units": [32, 16]},
    "neumf-bias-l2-1e-3-rows1e-3": {"architecture": "neumf", "use_bias": True, "l2": 1e-3, "l2_rows": 1e-3},
    # Round 4: an exponential moving average of the weights (validated on u1, u2, u3.base).
    "neumf-bias-l2-1e-3-ema0.99": {"architecture": "neumf", "use_bias": True, "l2": 1e-3, "ema": 0.99},
    "neumf-bias-l2-1e-3-ema0.995": {"architecture": "neumf", "use_bias": True, "l2": 1e-3, "ema": 0.995},
    "neumf-bias-l2-1e-3-ema0.999": {"architecture": "neumf", "use_bias": True, "l2": 1e-3, "ema": 0.999},
    # The winner, shipped as the "rating" preset (read from there, so the two cannot drift apart).
    "neumf-bias-l2-1e-3-d128-ema0.99": _preset_candidate("rating", RATING_BASE),
    "neumf-bias-l2-1e-3-decay": {
        "architecture": "neumf",
        "use_bias": True,
        "l2": 1e-3,
        "learning_rate": 2e-3,
        "lr_decay": 0.97,
    },
    # Round 4 (issue 13): the preset with the viewer's rated movies pooled into the user vector (the
    # implicit-feedback term of SVD++; ``user_history`` bags).
    "rating-history32": {**_preset_candidate("rating", RATING_BASE), "user_history": 32},
    "rating-history128": {**_preset_candidate("rating", RATING_BASE), "user_history": 128},
}

RANKING_BASE = {"objective": "expected_completion", "epochs": 40, "patience": 3}
# The "ranking" preset as rounds 4 to 8 measured it (before round 9 added ``recency``); the
# candidates of those rounds vary it.
RANKING_ROUND4: dict[str, Any] = {
    "architecture": "neumf",
    "negatives": 8,
    "l2": 1e-6,
    "batch_size": 4096,
    "learning_rate": 2e-3,
    "ema": 0.99,
}
# ... and as round 9 shipped it (round 10 adds ``recent_boost`` at scoring, bench/recent_sweep.py).
RANKING_ROUND9: dict[str, Any] = {**RANKING_ROUND4, "recency": 0.9}
RANKING: dict[str, dict[str, Any]] = {
    # Round 1: architecture, negatives, regularisation, sizes, learning rate.
    "mlp-default": {},
    "mlp-bias": {"use_bias": True},
    "mlp-neg8": {"negatives": 8},
    "neumf-default": {"architecture": "neumf"},
    "neumf-neg8": {"architecture": "neumf", "negatives": 8},
    "neumf-l2-1e-6": {"architecture": "neumf", "l2": 1e-6},
    "neumf-d32": {"architecture": "neumf", "embedding_dim": 32},
    "neumf-lr3e-3": {"architecture": "neumf", "learning_rate": 3e-3},
    "neumf-neg8-l2-1e-6": {"architecture": "neumf", "negatives": 8, "l2": 1e-6},
    "neumf-neg8-b1024": {"architecture": "neumf", "negatives": 8, "batch_size": 1024},
    "neumf-neg8-h128": {"architecture": "neumf", "negatives": 8, "hidden_units": [128, 64]},
    # Round 2: around neumf-l2-1e-6 with 4 negatives (half the training time of 8).
    "neumf-l2-1e-5": {"architecture": "neumf", "l2": 1e-5},
    "neumf-l2-1e-6-b512": {"architecture": "neumf", "l2": 1e-6, "batch_size": 512},
    "neumf-l2-1e-6-lr2e-3": {"architecture": "neumf", "l2": 1e-6, "learning_rate": 2e-3},
    "neumf-l2-1e-6-h3": {"architecture": "neumf", "l2": 1e-6, "hidden_units": [128, 64, 32]},
    "neumf-l2-1e-6-d128": {"architecture": "neumf", "l2": 1e-6, "embedding_dim": 128},
    # Round 3: 8 negatives at a larger batch (fewer steps per epoch: faster on CPU).
    "neumf-neg8-l2-1e-6-b4096-lr2e-3": {
        "architecture": "neumf",
        "negatives": 8,
        "l2": 1e-6,
        "batch_size": 4096,
        "learning_rate": 2e-3,
    },
    "neumf-neg6-l2-1e-6": {"architecture": "neumf", "negatives": 6, "l2": 1e-6},
    "neumf-l2-1e-6-b4096-lr2e-3": {"architecture": "neumf", "l2": 1e-6, "batch_size": 4096, "learning_rate": 2e-3},
    # Round 4: the chosen one with a moving average of the weights; the winner, shipped as the
    # "ranking" preset.
    "neumf-neg8-l2-1e-6-b4096-lr2e-3-ema0.99": RANKING_ROUND4,
    "neumf-neg8-l2-1e-6-b4096-lr2e-3-ema0.999": {
        "architecture": "neumf",
        "negatives": 8,
        "l2": 1e-6,
        "batch_size": 4096,
        "learning_rate": 2e-3,
        "ema": 0.999,
    },
    # Round 5 (issue 13): around the shipped preset -- a sampled-softmax term, more negatives.
    "ranking-listwise1": {**RANKING_ROUND4, "listwise": 1.0},
    "ranking-listwise0.3": {**RANKING_ROUND4, "listwise": 0.3},
    "ranking-neg16": {**RANKING_ROUND4, "negatives": 16},
    "ranking-neg16-listwise1": {**RANKING_ROUND4, "negatives": 16, "listwise": 1.0},
    "ranking-history64": {**RANKING_ROUND4, "user_history": 64},
    "ranking-history256": {**RANKING_ROUND4, "user_history": 256},
    # Round 8 (issue 13): the NCF paper's pre-training (bench/pretrain.py): GMF for this many
    # epochs and the MLP, then NeuMF from both.
    "ranking-pretrained": {**RANKING_ROUND4, PRETRAIN: 15},
    # Round 9 (issue 13): a viewer's recent watches weighted up (TrainConfig.recency); 0.9 is the
    # shipped "ranking" preset.
    "ranking-recency0.5": {**RANKING_ROUND4, "recency": 0.5},
    "ranking-recency0.9": RANKING_ROUND9,
    "ranking-recency1": {**RANKING_ROUND4, "recency": 1.0},
    # Round 10 (issue 13): videos like the viewer's latest watches ranked higher at scoring
    # (TrainConfig.recent_boost; the grid in bench/recent_sweep.py); the shipped "ranking" preset.
    "ranking-recent3-boost4": _preset_candidate("ranking", RANKING_BASE),
    # Round 6 (issue 14): cheaper trainings of the shipped preset at the same quality.
    "ranking-d32": {**RANKING_ROUND4, "embedding_dim": 32},
    "ranking-d48": {**RANKING_ROUND4, "embedding_dim": 48},
    "ranking-patience2": {**RANKING_ROUND4, "patience": 2},
    "ranking-b8192-lr4e-3": {**RANKING_ROUND4, "batch_size": 8192, "learning_rate": 4e-3},
    # ... both: what the medium-data schedule (recommender.ml.schedule) makes of the preset.
    "ranking-b8192-lr4e-3-patience2": {
        **RANKING_ROUND4,
        "batch_size": 8192,
        "learning_rate": 4e-3,
        "patience": 2,
    },
}


def _config(base: dict, overrides: dict) -> TrainConfig:
    return TrainConfig().replace(**{**base, **{k: v for k, v in overrides.items() if k != PRETRAIN}})


def _score_fn(model: Any, data: Any, config: TrainConfig) -> Callable[[Any, Any], np.ndarray]:
    """The candidate's scores as the feeds rank: with ``recent_boost`` when it sets one."""
    from recommender.ml.recent import recent_affinity
    from recommender.ml.score import score_pairs

    affinity = recent_affinity(model, data, config)
    return lambda u, v: score_pairs(model, np.asarray(u), np.asarray(v), affinity=affinity)


def _trained(
    data: Any, config: TrainConfig, average: int, pretrain: int = 0
) -> tuple[Callable[[Any, Any], np.ndarray], list[Any]]:
    """A candidate trained ``average`` times (seeds ``config.seed``, ``+1``, ...): the mean of the
    models' predictions, and the trainings' results; ``pretrain``: GMF epochs of the pre-training."""
    from recommender.ml.train import train_model

    def one(c: TrainConfig) -> Any:
        return pretrained_neumf(data, c, pretrain) if pretrain else train_model(data, c)

    results = [one(config.replace(seed=config.seed + k)) for k in range(average)]
    scorers = [_score_fn(result.model, data, config) for result in results]
    if len(scorers) == 1:
        return scorers[0], results
    return lambda u, v: np.mean([score(u, v) for score in scorers], axis=0), results


def tune_rating(dataset: str, names: list[str], seed: int, folds: list[int], average: int = 1) -> list[dict]:
    """Validation RMSE (stars) of each candidate, averaged over the ``u<f>.base`` files of ``folds``."""
    splits = []
    for fold in folds:
        data = read_ratings(dataset, f"u{fold}.base").matrix()
        splits.append(evaluation_split(data, None, holdout_fraction=0.1, seed=seed, leave_one_out=False))
    bias = [rmse(BiasBaseline.fit(s.train).predict(s.rated_user, s.rated_video), s.rated_value) * 5 for s in splits]
    results = [{"name": "bias-baseline", "val_rmse_stars": round(float(np.mean(bias)), 4), "folds": folds}]
    for name in names:
        config = _config(RATING_BASE, RATING[name]).replace(seed=seed)
        t0 = time.perf_counter()
        per_fold, epochs = [], []
        for split in splits:
            score, trained = _trained(split.train, config, average)
            per_fold.append(rmse(score(split.rated_user, split.rated_video), split.rated_value) * 5)
            epochs += [result.best_epoch for result in trained]
        results.append(
            {
                "name": name,
                "overrides": RATING[name],
                "val_rmse_stars": round(float(np.mean(per_fold)), 4),
                "val_rmse_stars_folds": [round(x, 4) for x in per_fold],
                "best_epochs": epochs,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
        print(json.dumps(results[-1]), file=sys.stderr)
    return results


def tune_ranking(dataset: str, names: list[str], seed: int, folds: list[int], average: int = 1) -> list[dict]:
    ratings = read_ratings(dataset)
    full = ratings.matrix()
    seen = ratings.last_seen(full)
    full = full.with_seen(seen)  # the splits keep it: TrainConfig.recency reads it
    test = evaluation_split(full, seen, holdout_fraction=0.0, seed=seed)
    # Validation: the latest pair of what is left once the test pair is gone.
    val = evaluation_split(test.train, seen[~test.held_out], holdout_fraction=0.0, seed=seed)
    results = []
    for name in names:
        config = _config(RANKING_BASE, RANKING[name]).replace(seed=seed)
        t0 = time.perf_counter()
        score, trained = _trained(val.train, config, average, RANKING[name].get(PRETRAIN, 0))
        metrics = split_metrics(score, full, val, seed=seed)
        results.append(
            {
                "name": name,
                "overrides": RANKING[name],
                "val_hr_at_10": round(metrics["hr_at_10"], 4),
                "val_ndcg_at_10": round(metrics["ndcg_at_10"], 4),
                "popular_hr_at_10": round(metrics["baseline_popular_hr_at_10"], 4),
                "popular_ndcg_at_10": round(metrics["baseline_popular_ndcg_at_10"], 4),
                "epochs_run": [result.epochs_run for result in trained],
                "best_epochs": [result.best_epoch for result in trained],
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
        print(json.dumps(results[-1]), file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="MovieLens 100K folder (u.data, u1.base).")
    parser.add_argument("--task", choices=["rating", "ranking"], required=True)
    parser.add_argument("--only", help="Comma-separated candidate names (default: all of the task).")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--folds", default="1", help="rating: comma-separated u<f>.base files to validate on (default 1)."
    )
    parser.add_argument(
        "--average",
        type=int,
        default=1,
        help="Train each candidate this many times (seeds --seed, +1, ...) and measure the mean of their"
        " predictions (default: %(default)s, one model).",
    )
    parser.add_argument("--json", action="store_true", help="Compact JSON (default: indented).")
    args = parser.parse_args(argv)
    table = RATING if args.task == "rating" else RANKING
    names = args.only.split(",") if args.only else list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        parser.error(f"unknown candidate(s) {', '.join(unknown)}; known: {', '.join(table)}")
    run = tune_rating if args.task == "rating" else tune_ranking
    folds = [int(f) for f in args.folds.split(",")]
    if not set(folds) <= {1, 2, 3, 4, 5}:
        parser.error("--folds takes numbers 1..5")
    if args.average < 1:
        parser.error("--average takes a whole number of at least 1")
    results = run(args.dataset, names, args.seed, folds, args.average)
    out = {"task": args.task, "seed": args.seed, "average": args.average, "results": results}
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
