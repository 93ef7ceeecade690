"""Fast numpy scoring of a model built by :func:`recommender.ml.train.build_model`.

No ``model.predict``: the weights are read once and the network is evaluated as
batched float32 matrix products.  The first hidden layer sees
``concat(user_emb, video_emb)``, so ``Dense(concat) = user_emb @ W_u + video_emb @ W_v
+ b``: both halves are precomputed per user / per video and a block of users x all
videos costs one broadcast add + ReLU followed by the remaining small dense layers.
The NeuMF GMF branch is bilinear, ``(p_u * q_v) . w_g = (p_u * w_g) @ q_v``, hence one
matrix product per block; optional user / video biases are one broadcast add.

The layer names this module reads are those ``build_model`` gives; loaded artifacts
keep them.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from scipy.special import expit
from threadpoolctl import threadpool_limits

from recommender.ml.data import InteractionMatrix, as_index_array


class NonFiniteScoresError(ValueError):
    """The model produced NaN scores (a diverged training); nothing should be published."""


# Pairs per inner chunk of the dense tower: small enough that the (pairs x hidden)
# activations stay in cache, large enough for efficient matrix products.
_CHUNK_PAIRS = 16_384


@dataclass(frozen=True, eq=False)
class _Net:
    """The model's weights rearranged for separable evaluation (all float32)."""

    user_mlp: np.ndarray  # (n_users, d)
    video_mlp: np.ndarray  # (n_videos, d)
    w0_user: np.ndarray  # (d, h0)
    w0_video: np.ndarray  # (d, h0)
    b0: np.ndarray  # (h0,)
    tail: tuple[tuple[np.ndarray, np.ndarray], ...]  # further (kernel, bias), ReLU
    out_mlp: np.ndarray  # (h_last,) output weights on the MLP tower
    out_bias: np.float32
    gmf_user: np.ndarray | None = None  # (n_users, dg), NeuMF only
    gmf_video: np.ndarray | None = None  # (n_videos, dg)
    out_gmf: np.ndarray | None = None  # (dg,)
    user_bias: np.ndarray | None = None  # (n_users,), use_bias only
    video_bias: np.ndarray | None = None  # (n_videos,)

    @property
    def n_users(self) -> int:
        return self.user_mlp.shape[0]

    @property
    def n_videos(self) -> int:
        return self.video_mlp.shape[0]

    def user_hidden(self, users: np.ndarray) -> np.ndarray:
        """User half of the first hidden layer, bias included: (len, h0)."""
        out = self.user_mlp[users] @ self.w0_user
        out += self.b0
        return out

    def video_hidden(self, videos: np.ndarray | None = None) -> np.ndarray:
        """Video half of the first hidden layer: (len, h0)."""
        emb = self.video_mlp if videos is None else self.video_mlp[videos]
        return emb @ self.w0_video

    def tower(self, h: np.ndarray) -> np.ndarray:
        """From pre-activation first hidden layer (pairs, h0) to the MLP part of the
        output logit (pairs,).  Modifies ``h``."""
        np.maximum(h, 0, out=h)
        for kernel, bias in self.tail:
            h = h @ kernel
            h += bias
            np.maximum(h, 0, out=h)
        return h @ self.out_mlp


def _weights(model: keras.Model, name: str) -> list[np.ndarray]:
    try:
        layer = model.get_layer(name)
    except ValueError as exc:
        raise ValueError(
            f"model has no layer {name!r}: score.py only evaluates models built by recommender.ml.train.build_model"
        ) from exc
    return [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]


def _extract(model: keras.Model) -> _Net:
    names = {layer.name for layer in model.layers}
    neumf = "gmf_user_embedding" in names
    prefix = "mlp_" if neumf else ""
    (user_mlp,) = _weights(model, f"{prefix}user_embedding")
    (video_mlp,) = _weights(model, f"{prefix}video_embedding")
    d = user_mlp.shape[1]
    dense = []
    i = 0
    while f"mlp_dense_{i}" in names:
        dense.append(_weights(model, f"mlp_dense_{i}"))
        i += 1
    if not dense:
        raise ValueError("model has no hidden layer 'mlp_dense_0'")
    out_kernel, out_bias = _weights(model, "output")
    out_kernel = out_kernel[:, 0]
    kernel0, b0 = dense[0]
    net: dict[str, Any] = {
        "user_mlp": user_mlp,
        "video_mlp": video_mlp,
        # concat order is [user, video] (see build_model)
        "w0_user": np.ascontiguousarray(kernel0[:d]),
        "w0_video": np.ascontiguousarray(kernel0[d:]),
        "b0": b0,
        "tail": tuple((k, b) for k, b in dense[1:]),
        "out_bias": np.float32(out_bias[0]),
    }
    if neumf:
        (gmf_user,) = _weights(model, "gmf_user_embedding")
        (gmf_video,) = _weights(model, "gmf_video_embedding")
        dg = gmf_user.shape[1]
        # neumf_concat order is [gmf, mlp]
        net.update(
            gmf_user=gmf_user,
            gmf_video=gmf_video,
            out_gmf=np.ascontiguousarray(out_kernel[:dg]),
            out_mlp=np.ascontiguousarray(out_kernel[dg:]),
        )
    else:
        net["out_mlp"] = out_kernel
    if "user_bias" in names:
        (user_bias,) = _weights(model, "user_bias")
        (video_bias,) = _weights(model, "video_bias")
        net.update(user_bias=np.ascontiguousarray(user_bias[:, 0]), video_bias=np.ascontiguousarray(video_bias[:, 0]))
    return _Net(**net)


def _block_logits(net: _Net, uh: np.ndarray, vh: np.ndarray) -> np.ndarray:
    """Logits (len(uh), len(vh)) of every user-half x video-half combination."""
    nb, nv = uh.shape[0], vh.shape[0]
    out = np.empty((nb, nv), dtype=np.float32)
    h0 = uh.shape[1]
    if nv >= _CHUNK_PAIRS:
        # Huge catalogue: one user at a time, videos in chunks.
        buf = np.empty((_CHUNK_PAIRS, h0), dtype=np.float32)
        for i in range(nb):
            for s in range(0, nv, _CHUNK_PAIRS):
                e = min(s + _CHUNK_PAIRS, nv)
                h = buf[: e - s]
                np.add(vh[s:e], uh[i], out=h)
                out[i, s:e] = net.tower(h)
        return out
    users_per_chunk = max(1, _CHUNK_PAIRS // nv)
    buf = np.empty((users_per_chunk, nv, h0), dtype=np.float32)
    for s in range(0, nb, users_per_chunk):
        e = min(s + users_per_chunk, nb)
        h = buf[: e - s]
        np.add(uh[s:e, None, :], vh[None, :, :], out=h)
        out[s:e] = net.tower(h.reshape(-1, h0)).reshape(e - s, nv)
    return out


def _score_rows(net: _Net, users: np.ndarray, vh: np.ndarray) -> np.ndarray:
    """Probabilities (len(users), n_videos) for full rows; ``vh`` = video halves."""
    logits = _block_logits(net, net.user_hidden(users), vh)
    logits += net.out_bias
    if net.gmf_user is not None:
        logits += (net.gmf_user[users] * net.out_gmf) @ net.gmf_video.T
    if net.user_bias is not None:
        logits += net.user_bias[users][:, None]
        logits += net.video_bias[None, :]
    return expit(logits)


def score_pairs(model: keras.Model, user_idx: Any, video_idx: Any) -> np.ndarray:
    """Scores (float32, in [0, 1]) of arbitrary (user index, video index) pairs;
    equals ``model.predict`` to float32 rounding."""
    net = _extract(model)
    users = as_index_array(user_idx, net.n_users, "user_idx")
    videos = as_index_array(video_idx, net.n_videos, "video_idx")
    if users.shape != videos.shape:
        raise ValueError(f"user_idx and video_idx differ in length: {len(users)} vs {len(videos)}")
    n = len(users)
    out = np.empty(n, dtype=np.float32)
    # Many pairs: precompute both halves for everyone once, then gather.
    tables = n >= net.n_users + net.n_videos
    if tables:
        uh_all = net.user_hidden(np.arange(net.n_users))
        vh_all = net.video_hidden()
    for s in range(0, n, _CHUNK_PAIRS):
        u, v = users[s : s + _CHUNK_PAIRS], videos[s : s + _CHUNK_PAIRS]
        if tables:
            h = uh_all[u] + vh_all[v]
        else:
            h = net.user_hidden(u)
            h += net.video_hidden(v)
        logit = net.tower(h)
        logit += net.out_bias
        if net.gmf_user is not None:
            logit += (net.gmf_user[u] * net.gmf_video[v]) @ net.out_gmf
        if net.user_bias is not None:
            logit += net.user_bias[u] + net.video_bias[v]
        out[s : s + len(u)] = expit(logit)
    return out


def score_users(model: keras.Model, user_idx_array: Any, *, n_videos: int) -> np.ndarray:
    """Full score rows ``(len(user_idx_array), n_videos)`` float32."""
    net = _extract(model)
    if n_videos != net.n_videos:
        raise ValueError(f"model scores {net.n_videos} videos, not {n_videos}")
    users = as_index_array(user_idx_array, net.n_users, "user_idx_array")
    vh = net.video_hidden()
    out = np.empty((len(users), n_videos), dtype=np.float32)
    block = max(1, 2_000_000 // max(n_videos, 1))
    for s in range(0, len(users), block):
        out[s : s + block] = _score_rows(net, users[s : s + block], vh)
    return out


def video_embeddings(model: keras.Model) -> np.ndarray:
    """Video representation used for "because you watched" similarity, float32
    ``(n_videos, d)``.

    ``mlp``: the video embedding table.  ``neumf``: the GMF and MLP video tables,
    each row-normalised to unit length, concatenated -- so the cosine similarity of
    two rows is the mean of the two branches' cosine similarities (the branches live
    in different spaces with different scales).
    """
    net = _extract(model)
    if net.gmf_video is None:
        return net.video_mlp.copy()
    return np.concatenate([_unit_rows(net.gmf_video), _unit_rows(net.video_mlp)], axis=1)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1).astype(np.float32)


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
    """
    if not isinstance(top_n, (int, np.integer)) or isinstance(top_n, bool) or top_n < 1:
        raise ValueError(f"top_n must be an integer >= 1, got {top_n!r}")
    if block_pairs < 1:
        raise ValueError(f"block_pairs must be >= 1, got {block_pairs!r}")
    threads = _cpu_threads() if threads is None else threads
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    net = _extract(model)
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
    emb = _unit_rows(video_embeddings(model))
    vh = net.video_hidden()
    # Enough blocks for every thread (a few each, for balance), none above block_pairs.
    block = max(1, min(block_pairs // nv, -(-n // (4 * threads)) if threads > 1 else n))

    def run(s: int) -> None:
        # Each call writes only its own rows of the output arrays.
        rows = users[s : s + block]
        scores = _score_rows(net, rows, vh)
        if np.isnan(scores).any():
            raise NonFiniteScoresError("model produced NaN scores (diverged training?)")
        if exclude_watched:
            scores[data.watched_mask(rows)] = -np.inf
        cols, vals = _top_k(scores, top_n)
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
            liked = watched[completions[indptr[u] : indptr[u + 1]] >= REASON_MIN_COMPLETION]
            if len(liked):
                watched = liked
            best = np.argmax(emb[rec] @ emb[watched].T, axis=1)  # first max wins
            reason_index[s + i, : len(rec)] = watched[best]

    starts = range(0, n, block)
    with threadpool_limits(limits=1, user_api="blas"):
        if threads == 1 or len(starts) == 1:
            for s in starts:
                run(s)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(run, starts))  # re-raises the first failure
    return TopN(user_index=users, video_index=video_index, score=score, reason_index=reason_index)


def _cpu_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def model_is_finite(model: keras.Model) -> bool:
    """True when every weight the scorer uses is finite (a diverged training is not)."""
    net = _extract(model)
    arrays = [net.user_mlp, net.video_mlp, net.w0_user, net.w0_video, net.b0, net.out_mlp, np.asarray(net.out_bias)]
    arrays += [a for pair in net.tail for a in pair]
    arrays += [a for a in (net.gmf_user, net.gmf_video, net.out_gmf, net.user_bias, net.video_bias) if a is not None]
    return all(bool(np.all(np.isfinite(a))) for a in arrays)
