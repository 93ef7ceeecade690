"""Watch data and helpers shared by the model-quality tests (evaluation, gate, rollback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from recommender.models import ModelVersion
from videos.models import Video, WatchEvent

START = datetime(2024, 1, 1, tzinfo=UTC)


def make_watch_history(n_users: int = 12, n_videos: int = 10) -> tuple[list, list]:
    """Two taste groups; user i watches videos (i + j) % n_videos for j < 4 + i % 3, one a day, so
    every user has 4..6 watches, a known latest one, and unwatched videos left."""
    User = get_user_model()
    videos = [Video.objects.create(title=f"Video {i}") for i in range(n_videos)]
    users = [User.objects.create_user(username=f"viewer{i}", password="a-long-password-123") for i in range(n_users)]
    events = []
    for i, user in enumerate(users):
        for j in range(4 + i % 3):
            v = (i + j) % n_videos
            liked = v % 2 == i % 2
            events.append(
                WatchEvent(
                    user=user, video=videos[v], completion=0.9 if liked else 0.2, watched_at=START + timedelta(j)
                )
            )
    WatchEvent.objects.bulk_create(events)
    return users, videos


@pytest.fixture
def watch_history(db):
    return make_watch_history()


def set_metric(version: ModelVersion, **values) -> None:
    """Overwrite recorded metrics of a version (to stage a better or worse active version)."""
    version.refresh_from_db()
    ModelVersion.objects.filter(pk=version.pk).update(metrics={**version.metrics, **values})
