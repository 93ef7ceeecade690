from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest

from recommender.ml.config import ARCHITECTURES, OBJECTIVES, TrainConfig
from recommender.ml.data import pivot
from recommender.ml.train import _NegativeSampler, build_model, train_model

COMBOS = list(itertools.product(OBJECTIVES, ARCHITECTURES))


def test_reference_architecture_is_reproduced_exactly() -> None:
    config = TrainConfig(objective="completion", architecture="mlp")
    model = build_model(9, 6, config)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "InputLayer",
        "InputLayer",
        "Embedding",
        "Embedding",
        "Concatenate",
        "Flatten",
        "Dense",
        "Dense",
        "Dense",
    ]
    for name in ("user", "video"):
        assert tuple(model.get_layer(name).batch_shape) == (None, 1)
    user_emb, video_emb = model.get_layer("user_embedding"), model.get_layer("video_embedding")
    assert (user_emb.input_dim, user_emb.output_dim) == (9, 64)
    assert (video_emb.input_dim, video_emb.output_dim) == (6, 64)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [64, 32, 1]
    assert [d.activation.__name__ for d in dense] == ["relu", "relu", "sigmoid"]
    assert dense[0].kernel.shape == (128, 64)  # concat(user 64, video 64)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.loss == "mse"
    assert model.output_shape == (None, 1)


def test_neumf_has_gmf_and_mlp_branches() -> None:
    model = build_model(5, 7, TrainConfig(architecture="neumf", embedding_dim=8, hidden_units=(16, 4)))
    names = {layer.name for layer in model.layers}
    assert {
        "gmf_user_embedding",
        "gmf_video_embedding",
        "gmf_product",
        "mlp_user_embedding",
        "mlp_video_embedding",
        "neumf_concat",
        "output",
    } <= names
    assert isinstance(model.get_layer("gmf_product"), keras.layers.Multiply)
    # output unit sees GMF (8) + last MLP layer (4)
    assert model.get_layer("output").kernel.shape == (12, 1)


@pytest.mark.parametrize(("objective", "architecture"), COMBOS)
def test_every_variant_outputs_probabilities(objective: str, architecture: str) -> None:
    config = TrainConfig(objective=objective, architecture=architecture, embedding_dim=4, hidden_units=(8,))
    model = build_model(3, 5, config)
    expected_loss = "mse" if objective == "completion" else "binary_crossentropy"
    assert model.loss == expected_loss
    users = np.repeat(np.arange(3), 5)[:, None]
    videos = np.tile(np.arange(5), 3)[:, None]
    out = model.predict([users, videos], verbose=0)
    assert out.shape == (15, 1)
    assert np.all((out >= 0) & (out <= 1))


@pytest.mark.parametrize(("objective", "architecture"), COMBOS)
def test_training_is_deterministic(small_data, tiny_config, objective: str, architecture: str) -> None:
    config = tiny_config.replace(objective=objective, architecture=architecture)
    a = train_model(small_data, config)
    b = train_model(small_data, config)
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    c = train_model(small_data, config.replace(seed=config.seed + 1))
    assert not np.array_equal(a.model.get_weights()[0], c.model.get_weights()[0])


def test_xla_path_is_deterministic_and_learns(small_data, tiny_config) -> None:
    config = tiny_config.replace(epochs=3)
    a = train_model(small_data, config, jit_compile=True)
    b = train_model(small_data, config, jit_compile=True)
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    plain = train_model(small_data, config, jit_compile=False)
    # same algorithm, different kernels: equal up to float rounding
    assert a.history[-1]["loss"] == pytest.approx(plain.history[-1]["loss"], rel=1e-3)


def test_history_callback_and_result_without_validation(small_data, tiny_config) -> None:
    calls = []
    config = tiny_config.replace(epochs=3)
    result = train_model(small_data, config, on_epoch_end=lambda e, n, logs: calls.append((e, n, dict(logs))))
    assert [(e, n) for e, n, _ in calls] == [(1, 3), (2, 3), (3, 3)]
    assert result.epochs_run == 3 and result.best_epoch == 3
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert all(h["val_loss"] is None for h in result.history)
    assert result.holdout == {}
    n_obs = small_data.n_interactions
    assert result.history[0]["samples"] <= n_obs * (1 + config.negatives)
    assert result.train_samples == sum(h["samples"] for h in result.history)
    assert result.samples_per_s > 0 and result.seconds > 0
    assert calls[-1][2] == result.history[-1]


def test_validation_split_and_early_stopping(small_data, tiny_config) -> None:
    # a large learning rate overfits quickly, so val_loss turns up and training stops
    config = tiny_config.replace(
        objective="completion", epochs=60, patience=2, min_validation_samples=50, learning_rate=0.05
    )
    result = train_model(small_data, config)
    n_val = round(small_data.n_interactions * config.validation_fraction)
    assert result.holdout["n"] == n_val
    assert set(result.holdout) == {"rmse", "mae", "n"}
    assert result.epochs_run < 60
    assert result.epochs_run == result.best_epoch + config.patience
    val = [h["val_loss"] for h in result.history]
    assert min(val) == val[result.best_epoch - 1]
    # best weights were restored: holdout equals the best epoch's validation metrics
    best = result.history[result.best_epoch - 1]
    assert result.holdout["rmse"] == pytest.approx(best["val_rmse"], rel=1e-6)
    assert result.holdout["mae"] == pytest.approx(best["val_mae"], rel=1e-6)
    assert best["val_rmse"] ** 2 == pytest.approx(best["val_loss"], rel=1e-5)  # MSE on observed pairs


def test_no_validation_below_min_samples(small_data, tiny_config) -> None:
    config = tiny_config.replace(min_validation_samples=small_data.n_interactions + 1)
    assert train_model(small_data, config).holdout == {}


def test_negative_sampler_draws_only_unwatched_videos() -> None:
    rng = np.random.default_rng(0)
    users = np.array([0, 0, 1, 1, 1, 2, 3])
    videos = np.array([0, 3, 0, 1, 2, 4, 0])
    data = pivot(users, videos, np.zeros(len(users)))
    # user 4 watched everything -> no negatives for them
    full = pivot(
        np.concatenate([users, np.full(5, 4)]),
        np.concatenate([videos, np.arange(5)]),
        np.zeros(len(users) + 5),
    )
    for d in (data, full):
        sampler = _NegativeSampler(d)
        watched = d.watched_mask(np.arange(d.n_users))
        u_in = np.arange(d.n_users).repeat(50)
        su, sv = sampler.sample(u_in, 4, rng)
        assert not watched[su, sv].any()
        counts = np.bincount(su, minlength=d.n_users)
        for u in range(d.n_users):
            free = (~watched[u]).sum()
            assert counts[u] == (200 if free else 0)
            if free:  # every unwatched video gets drawn (uniform over 200 draws)
                assert set(sv[su == u].tolist()) == set(np.flatnonzero(~watched[u]).tolist())


def test_expected_completion_ranks_watched_above_unwatched(small_data) -> None:
    config = TrainConfig(
        embedding_dim=8,
        hidden_units=(16, 8),
        epochs=30,
        batch_size=128,
        learning_rate=0.01,
        min_validation_samples=10**6,
    )
    model = train_model(small_data, config).model
    users = np.repeat(np.arange(small_data.n_users), small_data.n_videos)
    videos = np.tile(np.arange(small_data.n_videos), small_data.n_users)
    pred = model.predict([users[:, None], videos[:, None]], verbose=0, batch_size=4096).reshape(
        small_data.n_users, small_data.n_videos
    )
    watched = small_data.watched_mask(np.arange(small_data.n_users))
    assert pred[watched].mean() > pred[~watched].mean() + 0.1
