"""The NCF paper's pre-training for NeuMF (He et al. 2017, section 3.4.1), for ``bench/tune.py``.

A GMF model (``sigmoid(w . (p_u * q_v) + b)``, the configuration's embedding size and L2) and the
``mlp`` architecture are trained separately on the same epochs (observed pairs plus the
configuration's sampled negatives, fresh every epoch); NeuMF then starts from their embeddings and
tower, its output unit the two output units side by side, weighted ``alpha`` and ``1 - alpha``, and is
trained as usual (the product's ``train_model``, early stopping included).

A measurement tool only: the product trains NeuMF from a random start.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recommender.ml.config import TrainConfig
from recommender.ml.data import InteractionMatrix
from recommender.ml.epochs import EpochData
from recommender.ml.sampling import NegativeSampler


def train_gmf(data: InteractionMatrix, config: TrainConfig, epochs: int) -> dict[str, np.ndarray]:
    """GMF trained for ``epochs`` epochs: ``{"user", "video", "kernel", "bias"}``."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    user, video = keras.Input((1,), dtype="int32"), keras.Input((1,), dtype="int32")
    reg = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    p = keras.layers.Embedding(data.n_users, config.embedding_dim, embeddings_regularizer=reg)(user)
    q = keras.layers.Embedding(data.n_videos, config.embedding_dim, embeddings_regularizer=reg)(video)
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(keras.layers.Multiply()([p, q])))
    model = keras.Model([user, video], out)
    optimizer = keras.optimizers.Adam(config.learning_rate)
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=True)
    def step(u: Any, v: Any, y: Any, w: Any) -> Any:
        with tf.GradientTape() as tape:
            pred = model([u[:, None], v[:, None]], training=True)
            loss = tf.reduce_sum(keras.losses.binary_crossentropy(y[:, None], pred) * w) / tf.reduce_sum(w)
            if model.losses:
                loss += tf.add_n(model.losses)
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    users, videos, labels = data.triples()
    epoch_data = EpochData(users, videos, labels, NegativeSampler(data), config, rng)
    for _ in range(epochs):
        arrays = epoch_data.next()
        for i in range(arrays[0].shape[0]):
            step(*(a[i] for a in arrays))
    tables = [layer.get_weights()[0] for layer in model.layers if isinstance(layer, keras.layers.Embedding)]
    kernel, bias = model.layers[-1].get_weights()
    return {"user": tables[0], "video": tables[1], "kernel": kernel, "bias": bias}


def pretrained_neumf(data: InteractionMatrix, config: TrainConfig, gmf_epochs: int, alpha: float = 0.5) -> Any:
    """NeuMF (``config``, architecture ``neumf``) trained from pre-trained GMF and MLP models: the
    ``TrainResult`` of its own training."""
    from recommender.ml.train import build_model, train_model

    gmf = train_gmf(data, config, gmf_epochs)
    mlp = train_model(data, config.replace(architecture="mlp")).model
    model = build_model(data.n_users, data.n_videos, config)
    model.get_layer("gmf_user_embedding").set_weights([gmf["user"]])
    model.get_layer("gmf_video_embedding").set_weights([gmf["video"]])
    model.get_layer("mlp_user_embedding").set_weights(mlp.get_layer("user_embedding").get_weights())
    model.get_layer("mlp_video_embedding").set_weights(mlp.get_layer("video_embedding").get_weights())
    for i in range(len(config.hidden_units)):
        model.get_layer(f"mlp_dense_{i}").set_weights(mlp.get_layer(f"mlp_dense_{i}").get_weights())
    mlp_kernel, mlp_bias = mlp.get_layer("output").get_weights()
    model.get_layer("output").set_weights(
        [
            np.concatenate([alpha * gmf["kernel"], (1 - alpha) * mlp_kernel]),
            alpha * gmf["bias"] + (1 - alpha) * mlp_bias,
        ]
    )
    return train_model(data, config, initial_weights=model.get_weights())
