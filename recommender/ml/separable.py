"""The training step's forward pass, evaluated per table instead of per example when that is cheaper.

The first layer of every tower here reads ``concat(user embedding, video embedding)`` and is
separable (see :mod:`~recommender.ml.architectures.base`): ``Dense(concat) = P[u] @ W_u + Q[v] @ W_v
+ b``. Keras evaluates it per example: a batch of ``B`` pairs costs ``B x 2d x h0`` multiply-adds
forward and twice that backward. Projecting the whole tables first, ``A = P @ W_u`` and ``B = Q @
W_v``, and gathering ``A[u] + B[v]`` costs ``(n_users + n_videos) x d x h0`` instead: less whenever
the catalogue and the audience together are smaller than a batch (MovieLens 100K: 2,625 rows against
batches of 8,192 pairs; the first layer is most of the network's arithmetic, so an epoch takes about
half the time). The model and its variables are the same, and so is every gradient as a sum,
so saved models and the numpy forward pass are unchanged and training stays seeded and
deterministic. One thing differs: the tower's two tables receive their gradient as a dense array,
where the Keras network hands Adam one row per example (``IndexedSlices``), and Keras' Adam squares
those rows one by one, so a video looked up several times in a batch adds the squares of its rows to
the second moment instead of the square of their sum. Here the tables get textbook (dense) Adam, like
the other layers. Measured on MovieLens 100K (``docs/benchmarks.md``), held-out HR@10 and NDCG@10
stay within the seed-to-seed noise.

Used for the networks built by :mod:`~recommender.ml.architectures` (``mlp``, ``neumf``) without
dropout and without pooled bags; anything else trains through the Keras model as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recommender.ml.architectures.base import MODEL_PREFIX

if TYPE_CHECKING:
    import keras

    from recommender.ml.config import TrainConfig

# architecture name -> (prefix of the tower's embedding tables, has a GMF branch)
TOWERS = {"mlp": ("", False), "neumf": ("mlp_", True)}

Forward = Callable[[Any, Any], Any]


def table_rows(model: keras.Model) -> int:
    """Rows of the tower's user and video tables together: the cost of one table projection."""
    prefix, _gmf = TOWERS[model.name.removeprefix(MODEL_PREFIX)]
    return sum(model.get_layer(f"{prefix}{kind}_embedding").input_dim for kind in ("user", "video"))


def separable_forward(model: keras.Model, config: TrainConfig, batch_size: int) -> Forward | None:
    """``forward(users, videos) -> predictions (batch, 1)`` computing ``model([users, videos])``
    through the projected tables, or ``None`` when that is not cheaper (the tables together have more
    rows than a batch has pairs) or not this network (dropout, pooled bags, another architecture)."""
    import keras
    import tensorflow as tf

    tower = TOWERS.get(model.name.removeprefix(MODEL_PREFIX))
    if tower is None or config.dropout > 0 or config.user_history > 0 or config.video_features:
        return None
    if table_rows(model) > batch_size:
        return None
    prefix, gmf = tower
    d = config.embedding_dim
    user_table = model.get_layer(f"{prefix}user_embedding").embeddings
    video_table = model.get_layer(f"{prefix}video_embedding").embeddings
    first, *rest = [model.get_layer(f"mlp_dense_{i}") for i in range(len(config.hidden_units))]
    output = model.get_layer("output")
    names = {layer.name for layer in model.layers}
    gmf_tables = (
        (model.get_layer("gmf_user_embedding").embeddings, model.get_layer("gmf_video_embedding").embeddings)
        if gmf
        else None
    )
    biases = (
        (model.get_layer("user_bias").embeddings, model.get_layer("video_bias").embeddings)
        if "user_bias" in names
        else None
    )

    def forward(users: Any, videos: Any) -> Any:
        kernel = first.kernel
        user_half = tf.matmul(user_table, kernel[:d])  # (n_users, h0)
        video_half = tf.matmul(video_table, kernel[d:])  # (n_videos, h0)
        h = tf.nn.relu(tf.gather(user_half, users) + tf.gather(video_half, videos) + first.bias)
        for layer in rest:
            h = tf.nn.relu(tf.matmul(h, layer.kernel) + layer.bias)
        if gmf_tables is not None:  # NeuMF: concat([gmf product, tower]) before the output unit
            product = tf.gather(gmf_tables[0], users) * tf.gather(gmf_tables[1], videos)
            h = tf.concat([product, h], axis=1)
        logit = tf.matmul(h, output.kernel) + output.bias
        if biases is not None:
            logit += tf.gather(biases[0], users) + tf.gather(biases[1], videos)
        # Keras' sigmoid keeps the logit beside the output, so binary cross-entropy reads it exactly.
        return keras.ops.sigmoid(logit)

    return forward
