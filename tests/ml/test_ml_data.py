from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.ml.data import InteractionMatrix, pivot


def test_id_maps_are_sorted_and_dense() -> None:
    data = pivot([42, 7, 42, 100], [9, 9, 3, 50], [0.5, 1.0, 0.25, 0.75])
    assert data.user_ids.tolist() == [7, 42, 100]
    assert data.video_ids.tolist() == [3, 9, 50]
    assert data.user_ids.dtype == np.int64 and data.video_ids.dtype == np.int64
    assert (data.n_users, data.n_videos, data.n_interactions) == (3, 3, 4)
    assert data.matrix.dtype == np.float32
    np.testing.assert_array_equal(
        data.matrix.toarray(),
        np.array([[0, 1.0, 0], [0.25, 0.5, 0], [0, 0, 0.75]], dtype=np.float32),
    )
    assert data.user_index(42) == 1 and data.video_index(50) == 2
    np.testing.assert_array_equal(data.user_indices([100, 7]), [2, 0])
    np.testing.assert_array_equal(data.video_indices(np.array([3, 50])), [0, 2])


def test_unknown_ids_raise_key_error() -> None:
    data = pivot([1, 2], [10, 20], [0.5, 0.5])
    with pytest.raises(KeyError):
        data.user_index(3)
    with pytest.raises(KeyError):
        data.video_index(11)
    with pytest.raises(KeyError, match=r"\[99\]"):
        data.user_indices([1, 99])
    with pytest.raises(KeyError):
        data.user_index("1")  # type: ignore[arg-type]


@pytest.mark.parametrize(("aggregate", "expected"), [("max", 0.9), ("last", 0.4), ("mean", 0.5)])
def test_duplicate_pairs_are_aggregated(aggregate: str, expected: float) -> None:
    data = pivot([1, 1, 1, 2], [5, 5, 5, 5], [0.2, 0.9, 0.4, 0.3], aggregate=aggregate)
    assert data.n_interactions == 2
    assert data.matrix[0, 0] == pytest.approx(expected)
    assert data.matrix[1, 0] == pytest.approx(0.3)


def test_max_is_the_default_aggregate() -> None:
    data = pivot([1, 1], [5, 5], [0.9, 0.1])
    assert data.matrix[0, 0] == pytest.approx(0.9)


def test_explicit_zero_completion_counts_as_watched() -> None:
    data = pivot([1, 1, 2], [10, 20, 20], [0.0, 0.5, 0.0])
    assert data.n_interactions == 3  # zeros are stored entries
    np.testing.assert_array_equal(data.watched_mask([0, 1]), [[True, True], [False, True]])
    users, videos, comp = data.triples()
    assert users.dtype == np.int32 and videos.dtype == np.int32
    assert comp.dtype == np.float32
    assert list(zip(users.tolist(), videos.tolist(), comp.tolist(), strict=True)) == [
        (0, 0, 0.0),
        (0, 1, 0.5),
        (1, 1, 0.0),
    ]


def test_watched_mask_arbitrary_rows() -> None:
    data = pivot([1, 2, 2, 3], [1, 1, 3, 2], [1, 1, 1, 1])
    mask = data.watched_mask(np.array([2, 1, 1]))
    np.testing.assert_array_equal(mask, [[False, True, False], [True, False, True], [True, False, True]])
    assert data.watched_mask([]).shape == (0, 3)
    with pytest.raises(IndexError):
        data.watched_mask([3])


def test_accepts_pandas_and_numpy_inputs(seed_frame) -> None:
    data = pivot(seed_frame.user, seed_frame.video, seed_frame.value / 10)
    assert (data.n_users, data.n_videos, data.n_interactions) == (9, 6, 29)
    assert data.matrix[data.user_index(1), data.video_index(1)] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("users", "videos", "comp", "message"),
    [
        ([], [], [], "empty"),
        ([1, 2], [1], [0.5, 0.5], "same length"),
        ([1], [1], [1.5], r"\[0, 1\]"),
        ([1], [1], [-0.1], r"\[0, 1\]"),
        ([1, 2], [1, 1], [0.5, float("nan")], "finite"),
        ([1], [1], [float("inf")], "finite"),
        (["a"], [1], [0.5], "integers"),
        ([1.5], [1], [0.5], "integers"),
        ([1], [1], ["x"], "numbers"),
    ],
)
def test_pivot_validation(users, videos, comp, message) -> None:
    with pytest.raises(ValueError, match=message):
        pivot(users, videos, comp)


def test_pivot_rejects_unknown_aggregate() -> None:
    with pytest.raises(ValueError, match="aggregate"):
        pivot([1], [1], [0.5], aggregate="min")


def test_pivot_matches_a_naive_implementation() -> None:
    rng = np.random.default_rng(3)
    users = rng.integers(1, 50, 5000)
    videos = rng.integers(1, 80, 5000)
    comp = rng.random(5000)
    data = pivot(users, videos, comp)
    expected: dict[tuple[int, int], float] = {}
    for u, v, c in zip(users.tolist(), videos.tolist(), comp.tolist(), strict=True):
        expected[(u, v)] = max(c, expected.get((u, v), -1.0))
    assert data.n_interactions == len(expected)
    for (u, v), c in expected.items():
        got = data.matrix[data.user_index(u), data.video_index(v)]
        assert got == pytest.approx(c, abs=1e-7)


def test_interaction_matrix_is_immutable_and_checked() -> None:
    data = pivot([1, 2], [1, 2], [0.5, 0.5])
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.user_ids = np.array([3, 4])  # type: ignore[misc]
    with pytest.raises(ValueError):
        data.user_ids[0] = 9  # read-only array
    with pytest.raises(ValueError, match="shape"):
        InteractionMatrix(sp.csr_matrix((2, 2), dtype=np.float32), np.array([1]), np.array([1, 2]))
    with pytest.raises(ValueError, match="ascending"):
        InteractionMatrix(sp.csr_matrix((2, 1), dtype=np.float32), np.array([2, 1]), np.array([1]))


def test_recency_weights_rank_each_viewers_own_watches() -> None:
    from recommender.ml.holdout import matrix_without, pair_last_seen

    # viewer 1 watched videos 30, 10, 20 in that order (times 1, 2, 3); viewer 2 only video 10
    users, videos, times = [1, 1, 1, 2], [30, 10, 20, 10], [1.0, 2.0, 3.0, 5.0]
    data = pivot(users, videos, [0.5, 0.5, 0.5, 0.5])
    assert data.seen is None and data.recency_weights(0.5) is None  # no times: every pair weighs 1
    data = data.with_seen(pair_last_seen(data, users, videos, times))
    assert data.recency_weights(0.0) is None
    weights = data.recency_weights(0.5)
    # triples order: viewer 1's videos 10, 20, 30 (watched 2nd, 3rd, 1st), then viewer 2's only one
    np.testing.assert_allclose(weights, [1.0, 1.5, 0.5, 1.0])
    assert weights.dtype == np.float32
    np.testing.assert_allclose(data.recency_weights(1.0)[:3].mean(), 1.0)  # the mean stays 1
    # a held-out split keeps the order of what is left
    rest = matrix_without(data, np.array([False, True, False, False]))
    np.testing.assert_allclose(rest.recency_weights(0.5), [1.5, 0.5, 1.0])
    with pytest.raises(ValueError, match="one entry per stored pair"):
        data.with_seen([1.0, 2.0])
