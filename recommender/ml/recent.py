"""The viewer's latest watches at scoring time: ``TrainConfig.recent_boost``.

People watch in runs of a kind (an evening of cooking videos, a week of piano lessons), and the
last few watches say more about the next one than the whole history does. The network scores a
viewer from one learnt profile; :class:`RecentAffinity` adds to every score's logit
``recent_boost`` times the video's mean cosine similarity to the viewer's ``recent_window`` latest
watched videos, in the model's own video vectors (the vectors that "Because you watched" reasons
compare).

It is applied wherever a model's scores rank or are measured -- the feeds
(:func:`~recommender.ml.score.score_top_n`), the held-out evaluation, the calibration of the match
figure -- so the published figures describe what viewers are shown. Training does not see it.

Only when the watch order says something (:func:`order_signal`): a viewer's consecutive watches
must be clearly more alike, in the model's vectors, than any two of their watches. Data imported
without real watch times has only the order its rows were stored in; there the term would pull
towards arbitrary videos, so it stays off by itself. Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from recommender.ml.architectures.base import Forward, unit_rows
from recommender.ml.data import InteractionMatrix

if TYPE_CHECKING:
    from recommender.ml.config import TrainConfig

# The watch order counts as telling when consecutive watches are at least this much more alike
# (mean cosine) than any two watches of the same viewer, at this many standard errors.
ORDER_MIN_GAP = 0.01
ORDER_MIN_Z = 3.0


@dataclass(frozen=True)
class OrderSignal:
    """How much more alike a viewer's consecutive watches are than any two of their watches:
    ``gap`` (mean over viewers with three or more watches of the difference in mean cosine), ``z``
    (that mean in standard errors) and ``viewers`` (how many were compared)."""

    gap: float
    z: float
    viewers: int

    @property
    def present(self) -> bool:
        return self.viewers >= 2 and self.gap >= ORDER_MIN_GAP and self.z >= ORDER_MIN_Z

    def as_metrics(self) -> dict[str, float | int | bool]:
        return {
            "recent_order_gap": round(self.gap, 4),
            "recent_order_z": round(self.z, 2),
            "recent_order_viewers": self.viewers,
        }


def order_signal(data: InteractionMatrix, vectors: np.ndarray) -> OrderSignal:
    """Whether ``data``'s watch order (``seen``) carries taste, measured with the unit ``vectors``
    of the videos; ``ValueError`` when ``data.seen`` is unknown."""
    rank = data.latest_rank()
    if rank is None:
        raise ValueError("the data does not say when each pair was watched (InteractionMatrix.seen)")
    unit = unit_rows(np.asarray(vectors, dtype=np.float32)).astype(np.float64)
    m = data.matrix
    counts = np.diff(m.indptr).astype(np.int64)
    rows = np.repeat(np.arange(data.n_users, dtype=np.int64), counts)
    order = np.lexsort((rank, rows))  # each viewer's watches, latest first
    cols, rows_sorted = m.indices[order], rows[order]
    same = rows_sorted[1:] == rows_sorted[:-1]
    step = np.einsum("ij,ij->i", unit[cols[:-1]][same], unit[cols[1:]][same])
    consecutive = np.bincount(rows_sorted[1:][same], weights=step, minlength=data.n_users)
    total = np.asarray(sp.csr_matrix((np.ones(m.nnz), m.indices, m.indptr), shape=m.shape) @ unit)
    norms = np.einsum("ij,ij->i", total, total)
    lengths = np.einsum("ij,ij->i", unit, unit)[m.indices]  # 1, or 0 for a zero vector
    self_dot = np.bincount(rows, weights=lengths, minlength=data.n_users)
    keep = counts >= 3
    n = counts[keep].astype(np.float64)
    any_two = (norms[keep] - self_dot[keep]) / (n * (n - 1))
    diff = consecutive[keep] / (n - 1) - any_two
    if len(diff) < 2:
        return OrderSignal(gap=0.0, z=0.0, viewers=len(diff))
    spread = float(diff.std(ddof=1))
    gap = float(diff.mean())
    # identical differences (tiny data): certain when positive; capped so the metrics stay JSON
    z = gap / (spread / np.sqrt(len(diff))) if spread > 0 else (1e6 if gap > 0 else 0.0)
    return OrderSignal(gap=gap, z=float(z), viewers=len(diff))


@dataclass(frozen=True, eq=False)
class RecentAffinity:
    """``profiles`` (n_users, d): the mean unit vector of each viewer's latest watched videos
    (zeros for a viewer without watches); ``vectors`` (n_videos, d): the unit video vectors;
    ``weight``: logits per unit of cosine similarity. All float32."""

    profiles: np.ndarray
    vectors: np.ndarray
    weight: float

    def pair_logits(self, users: np.ndarray, videos: np.ndarray) -> np.ndarray:
        """The term for pairs ``(users[i], videos[i])``, float32 (len,)."""
        out = np.einsum("ij,ij->i", self.profiles[users], self.vectors[videos])
        out *= np.float32(self.weight)
        return out

    def row_logits(self, users: np.ndarray, videos: np.ndarray | None = None) -> np.ndarray:
        """The term for ``users`` x every video (or x ``videos``), float32 (len(users), n)."""
        vectors = self.vectors if videos is None else self.vectors[videos]
        out = self.profiles[users] @ vectors.T
        out *= np.float32(self.weight)
        return out

    def gathered_logits(self, users: np.ndarray, videos: np.ndarray) -> np.ndarray:
        """The term for each user ``users[i]`` x the videos of row ``videos[i]`` (2-D), float32."""
        return np.take_along_axis(self.row_logits(users), videos, axis=1)


def recent_profiles(data: InteractionMatrix, vectors: np.ndarray, window: int) -> np.ndarray:
    """Per viewer, the mean of the unit ``vectors`` of their ``window`` latest watched videos by
    ``data.seen`` (float32 (n_users, d)); ``ValueError`` when ``data.seen`` is unknown."""
    rank = data.latest_rank()
    if rank is None:
        raise ValueError("the data does not say when each pair was watched (InteractionMatrix.seen)")
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window!r}")
    m = data.matrix
    keep = rank < window
    rows = np.repeat(np.arange(data.n_users, dtype=np.int64), np.diff(m.indptr))[keep]
    cols = m.indices[keep]
    counts = np.bincount(rows, minlength=data.n_users).astype(np.float32)
    weights = (1.0 / counts[rows]).astype(np.float32)
    pick = sp.csr_matrix((weights, (rows, cols)), shape=m.shape, dtype=np.float32)
    return np.asarray(pick @ unit_rows(np.asarray(vectors, dtype=np.float32)), dtype=np.float32)


def recent_term(
    model_or_net: Any, data: InteractionMatrix, config: TrainConfig
) -> tuple[RecentAffinity | None, OrderSignal | None]:
    """The term of ``config`` (``recent_boost``, ``recent_window``) for a model trained on ``data``
    (a Keras model of a registered architecture, or its :class:`Forward`), and the order test that
    decided it. The term is None when the boost is off, the data does not say when pairs were watched
    (the test is then None too) or its watch order carries no taste: the model's score alone."""
    if config.recent_boost <= 0 or data.seen is None:
        return None, None
    from recommender.ml.architectures import forward_of

    net = model_or_net if isinstance(model_or_net, Forward) else forward_of(model_or_net)
    if (net.n_users, net.n_videos) != (data.n_users, data.n_videos):
        raise ValueError(f"model is for {net.n_users}x{net.n_videos}, data is {data.n_users}x{data.n_videos}")
    vectors = unit_rows(net.video_vectors())
    signal = order_signal(data, vectors)
    if not signal.present:
        return None, signal
    profiles = recent_profiles(data, vectors, config.recent_window)
    return RecentAffinity(profiles=profiles, vectors=vectors, weight=float(config.recent_boost)), signal


def recent_affinity(model_or_net: Any, data: InteractionMatrix, config: TrainConfig) -> RecentAffinity | None:
    """The term alone (see :func:`recent_term`)."""
    return recent_term(model_or_net, data, config)[0]
