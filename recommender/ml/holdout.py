"""Held-out splits and the baselines measured on them (pure numpy, no TensorFlow); the metrics
themselves are in :mod:`recommender.ml.metrics`.

Splits (:func:`evaluation_split`).  Two held-out sets are carved out of one interaction
matrix, and the model is trained on what is left:

* *ranking* (He et al., 2017, "Neural Collaborative Filtering"): every user with at
  least two watched videos gives up the pair watched most recently; at evaluation it is
  ranked against ``negatives`` (99) videos the user never watched
  (:func:`sample_distinct_unwatched`), giving HR@10 and NDCG@10;
* *rating*: a seeded random share of every user's remaining pairs (each user keeps at
  least one pair for training); RMSE and MAE of the predicted completion.

Baselines on the same split: the global mean and a user + video bias model
(:class:`BiasBaseline`) for rating, most-popular (:func:`popularity_scores`) for ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.ml.data import InteractionMatrix, reduce_duplicates
from recommender.ml.metrics import leave_one_out_metrics, mae, rmse
from recommender.ml.sampling import sample_distinct_unwatched

# ----------------------------------------------------------------------------- splits


@dataclass(frozen=True, eq=False)
class EvaluationSplit:
    """Held-out pairs and the matrix left for training.

    ``train`` has the same users, videos and shape as the full matrix, minus the held-out
    entries; ``held_out`` marks those entries (bool, triples order of the full matrix).
    ``ranked_user`` / ``ranked_video``: the leave-one-out pair of every user
    with at least two pairs.  ``rated_user`` / ``rated_video`` / ``rated_value``: the
    random per-user holdout with the observed completion.
    """

    train: InteractionMatrix
    held_out: np.ndarray
    ranked_user: np.ndarray
    ranked_video: np.ndarray
    rated_user: np.ndarray
    rated_video: np.ndarray
    rated_value: np.ndarray


def pair_last_seen(data: InteractionMatrix, user_ids: Any, video_ids: Any, times: Any) -> np.ndarray:
    """For every stored pair of ``data`` (in :meth:`InteractionMatrix.triples` order), when
    it was last watched, as an order key: larger = later.

    ``user_ids`` / ``video_ids`` / ``times``: one entry per event, external ids (as given
    to :func:`~recommender.ml.data.pivot`), in the order the events were recorded.  The key
    is the position of the pair's latest event in the events sorted by (time, order given),
    so events with equal times count as later when given later.  Pairs without an event get
    ``-inf``.
    """
    t = np.asarray(times, dtype=np.float64).ravel()
    users = data.user_indices(user_ids)
    videos = data.video_indices(video_ids)
    if not (len(users) == len(videos) == len(t)):
        raise ValueError("user_ids, video_ids and times must have the same length")
    m = data.matrix
    rows = np.repeat(np.arange(data.n_users, dtype=np.int64), np.diff(m.indptr))
    stored = rows * data.n_videos + m.indices.astype(np.int64)  # ascending (canonical CSR)
    key = users * data.n_videos + videos
    pos = np.searchsorted(stored, key)
    pos_ok = np.minimum(pos, max(len(stored) - 1, 0))
    if len(stored) == 0 or not np.all(stored[pos_ok] == key):
        raise ValueError("an event refers to a (user, video) pair that is not in the matrix")
    order = np.lexsort((np.arange(len(t)), t))
    rank = np.empty(len(t))
    rank[order] = np.arange(len(t))
    out = np.full(len(stored), -np.inf)
    np.maximum.at(out, pos, rank)
    return out


def matrix_without(data: InteractionMatrix, drop: np.ndarray) -> InteractionMatrix:
    """``data`` minus the stored entries where ``drop`` (bool, triples order) is True;
    same users, videos and shape."""
    drop = np.asarray(drop, dtype=bool)
    m = data.matrix
    if drop.shape != (m.nnz,):
        raise ValueError(f"drop must have one entry per stored pair ({m.nnz}), got shape {drop.shape}")
    keep = ~drop
    rows = np.repeat(np.arange(data.n_users), np.diff(m.indptr))
    indptr = np.zeros(data.n_users + 1, dtype=m.indptr.dtype)
    np.cumsum(np.bincount(rows[keep], minlength=data.n_users), out=indptr[1:])
    matrix = sp.csr_matrix((m.data[keep], m.indices[keep], indptr), shape=m.shape)
    matrix.has_sorted_indices = True
    seen = data.seen[keep] if data.seen is not None else None
    return InteractionMatrix(matrix=matrix, user_ids=data.user_ids, video_ids=data.video_ids, seen=seen)


def evaluation_split(
    data: InteractionMatrix,
    last_seen: Any,
    *,
    holdout_fraction: float,
    seed: int,
    leave_one_out: bool = True,
) -> EvaluationSplit:
    """Leave-one-out pairs plus a random per-user rating holdout (see the module text).

    ``last_seen``: per stored pair (triples order) when it was last watched, e.g. from
    :func:`pair_last_seen`; ties go to the later pair in triples order (higher video
    index).  Each user with ``n >= 2`` pairs gives up its latest pair, then
    ``min(floor(holdout_fraction * (n - 1) + 0.5), n - 2)`` random others, so at least
    one pair per user stays for training.  Seeded: same input, same split.

    ``leave_one_out=False``: no ranking pairs; every user with ``n >= 2`` pairs gives up
    ``min(floor(holdout_fraction * n + 0.5), n - 1)`` random pairs (``last_seen`` may
    then be ``None``).
    """
    if not 0 <= holdout_fraction < 1:
        raise ValueError(f"holdout_fraction must be in [0, 1), got {holdout_fraction!r}")
    m = data.matrix
    seen = np.zeros(m.nnz) if last_seen is None and not leave_one_out else np.asarray(last_seen, dtype=np.float64)
    seen = seen.ravel()
    if seen.shape != (m.nnz,):
        raise ValueError(f"last_seen must have one entry per stored pair ({m.nnz}), got shape {seen.shape}")
    counts = np.diff(m.indptr).astype(np.int64)
    rows = np.repeat(np.arange(data.n_users, dtype=np.int64), counts)
    position = np.arange(m.nnz)
    starts = m.indptr[:-1].astype(np.int64)
    ends = m.indptr[1:].astype(np.int64)

    # Leave-one-out: within each row sort by (last_seen, position); the last one wins.
    order = np.lexsort((position, seen, rows))
    loo = np.zeros(m.nnz, dtype=bool)
    eligible_rows = counts >= 2
    if leave_one_out:
        loo[order[ends[eligible_rows] - 1]] = True

    # Rating holdout: a random ordering inside every row, leave-one-out pair last.
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(m.nnz), loo, rows))
    rank_in_row = np.empty(m.nnz, dtype=np.int64)
    rank_in_row[order] = position - starts[rows[order]]
    n_rest = np.maximum(counts - 1, 0) if leave_one_out else counts
    k = np.minimum(np.floor(holdout_fraction * n_rest + 0.5).astype(np.int64), np.maximum(n_rest - 1, 0))
    k[~eligible_rows] = 0
    rated = ~loo & (rank_in_row < k[rows])

    users, videos, values = data.triples()
    return EvaluationSplit(
        train=matrix_without(data, loo | rated),
        held_out=loo | rated,
        ranked_user=users[loo],
        ranked_video=videos[loo],
        rated_user=users[rated],
        rated_video=videos[rated],
        rated_value=values[rated],
    )


def forward_split(
    data: InteractionMatrix,
    user_idx: Any,
    video_idx: Any,
    completion: Any,
    times: Any,
    *,
    aggregate: str = "max",
) -> tuple[InteractionMatrix, EvaluationSplit]:
    """Evaluate a trained model on what happened *after* it was trained.

    ``data``: the matrix the model learned from.  The other arguments: events that arrived
    since, in the order they were recorded, as indices into ``data``'s users and videos (the
    caller drops events of unknown users or videos).  Events of pairs already in ``data`` are
    ignored; the events of a new pair are reduced to one completion with ``aggregate`` -- pass
    the trained configuration's, so the measurement reads events as the training did -- and
    the pair keeps its latest time.

    Returns ``(combined, split)``: ``combined`` is ``data`` plus the new pairs (negatives
    are drawn from videos unwatched in it); ``split.train`` is ``data`` itself,
    ``split.rated_*`` every new pair, ``split.ranked_*`` each user's latest new pair.
    """
    u = np.asarray(user_idx, dtype=np.int64).ravel()
    v = np.asarray(video_idx, dtype=np.int64).ravel()
    c = np.asarray(completion, dtype=np.float64).ravel()
    t = np.asarray(times, dtype=np.float64).ravel()
    if not (len(u) == len(v) == len(c) == len(t)):
        raise ValueError("user_idx, video_idx, completion and times must have the same length")
    if len(u) and (u.min() < 0 or u.max() >= data.n_users or v.min() < 0 or v.max() >= data.n_videos):
        raise ValueError("event indices out of range of the matrix")
    m = data.matrix
    old_u, old_v, old_c = data.triples()
    fresh = ~data.watched_mask(u)[np.arange(len(u)), v] if len(u) else np.zeros(0, dtype=bool)
    u, v, c, t = u[fresh], v[fresh], c[fresh], t[fresh]
    # New pairs: completion by the aggregation rule, latest time.
    key = u * data.n_videos + v
    uniq, best = reduce_duplicates(key, c, aggregate=aggregate)
    _, last = reduce_duplicates(key, t, aggregate="max")
    new_u, new_v = uniq // data.n_videos, uniq % data.n_videos

    combined_u = np.concatenate([old_u.astype(np.int64), new_u])
    combined_v = np.concatenate([old_v.astype(np.int64), new_v])
    combined_c = np.concatenate([old_c.astype(np.float64), best])
    matrix = sp.csr_matrix((combined_c.astype(np.float32), (combined_u, combined_v)), shape=m.shape, dtype=np.float32)
    matrix.sum_duplicates()  # none exist; makes the structure canonical (sorted indices)
    combined = InteractionMatrix(matrix=matrix, user_ids=data.user_ids, video_ids=data.video_ids)

    # Latest new pair per user: sort by (user, time, video) and take each user's last.
    order = np.lexsort((new_v, last, new_u))
    is_last = np.ones(len(order), dtype=bool)
    is_last[:-1] = new_u[order][1:] != new_u[order][:-1]
    ranked = order[is_last]
    split = EvaluationSplit(
        train=data,
        held_out=np.zeros(m.nnz, dtype=bool),
        ranked_user=new_u[ranked].astype(np.int32),
        ranked_video=new_v[ranked].astype(np.int32),
        rated_user=new_u.astype(np.int32),
        rated_video=new_v.astype(np.int32),
        rated_value=best.astype(np.float32),
    )
    return combined, split


# ----------------------------------------------------------------------------- baselines


@dataclass(frozen=True, eq=False)
class BiasBaseline:
    """``mean + user_bias[u] + video_bias[v]``, clipped to [0, 1]: the "baseline only"
    predictor (Koren, 2010), fitted by alternating least squares with the shrinkage
    Surprise's ``BaselineOnly`` uses by default (``reg_video=10``, ``reg_user=15``, 10
    epochs; video biases first)."""

    mean: float
    user_bias: np.ndarray
    video_bias: np.ndarray

    @classmethod
    def fit(
        cls, data: InteractionMatrix, *, reg_user: float = 15.0, reg_video: float = 10.0, epochs: int = 10
    ) -> BiasBaseline:
        users, videos, values = data.triples()
        if len(values) == 0:
            raise ValueError("cannot fit a bias baseline on zero pairs")
        y = values.astype(np.float64)
        mean = float(y.mean())
        n_u = np.bincount(users, minlength=data.n_users)
        n_v = np.bincount(videos, minlength=data.n_videos)
        bu = np.zeros(data.n_users)
        bv = np.zeros(data.n_videos)
        for _ in range(epochs):
            bv = np.bincount(videos, weights=y - mean - bu[users], minlength=data.n_videos) / (reg_video + n_v)
            bu = np.bincount(users, weights=y - mean - bv[videos], minlength=data.n_users) / (reg_user + n_u)
        return cls(mean=mean, user_bias=bu, video_bias=bv)

    def predict(self, users: Any, videos: Any) -> np.ndarray:
        u = np.asarray(users, dtype=np.int64)
        v = np.asarray(videos, dtype=np.int64)
        return np.clip(self.mean + self.user_bias[u] + self.video_bias[v], 0.0, 1.0)


def popularity_scores(data: InteractionMatrix, *, seed: int | None = None) -> np.ndarray:
    """Most-popular scores: how many users watched each video (float64, per video index).

    With ``seed``, equally popular videos are ordered by a seeded random permutation
    (a jitter in [0, 0.5) is added), so ties do not all count against the held-out item.
    """
    counts = np.bincount(data.matrix.indices, minlength=data.n_videos).astype(np.float64)
    if seed is not None:
        counts += np.random.default_rng(seed).random(data.n_videos) * 0.5
    return counts


# ----------------------------------------------------------------------------- one split

ScoreFn = Any  # callable (user_idx int array, video_idx int array) -> float array of scores


def split_metrics(
    score_fn: ScoreFn,
    data: InteractionMatrix,
    split: EvaluationSplit,
    *,
    negatives: int = 99,
    k: int = 10,
    seed: int = 0,
    max_ranked_users: int | None = None,
) -> dict[str, Any]:
    """Metrics of a model (``score_fn``) trained on ``split.train``, with baselines.

    Keys (absent when the split has no pairs of that kind):

    * rating: ``rmse``, ``mae``, ``n_rated``; ``baseline_mean_rmse`` (global mean of the
      training part), ``baseline_bias_rmse``, ``baseline_bias_mae`` (:class:`BiasBaseline`);
    * ranking: ``hr_at_<k>``, ``ndcg_at_<k>``, ``n_ranked``, ``negatives`` (the number of
      sampled unwatched videos per user; fewer where a user has fewer unwatched), and
      ``baseline_popular_hr_at_<k>``, ``baseline_popular_ndcg_at_<k>``;
    * ``scores_finite``: False if the model produced a NaN or infinite score for any
      evaluated pair -- the model metrics are then ``None``.

    Negatives are drawn from videos the user never watched in ``data`` (the full matrix),
    seeded by ``seed``; ``max_ranked_users`` caps the ranked users (a seeded sample) to
    bound the cost on very large data.
    """
    out: dict[str, Any] = {}
    finite = True
    rng = np.random.default_rng(seed)
    if len(split.rated_user):
        actual = split.rated_value.astype(np.float64)
        pred = np.asarray(score_fn(split.rated_user, split.rated_video), dtype=np.float64)
        ok = bool(np.all(np.isfinite(pred)))
        finite &= ok
        out["rmse"] = rmse(pred, actual) if ok else None
        out["mae"] = mae(pred, actual) if ok else None
        out["n_rated"] = len(actual)
        train_values = split.train.matrix.data.astype(np.float64)
        out["baseline_mean_rmse"] = rmse(np.full(len(actual), train_values.mean()), actual)
        bias = BiasBaseline.fit(split.train).predict(split.rated_user, split.rated_video)
        out["baseline_bias_rmse"] = rmse(bias, actual)
        out["baseline_bias_mae"] = mae(bias, actual)
    if len(split.ranked_user):
        users, positives = split.ranked_user.astype(np.int64), split.ranked_video.astype(np.int64)
        if max_ranked_users is not None and len(users) > max_ranked_users:
            pick = np.sort(rng.choice(len(users), size=max_ranked_users, replace=False))
            users, positives = users[pick], positives[pick]
        neg = sample_distinct_unwatched(data, users, negatives, rng)
        valid = neg >= 0
        rows = np.broadcast_to(users[:, None], neg.shape)
        pos_scores = np.asarray(score_fn(users, positives), dtype=np.float64)
        neg_scores = np.full(neg.shape, np.nan)
        neg_scores[valid] = score_fn(rows[valid], neg[valid])
        ok = bool(np.all(np.isfinite(pos_scores)) and np.all(np.isfinite(neg_scores[valid])))
        finite &= ok
        if ok:
            out.update(leave_one_out_metrics(pos_scores, neg_scores, k))
        else:
            out.update({f"hr_at_{k}": None, f"ndcg_at_{k}": None})
        out["n_ranked"] = len(users)
        out["negatives"] = int(valid.sum(axis=1).max()) if valid.size else 0
        pop = popularity_scores(split.train, seed=seed)
        pop_neg = np.where(valid, pop[np.maximum(neg, 0)], np.nan)
        baseline = leave_one_out_metrics(pop[positives], pop_neg, k)
        out.update({f"baseline_popular_{name}": value for name, value in baseline.items()})
    out["scores_finite"] = finite
    return out
