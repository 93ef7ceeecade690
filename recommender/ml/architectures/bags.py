"""Bags of tokens pooled into an embedding: the viewer's watched videos (``user_history``) and a
video's side information (``video_features``: its categories and a duration bucket).

A bag is a fixed ``(rows, width)`` table of token indices per user or per video (``-1`` pads),
set from the data when the network is built, and a trainable ``(tokens, dim)`` table; the layer
returns the mean of the token vectors of each looked-up row, shaped like an embedding lookup
(``(batch, 1, dim)``), and the builders add it to the ID embedding.  For the user history the
target video is left out of the mean when it is in the bag (as in FISM, Kabbur et al., 2013), so
a watched pair cannot be learned from the watch itself.

Not a network (no ``ARCHITECTURE``); Keras is imported only when a layer is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from recommender.ml.config import TrainConfig

USER_HISTORY = "user_history"
VIDEO_FEATURES = "video_features"


@dataclass(frozen=True, eq=False)
class Bag:
    """Token indices per row (``index``, int32 ``(rows, width)``, ``-1`` = none) into ``tokens``
    token vectors."""

    index: np.ndarray
    tokens: int

    def __post_init__(self) -> None:
        index = np.asarray(self.index, dtype=np.int32)
        if index.ndim != 2 or index.shape[1] < 1:
            raise ValueError(f"a bag's index must be (rows, width >= 1), got shape {index.shape}")
        if index.size and (index.min() < -1 or index.max() >= self.tokens):
            raise ValueError(f"bag token indices must be in [-1, {self.tokens})")
        object.__setattr__(self, "index", index)


def mean_rows(index: np.ndarray, table: np.ndarray) -> np.ndarray:
    """numpy: the mean token vector of every row of ``index`` (zero for an empty row), float32."""
    valid = index >= 0
    vectors = table[np.maximum(index, 0)] * valid[:, :, None]
    count = np.maximum(valid.sum(axis=1, keepdims=True), 1)
    return (vectors.sum(axis=1) / count).astype(np.float32)


_LAYER: Any = None


def _layer_class() -> Any:
    """The Keras layer class, defined (and registered for loading) on first use."""
    global _LAYER
    if _LAYER is not None:
        return _LAYER
    import keras
    import tensorflow as tf

    @keras.saving.register_keras_serializable(package="recommender")
    class BagMean(keras.layers.Layer):  # type: ignore[misc]
        def __init__(
            self, rows: int, width: int, tokens: int, dim: int, l2: float = 0.0, exclude_target: bool = False, **kw: Any
        ) -> None:
            super().__init__(**kw)
            self.rows, self.width, self.tokens, self.dim = rows, width, tokens, dim
            self.l2, self.exclude_target = l2, exclude_target

        def build(self, input_shape: Any) -> None:
            self.index = self.add_weight(
                shape=(self.rows, self.width), dtype="int32", initializer="zeros", trainable=False, name="index"
            )
            reg = keras.regularizers.L2(self.l2) if self.l2 > 0 else None
            self.table = self.add_weight(
                shape=(self.tokens, self.dim), initializer="uniform", regularizer=reg, name="table"
            )

        def call(self, row: Any, target: Any = None) -> Any:
            idx = tf.gather(self.index, row[:, 0])  # (batch, width)
            valid = idx >= 0
            if self.exclude_target and target is not None:
                valid &= idx != target
            weight = tf.cast(valid, self.table.dtype)
            vectors = tf.gather(self.table, tf.maximum(idx, 0)) * weight[:, :, None]
            count = tf.maximum(tf.reduce_sum(weight, axis=1, keepdims=True), 1.0)
            return (tf.reduce_sum(vectors, axis=1) / count)[:, None, :]

        def get_config(self) -> dict[str, Any]:
            return {
                **super().get_config(),
                "rows": self.rows,
                "width": self.width,
                "tokens": self.tokens,
                "dim": self.dim,
                "l2": self.l2,
                "exclude_target": self.exclude_target,
            }

    _LAYER = BagMean
    return BagMean


def register() -> None:
    """Make a saved model with bags loadable (call before ``keras.saving.load_model``)."""
    _layer_class()


def add_bag(
    embedded: Any, row: Any, target: Any, bags: dict[str, Bag] | None, kind: str, name: str, config: TrainConfig
) -> Any:
    """``embedded`` (an ID embedding lookup) plus the mean of bag ``kind`` for ``row``, when the
    data has that bag; the layer is ``name`` and its token indices are set here."""
    import keras

    bag = (bags or {}).get(kind)
    if bag is None:
        return embedded
    layer = _layer_class()(
        bag.index.shape[0],
        bag.index.shape[1],
        bag.tokens,
        config.embedding_dim,
        l2=config.l2,
        exclude_target=kind == USER_HISTORY,
        name=name,
    )
    pooled = layer(row, target)
    layer.index.assign(bag.index)
    return keras.layers.Add(name=f"{name}_add")([embedded, pooled])


def read_bag(model: Any, name: str) -> np.ndarray | None:
    """numpy: the pooled vector of every row of bag layer ``name`` of ``model`` (``None`` if none)."""
    if name not in {layer.name for layer in model.layers}:
        return None
    layer = model.get_layer(name)
    return mean_rows(np.asarray(layer.index.numpy()), np.asarray(layer.table.numpy(), dtype=np.float32))


def user_history(users: np.ndarray, videos: np.ndarray, n_users: int, n_videos: int, width: int, seed: int) -> Bag:
    """Each user's watched videos (training pairs ``users``/``videos``) as a bag of at most
    ``width`` (a seeded random subset where there are more)."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(users)), users))
    u, v = users[order].astype(np.int64), videos[order]
    counts = np.bincount(u, minlength=n_users)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(u)) - starts[u]
    keep = rank < width
    index = np.full((n_users, width), -1, dtype=np.int32)
    index[u[keep], rank[keep]] = v[keep]
    return Bag(index=index, tokens=n_videos)
