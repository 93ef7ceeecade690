from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.ml.config import ARCHITECTURES, OBJECTIVES
from recommender.ml.data import InteractionMatrix
from recommender.ml.score import (
    REASON_MIN_COMPLETION,
    TopN,
    candidate_count,
    score_pairs,
    score_top_n,
    score_users,
    video_embeddings,
)
from recommender.ml.train import build_model, train_model

COMBOS = list(itertools.product(OBJECTIVES, ARCHITECTURES))


@pytest.fixture(scope="module")
def trained(small_data, tiny_config):
    """One briefly trained model per objective x architecture (the weights have moved
    away from their initial values, so every branch matters)."""
    return {
        (obj, arch): train_model(
            small_data, tiny_config.replace(objective=obj, architecture=arch, epochs=3, learning_rate=0.02)
        ).model
        for obj, arch in COMBOS
    }


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "-".join(c))
def test_score_pairs_equals_keras_predict(trained, small_data, combo) -> None:
    model = trained[combo]
    rng = np.random.default_rng(1)
    users = rng.integers(0, small_data.n_users, 500)
    videos = rng.integers(0, small_data.n_videos, 500)
    expected = model.predict([users[:, None], videos[:, None]], verbose=0).ravel()
    got = score_pairs(model, users, videos)
    assert got.dtype == np.float32 and got.shape == (500,)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert np.ptp(got) > 0.01  # a real spread of scores, not a constant
    # the many-pairs path (precomputed tables) gives the same answers
    many_u = np.concatenate([users, rng.integers(0, small_data.n_users, 2000)])
    many_v = np.concatenate([videos, rng.integers(0, small_data.n_videos, 2000)])
    np.testing.assert_allclose(score_pairs(model, many_u, many_v)[:500], expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "-".join(c))
def test_score_users_gives_full_rows(trained, small_data, combo) -> None:
    model = trained[combo]
    users = np.array([3, 0, 3])
    rows = score_users(model, users, n_videos=small_data.n_videos)
    assert rows.shape == (3, small_data.n_videos) and rows.dtype == np.float32
    pairs = score_pairs(model, users.repeat(small_data.n_videos), np.tile(np.arange(small_data.n_videos), 3))
    np.testing.assert_allclose(rows.ravel(), pairs, atol=1e-6)


def test_scorer_input_validation(trained, small_data) -> None:
    model = trained[("completion", "mlp")]
    with pytest.raises(IndexError):
        score_pairs(model, [small_data.n_users], [0])
    with pytest.raises(ValueError, match="length"):
        score_pairs(model, [0, 1], [0])
    with pytest.raises(ValueError):
        score_users(model, [0], n_videos=small_data.n_videos + 1)
    with pytest.raises(ValueError, match="top_n"):
        score_top_n(model, small_data, top_n=0)


def _check_top_n(top: TopN, model, data: InteractionMatrix, k: int, exclude: bool = True) -> None:
    n = len(top.user_index)
    assert top.video_index.shape == top.score.shape == top.reason_index.shape == (n, k)
    assert top.video_index.dtype == np.int32 and top.reason_index.dtype == np.int32
    assert top.score.dtype == np.float32
    watched = data.watched_mask(top.user_index)
    full = score_users(model, top.user_index, n_videos=data.n_videos)
    emb = video_embeddings(model)
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    for i in range(len(top.user_index)):
        vids = top.video_index[i]
        valid = vids >= 0
        n_valid = int(valid.sum())
        assert valid[:n_valid].all()  # padding only at the end
        candidates = np.flatnonzero(~watched[i]) if exclude else np.arange(data.n_videos)
        assert n_valid == min(k, len(candidates))
        real = vids[valid]
        assert len(set(real.tolist())) == n_valid
        if exclude:
            assert not watched[i, real].any()
        # exactly the best-scoring candidates, best first, ties to the lower index
        order = sorted(candidates.tolist(), key=lambda v: (-full[i, v], v))[:n_valid]
        assert real.tolist() == order
        np.testing.assert_allclose(top.score[i, valid], full[i, real], atol=1e-6)
        assert np.isnan(top.score[i, ~valid]).all()
        assert (top.reason_index[i, ~valid] == -1).all()
        # reasons: the most similar watched video
        watched_idx = np.flatnonzero(watched[i])
        reasons = top.reason_index[i, valid]
        assert np.isin(reasons, watched_idx).all()
        # ...among the videos the user got at least REASON_MIN_COMPLETION through, if any
        row = data.matrix[top.user_index[i]]
        liked = np.sort(row.indices[row.data >= REASON_MIN_COMPLETION])
        if len(liked):
            watched_idx = liked
        sims = emb[real] @ emb[watched_idx].T
        np.testing.assert_array_equal(reasons, watched_idx[np.argmax(sims, axis=1)])


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "-".join(c))
def test_top_n_excludes_watched_and_ranks_correctly(trained, small_data, combo) -> None:
    model = trained[combo]
    top = score_top_n(model, small_data, top_n=5)
    np.testing.assert_array_equal(top.user_index, np.arange(small_data.n_users))
    _check_top_n(top, model, small_data, 5)


def test_top_n_pads_when_fewer_candidates_than_k(trained, small_data) -> None:
    model = trained[("expected_completion", "mlp")]
    # user 0 has exactly 3 unwatched videos (see make_random_data)
    top = score_top_n(model, small_data, top_n=10, user_indices=np.array([0, 1]))
    assert (top.video_index[0] >= 0).sum() == 3
    assert sorted(top.video_index[0, :3].tolist()) == [5, 17, 33]
    _check_top_n(top, model, small_data, 10)
    # k larger than the whole catalogue
    k = small_data.n_videos + 5
    _check_top_n(score_top_n(model, small_data, top_n=k, user_indices=[2]), model, small_data, k)


def test_top_n_without_exclusion(trained, small_data) -> None:
    model = trained[("completion", "neumf")]
    top = score_top_n(model, small_data, top_n=6, exclude_watched=False)
    _check_top_n(top, model, small_data, 6, exclude=False)


@pytest.mark.parametrize("block_pairs", [1, 100, 10**7])
def test_shard_equals_rows_of_full_run(trained, small_data, block_pairs) -> None:
    model = trained[("expected_completion", "neumf")]
    full = score_top_n(model, small_data, top_n=7)
    shard = np.array([29, 3, 4, 17])
    part = score_top_n(model, small_data, top_n=7, user_indices=shard, block_pairs=block_pairs)
    np.testing.assert_array_equal(part.user_index, shard)
    np.testing.assert_array_equal(part.video_index, full.video_index[shard])
    np.testing.assert_array_equal(part.reason_index, full.reason_index[shard])
    # BLAS picks kernels by block shape, so scores agree to float32 rounding only
    np.testing.assert_allclose(part.score, full.score[shard], atol=1e-6, rtol=0)


def test_ties_break_to_lower_video_index(small_data, tiny_config) -> None:
    model = build_model(small_data.n_users, small_data.n_videos, tiny_config)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])  # every score 0.5
    top = score_top_n(model, small_data, top_n=4)
    for i in range(small_data.n_users):
        unwatched = np.flatnonzero(~small_data.watched_mask([i])[0])[:4]
        n = len(unwatched)
        assert top.video_index[i, :n].tolist() == unwatched.tolist()
        np.testing.assert_array_equal(top.score[i, :n], 0.5)
        # all similarities equal (zero embeddings): the first liked (else watched) video wins
        row = small_data.matrix[i]
        liked = np.sort(row.indices[row.data >= REASON_MIN_COMPLETION])
        first_watched = liked[0] if len(liked) else np.flatnonzero(small_data.watched_mask([i])[0])[0]
        assert (top.reason_index[i, :n] == first_watched).all()


def test_user_without_history_gets_no_reason(trained) -> None:
    model = trained[("completion", "mlp")]
    n_users, n_videos = model.get_layer("user_embedding").input_dim, model.get_layer("video_embedding").input_dim
    # user 1 has no events at all (a row the Django side may include)
    rows = np.array([0, 0, 2])
    cols = np.array([1, 4, 0])
    matrix = sp.csr_matrix((np.ones(3, np.float32), (rows, cols)), shape=(n_users, n_videos))
    data = InteractionMatrix(matrix, np.arange(n_users), np.arange(n_videos))
    top = score_top_n(model, data, top_n=3, user_indices=[1, 0])
    assert (top.video_index[0] >= 0).all()
    assert (top.reason_index[0] == -1).all()
    assert np.isin(top.reason_index[1], [1, 4]).all()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_video_embeddings_shape(trained, small_data, architecture) -> None:
    emb = video_embeddings(trained[("completion", architecture)])
    width = 8 if architecture == "mlp" else 16
    assert emb.shape == (small_data.n_videos, width) and emb.dtype == np.float32


@pytest.mark.parametrize("threads", [1, 3])
def test_threaded_top_n_equals_single_block(trained, small_data, threads) -> None:
    model = trained[("expected_completion", "neumf")]
    reference = score_top_n(model, small_data, top_n=7, threads=1, block_pairs=10**9)
    got = score_top_n(model, small_data, top_n=7, threads=threads, block_pairs=small_data.n_videos * 4)
    np.testing.assert_array_equal(got.video_index, reference.video_index)
    np.testing.assert_array_equal(got.reason_index, reference.reason_index)
    np.testing.assert_allclose(got.score, reference.score, atol=1e-6)
    with pytest.raises(ValueError, match="threads"):
        score_top_n(model, small_data, threads=0)


def test_top_n_refuses_nan_scores(small_data, tiny_config) -> None:
    from recommender.ml.score import NonFiniteScoresError

    model = build_model(small_data.n_users, small_data.n_videos, tiny_config)
    weights = model.get_layer("output").get_weights()
    weights[1][:] = np.nan
    model.get_layer("output").set_weights(weights)
    with pytest.raises(NonFiniteScoresError):
        score_top_n(model, small_data, top_n=3)


def test_reasons_prefer_videos_the_user_liked():
    """A recommendation is explained by a well-watched video, not by one abandoned early."""
    import numpy as np

    from recommender.ml.config import TrainConfig
    from recommender.ml.data import pivot
    from recommender.ml.score import REASON_MIN_COMPLETION, score_top_n
    from recommender.ml.train import build_model

    users = [1, 1, 1, 2, 2]
    videos = [10, 11, 12, 10, 13]
    completions = [0.05, 0.9, 0.1, 0.2, 0.3]  # user 2 liked nothing: any watched video may explain
    data = pivot(users, videos, completions)
    model = build_model(data.n_users, data.n_videos, TrainConfig(embedding_dim=4, hidden_units=(4,)))
    top = score_top_n(model, data, top_n=5)
    liked = data.video_index(11)
    assert set(top.reason_index[0][top.video_index[0] >= 0]) == {liked}
    assert REASON_MIN_COMPLETION == 0.5
    u2_watched = {data.video_index(10), data.video_index(13)}
    assert set(top.reason_index[1][top.video_index[1] >= 0]) <= u2_watched
    assert np.all(top.reason_index[1][top.video_index[1] >= 0] >= 0)


# ----------------------------------------------------------------------------- candidate retrieval


def _finite_difference_logits(net, users, part):
    """The first-order score of candidate_logits computed independently: per pair, the tower at the
    mean viewer plus the gradient (by central differences) times the viewer's offset from it."""
    from recommender.ml.architectures.base import Forward

    uh = net.user_hidden(users) - part.mean
    vh = net.video_hidden() + part.mean
    out = np.empty((len(users), net.n_videos))
    eps = 1e-6
    for v in range(net.n_videos):
        base = Forward.tower(net, vh[v : v + 1].astype(np.float64).copy())[0]
        grad = np.array(
            [
                (
                    Forward.tower(net, (vh[v] + eps * e)[None].astype(np.float64).copy())[0]
                    - Forward.tower(net, (vh[v] - eps * e)[None].astype(np.float64).copy())[0]
                )
                / (2 * eps)
                for e in np.eye(len(part.mean))
            ]
        )
        out[:, v] = base + net.out_bias + uh @ grad
    if net.video_bias is not None:
        out += net.video_bias[None, :]
    return out


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "-".join(c))
def test_candidate_score_is_the_first_order_expansion_of_the_network(trained, small_data, combo) -> None:
    from recommender.ml.architectures import forward_of

    net = forward_of(trained[combo])
    part = net.candidate_part()
    users = np.arange(6)
    rough = net.candidate_logits(users, part)
    expected = _finite_difference_logits(net, users, part)
    rows = np.zeros_like(expected)
    net._add_rows(rows, users)  # further branches (NeuMF's GMF product) are exact
    np.testing.assert_allclose(rough, expected + rows, atol=1e-4)
    # the exact pass over chosen videos equals the full rows
    exact_pairs = net.candidate_pair_logits(users[:1], np.arange(net.n_videos)[None, :], net.video_part())[0]
    assert exact_pairs.shape == (net.n_videos,)
    np.testing.assert_allclose(exact_pairs, net.row_logits(users[:1], net.video_part())[0], atol=1e-5)


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "-".join(c))
def test_top_n_from_candidates_scores_with_the_full_network(trained, small_data, combo) -> None:
    model = trained[combo]
    full = score_top_n(model, small_data, top_n=5)
    # as many candidates as videos: exactly the full ranking
    every = score_top_n(model, small_data, top_n=5, candidates=small_data.n_videos)
    np.testing.assert_array_equal(every.video_index, full.video_index)
    # fewer: the picks are unwatched, best first by the network's own score, with its exact scores
    top = score_top_n(model, small_data, top_n=5, candidates=12)
    watched = small_data.watched_mask(top.user_index)
    scores = score_users(model, top.user_index, n_videos=small_data.n_videos)
    for i in range(small_data.n_users):
        valid = top.video_index[i] >= 0
        picks = top.video_index[i, valid]
        assert not watched[i, picks].any() and len(set(picks.tolist())) == len(picks)
        np.testing.assert_allclose(top.score[i, valid], scores[i, picks], atol=1e-6)
        assert list(top.score[i, valid]) == sorted(top.score[i, valid], reverse=True)
    # and most of the full top 5 is among them (the expansion ranks well on this small model)
    pairs = zip(full.video_index, top.video_index, strict=True)
    overlap = np.mean([len(np.intersect1d(a[a >= 0], b[b >= 0])) / 5 for a, b in pairs])
    assert overlap >= 0.8
    with pytest.raises(ValueError, match="candidates must be an integer >= top_n"):
        score_top_n(model, small_data, top_n=5, candidates=4)


def test_candidate_count_follows_the_catalogue_size() -> None:
    assert candidate_count(4_000, top_n=50, from_videos=10_000, share=0.05) is None
    assert candidate_count(20_000, top_n=50, from_videos=10_000, share=0.05) == 1_000
    assert candidate_count(10_000, top_n=50, from_videos=10_000, share=0.01) == 200  # at least 4 x top_n
    assert candidate_count(100, top_n=50, from_videos=10, share=0.5) is None  # 200 >= the catalogue
    assert candidate_count(10**6, top_n=50, from_videos=0, share=0.05) is None  # 0: never
