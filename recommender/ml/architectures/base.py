"""What the architectures in this package share: Keras building blocks and the numpy forward pass
of "embeddings -> MLP tower -> one output unit".

Every network here ends in the same head: ``output`` (``Dense(1)``) on the network's last features,
through a sigmoid -- directly, or after ``user_bias[u] + video_bias[v]`` is added to the logit when
``config.use_bias`` is set.  Every one has an MLP tower (``mlp_dense_0 .. mlp_dense_{k-1}``, ReLU,
``mlp_dropout_i`` after each with ``config.dropout``) whose first layer reads
``concat(user embedding, video embedding)``.

That first layer is separable: ``Dense(concat) = user_emb @ W_u + video_emb @ W_v + b``.  The
numpy :class:`Forward` precomputes both halves per user and per video, so a block of users x all
videos costs one broadcast add + ReLU followed by the remaining small dense layers, evaluated as
batched float32 matrix products (no ``model.predict``).

Keras is imported only when a network is built: the forward pass needs numpy alone, and importing
this package (as the configuration does, for the architecture names) must not load TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

    from recommender.ml.config import TrainConfig

# Pairs per inner chunk of the dense tower: small enough that the (pairs x hidden)
# activations stay in cache, large enough for efficient matrix products.
CHUNK_PAIRS = 16_384

# The Keras model of architecture ``name`` is called ``MODEL_PREFIX + name``; that is how a loaded
# model finds its forward pass again.
MODEL_PREFIX = "ncf_"


# ----------------------------------------------------------------------------- Keras


def inputs() -> tuple[Any, Any]:
    """The two model inputs, ``user`` and ``video`` (one index each)."""
    import keras

    # int32 inputs: float32 (Keras' default) cannot index more than 2**24 rows exactly.
    user = keras.Input(shape=(1,), dtype="int32", name="user")
    video = keras.Input(shape=(1,), dtype="int32", name="video")
    return user, video


def embedding(n: int, config: TrainConfig, name: str) -> keras.layers.Embedding:
    """An ``n x config.embedding_dim`` table, with the configured L2 penalty."""
    import keras

    reg = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    return keras.layers.Embedding(n, config.embedding_dim, embeddings_regularizer=reg, name=name)


def mlp_tower(x: Any, config: TrainConfig) -> Any:
    """``mlp_dense_i`` (ReLU) for every entry of ``config.hidden_units``, each followed by dropout."""
    import keras

    for i, units in enumerate(config.hidden_units):
        x = keras.layers.Dense(units, activation="relu", name=f"mlp_dense_{i}")(x)
        if config.dropout > 0:
            x = keras.layers.Dropout(config.dropout, name=f"mlp_dropout_{i}")(x)
    return x


def _bias(n: int, config: TrainConfig, name: str, index: Any) -> Any:
    import keras

    reg = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    layer = keras.layers.Embedding(n, 1, embeddings_initializer="zeros", embeddings_regularizer=reg, name=name)
    return keras.layers.Flatten(name=f"{name}_flatten")(layer(index))


def head(
    features: Any, user: Any, video: Any, n_users: int, n_videos: int, config: TrainConfig, name: str
) -> keras.Model:
    """The model: ``output`` on ``features`` (plus the biases with ``config.use_bias``), a sigmoid,
    named after the architecture ``name``."""
    import keras

    if config.use_bias:
        # output = sigmoid(Dense(x) + user bias + video bias); "output" stays the layer
        # holding the final kernel, so the forward pass reads the same names either way.
        logit = keras.layers.Dense(1, name="output")(features)
        ub = _bias(n_users, config, "user_bias", user)
        vb = _bias(n_videos, config, "video_bias", video)
        logit = keras.layers.Add(name="bias_add")([logit, ub, vb])
        out = keras.layers.Activation("sigmoid", name="prediction")(logit)
    else:
        out = keras.layers.Dense(1, activation="sigmoid", name="output")(features)
    return keras.Model([user, video], out, name=MODEL_PREFIX + name)


def is_user_table(layer_name: str) -> bool:
    """Whether an embedding table of a network built here is indexed by the user: by the naming
    rule every architecture follows, its name starts with ``user_`` or ``<branch>_user_``."""
    parts = layer_name.split("_")
    return parts[0] == "user" or (len(parts) > 1 and parts[1] == "user")


# ----------------------------------------------------------------------------- numpy


def layer_weights(model: keras.Model, name: str) -> list[np.ndarray]:
    """The weights of layer ``name`` as float32 arrays; ``ValueError`` when the model lacks it."""
    try:
        layer = model.get_layer(name)
    except ValueError as exc:
        raise ValueError(
            f"model {model.name!r} has no layer {name!r}: it was not built by a registered architecture"
        ) from exc
    return [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]


def unit_rows(x: np.ndarray) -> np.ndarray:
    """``x`` with every non-zero row scaled to unit length (float32)."""
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1).astype(np.float32)


@dataclass(frozen=True, eq=False)
class CandidatePart:
    """What :meth:`Forward.candidate_logits` needs per video: the mean user half of the first layer
    (``mean``, (h0,)), the tower's logit at it plus the video's bias (``prior``, (V,)) and its
    gradient there (``slope``, (h0, V))."""

    mean: np.ndarray
    prior: np.ndarray
    slope: np.ndarray


@dataclass(frozen=True, eq=False, kw_only=True)
class Forward:
    """A trained network's weights rearranged for separable evaluation (all float32): the MLP
    tower, the output unit and the optional biases.  An architecture subclasses it to add its own
    branches (:meth:`_add_rows`, :meth:`_add_pairs`) and to say which video vectors similarity uses
    (:meth:`video_vectors`)."""

    user_mlp: np.ndarray  # (n_users, d)
    video_mlp: np.ndarray  # (n_videos, d)
    w0_user: np.ndarray  # (d, h0)
    w0_video: np.ndarray  # (d, h0)
    b0: np.ndarray  # (h0,)
    tail: tuple[tuple[np.ndarray, np.ndarray], ...]  # further (kernel, bias), ReLU
    out_mlp: np.ndarray  # (h_last,) output weights on the MLP tower
    out_bias: np.float32
    user_bias: np.ndarray | None = None  # (n_users,), use_bias only
    video_bias: np.ndarray | None = None  # (n_videos,)

    @property
    def n_users(self) -> int:
        return int(self.user_mlp.shape[0])

    @property
    def n_videos(self) -> int:
        return int(self.video_mlp.shape[0])

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

    def _block_logits(self, uh: np.ndarray, vh: np.ndarray) -> np.ndarray:
        """Tower logits (len(uh), len(vh)) of every user-half x video-half combination."""
        nb, nv = uh.shape[0], vh.shape[0]
        out = np.empty((nb, nv), dtype=np.float32)
        h0 = uh.shape[1]
        if nv >= CHUNK_PAIRS:
            # Huge catalogue: one user at a time, videos in chunks.
            buf = np.empty((CHUNK_PAIRS, h0), dtype=np.float32)
            for i in range(nb):
                for s in range(0, nv, CHUNK_PAIRS):
                    e = min(s + CHUNK_PAIRS, nv)
                    h = buf[: e - s]
                    np.add(vh[s:e], uh[i], out=h)
                    out[i, s:e] = self.tower(h)
            return out
        users_per_chunk = max(1, CHUNK_PAIRS // nv)
        buf = np.empty((users_per_chunk, nv, h0), dtype=np.float32)
        for s in range(0, nb, users_per_chunk):
            e = min(s + users_per_chunk, nb)
            h = buf[: e - s]
            np.add(uh[s:e, None, :], vh[None, :, :], out=h)
            out[s:e] = self.tower(h.reshape(-1, h0)).reshape(e - s, nv)
        return out

    def video_part(self) -> np.ndarray:
        """What full rows need per video, computed once for many calls of :meth:`row_logits`."""
        return self.video_hidden()

    def row_logits(self, users: np.ndarray, video_part: np.ndarray) -> np.ndarray:
        """Logits (len(users), n_videos) of full rows; ``video_part`` from :meth:`video_part`."""
        logits = self._block_logits(self.user_hidden(users), video_part)
        logits += self.out_bias
        self._add_rows(logits, users)
        if self.user_bias is not None and self.video_bias is not None:
            logits += self.user_bias[users][:, None]
            logits += self.video_bias[None, :]
        return logits

    def pair_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Both halves of the first layer for every user and video: worth it for many pairs."""
        return self.user_hidden(np.arange(self.n_users)), self.video_hidden()

    def pair_logits(
        self, users: np.ndarray, videos: np.ndarray, tables: tuple[np.ndarray, np.ndarray] | None = None
    ) -> np.ndarray:
        """Logits (len(users),) of the pairs ``(users[i], videos[i])``; ``tables`` from
        :meth:`pair_tables` or ``None`` (computed for these pairs only)."""
        if tables is not None:
            h = tables[0][users] + tables[1][videos]
        else:
            h = self.user_hidden(users)
            h += self.video_hidden(videos)
        logit = self.tower(h)
        logit += self.out_bias
        self._add_pairs(logit, users, videos)
        if self.user_bias is not None and self.video_bias is not None:
            logit += self.user_bias[users] + self.video_bias[videos]
        return logit

    # ------------------------------------------------------------------ candidate retrieval

    def candidate_part(self) -> CandidatePart:
        """The per-video arrays of :meth:`candidate_logits`, computed once per scoring run.

        The tower's logit is expanded to first order around the mean viewer: with ``m`` the mean
        user half of the first layer and ``h_v = m + video half of v``, ``tower(u half + video
        half) ~ tower(h_v) + (u half - m) . J_v`` where ``J_v`` is the tower's gradient at
        ``h_v`` (back through the ReLU masks at that point). ``tower(h_v)`` is a per-video prior,
        ``J_v`` a per-video vector: the tower's part of a viewer's row becomes one matrix product.
        """
        mean = self.user_mlp.mean(axis=0) @ self.w0_user + self.b0  # = mean of user_hidden(every user)
        h = self.video_hidden() + mean  # (V, h0): the pre-activation at the mean viewer
        masks = [h > 0]
        a = np.maximum(h, 0)
        for kernel, bias in self.tail:
            z = a @ kernel + bias
            masks.append(z > 0)
            a = np.maximum(z, 0)
        prior = a @ self.out_mlp + self.out_bias
        grad = np.broadcast_to(self.out_mlp, (self.n_videos, self.out_mlp.shape[0]))
        for (kernel, _bias), mask in zip(reversed(self.tail), reversed(masks[1:]), strict=True):
            grad = (grad * mask) @ kernel.T
        grad = grad * masks[0]
        if self.video_bias is not None:
            prior = prior + self.video_bias
        return CandidatePart(
            mean=mean.astype(np.float32),
            prior=prior.astype(np.float32),
            slope=np.ascontiguousarray(grad.T, dtype=np.float32),
        )

    def candidate_logits(self, users: np.ndarray, part: CandidatePart) -> np.ndarray:
        """A cheap approximation (len(users), n_videos) of :meth:`row_logits`, for ranking the
        videos of each viewer only (the viewer's own bias is left out): the expanded tower of
        :meth:`candidate_part` plus the exact terms of further branches (e.g. NeuMF's GMF product).
        About 2 x h0 operations per pair instead of the tower's thousands."""
        uh = self.user_hidden(users)
        uh -= part.mean
        logits = uh @ part.slope
        logits += part.prior
        self._add_rows(logits, users)
        return logits

    def candidate_pair_logits(self, users: np.ndarray, videos: np.ndarray, video_part: np.ndarray) -> np.ndarray:
        """Exact logits (len(users), k) of each viewer ``users[i]`` with the videos ``videos[i]``
        (``(len(users), k)`` video indices); ``video_part`` from :meth:`video_part`."""
        nb, k = videos.shape
        h = self.user_hidden(users)[:, None, :] + video_part[videos]
        logits = self.tower(h.reshape(nb * k, -1))
        logits += self.out_bias
        flat_users = np.repeat(users, k)
        flat_videos = videos.reshape(-1)
        self._add_pairs(logits, flat_users, flat_videos)
        if self.user_bias is not None and self.video_bias is not None:
            logits += self.user_bias[flat_users] + self.video_bias[flat_videos]
        return logits.reshape(nb, k)

    def _add_rows(self, logits: np.ndarray, users: np.ndarray) -> None:
        """Add the logit terms of further branches to full rows (in place)."""

    def _add_pairs(self, logits: np.ndarray, users: np.ndarray, videos: np.ndarray) -> None:
        """Add the logit terms of further branches to pairs (in place)."""

    def arrays(self) -> list[np.ndarray]:
        """Every weight array the forward pass uses."""
        out = [self.user_mlp, self.video_mlp, self.w0_user, self.w0_video, self.b0, self.out_mlp]
        out += [np.asarray(self.out_bias)]
        out += [a for pair in self.tail for a in pair]
        out += [a for a in (self.user_bias, self.video_bias) if a is not None]
        return out

    def video_vectors(self) -> np.ndarray:
        """Video representation for similarity (reasons, candidate retrieval): float32
        ``(n_videos, width)``, compared by cosine similarity."""
        raise NotImplementedError


def read_forward(model: keras.Model, embedding_prefix: str) -> dict[str, Any]:
    """The fields of :class:`Forward` read from ``model``: the tower's embedding tables are
    ``<embedding_prefix>user_embedding`` and ``<embedding_prefix>video_embedding``.  ``out_mlp``
    holds the whole output kernel; an architecture with further branches splits it."""
    (user_mlp,) = layer_weights(model, f"{embedding_prefix}user_embedding")
    (video_mlp,) = layer_weights(model, f"{embedding_prefix}video_embedding")
    user_mlp, video_mlp = with_bags(model, embedding_prefix, user_mlp, video_mlp)
    names = {layer.name for layer in model.layers}
    d = user_mlp.shape[1]
    dense = []
    i = 0
    while f"mlp_dense_{i}" in names:
        dense.append(layer_weights(model, f"mlp_dense_{i}"))
        i += 1
    if not dense:
        raise ValueError("model has no hidden layer 'mlp_dense_0'")
    out_kernel, out_bias = layer_weights(model, "output")
    kernel0, b0 = dense[0]
    fields: dict[str, Any] = {
        "user_mlp": user_mlp,
        "video_mlp": video_mlp,
        # concat order is [user, video] (see the builders)
        "w0_user": np.ascontiguousarray(kernel0[:d]),
        "w0_video": np.ascontiguousarray(kernel0[d:]),
        "b0": b0,
        "tail": tuple((k, b) for k, b in dense[1:]),
        "out_mlp": out_kernel[:, 0],
        "out_bias": np.float32(out_bias[0]),
    }
    if "user_bias" in names:
        (user_bias,) = layer_weights(model, "user_bias")
        (video_bias,) = layer_weights(model, "video_bias")
        fields.update(
            user_bias=np.ascontiguousarray(user_bias[:, 0]), video_bias=np.ascontiguousarray(video_bias[:, 0])
        )
    return fields


def with_bags(model: keras.Model, prefix: str, users: np.ndarray, videos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ID embedding tables ``users`` / ``videos`` of a branch plus its pooled bags
    (``<prefix>user_history``, ``<prefix>video_features``) where the model has them: the vectors
    the network adds up for an unwatched pair, folded into one table each."""
    from recommender.ml.architectures.bags import read_bag

    history = read_bag(model, f"{prefix}user_history")
    features = read_bag(model, f"{prefix}video_features")
    if history is not None:
        users = users + history
    if features is not None:
        videos = videos + features
    return users, videos


@dataclass(frozen=True)
class Architecture:
    """One registered network.

    ``build(n_users, n_videos, config, bags=None)``: the uncompiled Keras model, named
    ``MODEL_PREFIX + name``.  ``forward(model)``: its numpy forward pass (a :class:`Forward`).
    ``summary``: a few words for help texts.
    """

    name: str
    summary: str
    build: Callable[..., keras.Model]
    forward: Callable[[keras.Model], Forward]

    def video_vectors(self, model: keras.Model) -> np.ndarray:
        """See :meth:`Forward.video_vectors`."""
        return self.forward(model).video_vectors()
