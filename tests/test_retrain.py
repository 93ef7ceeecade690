"""The retrain service: publish, failure and no-data paths, and the `retrain` command."""

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from recommender import selectors, services
from recommender.models import ModelVersion, Recommendation
from recommender.services import NoTrainingData, RetrainError, publishing, retrain
from videos.models import Video, WatchEvent


@pytest.fixture
def watch_data(make_user):
    """Two taste groups over ten videos; every user leaves some videos unwatched."""
    videos = [Video.objects.create(title=f"Video {i}") for i in range(10)]
    users = [make_user(f"user{i}") for i in range(8)]
    for u_index, user in enumerate(users):
        group = u_index % 2
        for v_index, video in enumerate(videos):
            if (u_index + v_index) % 3 == 0:
                continue  # unwatched
            liked = v_index % 2 == group
            WatchEvent.objects.create(user=user, video=video, completion=0.9 if liked else 0.1)
    return users, videos


def _watched(user):
    return set(WatchEvent.objects.filter(user=user).values_list("video_id", flat=True))


@pytest.mark.django_db
def test_no_events_refuses_without_creating_a_version(fast_config):
    with pytest.raises(NoTrainingData, match="No watch events"):
        retrain(config=fast_config)
    assert ModelVersion.objects.count() == 0


@pytest.mark.django_db
def test_retrain_publishes_an_active_version(watch_data, fast_config, settings):
    users, videos = watch_data
    version = retrain(config=fast_config)

    assert version.status == ModelVersion.Status.ACTIVE
    assert selectors.active_version() == version
    assert version.stage == ModelVersion.Stage.DONE
    assert (version.n_users, version.n_videos) == (8, 10)
    assert version.n_events == WatchEvent.objects.count()
    assert version.last_event_id == WatchEvent.objects.latest("id").pk
    assert len(version.history) == version.metrics["epochs_run"] >= 1
    assert {"read", "pivot", "train", "score", "write", "publish", "total"} <= set(version.durations)
    assert len(version.artifact_sha256) == 64
    assert version.hyperparameters["embedding_dim"] == 8

    for user in users:
        recs = list(selectors.recommendations_for_user(user=user))
        unwatched = {v.pk for v in videos} - _watched(user)
        assert {r.video_id for r in recs} == unwatched  # top-N (50) covers every unwatched video
        assert [r.rank for r in recs] == list(range(1, len(recs) + 1))
        assert all(0.0 <= r.score <= 1.0 for r in recs)
        scores = [r.score for r in recs]
        assert scores == sorted(scores, reverse=True)
        # a reason names a video the viewer watched, or none (no watched video similar enough)
        assert all(r.reason_video_id is None or r.reason_video_id in _watched(user) for r in recs)
    assert version.n_recommendations == Recommendation.objects.filter(version=version).count()


@pytest.mark.django_db
def test_top_n_setting_limits_rows(watch_data, fast_config, settings):
    settings.RECOMMENDATIONS_TOP_N = 2
    version = retrain(config=fast_config)
    users, _ = watch_data
    assert Recommendation.objects.filter(version=version).count() == 2 * len(users)


@pytest.mark.django_db
def test_second_retrain_retires_the_first(watch_data, fast_config):
    first = retrain(config=fast_config)
    second = retrain(config=fast_config)
    first.refresh_from_db()
    assert first.status == ModelVersion.Status.RETIRED
    assert second.status == ModelVersion.Status.ACTIVE
    assert ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).count() == 1
    users, _ = watch_data
    assert all(r.version_id == second.pk for r in selectors.recommendations_for_user(user=users[0]))


@pytest.mark.django_db
def test_failure_while_writing_keeps_previous_version(watch_data, fast_config, monkeypatch):
    first = retrain(config=fast_config)
    users, _ = watch_data
    before = list(selectors.recommendations_for_user(user=users[0]).values_list("video_id", "score"))

    real_write = publishing.recommendations_write

    def write_then_fail(**kwargs):
        real_write(**kwargs)  # rows of the new version exist at this point...
        raise OSError("disk full")  # ...and then writing fails

    monkeypatch.setattr(publishing, "recommendations_write", write_then_fail)
    with pytest.raises(RetrainError, match="disk full"):
        retrain(config=fast_config)

    failed = ModelVersion.objects.exclude(pk=first.pk).get()
    assert failed.status == ModelVersion.Status.FAILED
    assert "disk full" in failed.error
    assert not Recommendation.objects.filter(version=failed).exists()
    first.refresh_from_db()
    assert first.status == ModelVersion.Status.ACTIVE
    assert list(selectors.recommendations_for_user(user=users[0]).values_list("video_id", "score")) == before


@pytest.mark.django_db
def test_seeded_retrains_give_identical_scores(watch_data, fast_config):
    a = retrain(config=fast_config)
    b = retrain(config=fast_config)
    rows = lambda v: list(  # noqa: E731
        Recommendation.objects.filter(version=v).order_by("user_id", "rank").values_list("user_id", "video_id", "score")
    )
    assert rows(a) == rows(b)


@pytest.mark.django_db
def test_version_activate_refuses_failed_versions(watch_data, fast_config):
    failed = ModelVersion.objects.create(objective="completion", status=ModelVersion.Status.FAILED)
    with pytest.raises(RetrainError, match="only a version that finished"):
        services.version_activate(version=failed)


@pytest.mark.django_db
def test_retrain_command_summary(watch_data, capsys):
    call_command("retrain", "--epochs", "2", "--embedding-dim", "8", "--batch-size", "128", "--no-progress")
    out = capsys.readouterr().out
    version = ModelVersion.objects.get()
    assert f"Model version {version.pk} is now active" in out
    assert "8 users, 10 videos" in out
    assert "seconds:" in out and "train" in out
    assert version.hyperparameters["epochs"] == 2


@pytest.mark.django_db
def test_retrain_command_without_data_fails_with_one_line():
    with pytest.raises(CommandError) as info:
        call_command("retrain", "--no-progress")
    assert "No watch events" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.django_db
def test_retrain_command_rejects_bad_flags():
    with pytest.raises(CommandError):
        call_command("retrain", "--epochs", "0")
    with pytest.raises(CommandError):
        call_command("retrain", "--objective", "clicks")


@pytest.mark.django_db
def test_the_event_aggregation_rule_is_the_configurations_and_is_recorded(watch_data, settings):
    """WATCH_AGGREGATE fills the configuration when a retrain does not name a rule; the matrix is
    pivoted with the configuration's rule, and the version and its artifact record it."""
    users, videos = watch_data
    WatchEvent.objects.create(user=users[0], video=videos[1], completion=0.5)  # it was 0.1 before
    settings.WATCH_AGGREGATE = "mean"
    assert services.train_config_build(aggregate="last").aggregate == "last"
    config = services.train_config_build(embedding_dim=4, hidden_units=[4], epochs=1)
    assert config.aggregate == "mean"

    version = retrain(config=config, force=True)
    assert version.hyperparameters["aggregate"] == "mean"
    artifact = services.artifact_load(version=version)
    assert artifact.config.aggregate == "mean"
    data = artifact.data
    cell = data.matrix[data.user_index(users[0].pk), data.video_index(videos[1].pk)]
    assert cell == pytest.approx(0.3)


@pytest.mark.django_db
def test_the_published_model_learns_with_recent_watches_weighted_up(watch_data, fast_config, monkeypatch):
    """The retrain's matrix knows when each pair was last watched, so ``recency`` weighs it."""
    from recommender.ml import train

    users, _videos = watch_data
    # the first viewer watches an old video again: that pair becomes their latest
    first = WatchEvent.objects.filter(user=users[0]).order_by("id").first()
    WatchEvent.objects.create(user=users[0], video=first.video, completion=0.5)
    seen_by_training = []
    real = train.train_model

    def recording(data, config, **kwargs):
        seen_by_training.append((data, config))
        return real(data, config, **kwargs)

    monkeypatch.setattr(train, "train_model", recording)
    version = retrain(config=fast_config.replace(recency=0.5))
    assert version.hyperparameters["recency"] == 0.5
    data, config = seen_by_training[-1]  # the published model, trained on every pair
    assert config.recency == 0.5 and data.seen is not None
    weights = data.recency_weights(config.recency)
    row = data.user_index(users[0].pk)
    start, end = data.matrix.indptr[row], data.matrix.indptr[row + 1]
    latest = start + int(np.flatnonzero(data.matrix.indices[start:end] == data.video_index(first.video_id))[0])
    assert weights[latest] == pytest.approx(1.5)  # watched again last: the heaviest of that viewer
    assert weights[start:end].min() == pytest.approx(0.5)


@pytest.mark.django_db
def test_published_scores_rank_videos_like_the_latest_watches_higher(make_user, fast_config):
    """With ``recent_boost`` the feed's scores are the model's plus the pull of each viewer's latest
    watches, computed from the artifact's own record of when each pair was watched."""
    from scipy.special import logit

    from recommender.ml.recent import recent_affinity
    from recommender.ml.score import score_pairs

    # Two kinds of video; each viewer watches two of the other kind, then all five of their own:
    # watches come in runs of a kind, so the watch order says something.
    videos = [Video.objects.create(title=f"Video {i}") for i in range(10)]
    users = [make_user(f"user{i}") for i in range(60)]
    for u, user in enumerate(users):
        own, other = (videos[:5], videos[5:]) if u % 2 == 0 else (videos[5:], videos[:5])
        for video in [other[u % 5], other[(u + 2) % 5], *own]:
            WatchEvent.objects.create(user=user, video=video, completion=0.9)
    config = fast_config.replace(recent_boost=4.0, recent_window=2, epochs=30, learning_rate=0.05)
    version = retrain(config=config)
    assert version.hyperparameters["recent_boost"] == 4.0
    assert version.metrics["recent_boost_applied"] is True
    artifact = services.artifact_load(version=version)
    data = artifact.data
    assert data.seen is not None  # the artifact knows the watch order
    affinity = recent_affinity(artifact.model, data, artifact.config)
    assert affinity is not None
    for user in users[:4]:
        recs = list(selectors.recommendations_for_user(user=user))
        row = np.full(len(recs), data.user_index(user.pk))
        cols = data.video_indices(np.array([r.video_id for r in recs]))
        boosted = score_pairs(artifact.model, row, cols, affinity=affinity)
        plain = score_pairs(artifact.model, row, cols)
        np.testing.assert_allclose([r.score for r in recs], boosted, atol=1e-5)
        # the stored scores are not the model's alone: their logits carry the term
        gap = logit(boosted.astype(np.float64)) - logit(plain.astype(np.float64))
        assert np.abs(gap).max() > 0.1
