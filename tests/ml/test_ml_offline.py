"""Offline evaluation of a configuration: split, train on the rest, measure."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.ml.data import pivot
from recommender.ml.offline import EvaluationUnavailable, offline_evaluate


def test_offline_evaluation_measures_a_model_that_never_saw_the_held_out_pairs(small_data, tiny_config) -> None:
    seen = np.arange(small_data.n_interactions, dtype=float)  # later pairs in triples order = later watches
    config = tiny_config.replace(epochs=3, learning_rate=0.02)
    evaluation = offline_evaluate(small_data, seen, config, holdout_fraction=0.2, negatives=10)
    m = evaluation.metrics
    split = evaluation.split
    counts = np.diff(small_data.matrix.indptr)
    assert m["n_ranked"] == int((counts >= 2).sum()) == len(split.ranked_user)
    assert m["n_rated"] == len(split.rated_user) > 0
    assert m["negatives"] == 10
    assert 0 <= m["hr_at_10"] <= 1 and 0 <= m["ndcg_at_10"] <= m["hr_at_10"]
    assert 0 < m["rmse"] < 1 and 0 < m["mae"] <= m["rmse"]
    assert m["scores_finite"] is True
    assert m["epochs_run"] == evaluation.result.epochs_run == 3
    # the latest pair of every user is the ranked one
    users, videos, _ = small_data.triples()
    last = {u: v for u, v in zip(users.tolist(), videos.tolist(), strict=True)}
    assert all(last[u] == v for u, v in zip(split.ranked_user.tolist(), split.ranked_video.tolist(), strict=True))
    # the trained model saw only the training part
    assert evaluation.result.model.get_layer("user_embedding").input_dim == small_data.n_users
    assert split.train.n_interactions == small_data.n_interactions - split.held_out.sum()
    # seeded end to end
    again = offline_evaluate(small_data, seen, config, holdout_fraction=0.2, negatives=10)
    assert again.metrics["ndcg_at_10"] == m["ndcg_at_10"] and again.metrics["rmse"] == m["rmse"]


def test_offline_evaluation_needs_a_user_with_two_pairs(tiny_config) -> None:
    data = pivot([1, 2, 3], [1, 1, 2], [0.5, 0.5, 0.5])
    with pytest.raises(EvaluationUnavailable, match="two or more"):
        offline_evaluate(data, np.zeros(3), tiny_config)


def test_offline_evaluation_caps_ranked_users(tiny_config) -> None:
    rng = np.random.default_rng(3)
    users = np.repeat(np.arange(20), 4)
    videos = np.concatenate([rng.choice(15, 4, replace=False) for _ in range(20)])
    data = pivot(users, videos, rng.random(80))
    evaluation = offline_evaluate(data, np.zeros(data.n_interactions), tiny_config, max_ranked_users=5)
    assert evaluation.metrics["n_ranked"] == 5
