"""The viewer's latest watches at scoring time (``TrainConfig.recent_boost``): the profiles, the
term, and every scorer that ranks or measures with it."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logit

from recommender.ml.architectures import forward_of
from recommender.ml.architectures.base import unit_rows
from recommender.ml.data import InteractionMatrix
from recommender.ml.recent import order_signal, recent_affinity, recent_profiles
from recommender.ml.score import score_pairs, score_top_n, score_users
from recommender.ml.train import train_model


def _data(rows: list[list[tuple[int, int]]], n_videos: int) -> InteractionMatrix:
    """One list of (video, when) per viewer; completion 0.8 everywhere."""
    users, videos, seen = [], [], []
    for u, watches in enumerate(rows):
        for v, when in sorted(watches):  # CSR (triples) order: by video within a viewer
            users.append(u)
            videos.append(v)
            seen.append(when)
    m = sp.csr_matrix((np.full(len(users), 0.8, np.float32), (users, videos)), shape=(len(rows), n_videos))
    return InteractionMatrix(
        matrix=m, user_ids=np.arange(1, len(rows) + 1), video_ids=np.arange(10, 10 + n_videos), seen=np.array(seen)
    )


def test_profiles_are_the_mean_unit_vector_of_the_latest_watches():
    data = _data([[(0, 5), (1, 9), (2, 1), (3, 7)], [(4, 3)], []], n_videos=5)
    vectors = np.array([[3, 0], [0, 2], [1, 1], [0, -5], [2, 2]], dtype=np.float32)
    got = recent_profiles(data, vectors, window=2)
    unit = unit_rows(vectors)
    # viewer 0's two latest: video 1 (9) and video 3 (7); video 0 (5) and 2 (1) are older
    np.testing.assert_allclose(got[0], (unit[1] + unit[3]) / 2, atol=1e-6)
    np.testing.assert_allclose(got[1], unit[4], atol=1e-6)  # fewer watches than the window
    np.testing.assert_array_equal(got[2], [0, 0])  # no watches: no pull at all
    np.testing.assert_allclose(recent_profiles(data, vectors, window=10)[0], unit[:4].mean(axis=0), atol=1e-6)


def test_profiles_need_to_know_when_pairs_were_watched():
    data = _data([[(0, 1)]], n_videos=2)
    unknown = InteractionMatrix(matrix=data.matrix, user_ids=data.user_ids, video_ids=data.video_ids)
    with pytest.raises(ValueError, match="seen"):
        recent_profiles(unknown, np.eye(2, dtype=np.float32), window=3)
    with pytest.raises(ValueError, match="window"):
        recent_profiles(data, np.eye(2, dtype=np.float32), window=0)


def test_latest_rank_counts_the_later_watches_of_the_same_viewer():
    data = _data([[(0, 5), (1, 9), (2, 1)], [(3, 3), (4, 3)]], n_videos=5)
    # triples order: viewer 0 -> videos 0, 1, 2; viewer 1 -> videos 3, 4 (a tie: the later pair wins)
    np.testing.assert_array_equal(data.latest_rank(), [1, 0, 2, 1, 0])


def test_order_signal_tells_runs_of_a_kind_from_an_arbitrary_order():
    # videos 0-4 point one way, 5-9 another; every viewer watches five of one kind, then the other
    vectors = np.array([[1, 0.1 * i] for i in range(5)] + [[0.1 * i, 1] for i in range(5)], dtype=np.float32)
    runs = [[(v, t) for t, v in enumerate([*range(5), *range(5, 10)][::step])] for step in (1, -1, 1, -1)]
    signal = order_signal(_data(runs, n_videos=10), vectors)
    assert signal.present and signal.gap > 0.2 and signal.viewers == 4
    # the same watches alternating between the kinds: consecutive ones are the least alike
    mixed = [[(v, t) for t, v in enumerate([0, 5, 1, 6, 2, 7, 3, 8, 4, 9])] for _ in range(4)]
    signal = order_signal(_data(mixed, n_videos=10), vectors)
    assert not signal.present and signal.gap < 0
    assert signal.as_metrics()["recent_order_viewers"] == 4
    # viewers with fewer than three watches say nothing either way
    assert not order_signal(_data([[(0, 1), (1, 2)]] * 5, n_videos=10), vectors).present


@pytest.fixture(scope="module")
def model_and_data(small_data, tiny_config):
    config = tiny_config.replace(objective="expected_completion", architecture="neumf", epochs=3, learning_rate=0.02)
    model = train_model(small_data, config).model
    # A watch order in runs of a kind: each viewer's watches along the main direction of the model's
    # video vectors, so consecutive watches are alike (the order_signal is present).
    vectors = unit_rows(forward_of(model).video_vectors())
    direction = np.linalg.svd(vectors - vectors.mean(axis=0), full_matrices=False)[2][0]
    data = small_data.with_seen((vectors @ direction)[small_data.matrix.indices])
    return model, data, config


def test_affinity_is_off_without_a_boost_without_watch_times_or_when_the_order_says_nothing(model_and_data):
    model, data, config = model_and_data
    boosted = config.replace(recent_boost=4.0)
    assert recent_affinity(model, data, boosted) is not None
    assert recent_affinity(model, data, config.replace(recent_boost=0.0)) is None
    unknown = InteractionMatrix(matrix=data.matrix, user_ids=data.user_ids, video_ids=data.video_ids)
    assert recent_affinity(model, unknown, boosted) is None
    arbitrary = data.with_seen(np.random.default_rng(3).permutation(data.n_interactions))
    assert not order_signal(arbitrary, forward_of(model).video_vectors()).present
    assert recent_affinity(model, arbitrary, boosted) is None


def test_every_scorer_adds_the_same_term_to_the_logit(model_and_data):
    model, data, config = model_and_data
    affinity = recent_affinity(model, data, config.replace(recent_boost=4.0, recent_window=3))
    assert affinity is not None
    users = np.repeat(np.arange(data.n_users), data.n_videos)
    videos = np.tile(np.arange(data.n_videos), data.n_users)
    plain = score_pairs(model, users, videos).astype(np.float64)
    boosted = score_pairs(model, users, videos, affinity=affinity).astype(np.float64)
    # the term: 4 x the mean cosine of the video to the viewer's 3 latest, in the model's vectors
    vectors = unit_rows(forward_of(model).video_vectors()).astype(np.float64)
    profiles = recent_profiles(data, vectors.astype(np.float32), 3).astype(np.float64)
    term = 4.0 * np.einsum("ij,ij->i", profiles[users], vectors[videos])
    np.testing.assert_allclose(logit(boosted), logit(plain) + term, atol=2e-3)
    assert np.abs(term).max() > 0.5  # the term really moves the scores
    rows = score_users(model, np.arange(data.n_users), n_videos=data.n_videos, affinity=affinity)
    np.testing.assert_allclose(rows.ravel(), boosted, atol=1e-5)


def test_feeds_rank_with_the_term_and_keep_its_scores(model_and_data):
    model, data, config = model_and_data
    affinity = recent_affinity(model, data, config.replace(recent_boost=6.0, recent_window=2))
    plain = score_top_n(model, data, top_n=5)
    top = score_top_n(model, data, top_n=5, affinity=affinity)
    assert not np.array_equal(plain.video_index, top.video_index)  # the boost changes what is shown
    for i, u in enumerate(top.user_index):
        picked = top.video_index[i][top.video_index[i] >= 0]
        expected = score_pairs(model, np.full(len(picked), u), picked, affinity=affinity)
        np.testing.assert_allclose(top.score[i][: len(picked)], expected, atol=1e-5)
        unwatched = np.setdiff1d(
            np.arange(data.n_videos), data.matrix.indices[data.matrix.indptr[u] : data.matrix.indptr[u + 1]]
        )
        best = score_pairs(model, np.full(len(unwatched), u), unwatched, affinity=affinity)
        assert top.score[i][0] == pytest.approx(best.max(), abs=1e-6)
    # retrieving candidates by the cheap score first keeps the term too
    retrieved = score_top_n(model, data, top_n=5, affinity=affinity, candidates=data.n_videos - 1)
    assert (retrieved.video_index[:, 0] == top.video_index[:, 0]).mean() > 0.8
