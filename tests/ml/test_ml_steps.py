"""The compiled training loop (recommender/ml/steps.py): chunks of steps compiled once, and a second
training on the same users and videos reusing the first one's model and compiled loop with exactly
the result of a fresh training."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.ml import steps as steps_module
from recommender.ml.steps import CHUNK_STEPS
from recommender.ml.train import train_model


def _weights_equal(a, b) -> None:
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_a_reused_loop_trains_exactly_as_a_fresh_model(small_data, tiny_config, jit_compile, monkeypatch) -> None:
    made = []
    real = steps_module.make_step_fn
    monkeypatch.setattr("recommender.ml.train.make_step_fn", lambda *a, **k: made.append(1) or real(*a, **k))
    # batches of 32 with or without the validation split (the smallest batch small data gets)
    evaluated_config = tiny_config.replace(
        architecture="neumf", ema=0.9, min_validation_samples=10, epochs=3, batch_size=32
    )
    published_config = evaluated_config.replace(epochs=2, validation_fraction=0.0, seed=7, learning_rate=0.005)

    evaluated = train_model(small_data, evaluated_config, jit_compile=jit_compile)
    assert evaluated.loop is not None and len(made) == 1
    fresh = train_model(small_data, published_config, jit_compile=jit_compile)
    assert len(made) == 2
    reused = train_model(small_data, published_config, jit_compile=jit_compile, reuse=evaluated.loop)
    assert len(made) == 2  # nothing traced or compiled again
    assert reused.model is evaluated.model  # handed over and overwritten
    _weights_equal(reused.model, fresh.model)
    assert [h["loss"] for h in reused.history] == [h["loss"] for h in fresh.history]
    # Warm starts reuse it too, from the given weights.
    start = [w * 0.5 for w in fresh.model.get_weights()]
    warm_fresh = train_model(small_data, published_config, jit_compile=jit_compile, initial_weights=start)
    warm_reused = train_model(
        small_data, published_config, jit_compile=jit_compile, initial_weights=start, reuse=reused.loop
    )
    _weights_equal(warm_reused.model, warm_fresh.model)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"embedding_dim": 4}, id="another-network"),
        pytest.param({"batch_size": 32}, id="another-batch"),
        pytest.param({"objective": "completion"}, id="another-loss"),
    ],
)
def test_a_loop_of_another_shape_is_not_reused(small_data, tiny_config, change) -> None:
    first = train_model(small_data, tiny_config)
    second = train_model(small_data, tiny_config.replace(**change), reuse=first.loop)
    assert second.model is not first.model
    _weights_equal(second.model, train_model(small_data, tiny_config.replace(**change)).model)


@pytest.mark.parametrize("change", [{"dropout": 0.2}, {"user_history": 3}], ids=["dropout", "history-bag"])
def test_models_with_their_own_random_state_or_data_tables_are_never_reused(small_data, tiny_config, change):
    assert train_model(small_data, tiny_config.replace(**change)).loop is None


def test_epochs_longer_than_a_chunk_train_every_step(tiny_config) -> None:
    from recommender.ml.data import pivot

    rng = np.random.default_rng(4)
    users, videos = np.nonzero(rng.random((120, 90)) < 0.4)
    data = pivot(users + 1, videos + 1, rng.random(len(users)))
    config = tiny_config.replace(batch_size=32, negatives=0, objective="completion", epochs=1)
    steps = -(-len(users) // 32)
    assert steps > 2 * CHUNK_STEPS and steps % CHUNK_STEPS
    result = train_model(data, config)
    assert result.history[0]["samples"] == len(users)
    assert result.model.optimizer.iterations.numpy() == steps
