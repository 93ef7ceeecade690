"""Is the viewer-facing "match" figure honest? A calibration table by decile on MovieLens 100K.

Holds out a random share of every viewer's watches (``evaluation_split``, as a retrain does), trains
the configuration on the rest, scores the held-out pairs, fits the isotonic map of
``recommender.calibration`` on one half of them and reports, on the *other* half, the observed
completion (rating / 5) by decile of the figure: honest means it rises with the figure and sits
close to it. Prints JSON.

    .venv/bin/python bench/calibration.py --dataset /work/shared/datasets/ml-100k [--preset NAME] [--epochs N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time

import numpy as np
from common import read_ratings

from recommender.calibration import calibration_fit, calibration_table, match_of
from recommender.ml.config import TrainConfig, preset_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="MovieLens 100K folder (u.data).")
    parser.add_argument("--preset", default=None, help="Configuration preset (default: the site's default config).")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--holdout", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    from recommender.ml.holdout import evaluation_split
    from recommender.ml.recent import recent_affinity
    from recommender.ml.score import score_pairs
    from recommender.ml.train import train_model

    started = time.perf_counter()
    ratings = read_ratings(args.dataset)
    data = ratings.matrix()
    seen = ratings.last_seen(data)
    data = data.with_seen(seen)  # the splits keep it: recency and recent_boost read it
    split = evaluation_split(data, seen, holdout_fraction=args.holdout, seed=args.seed)
    config = preset_config(args.preset) if args.preset else TrainConfig(objective="expected_completion")
    if args.epochs is not None:
        config = config.replace(epochs=args.epochs)
    model = train_model(split.train, config).model
    affinity = recent_affinity(model, split.train, config)  # the scores the feeds show, as a retrain fits them
    scores = score_pairs(model, split.rated_user, split.rated_video, affinity=affinity).astype(np.float64)
    completions = np.asarray(split.rated_value, dtype=np.float64)
    rng = np.random.default_rng(args.seed)
    fit_half = rng.random(len(scores)) < 0.5
    calibration = calibration_fit(scores[fit_half], completions[fit_half])
    if calibration is None:
        raise SystemExit("too few held-out pairs to calibrate")
    test_scores, test_completions = scores[~fit_half], completions[~fit_half]
    table = calibration_table(test_scores, test_completions, calibration)
    figures = np.array([match_of(calibration, float(s)) for s in test_scores])
    observed = [row["observed_completion"] for row in table]
    out = {
        "dataset": os.path.abspath(args.dataset),
        "objective": config.objective,
        "architecture": config.architecture,
        "epochs": config.epochs,
        "held_out_pairs": len(scores),
        "fit_pairs": int(fit_half.sum()),
        "test_pairs": int((~fit_half).sum()),
        "raw_score_mean": round(float(scores.mean()), 4),
        "observed_completion_mean": round(float(completions.mean()), 4),
        "figure_mean_abs_error": round(float(np.abs(figures - test_completions).mean()), 4),
        "constant_mean_abs_error": round(float(np.abs(completions[fit_half].mean() - test_completions).mean()), 4),
        "observed_rises_with_figure": bool(all(b >= a for a, b in itertools.pairwise(observed))),
        "spearman_figure_vs_observed": round(float(_spearman(figures, test_completions)), 4),
        "deciles": table,
        "seconds": round(time.perf_counter() - started, 1),
        "load": os.getloadavg(),
    }
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a, kind="stable"), kind="stable")
    rb = np.argsort(np.argsort(b, kind="stable"), kind="stable")
    return float(np.corrcoef(ra, rb)[0, 1])


if __name__ == "__main__":
    raise SystemExit(main())
