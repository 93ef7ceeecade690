"""Every registered architecture: the Keras network and its numpy forward pass agree.

A new architecture module is picked up by these tests without listing it anywhere."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.special import expit

from recommender.ml.architectures import NAMES, REGISTRY, architecture, architecture_name_of, forward_of
from recommender.ml.architectures.base import is_user_table
from recommender.ml.config import ARCHITECTURES, TrainConfig

N_USERS, N_VIDEOS = 7, 11
VARIANTS = [
    pytest.param({}, id="plain"),
    pytest.param({"use_bias": True, "dropout": 0.3, "l2": 1e-4}, id="bias-dropout-l2"),
    pytest.param({"hidden_units": (5,)}, id="one-hidden-layer"),
]


def _randomised(name: str, **overrides: Any) -> Any:
    """A freshly built model whose every weight is random: each branch moves the scores (the
    initial bias tables are zeros, which would hide a mistake there)."""
    config = TrainConfig(architecture=name).replace(**{"embedding_dim": 4, "hidden_units": (6, 3), **overrides})
    model = architecture(name).build(N_USERS, N_VIDEOS, config)
    rng = np.random.default_rng(5)
    model.set_weights([rng.normal(0, 0.7, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def test_the_configuration_lists_the_registered_architectures() -> None:
    assert ARCHITECTURES == NAMES
    assert {"mlp", "neumf"} <= set(NAMES)
    assert all(REGISTRY[name].name == name and REGISTRY[name].summary for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("overrides", VARIANTS)
def test_numpy_forward_equals_keras_predict(name: str, overrides: dict) -> None:
    model = _randomised(name, **overrides)
    assert architecture_name_of(model) == name
    net = architecture(name).forward(model)
    assert (net.n_users, net.n_videos) == (N_USERS, N_VIDEOS)
    users = np.repeat(np.arange(N_USERS), N_VIDEOS)
    videos = np.tile(np.arange(N_VIDEOS), N_USERS)
    expected = model.predict([users[:, None], videos[:, None]], verbose=0).ravel()
    assert np.ptp(expected) > 0.1  # a real spread, not a saturated constant

    pairs = expit(net.pair_logits(users, videos))
    np.testing.assert_allclose(pairs, expected, atol=1e-5, rtol=0)
    tabled = expit(net.pair_logits(users, videos, net.pair_tables()))
    np.testing.assert_allclose(tabled, expected, atol=1e-5, rtol=0)
    rows = expit(net.row_logits(np.arange(N_USERS), net.video_part()))
    assert rows.dtype == np.float32
    np.testing.assert_allclose(rows.ravel(), expected, atol=1e-5, rtol=0)
    assert all(np.all(np.isfinite(a)) for a in net.arrays())


@pytest.mark.parametrize("name", NAMES)
def test_video_vectors_are_one_float_row_per_video(name: str) -> None:
    model = _randomised(name)
    vectors = REGISTRY[name].video_vectors(model)
    assert vectors.dtype == np.float32 and vectors.ndim == 2 and vectors.shape[0] == N_VIDEOS
    assert vectors.shape[1] >= 1 and np.all(np.isfinite(vectors))
    np.testing.assert_array_equal(vectors, forward_of(model).video_vectors())


@pytest.mark.parametrize("name", NAMES)
def test_user_tables_follow_the_naming_rule(name: str) -> None:
    """Per-example L2 (``l2_rows``) tells user from video tables by name; every table of every
    architecture must be one or the other, and be found by its input's size."""
    import keras

    model = _randomised(name, use_bias=True)
    tables = [layer for layer in model.layers if isinstance(layer, keras.layers.Embedding)]
    assert tables
    for layer in tables:
        assert layer.input_dim == (N_USERS if is_user_table(layer.name) else N_VIDEOS), layer.name


def test_unknown_architectures_are_refused() -> None:
    import keras

    with pytest.raises(ValueError, match="architecture must be one of"):
        architecture("transformer")
    x = keras.Input(shape=(1,))
    stranger = keras.Model(x, keras.layers.Dense(1)(x), name="something_else")
    with pytest.raises(ValueError, match="not built by a registered architecture"):
        forward_of(stranger)
