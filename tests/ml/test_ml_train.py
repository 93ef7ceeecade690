from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest

from recommender.ml.config import ARCHITECTURES, OBJECTIVES, TrainConfig
from recommender.ml.data import InteractionMatrix, pivot
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


def test_bias_and_dropout_layers_only_when_asked() -> None:
    plain = {layer.name for layer in build_model(4, 5, TrainConfig(objective="completion")).layers}
    assert not {n for n in plain if "bias" in n or "dropout" in n}
    config = TrainConfig(architecture="neumf", embedding_dim=4, hidden_units=(8, 4), use_bias=True, dropout=0.2)
    model = build_model(4, 5, config)
    names = {layer.name for layer in model.layers}
    assert {"user_bias", "video_bias", "bias_add", "prediction", "mlp_dropout_0", "mlp_dropout_1"} <= names
    assert model.get_layer("output").activation.__name__ == "linear"
    assert model.get_layer("user_bias").output_dim == 1


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_biased_model_learns_biases_and_scores_like_predict(small_data, tiny_config, architecture) -> None:
    config = tiny_config.replace(
        objective="completion", architecture=architecture, use_bias=True, dropout=0.3, epochs=3, learning_rate=0.05
    )
    model = train_model(small_data, config).model
    assert np.abs(model.get_layer("video_bias").get_weights()[0]).max() > 0  # zeros at the start
    rng = np.random.default_rng(0)
    users = rng.integers(0, small_data.n_users, 300)
    videos = rng.integers(0, small_data.n_videos, 300)
    expected = model.predict([users[:, None], videos[:, None]], verbose=0).ravel()  # dropout off
    from recommender.ml.score import score_pairs, score_users

    np.testing.assert_allclose(score_pairs(model, users, videos), expected, atol=1e-5)
    rows = score_users(model, np.array([1, 2]), n_videos=small_data.n_videos)
    np.testing.assert_allclose(
        rows.ravel(),
        score_pairs(model, np.repeat([1, 2], small_data.n_videos), np.tile(np.arange(small_data.n_videos), 2)),
        atol=1e-6,
    )


def test_l2_rows_shrinks_the_embeddings(small_data, tiny_config) -> None:
    config = tiny_config.replace(objective="completion", epochs=3, learning_rate=0.02)
    free = train_model(small_data, config).model
    shrunk = train_model(small_data, config.replace(l2_rows=1.0)).model
    norm = lambda m: np.linalg.norm(m.get_layer("user_embedding").get_weights()[0])  # noqa: E731
    assert norm(shrunk) < 0.8 * norm(free)


def test_lr_decay_lowers_the_learning_rate_every_epoch(small_data, tiny_config) -> None:
    config = tiny_config.replace(epochs=3, learning_rate=0.01, lr_decay=0.5)
    model = train_model(small_data, config).model
    # epoch e trains with 0.01 * 0.5 ** (e - 1): the last epoch used 0.0025
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.0025)


def test_model_is_finite(small_data, tiny_config) -> None:
    from recommender.ml.score import model_is_finite

    model = build_model(
        small_data.n_users, small_data.n_videos, tiny_config.replace(architecture="neumf", use_bias=True)
    )
    assert model_is_finite(model)
    weights = model.get_layer("video_bias").get_weights()
    weights[0][3, 0] = np.nan
    model.get_layer("video_bias").set_weights(weights)
    assert not model_is_finite(model)


def test_ema_publishes_the_moving_average_of_the_weights(small_data, tiny_config) -> None:
    import tensorflow as tf

    from recommender.ml.steps import Ema

    config = tiny_config.replace(objective="completion", epochs=2, learning_rate=0.05)
    plain = train_model(small_data, config).model
    averaged = train_model(small_data, config.replace(ema=0.9)).model
    # same seed, same steps: the EMA run ends on different (smoothed) weights
    assert not np.allclose(plain.get_weights()[0], averaged.get_weights()[0])
    # the average itself: one update of momentum 0.5 from 0 towards 2 is 1; swap exchanges live and average
    model = build_model(2, 3, TrainConfig(objective="completion", embedding_dim=2, hidden_units=(2,)))
    ema = Ema(model, 0.5)
    var = ema.variables[0]
    var.assign(np.zeros_like(var.numpy()))
    ema.shadows[0].assign(np.zeros_like(var.numpy()))
    var.assign(np.full_like(var.numpy(), 2.0))
    ema.shadows[0].assign(ema.momentum * ema.shadows[0] + (1 - ema.momentum) * tf.convert_to_tensor(var.numpy()))
    ema.swap()
    np.testing.assert_allclose(var.numpy(), 1.0)
    np.testing.assert_allclose(ema.shadows[0].numpy(), 2.0)


def test_ema_with_validation_restores_averaged_best_weights(small_data, tiny_config) -> None:
    config = tiny_config.replace(objective="completion", epochs=4, min_validation_samples=50, ema=0.5)
    result = train_model(small_data, config)
    best = result.history[result.best_epoch - 1]
    # the holdout figure is measured on the returned weights: those validated at the best epoch
    assert result.holdout["rmse"] == pytest.approx(best["val_rmse"], rel=1e-6)


def test_batch_size_shrinks_on_small_data_only():
    from recommender.ml.train import effective_batch_size

    assert effective_batch_size(900_000, 4096) == 4096  # MovieLens-sized: unchanged
    assert effective_batch_size(4_770, 4096) == 150  # demo-sized: >= 32 steps per epoch
    assert effective_batch_size(29, 64) == 32  # the seed matrix: still one full batch
    assert effective_batch_size(10_000, 64) == 64  # never above the configured size


def test_large_epochs_train_in_segments_with_every_sample(small_data, tiny_config, monkeypatch) -> None:
    from recommender.ml import epochs

    config = tiny_config.replace(objective="expected_completion", negatives=4, epochs=3, validation_fraction=0.0)
    whole = train_model(small_data, config)
    monkeypatch.setattr(epochs, "SEGMENT_SAMPLES", 50)  # many segments per epoch
    calls = []
    real = epochs.EpochData._arrays

    def counting(self, u, v, y, w=None):
        calls.append(len(u))
        return real(self, u, v, y, w)

    monkeypatch.setattr(epochs.EpochData, "_arrays", counting)
    a = train_model(small_data, config)
    b = train_model(small_data, config)
    pairs = small_data.matrix.nnz
    assert len(calls) > 2 * 3 * 2 and max(calls) < pairs  # several segments per epoch, each a part
    assert sum(calls) == 2 * 3 * pairs  # every pair once per epoch (two runs of three epochs)
    # each epoch still trains on every pair and its negatives, and the run stays seeded
    assert [h["samples"] for h in a.history] == [h["samples"] for h in whole.history]
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert all(np.isfinite(h["loss"]) for h in a.history)


def test_recency_weights_the_loss_of_recent_watches(small_data, tiny_config, monkeypatch) -> None:
    from recommender.ml import epochs

    config = tiny_config.replace(objective="expected_completion", negatives=2, validation_fraction=0.0)
    rng = np.random.default_rng(0)
    matrix = small_data.matrix.copy()
    matrix.data = np.maximum(matrix.data, 0.05)  # no explicit zeros: a label of 0 is a sampled negative
    seen = rng.permutation(matrix.nnz).astype(np.float64)
    timed = InteractionMatrix(matrix=matrix, user_ids=small_data.user_ids, video_ids=small_data.video_ids, seen=seen)
    batches = []
    real = epochs.EpochData._arrays

    def keeping(self, u, v, y, w=None):
        out = real(self, u, v, y, w)
        batches.append(out)
        return out

    monkeypatch.setattr(epochs.EpochData, "_arrays", keeping)
    plain = train_model(timed, config)  # recency off: every sample weighs 1
    assert {float(x) for b in batches for x in np.unique(b[3])} <= {0.0, 1.0}
    batches.clear()
    weighted = train_model(timed, config.replace(recency=0.5))
    _u, _v, labels, weights = batches[0]
    real_samples = weights > 0
    negative = real_samples & (labels == 0)
    assert np.all(weights[negative] == 1.0)  # sampled unwatched videos keep weight 1
    positive = weights[real_samples & (labels > 0)]
    assert positive.min() == pytest.approx(0.5) and positive.max() == pytest.approx(1.5)
    assert abs(positive.mean() - 1.0) < 0.05
    changed = any(
        not np.array_equal(a, b) for a, b in zip(plain.model.get_weights(), weighted.model.get_weights(), strict=True)
    )
    assert changed
    # without knowing when pairs were watched, recency changes nothing
    batches.clear()
    untimed = train_model(timed.with_seen(None), config.replace(recency=0.5))
    for a, b in zip(plain.model.get_weights(), untimed.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
