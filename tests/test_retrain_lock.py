"""One retrain at a time, and recovery from a retrain whose process died."""

import pytest
from django.core.management import CommandError, call_command

from recommender.exceptions import AlreadyRunning
from recommender.locks import retrain_lock, retrain_lock_is_held
from recommender.models import ModelVersion, Recommendation
from recommender.services import retrain, retrain_if_stale, user_shards
from videos.models import Video, WatchEvent


@pytest.fixture
def events(make_user):
    videos = [Video.objects.create(title=f"V{i}") for i in range(6)]
    for u in range(4):
        user = make_user(f"u{u}")
        for v in videos[u % 2 :: 2]:
            WatchEvent.objects.create(user=user, video=v, completion=0.5 + 0.1 * u)
    return videos


@pytest.mark.django_db
def test_second_caller_gets_already_running(events, fast_config):
    with retrain_lock():
        assert retrain_lock_is_held()
        with pytest.raises(AlreadyRunning, match="already running"):
            retrain(config=fast_config)
        with pytest.raises(CommandError, match="already running"):
            call_command("retrain", "--no-progress")
    assert not retrain_lock_is_held()
    assert ModelVersion.objects.count() == 0
    assert retrain(config=fast_config).status == ModelVersion.Status.ACTIVE


@pytest.mark.django_db
def test_interrupted_running_version_is_failed_by_the_next_retrain(events, fast_config, make_user):
    previous = retrain(config=fast_config)
    # A retrain whose worker was killed: left "running", with partial rows.
    dead = ModelVersion.objects.create(objective="completion", status=ModelVersion.Status.RUNNING)
    Recommendation.objects.create(version=dead, user=make_user("x"), video=events[0], score=0.5, rank=1)
    new = retrain(config=fast_config)
    dead.refresh_from_db()
    previous.refresh_from_db()
    assert dead.status == ModelVersion.Status.FAILED and "Interrupted" in dead.error
    assert not Recommendation.objects.filter(version=dead).exists()
    assert (previous.status, new.status) == (ModelVersion.Status.RETIRED, ModelVersion.Status.ACTIVE)


@pytest.mark.django_db
def test_retrain_if_stale_skips_without_new_events(events, fast_config, make_user):
    first = retrain_if_stale(config=fast_config)
    assert first is not None and first.status == ModelVersion.Status.ACTIVE
    assert retrain_if_stale(config=fast_config) is None
    assert ModelVersion.objects.count() == 1
    forced = retrain_if_stale(config=fast_config, force=True)
    assert forced is not None and ModelVersion.objects.count() == 2
    WatchEvent.objects.create(user=make_user("late"), video=events[0], completion=1.0)
    newer = retrain_if_stale(config=fast_config)
    assert newer is not None and newer.last_event_id == WatchEvent.objects.latest("id").pk


def test_user_shards_cover_every_user_once():
    for n_users, n_shards in [(10, 3), (1, 4), (943, 2), (5, 5), (7, 1)]:
        shards = user_shards(n_users, n_shards)
        covered = [i for a, b in shards for i in range(a, b)]
        assert covered == list(range(n_users))
        assert len(shards) == min(n_shards, n_users)


@pytest.mark.django_db
def test_sharded_scoring_gives_the_same_rows(events, fast_config, settings, eager_celery):
    one = retrain(config=fast_config)
    settings.SCORING_SHARDS = 3
    three = retrain(config=fast_config)
    assert three.metrics["scoring_shards"] == 3

    def rows(v):
        return list(
            Recommendation.objects.filter(version=v).order_by("user_id", "rank").values_list("user_id", "video_id")
        )

    assert rows(one) == rows(three)
    assert three.status == ModelVersion.Status.ACTIVE
