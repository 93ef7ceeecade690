"""Interaction data: watch events pivoted into a sparse user x video matrix.

numpy + scipy only (no TensorFlow), so the web process may import it.

Explicit zeros: a completion of 0.0 is a real event ("opened, watched nothing") and
must still count as *watched*.  :func:`pivot` therefore stores it as an explicit
entry of the CSR structure.  Everything in this module reads the *structure*
(``indptr`` / ``indices``), never the values, to decide what was watched; callers
must do the same -- ``matrix.nonzero()``, ``matrix != 0`` and
``matrix.eliminate_zeros()`` silently drop those entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

AGGREGATES = ("max", "last", "mean")


def _as_id_array(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.floor(arr)):
        # e.g. a pandas column that became float because of a NaN elsewhere
        return arr.astype(np.int64)
    raise ValueError(f"{name} must contain integers, got dtype {arr.dtype}")


def as_index_array(values: Any, size: int, name: str) -> np.ndarray:
    """``values`` as a 1-d int64 array of indices in [0, size), or a clear error."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        raise IndexError(f"{name} out of range [0, {size})")
    return arr


def _lookup(sorted_ids: np.ndarray, ids: Any, kind: str) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"{kind} ids must be one-dimensional, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"{kind} ids must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    pos = np.searchsorted(sorted_ids, arr)
    np.minimum(pos, max(len(sorted_ids) - 1, 0), out=pos)
    found = sorted_ids[pos] == arr if len(sorted_ids) else np.zeros(arr.shape, dtype=bool)
    if not found.all():
        missing = arr[~found][:5].tolist()
        raise KeyError(f"unknown {kind} id(s): {missing}")
    return pos


@dataclass(frozen=True, eq=False)
class InteractionMatrix:
    """Completion of every observed (user, video) pair, plus the id <-> index maps.

    ``matrix`` is a canonical CSR matrix (sorted indices, no duplicates), float32,
    shape ``(n_users, n_videos)``; an entry exists for every watched pair, including
    explicit 0.0 completions (see the module docstring).  ``user_ids[i]`` /
    ``video_ids[j]`` are the external (database) ids of row ``i`` / column ``j``,
    strictly ascending.  ``eq=False``: numpy fields make ``==`` meaningless.
    """

    matrix: sp.csr_matrix
    user_ids: np.ndarray
    video_ids: np.ndarray
    # Per stored pair (triples order), when it was last watched as an order key (larger = later;
    # ``holdout.pair_last_seen``), or None when the data does not say.
    seen: np.ndarray | None = None

    def __post_init__(self) -> None:
        m = self.matrix
        if not sp.issparse(m) or m.format != "csr":
            raise ValueError("matrix must be a scipy.sparse CSR matrix")
        if m.dtype != np.float32:
            m = m.astype(np.float32)
            object.__setattr__(self, "matrix", m)
        for name in ("user_ids", "video_ids"):
            ids = np.asarray(getattr(self, name))
            if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
                raise ValueError(f"{name} must be a 1-D integer array")
            ids = ids.astype(np.int64)  # always a private copy ...
            if ids.size > 1 and not np.all(ids[1:] > ids[:-1]):
                raise ValueError(f"{name} must be strictly ascending")
            ids.setflags(write=False)  # ... that nobody can mutate behind our back
            object.__setattr__(self, name, ids)
        if m.shape != (len(self.user_ids), len(self.video_ids)):
            raise ValueError(
                f"matrix shape {m.shape} does not match ({len(self.user_ids)} users, {len(self.video_ids)} videos)"
            )
        if not m.has_canonical_format:
            raise ValueError(
                "matrix must be canonical CSR (sorted indices, no duplicate entries); build it with pivot()"
            )
        if self.seen is not None:
            seen = np.array(self.seen, dtype=np.float64).ravel()  # a private copy
            if seen.shape != (m.nnz,):
                raise ValueError(f"seen must have one entry per stored pair ({m.nnz}), got shape {seen.shape}")
            seen.setflags(write=False)
            object.__setattr__(self, "seen", seen)

    def with_seen(self, seen: Any) -> InteractionMatrix:
        """The same data, knowing when each pair was last watched (see ``seen``)."""
        return InteractionMatrix(matrix=self.matrix, user_ids=self.user_ids, video_ids=self.video_ids, seen=seen)

    def recency_weights(self, strength: float) -> np.ndarray | None:
        """Per stored pair (triples order), its weight by its place in the viewer's own history: the
        latest ``1 + strength``, the earliest ``1 - strength``, linear in the rank between (a viewer
        with one pair: 1); ties in ``seen`` go to the later pair in triples order. None when
        ``strength`` is 0 or ``seen`` is unknown (every pair weighs the same)."""
        if strength == 0 or self.seen is None:
            return None
        rank, span = self._history_rank()
        share = np.where(span > 0, rank / np.maximum(span, 1), 0.5)
        return (1.0 + strength * (2.0 * share - 1.0)).astype(np.float32)

    def latest_rank(self) -> np.ndarray | None:
        """Per stored pair (triples order), how many of the viewer's pairs were watched after it
        (0 = the latest), with the ties of :meth:`recency_weights`; None when ``seen`` is unknown."""
        if self.seen is None:
            return None
        rank, span = self._history_rank()
        return (span - rank).astype(np.int64)

    def _history_rank(self) -> tuple[np.ndarray, np.ndarray]:
        """Per stored pair its rank in the viewer's history by ``seen`` (0 = the earliest; ties to
        the later pair in triples order), and the viewer's pair count minus one."""
        m, seen = self.matrix, self.seen
        assert seen is not None
        counts = np.diff(m.indptr).astype(np.int64)
        rows = np.repeat(np.arange(self.n_users, dtype=np.int64), counts)
        position = np.arange(m.nnz, dtype=np.int64)
        order = np.lexsort((position, seen, rows))
        rank = np.empty(m.nnz, dtype=np.float64)
        rank[order] = position - m.indptr[:-1].astype(np.int64)[rows[order]]
        return rank, (counts[rows] - 1).astype(np.float64)

    @property
    def n_users(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_videos(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def n_interactions(self) -> int:
        """Number of watched pairs (explicit zeros included)."""
        return int(self.matrix.nnz)

    def user_index(self, user_id: int) -> int:
        """Row of an external user id; ``KeyError`` if unknown."""
        if not isinstance(user_id, (int, np.integer)) or isinstance(user_id, bool):
            raise KeyError(f"unknown user id: {user_id!r}")
        return int(_lookup(self.user_ids, [user_id], "user")[0])

    def video_index(self, video_id: int) -> int:
        """Column of an external video id; ``KeyError`` if unknown."""
        if not isinstance(video_id, (int, np.integer)) or isinstance(video_id, bool):
            raise KeyError(f"unknown video id: {video_id!r}")
        return int(_lookup(self.video_ids, [video_id], "video")[0])

    def user_indices(self, user_ids: Any) -> np.ndarray:
        """Vectorised :meth:`user_index` (int64 array); ``KeyError`` lists unknown ids."""
        return _lookup(self.user_ids, user_ids, "user")

    def video_indices(self, video_ids: Any) -> np.ndarray:
        """Vectorised :meth:`video_index` (int64 array); ``KeyError`` lists unknown ids."""
        return _lookup(self.video_ids, video_ids, "video")

    def watched_mask(self, user_idx: Any) -> np.ndarray:
        """Dense bool array ``(len(user_idx), n_videos)``: True where watched."""
        rows = as_index_array(user_idx, self.n_users, "user_idx")
        mask = np.zeros((len(rows), self.n_videos), dtype=bool)
        out_row, pos = _row_entries(self.matrix.indptr, rows)
        mask[out_row, self.matrix.indices[pos]] = True
        return mask

    def triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Observed pairs as ``(user_idx int32, video_idx int32, completion float32)``,
        row-major order, explicit zeros included."""
        m = self.matrix
        users = np.repeat(np.arange(self.n_users, dtype=np.int32), np.diff(m.indptr))
        return users, m.indices.astype(np.int32), m.data.astype(np.float32)


def _row_entries(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the given CSR rows: (position of the row in ``rows``, position in
    ``indices``/``data``) of every stored entry, vectorised."""
    starts = indptr[rows].astype(np.int64)
    counts = indptr[rows + 1].astype(np.int64) - starts
    total = int(counts.sum())
    out_row = np.repeat(np.arange(len(rows)), counts)
    # position = start of its row + rank within the row
    offsets = np.cumsum(counts) - counts
    pos = np.repeat(starts - offsets, counts) + np.arange(total)
    return out_row, pos


def reduce_duplicates(key: np.ndarray, values: np.ndarray, *, aggregate: str) -> tuple[np.ndarray, np.ndarray]:
    """One value per distinct ``key``: ``(distinct keys ascending, their values)``, the values of a
    key reduced with ``aggregate`` -- ``"max"``, ``"last"`` (last in input order) or ``"mean"``.

    The one rule that turns several watch events of a (user, video) pair into one completion: the
    matrix a model learns from and every evaluation of it use it.
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    # A stable sort keeps input order inside each group, which is what "last" relies on.
    order = np.argsort(key, kind="stable")
    key = key[order]
    values = values[order]
    if len(key) == 0:
        return key, values
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    if aggregate == "max":
        reduced = np.maximum.reduceat(values, starts)
    elif aggregate == "last":
        reduced = values[np.append(starts[1:], len(values)) - 1]
    else:
        reduced = np.add.reduceat(values, starts) / np.diff(np.append(starts, len(values)))
    return key[starts], reduced


def pivot(
    user_ids: Sequence[int] | np.ndarray,
    video_ids: Sequence[int] | np.ndarray,
    completions: Sequence[float] | np.ndarray,
    *,
    aggregate: str = "max",
) -> InteractionMatrix:
    """Pivot long event rows into an :class:`InteractionMatrix`.

    Three equal-length sequences: external user id, external video id, completion in
    [0, 1].  Several rows for the same (user, video) pair are reduced with
    ``aggregate``: ``"max"`` (default), ``"last"`` (last in input order) or ``"mean"``.
    Users and videos get indices in ascending id order.  Vectorised (sort-based).
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    users = _as_id_array(user_ids, "user_ids")
    videos = _as_id_array(video_ids, "video_ids")
    comp = np.asarray(completions)
    if comp.ndim != 1:
        raise ValueError(f"completions must be one-dimensional, got shape {comp.shape}")
    if not (len(users) == len(videos) == len(comp)):
        raise ValueError(
            "user_ids, video_ids and completions must have the same length, got "
            f"{len(users)}, {len(videos)} and {len(comp)}"
        )
    if len(users) == 0:
        raise ValueError("cannot pivot an empty set of interactions")
    if comp.dtype.kind not in "iuf" or comp.dtype.kind == "b":
        raise ValueError(f"completions must be numbers, got dtype {comp.dtype}")
    comp = comp.astype(np.float64, copy=False)
    bad = ~np.isfinite(comp) | (comp < 0) | (comp > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"completions must be finite and in [0, 1]; {int(bad.sum())} are not (first at row {i}: {comp[i]!r})"
        )

    uniq_users, u_idx = np.unique(users, return_inverse=True)
    uniq_videos, v_idx = np.unique(videos, return_inverse=True)
    n_users, n_videos = len(uniq_users), len(uniq_videos)

    # Row-major key: the distinct pairs come out in CSR order.
    pair, values = reduce_duplicates(u_idx.astype(np.int64) * n_videos + v_idx, comp, aggregate=aggregate)
    rows = pair // n_videos
    cols = pair % n_videos
    index_dtype = np.int32 if len(pair) < 2**31 and n_videos < 2**31 else np.int64
    indptr = np.zeros(n_users + 1, dtype=index_dtype)
    np.cumsum(np.bincount(rows, minlength=n_users), out=indptr[1:])
    # Built from (data, indices, indptr) directly: that keeps explicit zeros and is
    # already canonical (row-major sorted, no duplicates).
    matrix = sp.csr_matrix(
        (values.astype(np.float32), cols.astype(index_dtype), indptr),
        shape=(n_users, n_videos),
    )
    matrix.has_sorted_indices = True
    return InteractionMatrix(matrix=matrix, user_ids=uniq_users, video_ids=uniq_videos)
