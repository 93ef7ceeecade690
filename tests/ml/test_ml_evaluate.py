"""Metrics against numbers computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.ml.data import pivot
from recommender.ml.holdout import (
    BiasBaseline,
    EvaluationSplit,
    evaluation_split,
    forward_split,
    matrix_without,
    pair_last_seen,
    popularity_scores,
    split_metrics,
)
from recommender.ml.metrics import (
    catalog_coverage,
    hit_rate_at_k,
    leave_one_out_metrics,
    mae,
    ndcg_at_k,
    ranks_against_negatives,
    rmse,
)


def test_rmse_and_mae() -> None:
    pred = [0.5, 1.0, 0.0, 0.25]
    actual = [1.0, 1.0, 0.5, 0.0]
    # errors 0.5, 0, 0.5, 0.25 -> squares 0.25, 0, 0.25, 0.0625 -> mean 0.140625
    assert rmse(pred, actual) == pytest.approx(0.375)
    assert mae(pred, actual) == pytest.approx(0.3125)
    assert rmse([3.0], [3.0]) == 0.0


def test_error_metrics_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        rmse([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        mae([], [])


def test_hit_rate() -> None:
    ranks = np.array([0, 3, 9, 10, 2])
    assert hit_rate_at_k(ranks, 10) == pytest.approx(4 / 5)
    assert hit_rate_at_k(ranks, 1) == pytest.approx(1 / 5)
    assert hit_rate_at_k(ranks, 3) == pytest.approx(2 / 5)


def test_ndcg() -> None:
    ranks = [0, 1, 3, 5]
    # k=5: 1/log2(2)=1, 1/log2(3), 1/log2(5), rank 5 is outside -> 0
    expected = (1 + 1 / math.log2(3) + 1 / math.log2(5) + 0) / 4
    assert ndcg_at_k(ranks, 5) == pytest.approx(expected)
    assert ndcg_at_k([0, 0], 1) == 1.0
    assert ndcg_at_k([1], 1) == 0.0


def test_ranking_metrics_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        hit_rate_at_k([0, 1], 0)
    with pytest.raises(ValueError):
        ndcg_at_k([-1], 5)
    with pytest.raises(ValueError):
        ndcg_at_k([], 5)


def test_catalog_coverage_ignores_padding() -> None:
    top = np.array([[0, 2, -1], [2, 3, -1]])
    assert catalog_coverage(top, 8) == pytest.approx(3 / 8)
    assert catalog_coverage(np.full((2, 3), -1), 4) == 0.0
    with pytest.raises(ValueError):
        catalog_coverage([[9]], 8)


# ----------------------------------------------------------------------------- ranking with negatives


def test_ranks_count_ties_against_the_held_out_item() -> None:
    pos = [0.7, 0.65, 0.2]
    neg = np.array([[0.8, 0.1, 0.7], [0.6, 0.2, 0.1], [0.2, 0.2, np.nan]])
    # row 0: 0.8 and 0.7 (tie) rank above -> 2; row 1: none -> 0; row 2: two ties, NaN is padding -> 2
    np.testing.assert_array_equal(ranks_against_negatives(pos, neg), [2, 0, 2])
    metrics = leave_one_out_metrics(pos, neg, k=2)
    assert metrics == {"hr_at_2": pytest.approx(1 / 3), "ndcg_at_2": pytest.approx(1 / 3)}
    with pytest.raises(ValueError, match="finite"):
        ranks_against_negatives([np.nan], [[0.1]])
    with pytest.raises(ValueError, match="shape"):
        ranks_against_negatives([0.1, 0.2], [[0.1]])


# ----------------------------------------------------------------------------- splits


def _events():
    """(user, video, completion, time) events, in recording order."""
    return [
        (1, 10, 1.0, 5.0),
        (1, 20, 0.4, 9.0),
        (1, 30, 0.8, 7.0),
        (1, 10, 0.2, 8.0),  # a re-watch: pair (1, 10) last seen at 8
        (2, 10, 0.6, 3.0),
        (3, 10, 0.1, 1.0),
        (3, 20, 0.2, 1.0),
        (3, 40, 0.3, 1.0),  # equal times: the event recorded last (this one) is the latest
        (3, 30, 0.9, 0.0),
    ]


def _events_matrix():
    u, v, c, t = (np.array(x) for x in zip(*_events(), strict=True))
    data = pivot(u, v, c)
    return data, pair_last_seen(data, u, v, t)


def test_pair_last_seen_orders_by_time_then_recording_order() -> None:
    data, seen = _events_matrix()
    users, videos, _ = data.triples()
    key = {(int(data.user_ids[a]), int(data.video_ids[b])): s for a, b, s in zip(users, videos, seen, strict=True)}
    # sorted by (time, order): (3,30)@0 (3,10)@1 (3,20)@1 (3,40)@1 (2,10)@3 (1,10)@5 (1,30)@7 (1,10)@8 (1,20)@9
    assert key == {
        (3, 30): 0,
        (3, 10): 1,
        (3, 20): 2,
        (3, 40): 3,
        (2, 10): 4,
        (1, 30): 6,
        (1, 10): 7,
        (1, 20): 8,
    }
    with pytest.raises(ValueError, match="not in the matrix"):
        pair_last_seen(data, [2], [20], [0.0])


def test_evaluation_split_holds_out_latest_and_a_share_of_the_rest() -> None:
    data, seen = _events_matrix()
    split = evaluation_split(data, seen, holdout_fraction=0.5, seed=3)
    ranked = {
        (int(data.user_ids[u]), int(data.video_ids[v]))
        for u, v in zip(split.ranked_user, split.ranked_video, strict=True)
    }
    assert ranked == {(1, 20), (3, 40)}  # user 2 has one pair: nothing to hold out
    # user 1: 3 pairs -> latest + min(floor(0.5 * 2 + 0.5), 1) = 1 rated; user 3: 4 pairs -> latest + 2 rated
    rated_users = [int(data.user_ids[u]) for u in split.rated_user]
    assert sorted(rated_users) == [1, 3, 3]
    assert not ranked & {
        (int(data.user_ids[u]), int(data.video_ids[v]))
        for u, v in zip(split.rated_user, split.rated_video, strict=True)
    }
    # every user keeps a training pair, the shape and ids are those of the full matrix
    assert split.train.matrix.shape == data.matrix.shape
    np.testing.assert_array_equal(split.train.user_ids, data.user_ids)
    assert np.all(np.diff(split.train.matrix.indptr) == [1, 1, 1])
    assert split.held_out.sum() == 5 and split.train.n_interactions == data.n_interactions - 5
    # the rated value is the stored completion of that pair
    full = data.matrix.toarray()
    np.testing.assert_allclose(split.rated_value, full[split.rated_user, split.rated_video])
    # seeded: same split again; another seed may pick other rated pairs but the same counts
    again = evaluation_split(data, seen, holdout_fraction=0.5, seed=3)
    np.testing.assert_array_equal(again.held_out, split.held_out)


def test_evaluation_split_without_leave_one_out() -> None:
    data, _ = _events_matrix()
    split = evaluation_split(data, None, holdout_fraction=0.5, seed=0, leave_one_out=False)
    assert len(split.ranked_user) == 0
    # user 1: min(floor(1.5 + 0.5), 2) = 2, user 2: 0 (one pair), user 3: min(floor(2.5), 3) = 2
    assert sorted(int(data.user_ids[u]) for u in split.rated_user) == [1, 1, 3, 3]
    with pytest.raises(ValueError, match="holdout_fraction"):
        evaluation_split(data, None, holdout_fraction=1.0, seed=0, leave_one_out=False)


def test_matrix_without_keeps_explicit_zeros_and_shape() -> None:
    data = pivot([1, 1, 2], [5, 6, 5], [0.0, 0.5, 1.0])
    drop = np.array([False, True, False])
    rest = matrix_without(data, drop)
    assert rest.n_interactions == 2 and rest.matrix.shape == (2, 2)
    assert rest.watched_mask([0]).tolist() == [[True, False]]  # the explicit 0.0 still counts
    with pytest.raises(ValueError):
        matrix_without(data, [True])


# ----------------------------------------------------------------------------- baselines


def test_bias_baseline_against_hand_computation() -> None:
    # u0: v0 = 1.0, v1 = 0.5; u1: v0 = 0.5.  mean = 2/3
    data = pivot([0, 0, 1], [0, 1, 0], [1.0, 0.5, 0.5])
    plain = BiasBaseline.fit(data, reg_user=0.0, reg_video=0.0, epochs=1)
    # video biases first (user biases 0): v0 = (1/3 - 1/6) / 2 = 1/12, v1 = -1/6
    np.testing.assert_allclose(plain.video_bias, [1 / 12, -1 / 6])
    # then users: u0 = ((1 - 2/3 - 1/12) + (1/2 - 2/3 + 1/6)) / 2 = 1/8, u1 = 1/2 - 2/3 - 1/12 = -1/4
    np.testing.assert_allclose(plain.user_bias, [1 / 8, -1 / 4])
    assert plain.predict([0], [0])[0] == pytest.approx(2 / 3 + 1 / 8 + 1 / 12)
    shrunk = BiasBaseline.fit(data, reg_user=1.0, reg_video=1.0, epochs=1)
    np.testing.assert_allclose(shrunk.video_bias, [1 / 18, -1 / 12])
    np.testing.assert_allclose(shrunk.user_bias, [7 / 108, -1 / 9])
    # predictions are clipped to the completion range
    extreme = BiasBaseline(mean=0.9, user_bias=np.array([0.3]), video_bias=np.array([0.2]))
    assert extreme.predict([0], [0])[0] == 1.0


def test_popularity_scores_counts_viewers_and_breaks_ties_by_seed() -> None:
    data = pivot([0, 0, 1, 2], [0, 1, 0, 2], [0.1, 0.2, 0.3, 0.0])
    np.testing.assert_array_equal(popularity_scores(data), [2, 1, 1])
    jittered = popularity_scores(data, seed=1)
    np.testing.assert_array_equal(np.floor(jittered), [2, 1, 1])  # jitter < 0.5 never reorders counts
    assert jittered[1] != jittered[2]
    np.testing.assert_array_equal(jittered, popularity_scores(data, seed=1))


# ----------------------------------------------------------------------------- one split, a fake model


def _hand_split():
    """Six videos; user 0 watched v0 (1.0), v1 (0.6), v2 (0.8); user 1 watched v0 (0.4), v3 (1.0), v4 (0.2).
    Held out: ranked (0, v2), (1, v4); rated (0, v1) = 0.6, (1, v3) = 1.0; training: v0 for both."""
    full = pivot([0, 0, 0, 1, 1, 1, 2], [0, 1, 2, 0, 3, 4, 5], [1.0, 0.6, 0.8, 0.4, 1.0, 0.2, 0.5])
    # user 2 only makes video 5 exist; keep them out of the held-out sets
    held = np.zeros(full.n_interactions, dtype=bool)
    held[[1, 2, 4, 5]] = True
    split = EvaluationSplit(
        train=matrix_without(full, held),
        held_out=held,
        ranked_user=np.array([0, 1]),
        ranked_video=np.array([2, 4]),
        rated_user=np.array([0, 1]),
        rated_video=np.array([1, 3]),
        rated_value=np.array([0.6, 1.0], dtype=np.float32),
    )
    table = np.array(
        [
            [0.9, 0.5, 0.7, 0.8, 0.1, 0.7],
            [0.3, 0.6, 0.2, 0.9, 0.65, 0.1],
            [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
        ]
    )
    return full, split, table


def test_split_metrics_with_a_hand_made_model() -> None:
    full, split, table = _hand_split()
    m = split_metrics(lambda u, v: table[u, v], full, split, negatives=99, k=2, seed=0)
    # rated: predictions 0.5 vs 0.6 and 0.9 vs 1.0 -> both off by 0.1
    assert m["rmse"] == pytest.approx(0.1) and m["mae"] == pytest.approx(0.1) and m["n_rated"] == 2
    # training mean (1.0 + 0.4 + 0.5) / 3 (user 2's pair trains too)
    mean = 1.9 / 3
    assert m["baseline_mean_rmse"] == pytest.approx(np.sqrt(((0.6 - mean) ** 2 + (1.0 - mean) ** 2) / 2))
    # user 0: unwatched v3 0.8, v4 0.1, v5 0.7 vs 0.7 -> rank 2 (tie counts against);
    # user 1: unwatched v1 0.6, v2 0.2, v5 0.1 vs 0.65 -> rank 0
    assert m["hr_at_2"] == pytest.approx(0.5)
    assert m["ndcg_at_2"] == pytest.approx(0.5)
    assert m["n_ranked"] == 2 and m["negatives"] == 3  # fewer unwatched videos than asked for
    assert m["scores_finite"] is True
    assert {"baseline_bias_rmse", "baseline_bias_mae", "baseline_popular_hr_at_2", "baseline_popular_ndcg_at_2"} <= set(
        m
    )


def test_split_metrics_flags_non_finite_scores() -> None:
    full, split, table = _hand_split()
    broken = table.copy()
    broken[1, 1] = np.nan  # a negative of user 1
    m = split_metrics(lambda u, v: broken[u, v], full, split, k=10)
    assert m["scores_finite"] is False
    assert m["hr_at_10"] is None and m["ndcg_at_10"] is None
    assert m["rmse"] == pytest.approx(0.1)  # the rated pairs were fine


def test_split_metrics_caps_ranked_users() -> None:
    full, split, table = _hand_split()
    m = split_metrics(lambda u, v: table[u, v], full, split, k=2, max_ranked_users=1)
    assert m["n_ranked"] == 1 and m["hr_at_2"] in (0.0, 1.0)


def test_forward_split_keeps_only_new_pairs() -> None:
    data = pivot([0, 0, 1, 1, 1], [0, 1, 0, 2, 3], [0.5, 0.5, 0.5, 0.1, 0.1])
    # user 0 watched v0, v1; user 1 watched v0, v2, v3
    combined, split = forward_split(
        data,
        user_idx=[0, 0, 0, 0, 1],
        video_idx=[1, 2, 2, 3, 1],
        completion=[0.9, 0.3, 0.7, 0.5, 0.0],
        times=[9, 5, 3, 4, 1],
    )
    # (0, 1) was known -> ignored; (0, 2) twice -> highest completion 0.7, latest time 5
    rated = sorted(zip(split.rated_user.tolist(), split.rated_video.tolist(), split.rated_value.tolist(), strict=True))
    assert rated == [(0, 2, pytest.approx(0.7)), (0, 3, pytest.approx(0.5)), (1, 1, 0.0)]
    assert sorted(zip(split.ranked_user.tolist(), split.ranked_video.tolist(), strict=True)) == [(0, 2), (1, 1)]
    assert split.train is data
    assert combined.n_interactions == data.n_interactions + 3
    assert combined.matrix.has_canonical_format
    assert combined.watched_mask([1]).tolist() == [[True, True, True, True]]  # explicit 0.0 kept
    with pytest.raises(ValueError, match="out of range"):
        forward_split(data, [2], [0], [0.5], [1.0])


@pytest.mark.parametrize(("aggregate", "expected"), [("max", 0.7), ("last", 0.3), ("mean", 0.5)])
def test_forward_split_reads_repeated_events_like_the_training(aggregate: str, expected: float) -> None:
    """A new pair watched twice counts as the training's rule would count it (input order = the
    order the events were recorded)."""
    data = pivot([0, 1], [0, 1], [0.5, 0.5])
    _, split = forward_split(data, [0, 0], [1, 1], [0.7, 0.3], [1.0, 2.0], aggregate=aggregate)
    assert split.rated_value.tolist() == [pytest.approx(expected)]
    again = pivot([0, 0], [1, 1], [0.7, 0.3], aggregate=aggregate)
    assert again.matrix.data.tolist() == split.rated_value.tolist()
    with pytest.raises(ValueError, match="aggregate"):
        forward_split(data, [0], [1], [0.5], [1.0], aggregate="min")
