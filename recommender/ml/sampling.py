"""Sampling of *unwatched* videos (numpy only, no TensorFlow).

Training draws negatives with replacement every epoch (:class:`NegativeSampler`); the
leave-one-out evaluation needs, per user, a fixed set of *distinct* unwatched videos
(:func:`sample_distinct_unwatched`).  Both rest on one exact, vectorised mapping from
"the r-th unwatched video of user u" to a video index (:meth:`NegativeSampler.unwatched_at`).
"""

from __future__ import annotations

import numpy as np

from recommender.ml.data import InteractionMatrix

# Samples drawn per block by ``NegativeSampler.sample``.
SAMPLE_BLOCK = 4_000_000


class NegativeSampler:
    """Uniform sampling of *unwatched* videos for given users, exact and vectorised.

    For a user whose sorted watched list is ``w_0 < w_1 < ...``, the ``r``-th unwatched
    video is ``r + k`` where ``k = #{i : w_i - i <= r}``; ``w_i - i`` is non-decreasing
    within a row, so offsetting rows by ``user * n_videos`` makes one global sorted
    array and ``k`` is a single ``searchsorted`` -- no rejection loop.
    """

    def __init__(self, data: InteractionMatrix) -> None:
        m = data.matrix
        self.n_videos = data.n_videos
        self.indptr = m.indptr.astype(np.int64)
        counts = np.diff(self.indptr)
        rows = np.repeat(np.arange(data.n_users, dtype=np.int64), counts)
        rank_in_row = np.arange(m.nnz, dtype=np.int64) - self.indptr[rows]
        self.keys = rows * self.n_videos + (m.indices.astype(np.int64) - rank_in_row)
        self.unwatched = self.n_videos - counts

    def unwatched_at(self, users: np.ndarray, ranks: np.ndarray) -> np.ndarray:
        """Video index of the ``ranks[i]``-th (0-based) unwatched video of ``users[i]``;
        callers guarantee ``0 <= ranks[i] < unwatched[users[i]]``."""
        users = users.astype(np.int64)
        ranks = ranks.astype(np.int64)
        k = np.searchsorted(self.keys, users * self.n_videos + ranks, side="right")
        k -= self.indptr[users]
        return ranks + k

    def sample(self, users: np.ndarray, per_user: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``per_user`` negatives (with replacement) for every entry of ``users``; users
        who watched the whole catalogue get none."""
        users = np.asarray(users)
        out_users: list[np.ndarray] = []
        out_videos: list[np.ndarray] = []
        # In blocks: the int64 temporaries of tens of millions of samples would cost gigabytes. The
        # generator draws the same numbers in blocks as in one call, so the result does not change.
        step = max(1, SAMPLE_BLOCK // max(per_user, 1))
        for start in range(0, max(len(users), 1), step):
            block = np.repeat(users[start : start + step].astype(np.int64), per_user)
            free = self.unwatched[block]
            block = block[free > 0]
            free = free[free > 0]
            r = (rng.random(len(block)) * free).astype(np.int64)
            np.minimum(r, free - 1, out=r)  # guard the float edge case random() * n == n
            out_users.append(block.astype(np.int32))
            out_videos.append(self.unwatched_at(block, r).astype(np.int32))
        return np.concatenate(out_users), np.concatenate(out_videos)


def redraw_excluded(
    sampler: NegativeSampler,
    users: np.ndarray,
    videos: np.ndarray,
    excluded: np.ndarray,
    rng: np.random.Generator,
    tries: int = 8,
) -> np.ndarray:
    """``videos`` (sampled negatives of ``users``) with the ones where ``excluded[video]`` drawn
    again, up to ``tries`` times (what is still excluded then stays)."""
    videos = videos.copy()
    for _ in range(tries):
        hit = np.flatnonzero(excluded[videos])
        if len(hit) == 0:
            break
        u = users[hit].astype(np.int64)
        free = sampler.unwatched[u]
        r = np.minimum((rng.random(len(u)) * free).astype(np.int64), np.maximum(free - 1, 0))
        videos[hit] = sampler.unwatched_at(u, r)
    return videos


def sample_grouped(
    sampler: NegativeSampler, users: np.ndarray, per_user: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``per_user`` negatives (with replacement) for every entry of ``users``, kept in line with
    them: ``(videos (len(users), per_user) int32, valid bool)``; a user who watched the whole
    catalogue gets video 0 marked invalid."""
    rows = np.repeat(users.astype(np.int64), per_user)
    free = sampler.unwatched[rows]
    ok = free > 0
    r = (rng.random(len(rows)) * np.maximum(free, 1)).astype(np.int64)
    np.minimum(r, np.maximum(free - 1, 0), out=r)
    videos = np.zeros(len(rows), dtype=np.int64)
    videos[ok] = sampler.unwatched_at(rows[ok], r[ok])
    shape = (len(users), per_user)
    return videos.astype(np.int32).reshape(shape), ok.reshape(shape)


def sample_distinct_unwatched(
    data: InteractionMatrix, users: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """For every entry of ``users``, ``n`` *distinct* videos that user never watched in
    ``data``, as an ``(len(users), n)`` int64 array.

    A user with fewer than ``n`` unwatched videos gets all of them (in ascending order)
    and ``-1`` in the remaining columns.  Seeded through ``rng``: the same inputs and
    generator state give the same draw.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    users = np.asarray(users, dtype=np.int64)
    sampler = NegativeSampler(data)
    out = np.full((len(users), n), -1, dtype=np.int64)
    if n == 0 or len(users) == 0:
        return out
    free = sampler.unwatched[users]
    ranks = np.full((len(users), n), -1, dtype=np.int64)
    few = free <= n
    # Users with at most n unwatched videos: all of them.
    cols = np.arange(n)
    ranks[few] = np.where(cols[None, :] < free[few, None], cols[None, :], -1)
    # The others: n distinct ranks out of `free` (numpy draws these without a full
    # permutation when n is small relative to free).
    for row in np.flatnonzero(~few):
        ranks[row] = np.sort(rng.choice(int(free[row]), size=n, replace=False))
    valid = ranks >= 0
    rows = np.broadcast_to(users[:, None], ranks.shape)
    out[valid] = sampler.unwatched_at(rows[valid], ranks[valid])
    return out
