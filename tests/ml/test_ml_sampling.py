"""Distinct unwatched videos for the leave-one-out evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.ml.data import pivot
from recommender.ml.sampling import NegativeSampler, sample_distinct_unwatched


def _data():
    # user 0 watched videos 2 and 7 of 10; user 1 watched all 10; user 2 watched video 0 (explicit 0.0)
    users = [0, 0] + [1] * 10 + [2]
    videos = [2, 7, *range(10), 0]
    return pivot(users, videos, [0.5, 0.5] + [1.0] * 10 + [0.0])


def test_unwatched_at_enumerates_unwatched_videos_in_order() -> None:
    sampler = NegativeSampler(_data())
    ranks = np.arange(8)
    np.testing.assert_array_equal(sampler.unwatched_at(np.zeros(8, dtype=np.int64), ranks), [0, 1, 3, 4, 5, 6, 8, 9])
    np.testing.assert_array_equal(sampler.unwatched_at(np.full(9, 2), np.arange(9)), np.arange(1, 10))


def test_distinct_samples_are_unwatched_and_padded() -> None:
    data = _data()
    rng = np.random.default_rng(0)
    out = sample_distinct_unwatched(data, np.array([0, 1, 2, 0]), 5, rng)
    assert out.shape == (4, 5)
    watched = data.watched_mask([0, 1, 2, 0])
    for row, user_row in zip(out, watched, strict=True):
        valid = row[row >= 0]
        assert len(set(valid.tolist())) == len(valid)  # distinct
        assert not user_row[valid].any()  # never watched
    assert (out[1] == -1).all()  # user 1 watched everything
    assert (out[0] >= 0).all() and (out[2] >= 0).all()
    # more asked than available: all unwatched videos, ascending, then padding
    everything = sample_distinct_unwatched(data, np.array([0]), 12, rng)
    np.testing.assert_array_equal(everything[0], [0, 1, 3, 4, 5, 6, 8, 9, -1, -1, -1, -1])


def test_distinct_sampling_is_seeded_and_uniform() -> None:
    data = _data()
    a = sample_distinct_unwatched(data, np.array([2] * 400), 3, np.random.default_rng(7))
    b = sample_distinct_unwatched(data, np.array([2] * 400), 3, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    counts = np.bincount(a.ravel(), minlength=10)
    assert counts[0] == 0  # watched (completion 0.0 still counts)
    assert counts[1:].min() > 0.6 * counts[1:].mean()  # each of the 9 unwatched is drawn about equally
    with pytest.raises(ValueError):
        sample_distinct_unwatched(data, np.array([0]), -1, np.random.default_rng(0))
