"""Offline metrics (pure numpy): RMSE and MAE of completion, and the leave-one-out ranking metrics.

Ranking metrics use the leave-one-out convention: for every test user one held-out item is ranked
among candidates, and ``ranks`` holds its 0-based position (0 = ranked first).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _pair(pred: Any, actual: Any) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64).ravel()
    a = np.asarray(actual, dtype=np.float64).ravel()
    if p.shape != a.shape:
        raise ValueError(f"pred and actual differ in size: {p.size} vs {a.size}")
    if p.size == 0:
        raise ValueError("cannot compute an error metric over zero values")
    return p, a


def rmse(pred: Any, actual: Any) -> float:
    """Root mean squared error."""
    p, a = _pair(pred, actual)
    return float(np.sqrt(np.mean((p - a) ** 2)))


def mae(pred: Any, actual: Any) -> float:
    """Mean absolute error."""
    p, a = _pair(pred, actual)
    return float(np.mean(np.abs(p - a)))


def _ranks(ranks: Any, k: int) -> np.ndarray:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    r = np.asarray(ranks).ravel()
    if r.size == 0:
        raise ValueError("cannot compute a ranking metric over zero users")
    if r.dtype.kind not in "iu" or r.min() < 0:
        raise ValueError("ranks must be non-negative integers (0-based positions)")
    return r.astype(np.int64)


def hit_rate_at_k(ranks: Any, k: int) -> float:
    """Fraction of users whose held-out item is in the top ``k`` (rank < k)."""
    r = _ranks(ranks, k)
    return float(np.mean(r < k))


def ndcg_at_k(ranks: Any, k: int) -> float:
    """Mean NDCG@k with one relevant item per user: ``1 / log2(rank + 2)`` if
    rank < k else 0 (the ideal DCG is 1)."""
    r = _ranks(ranks, k)
    gains = np.where(r < k, 1.0 / np.log2(r + 2.0), 0.0)
    return float(np.mean(gains))


def catalog_coverage(top_video_index: Any, n_videos: int) -> float:
    """Share of the catalogue that appears in at least one recommendation list.

    ``top_video_index``: any-shaped integer array of recommended video indices;
    negative entries are padding and ignored.
    """
    if not isinstance(n_videos, (int, np.integer)) or n_videos < 1:
        raise ValueError(f"n_videos must be an integer >= 1, got {n_videos!r}")
    idx = np.asarray(top_video_index).ravel()
    if idx.size and idx.dtype.kind not in "iu":
        raise ValueError("top_video_index must contain integers")
    idx = idx[idx >= 0]
    if idx.size and idx.max() >= n_videos:
        raise ValueError(f"video index {int(idx.max())} out of range [0, {n_videos})")
    return float(np.unique(idx).size / n_videos)


# ----------------------------------------------------------------------------- ranking


def ranks_against_negatives(positive_scores: Any, negative_scores: Any) -> np.ndarray:
    """0-based rank of each user's held-out item among its sampled negatives.

    ``positive_scores`` (n,), ``negative_scores`` (n, m); ``NaN`` negatives are padding
    and ignored.  Ties count against the held-out item (a negative scored equal to it
    ranks above it), so a model that scores everything alike cannot look good.
    """
    pos = np.asarray(positive_scores, dtype=np.float64).ravel()
    neg = np.asarray(negative_scores, dtype=np.float64)
    if neg.ndim != 2 or neg.shape[0] != pos.size:
        raise ValueError(f"negative_scores must be ({pos.size}, m), got shape {neg.shape}")
    if not np.all(np.isfinite(pos)):
        raise ValueError("positive scores must be finite")
    return np.sum(neg >= pos[:, None], axis=1).astype(np.int64)  # NaN >= x is False


def leave_one_out_metrics(positive_scores: Any, negative_scores: Any, k: int = 10) -> dict[str, float]:
    """``{"hr_at_<k>", "ndcg_at_<k>"}`` of :func:`ranks_against_negatives`."""
    ranks = ranks_against_negatives(positive_scores, negative_scores)
    return {f"hr_at_{k}": hit_rate_at_k(ranks, k), f"ndcg_at_{k}": ndcg_at_k(ranks, k)}
