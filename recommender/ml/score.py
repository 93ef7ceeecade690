"""Scoring with a trained model: pairs, full rows and per-user top-N lists, in numpy.

No ``model.predict``: the model's architecture (``recommender.ml.architectures``) supplies its
numpy forward pass; this module runs it over pairs or over blocks of users x all videos, on
several threads, and picks the top-N with their reasons.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import expit
from threadpoolctl import threadpool_limits

from recommender.ml.architectures import Forward, forward_of
from recommender.ml.architectures.base import CHUNK_PAIRS, unit_rows
from recommender.ml.data import InteractionMatrix, as_index_array
from recommender.ml.recent import RecentAffinity

if TYPE_CHECKING:
    import keras


class NonFiniteScoresError(ValueError):
    """The model produced NaN scores (a diverged training); nothing should be published."""


def _score_rows(
    net: Forward, users: np.ndarray, video_part: np.ndarray, affinity: RecentAffinity | None = None
) -> np.ndarray:
    """Probabilities (len(users), n_videos) for full rows."""
    logits = net.row_logits(users, video_part)
    if affinity is not None:
        logits += affinity.row_logits(users)
    return expit(logits)


def score_pairs(
    model: keras.Model, user_idx: Any, video_idx: Any, *, affinity: RecentAffinity | None = None
) -> np.ndarray:
    """Scores (float32, in [0, 1]) of arbitrary (user index, video index) pairs;
    equals ``model.predict`` to float32 rounding.  ``affinity``: the viewers' latest watches added
    to each logit (``recommender.ml.recent``; the scores then rank as the feeds do)."""
    net = forward_of(model)
    users = as_index_array(user_idx, net.n_users, "user_idx")
    videos = as_index_array(video_idx, net.n_videos, "video_idx")
    if users.shape != videos.shape:
        raise ValueError(f"user_idx and video_idx differ in length: {len(users)} vs {len(videos)}")
    n = len(users)
    out = np.empty(n, dtype=np.float32)
    # Many pairs: precompute both halves for everyone once, then gather.
    tables = net.pair_tables() if n >= net.n_users + net.n_videos else None
    for s in range(0, n, CHUNK_PAIRS):
        u, v = users[s : s + CHUNK_PAIRS], videos[s : s + CHUNK_PAIRS]
        logits = net.pair_logits(u, v, tables)
        if affinity is not None:
            logits = logits + affinity.pair_logits(u, v)
        out[s : s + len(u)] = expit(logits)
    return out


def score_users(
    model: keras.Model, user_idx_array: Any, *, n_videos: int, affinity: RecentAffinity | None = None
) -> np.ndarray:
    """Full score rows ``(len(user_idx_array), n_videos)`` float32 (``affinity``: see
    :func:`score_pairs`)."""
    net = forward_of(model)
    if n_videos != net.n_videos:
        raise ValueError(f"model scores {net.n_videos} videos, not {n_videos}")
    users = as_index_array(user_idx_array, net.n_users, "user_idx_array")
    vp = net.video_part()
    out = np.empty((len(users), n_videos), dtype=np.float32)
    block = max(1, 2_000_000 // max(n_videos, 1))
    for s in range(0, len(users), block):
        out[s : s + block] = _score_rows(net, users[s : s + block], vp, affinity)
    return out


def video_embeddings(model: keras.Model) -> np.ndarray:
    """Video representation used for "because you watched" similarity, float32
    ``(n_videos, d)``: the video vectors of the model's architecture."""
    return forward_of(model).video_vectors()


# A watched video can explain a recommendation only if the viewer got this far through it
# (unless they finished nothing that far: then any watched video may).
REASON_MIN_COMPLETION = 0.5


@dataclass
class TopN:
    """Top-N lists for a set of users (rows), best first.

    ``user_index`` (n,): the user row of each list.  ``video_index`` (n, k) int32,
    ``-1`` where the user has fewer than k candidate videos.  ``score`` (n, k) float32,
    ``NaN`` in padding.  ``reason_index`` (n, k) int32: for each recommendation the
    user's watched video most similar to it (cosine similarity of
    :func:`video_embeddings`), ``-1`` in padding or when the user watched nothing.
    Ties in score go to the lower video index, ties in similarity to the lower
    watched index.
    """

    user_index: np.ndarray
    video_index: np.ndarray
    score: np.ndarray
    reason_index: np.ndarray


def candidate_count(n_videos: int, *, top_n: int, from_videos: int, share: float) -> int | None:
    """How many candidates per viewer the full network ranks (``score_top_n(candidates=...)``):
    ``None`` (every video) below ``from_videos`` videos (``0``: never retrieve), else ``share`` of
    the catalogue, at least four times ``top_n``."""
    if from_videos <= 0 or n_videos < from_videos:
        return None
    wanted = max(int(np.ceil(share * n_videos)), 4 * top_n)
    return wanted if wanted < n_videos else None


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic per-row top-k of ``scores`` (``-inf`` = excluded): columns and
    values, sorted by score descending then column ascending.  Width min(k, n_cols)."""
    nb, nv = scores.shape
    kk = min(k, nv)
    if kk < nv:
        part = np.argpartition(scores, nv - kk, axis=1)[:, nv - kk :]
        threshold = np.take_along_axis(scores, part, axis=1).min(axis=1)[:, None]
        # argpartition picks arbitrarily among values equal to the threshold; take the
        # lowest columns among those instead, so the result never depends on it.
        above = scores > threshold
        need = kk - above.sum(axis=1, keepdims=True)
        equal = scores == threshold
        keep = above | (equal & (np.cumsum(equal, axis=1) <= need))
        cols = np.nonzero(keep)[1].reshape(nb, kk)  # ascending within each row
    else:
        cols = np.broadcast_to(np.arange(nv), (nb, nv))
    vals = np.take_along_axis(scores, cols, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(cols, order, axis=1), np.take_along_axis(vals, order, axis=1)


def score_top_n(
    model: keras.Model,
    data: InteractionMatrix,
    *,
    top_n: int = 50,
    user_indices: np.ndarray | None = None,
    exclude_watched: bool = True,
    block_pairs: int = 2_000_000,
    threads: int | None = None,
    reason_eligible: np.ndarray | None = None,
    reason_min_similarity: float | None = None,
    candidates: int | None = None,
    affinity: RecentAffinity | None = None,
) -> TopN:
    """Top-``top_n`` videos for every user (or the rows ``user_indices``: a shard),
    with the watched video that explains each recommendation.

    Scores blocks of at most ``~block_pairs`` (user, video) pairs (``block_pairs /
    n_videos`` users, at least one), on ``threads`` threads (default: the CPUs this
    process may use), each block on one thread with single-threaded BLAS: coarse
    blocks keep every core busy without the spin-waiting that makes a multi-threaded
    BLAS collapse when the cores are shared with other work.  The rows of a shard
    equal the same rows of a full run, except that scores may differ in the last
    float32 bit (BLAS chooses its kernels by block shape), so two candidates within
    ~1e-7 of each other may swap places.  ``exclude_watched`` drops every video with an
    entry in ``data.matrix`` for that user (explicit 0.0 included).

    Reasons: by default the most similar watched video, preferring those watched at least
    ``REASON_MIN_COMPLETION`` through.  With ``reason_min_similarity`` the rule is strict: only
    such well-watched videos that ``reason_eligible`` (bool per video index; e.g. not a short
    clip) allows may explain a pick, and a pick whose most similar one has a cosine below
    ``reason_min_similarity`` gets no reason (``-1``).

    ``candidates``: rank only this many videos per viewer with the full network, retrieved by the
    cheap first-order score of :meth:`~recommender.ml.architectures.base.Forward.candidate_logits`
    (a large catalogue); ``None`` or at least the catalogue's size: every video.  The scores kept are
    the full network's either way.

    ``affinity``: the viewers' latest watches added to every logit before ranking
    (``recommender.ml.recent``); the kept scores include it.
    """
    if not isinstance(top_n, (int, np.integer)) or isinstance(top_n, bool) or top_n < 1:
        raise ValueError(f"top_n must be an integer >= 1, got {top_n!r}")
    if block_pairs < 1:
        raise ValueError(f"block_pairs must be >= 1, got {block_pairs!r}")
    threads = _cpu_threads() if threads is None else threads
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    net = forward_of(model)
    if (net.n_users, net.n_videos) != (data.n_users, data.n_videos):
        raise ValueError(f"model is for {net.n_users}x{net.n_videos}, data is {data.n_users}x{data.n_videos}")
    users = (
        np.arange(data.n_users, dtype=np.int64)
        if user_indices is None
        else as_index_array(user_indices, data.n_users, "user_indices")
    )
    n, nv = len(users), data.n_videos
    video_index = np.full((n, top_n), -1, dtype=np.int32)
    score = np.full((n, top_n), np.nan, dtype=np.float32)
    reason_index = np.full((n, top_n), -1, dtype=np.int32)

    indptr, indices, completions = data.matrix.indptr, data.matrix.indices, data.matrix.data
    eligible = None if reason_eligible is None else np.asarray(reason_eligible, dtype=bool)
    if eligible is not None and eligible.shape != (nv,):
        raise ValueError(f"reason_eligible must have one entry per video ({nv}), got shape {eligible.shape}")
    if candidates is not None and (not isinstance(candidates, (int, np.integer)) or candidates < top_n):
        raise ValueError(f"candidates must be an integer >= top_n ({top_n}), got {candidates!r}")
    retrieve = candidates is not None and candidates < nv
    emb = unit_rows(net.video_vectors())
    vp = net.video_part()
    cheap = net.candidate_part() if retrieve else None
    # Enough blocks for every thread (a few each, for balance), none above block_pairs.
    block = max(1, min(block_pairs // nv, -(-n // (4 * threads)) if threads > 1 else n))

    def full_scores(rows: np.ndarray) -> np.ndarray:
        scores = _score_rows(net, rows, vp, affinity)
        if np.isnan(scores).any():
            raise NonFiniteScoresError("model produced NaN scores (diverged training?)")
        if exclude_watched:
            scores[data.watched_mask(rows)] = -np.inf
        return scores

    def retrieved_top(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top ``top_n`` among the ``candidates`` videos of each viewer the cheap score ranks first."""
        assert cheap is not None and candidates is not None
        rough = net.candidate_logits(rows, cheap)
        if affinity is not None:
            rough += affinity.row_logits(rows)
        if exclude_watched:
            rough[data.watched_mask(rows)] = -np.inf
        picked, rough_vals = _top_k(rough, int(candidates))
        logits = net.candidate_pair_logits(rows, picked, vp)
        if affinity is not None:
            logits += affinity.gathered_logits(rows, picked)
        exact = expit(logits)
        if np.isnan(exact).any():
            raise NonFiniteScoresError("model produced NaN scores (diverged training?)")
        exact[rough_vals == -np.inf] = -np.inf  # a watched video is never a candidate
        # Ties in exact score go to the lower video index, as without retrieval.
        order = np.argsort(picked, axis=1, kind="stable")
        picked, exact = np.take_along_axis(picked, order, axis=1), np.take_along_axis(exact, order, axis=1)
        cols, vals = _top_k(exact, top_n)
        return np.take_along_axis(picked, cols, axis=1), vals

    def run(s: int) -> None:
        # Each call writes only its own rows of the output arrays.
        rows = users[s : s + block]
        cols, vals = retrieved_top(rows) if retrieve else _top_k(full_scores(rows), top_n)
        valid = vals > -np.inf
        width = cols.shape[1]
        video_index[s : s + len(rows), :width] = np.where(valid, cols, -1)
        score[s : s + len(rows), :width] = np.where(valid, vals, np.nan)
        # Reasons: per user a (k x watched) cosine matrix -- small, so a plain loop.
        for i, u in enumerate(rows):
            watched = indices[indptr[u] : indptr[u + 1]]
            rec = cols[i][valid[i]]
            if len(watched) == 0 or len(rec) == 0:
                continue
            # "Because you watched X" should name something the viewer liked: prefer videos they
            # got at least REASON_MIN_COMPLETION through, when there are any.
            reason_index[s + i, : len(rec)] = reasons_for(
                rec,
                watched,
                completions[indptr[u] : indptr[u + 1]],
                emb,
                eligible=eligible,
                min_similarity=reason_min_similarity,
            )

    starts = range(0, n, block)
    with threadpool_limits(limits=1, user_api="blas"):
        if threads == 1 or len(starts) == 1:
            for s in starts:
                run(s)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(run, starts))  # re-raises the first failure
    return TopN(user_index=users, video_index=video_index, score=score, reason_index=reason_index)


def reasons_for(
    picks: np.ndarray,
    watched: np.ndarray,
    completions: np.ndarray,
    unit_vectors: np.ndarray,
    *,
    eligible: np.ndarray | None = None,
    min_similarity: float | None = None,
) -> np.ndarray:
    """For each pick (video indices) the watched video (index) that explains it, or ``-1``.

    The most similar watched video by cosine (``unit_vectors``: unit rows per video), among those
    watched at least ``REASON_MIN_COMPLETION`` through.  Default: when there is none such, among all
    watched videos.  Strict (``min_similarity`` given): only such well-watched videos that
    ``eligible`` allows (bool per video index), and none when the best cosine is below
    ``min_similarity``.  Ties go to the first watched video.
    """
    watched = np.asarray(watched)
    liked = watched[np.asarray(completions) >= REASON_MIN_COMPLETION]
    if min_similarity is None:
        pool = liked if len(liked) else watched
    else:
        pool = liked if eligible is None else liked[eligible[liked]]
    if len(pool) == 0 or len(picks) == 0:
        return np.full(len(picks), -1, dtype=np.int64)
    similarity = unit_vectors[picks] @ unit_vectors[pool].T
    best = np.argmax(similarity, axis=1)
    named = pool[best].astype(np.int64)
    if min_similarity is not None:
        named = np.where(similarity[np.arange(len(best)), best] >= min_similarity, named, -1)
    return named


def _cpu_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def model_is_finite(model: keras.Model) -> bool:
    """True when every weight the scorer uses is finite (a diverged training is not)."""
    return all(bool(np.all(np.isfinite(a))) for a in forward_of(model).arrays())
