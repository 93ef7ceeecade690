#!/usr/bin/env python
"""The reference program's recipe against ours, side by side, on MovieLens 100K ``u1.base`` / ``u1.test``.

Three runs on the same data and split, in one process:

* ``reference_recipe`` -- the reference program's way: its network (64-d embeddings, concat,
  Dense 64/32 ReLU, sigmoid; Adam, MSE), Keras ``model.fit`` with batch 64 for 100 epochs, no
  validation, then one ``model.predict`` call per (user, movie) cell.  CAPPED so the benchmark
  ends in minutes: ``--reference-epochs`` (default 5 of the recipe's 100) and
  ``--reference-cells`` per-cell predict calls (default 300); the output says so, reports the
  per-epoch time and per-cell rate, and extrapolates both to the full recipe.  Its RMSE is that
  of the capped model (computed from one batched predict over all test cells: the same numbers
  the per-cell calls return).
* ``ours_reference_network`` -- the same network and objective (preset ``reference``) through our
  training loop (batch 2048, early stopping on a validation share of ``u1.base``) and our
  vectorised numpy scorer.
* ``ours_rating_preset`` -- our tuned rating configuration (preset ``rating``), trained the way
  the product does after its evaluation (early stopping, then refit on all of ``u1.base``).

RMSE / MAE are in stars on every rating of ``u1.test``; the few test ratings of a movie absent
from ``u1.base`` get the user + movie bias baseline's prediction in every run.  Prints one JSON object.

    .venv/bin/python bench/compare_seed_recipe.py --dataset ../shared/datasets/ml-100k --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from common import bias_fallback, fold_pair, peak_rss_mb, predict_test

RECIPE_EPOCHS = 100
RECIPE_BATCH = 64


def _errors(pred: np.ndarray, actual: np.ndarray) -> dict:
    from recommender.ml.metrics import mae, rmse

    return {"rmse_stars": round(rmse(pred, actual) * 5, 4), "mae_stars": round(mae(pred, actual) * 5, 4)}


def reference_recipe(data, test, *, epochs: int, cells: int) -> dict:
    from recommender.ml.config import TrainConfig
    from recommender.ml.train import build_model

    users, videos, completion = data.triples()
    model = build_model(data.n_users, data.n_videos, TrainConfig(objective="completion"))  # the reference network
    started = time.perf_counter()
    model.fit(
        [users[:, None], videos[:, None]],
        completion,
        batch_size=RECIPE_BATCH,
        epochs=epochs,
        verbose=0,
        shuffle=True,
    )
    train_s = time.perf_counter() - started

    _, known = bias_fallback(data, test)
    u = data.user_indices(test.user[known])
    v = data.video_indices(test.item[known])
    n_cells = min(cells, len(u))
    started = time.perf_counter()
    for i in range(n_cells):  # the recipe: one predict call per cell
        model.predict([np.array([[u[i]]]), np.array([[v[i]]])], verbose=0)
    per_cell_s = (time.perf_counter() - started) / max(n_cells, 1)
    batched = model.predict([u[:, None], v[:, None]], verbose=0, batch_size=4096).ravel()
    pred = predict_test(data, test, lambda uu, vv: batched)
    return {
        "capped": True,
        "epochs_run": epochs,
        "epochs_of_recipe": RECIPE_EPOCHS,
        "batch_size": RECIPE_BATCH,
        "train_seconds": round(train_s, 2),
        "seconds_per_epoch": round(train_s / epochs, 2),
        "train_seconds_full_recipe_estimate": round(train_s / epochs * RECIPE_EPOCHS, 1),
        "train_samples_per_s": round(len(users) * epochs / train_s, 1),
        "predict_cells_timed": n_cells,
        "predict_pairs_per_s": round(1 / per_cell_s, 1),
        "predict_seconds_all_test_cells_estimate": round(per_cell_s * len(u), 1),
        "predict_seconds_full_matrix_estimate": round(per_cell_s * data.n_users * data.n_videos, 1),
        **_errors(pred, test.completion),
    }


def ours(data, test, preset: str, *, refit: bool) -> dict:
    from recommender.ml.config import preset_config
    from recommender.ml.score import score_pairs, score_users
    from recommender.ml.train import train_model

    config = preset_config(preset)
    started = time.perf_counter()
    result = train_model(data, config)
    epochs = result.epochs_run
    samples, train_time = result.train_samples, result.train_samples / max(result.samples_per_s, 1e-9)
    if refit:
        result = train_model(data, config.replace(epochs=max(1, result.best_epoch), validation_fraction=0.0))
        samples += result.train_samples
        train_time += result.train_samples / max(result.samples_per_s, 1e-9)
    train_s = time.perf_counter() - started
    model = result.model
    pred = predict_test(data, test, lambda u, v: score_pairs(model, u, v))
    started = time.perf_counter()
    score_users(model, np.arange(data.n_users), n_videos=data.n_videos)  # every cell of the matrix
    full_s = time.perf_counter() - started
    return {
        "preset": preset,
        "config": config.to_dict(),
        "epochs_run": epochs,
        "refit_epochs": result.epochs_run if refit else None,
        "train_seconds": round(train_s, 2),
        "train_samples_per_s": round(samples / train_time, 1),
        "predict_pairs_per_s": round(data.n_users * data.n_videos / full_s, 1),
        "predict_seconds_full_matrix": round(full_s, 3),
        **_errors(pred, test.completion),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="MovieLens 100K folder (u1.base, u1.test).")
    parser.add_argument("--reference-epochs", type=int, default=5, help="Epochs of the recipe to run (of 100).")
    parser.add_argument("--reference-cells", type=int, default=300, help="Per-cell predict calls to time.")
    parser.add_argument("--json", action="store_true", help="Compact JSON (default: indented).")
    args = parser.parse_args(argv)
    if args.reference_epochs < 1 or args.reference_cells < 1:
        parser.error("--reference-epochs and --reference-cells must be at least 1")
    base, test = fold_pair(args.dataset, 1)
    data = base.matrix()
    bias_pred, known = bias_fallback(data, test)
    result = {
        "data": "MovieLens 100K u1.base -> u1.test",
        "train_ratings": data.n_interactions,
        "test_ratings": len(test.user),
        "test_ratings_scored_by_bias_baseline": int((~known).sum()),
        "bias_baseline": _errors(bias_pred, test.completion),
        "reference_recipe": reference_recipe(data, test, epochs=args.reference_epochs, cells=args.reference_cells),
        "ours_reference_network": ours(data, test, "reference", refit=False),
        "ours_rating_preset": ours(data, test, "rating", refit=True),
        "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
