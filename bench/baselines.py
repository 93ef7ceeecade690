#!/usr/bin/env python
"""Ranking baselines on the product's leave-one-out split and sampled negatives (no Django).

Each baseline is fitted on ``split.train`` (the matrix without the held-out pairs) and measured by
:func:`recommender.ml.holdout.split_metrics` with the same seed as the model, so it ranks the same
held-out pair of every user against the same 99 sampled negatives:

* ``popular`` -- how many users watched each video (ties by a seeded random order);
* ``ease`` -- EASE (Steck, 2019): closed-form item-item weights ``B = I - P / diag(P)`` with
  ``P = (X'X + lambda I)^-1`` on the binary watched matrix ``X``; score ``X B``;
* ``als`` -- implicit-feedback ALS (Hu, Koren and Volinsky, 2008) from the ``implicit`` package
  (a development-only dependency, requirements-dev.txt), on the binary watched matrix.

    .venv/bin/python bench/baselines.py --dataset ../shared/datasets/ml-100k --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import loo_split

from recommender.ml.data import InteractionMatrix
from recommender.ml.holdout import EvaluationSplit, split_metrics

ScoreFn = Callable[[Any, Any], np.ndarray]


def _binary(data: InteractionMatrix) -> sp.csr_matrix:
    m = data.matrix
    return sp.csr_matrix((np.ones(m.nnz, np.float32), m.indices, m.indptr), shape=m.shape)


def _dense_scorer(scores: np.ndarray) -> ScoreFn:
    return lambda u, v: scores[np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)]


def ease_scores(data: InteractionMatrix, lam: float = 300.0) -> np.ndarray:
    """EASE's score of every (user, video) pair of ``data`` (dense, float64)."""
    x = _binary(data)
    gram = (x.T @ x).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += lam
    p = np.linalg.inv(gram)
    b = -p / np.diag(p)
    b[np.diag_indices_from(b)] = 0.0
    return np.asarray(x @ b)


def als_scores(
    data: InteractionMatrix, *, factors: int = 32, regularization: float = 0.05, alpha: float = 1.0, seed: int = 0
) -> np.ndarray:
    """Implicit ALS's score of every (user, video) pair of ``data`` (dense, float32)."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    model = AlternatingLeastSquares(
        factors=factors,
        regularization=regularization,
        alpha=alpha,
        iterations=15,
        random_state=seed,
        num_threads=int(os.environ.get("BENCH_THREADS", "2")),
    )
    with threadpool_limits(1, "blas"):
        model.fit(_binary(data), show_progress=False)
    return np.asarray(model.user_factors @ model.item_factors.T)


def baseline_metrics(
    data: InteractionMatrix,
    split: EvaluationSplit,
    *,
    seed: int,
    negatives: int = 99,
    ease_lambda: float = 300.0,
    als_factors: int = 32,
) -> dict[str, dict[str, Any]]:
    """``{name: {"hr_at_10", "ndcg_at_10", "seconds", ...}}`` of every baseline on ``split``.

    ``data``: the full matrix (negatives are drawn from videos unwatched in it, as for the model);
    ``seed``: the model's seed, so the sampled negatives are the same."""
    fits: dict[str, tuple[Callable[[], np.ndarray], dict[str, Any]]] = {
        "ease": (lambda: ease_scores(split.train, ease_lambda), {"lambda": ease_lambda}),
        "als": (lambda: als_scores(split.train, factors=als_factors, seed=seed), {"factors": als_factors}),
    }
    out: dict[str, dict[str, Any]] = {}
    popular = split_metrics(lambda u, v: np.zeros(len(u)), data, split, negatives=negatives, seed=seed)
    out["popular"] = {
        "hr_at_10": round(popular["baseline_popular_hr_at_10"], 4),
        "ndcg_at_10": round(popular["baseline_popular_ndcg_at_10"], 4),
    }
    for name, (fit, params) in fits.items():
        started = time.perf_counter()
        try:
            scores = fit()
        except ImportError as exc:  # implicit is a development-only dependency
            out[name] = {"error": str(exc)}
            continue
        seconds = time.perf_counter() - started
        m = split_metrics(_dense_scorer(scores), data, split, negatives=negatives, seed=seed)
        out[name] = {
            "hr_at_10": round(m["hr_at_10"], 4),
            "ndcg_at_10": round(m["ndcg_at_10"], 4),
            "fit_seconds": round(seconds, 2),
            **params,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="MovieLens folder (u.data or ratings.csv).")
    parser.add_argument("--seed", type=int, default=42, help="Split and negatives seed (the model's seed).")
    parser.add_argument("--ease-lambda", type=float, default=300.0)
    parser.add_argument("--als-factors", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="Compact JSON (default: indented).")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"seed": args.seed}
    for ties in ("recorded", "movie_id"):
        data, split = loo_split(args.dataset, ties=ties, seed=args.seed)
        result[ties] = baseline_metrics(
            data, split, seed=args.seed, ease_lambda=args.ease_lambda, als_factors=args.als_factors
        )
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
