"""The training step's separable forward pass (recommender/ml/separable.py): the same predictions and
gradients as the Keras network, used only where it is cheaper and where it applies."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from recommender.ml import steps as steps_module
from recommender.ml.architectures import architecture
from recommender.ml.config import TrainConfig
from recommender.ml.data import pivot
from recommender.ml.epochs import effective_batch_size
from recommender.ml.separable import TOWERS, separable_forward
from recommender.ml.train import train_model

N_USERS, N_VIDEOS = 7, 11


def _randomised(name: str, **overrides: Any) -> tuple[Any, TrainConfig]:
    config = TrainConfig(architecture=name).replace(**{"embedding_dim": 4, "hidden_units": (6, 3), **overrides})
    model = architecture(name).build(N_USERS, N_VIDEOS, config)
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, 0.7, w.shape).astype(np.float32) for w in model.get_weights()])
    return model, config


def _dense(gradient: Any) -> np.ndarray:
    return np.asarray(tf.convert_to_tensor(gradient))


@pytest.mark.parametrize("name", sorted(TOWERS))
@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="plain"),
        pytest.param({"use_bias": True, "l2": 1e-3}, id="bias-l2"),
        pytest.param({"hidden_units": (5,)}, id="one-hidden-layer"),
    ],
)
def test_same_predictions_and_gradients_as_the_keras_network(name: str, overrides: dict) -> None:
    model, config = _randomised(name, **overrides)
    forward = separable_forward(model, config, batch_size=64)
    assert forward is not None
    rng = np.random.default_rng(0)
    users = tf.constant(rng.integers(0, N_USERS, 50), tf.int32)
    videos = tf.constant(rng.integers(0, N_VIDEOS, 50), tf.int32)
    weights = tf.constant(rng.normal(size=(50, 1)), tf.float32)
    variables = model.trainable_variables

    with tf.GradientTape(persistent=True) as tape:
        expected = model([users[:, None], videos[:, None]], training=True)
        got = forward(users, videos)
        loss_expected = tf.reduce_sum(expected * weights)
        loss_got = tf.reduce_sum(got * weights)
    assert got.shape == expected.shape == (50, 1)
    assert np.ptp(expected.numpy()) > 0.1
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-5, rtol=0)
    # Binary cross-entropy reads the logit kept beside the output, as with the Keras network's.
    assert hasattr(got, "_keras_logits")
    for want, have, variable in zip(
        tape.gradient(loss_expected, variables), tape.gradient(loss_got, variables), variables, strict=True
    ):
        np.testing.assert_allclose(_dense(have), _dense(want), atol=1e-4, rtol=1e-4, err_msg=variable.path)


@pytest.mark.parametrize(
    ("overrides", "batch_size"),
    [
        pytest.param({"dropout": 0.2}, 64, id="dropout"),
        pytest.param({"user_history": 4}, 64, id="user-history-bag"),
        pytest.param({"video_features": True}, 64, id="video-features-bag"),
        pytest.param({}, N_USERS + N_VIDEOS - 1, id="tables-larger-than-a-batch"),
    ],
)
def test_not_used_where_it_does_not_apply_or_costs_more(overrides: dict, batch_size: int) -> None:
    model, config = _randomised("neumf")
    assert separable_forward(model, config.replace(**overrides), batch_size) is None
    assert separable_forward(model, config, N_USERS + N_VIDEOS) is not None


def test_training_takes_it_and_learns_as_well(tiny_config, monkeypatch) -> None:
    # 12 + 14 table rows, batches of 32 (the smallest batch small data gets): the separable path pays.
    rng = np.random.default_rng(1)
    watched = rng.random((12, 14)) < 0.5
    users, videos = np.nonzero(watched)
    data = pivot(users + 1, videos + 1, rng.random(len(users)))
    config = tiny_config.replace(architecture="neumf", epochs=6, learning_rate=0.01)
    assert data.n_users + data.n_videos <= effective_batch_size(len(users) * 3, config.batch_size)
    used = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        used.append(separable_forward(*args, **kwargs) is not None)
        return separable_forward(*args, **kwargs)

    monkeypatch.setattr(steps_module, "separable_forward", spy)
    fast = train_model(data, config)
    assert used == [True]
    again = train_model(data, config)
    slow = train_model(data, config, separable=False)
    assert used == [True, True]  # not asked for the last one
    # Seeded and deterministic; the same first steps (the same gradients), then Adam's arithmetic on
    # the tower's tables differs slightly (see the module), so both learn about as much.
    for a, b in zip(fast.model.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    losses = [[epoch["loss"] for epoch in result.history] for result in (fast, slow)]
    assert losses[0][-1] < losses[0][0] - 0.02
    assert abs(losses[0][0] - losses[1][0]) < 0.01
    assert abs(losses[0][-1] - losses[1][-1]) < 0.02


def _one_sgd_step(separable: bool) -> list[np.ndarray]:
    import keras

    model, config = _randomised("neumf")
    forward = separable_forward(model, config, batch_size=64)
    rng = np.random.default_rng(2)
    users = tf.constant(rng.integers(0, N_USERS, 40), tf.int32)
    videos = tf.constant(rng.integers(0, N_VIDEOS, 40), tf.int32)
    labels = tf.constant(rng.integers(0, 2, (40, 1)), tf.float32)
    with tf.GradientTape() as tape:
        pred = forward(users, videos) if separable else model([users[:, None], videos[:, None]], training=True)
        loss = tf.reduce_mean(keras.losses.binary_crossentropy(labels, pred))
    keras.optimizers.SGD(learning_rate=0.5).apply(
        tape.gradient(loss, model.trainable_variables), model.trainable_variables
    )
    return model.get_weights()


def test_one_sgd_step_moves_the_weights_exactly_as_the_keras_network() -> None:
    before = _randomised("neumf")[0].get_weights()
    keras_step, separable_step = _one_sgd_step(False), _one_sgd_step(True)
    assert any(not np.allclose(a, b) for a, b in zip(keras_step, before, strict=True))
    for a, b in zip(separable_step, keras_step, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
