"""videos.rows and the hand-written reads built on it: the same objects and values as the ORM's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from videos import rows, selectors
from videos.models import Category, Video, WatchEvent


@pytest.fixture
def library(db, make_user):
    science = Category.objects.create(name="Science", name_zh_hans="科学", slug="science")
    videos = [
        Video.objects.create(title=f"Video {i}", category=science if i % 2 else None, duration_seconds=60 * i)
        for i in range(8)
    ]
    return make_user("ann"), make_user("bob"), videos


def test_instances_are_what_the_orm_reads(library):
    _ann, _bob, videos = library
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {rows.columns(Video, 'v')} FROM videos_video v ORDER BY v.id")
        built = rows.instances(Video, cursor.fetchall(), "v")
    read = list(Video.objects.order_by("id"))
    assert len(built) == len(videos)
    for ours, orm in zip(built, read, strict=True):
        assert ours.pk == orm.pk and not ours._state.adding
        for field in Video._meta.concrete_fields:  # dates converted (SQLite returns text), aware
            assert getattr(ours, field.attname) == getattr(orm, field.attname), field.name
    assert timezone.is_aware(built[0].created_at)


def test_unsaved_is_the_keyword_constructor():
    when = timezone.now()
    ours = rows.unsaved(Video, id=7, title="Seven", category_id=3, created_at=when)
    theirs = Video(id=7, title="Seven", category_id=3, created_at=when)
    for field in Video._meta.concrete_fields:
        assert getattr(ours, field.attname) == getattr(theirs, field.attname), field.name
    assert ours._state.adding
    with pytest.raises(TypeError, match="no field"):
        rows.unsaved(Video, id=1, colour="red")


def test_continue_watching_carries_progress_time_and_category(library, django_assert_num_queries):
    ann, bob, videos = library
    now = timezone.now()
    for video, completion, minutes in ((videos[1], 0.4, 30), (videos[1], 0.5, 20), (videos[2], 0.3, 10)):
        WatchEvent.objects.create(
            user=ann, video=video, completion=completion, watched_at=now - timedelta(minutes=minutes)
        )
    WatchEvent.objects.create(user=bob, video=videos[3], completion=0.5)
    with django_assert_num_queries(1):
        found = selectors.continue_watching(user=ann)
        assert [v.pk for v in found] == [videos[2].pk, videos[1].pk]
        assert found[1].category.name == "Science" and found[1].category.name_zh_hans == "科学"
        assert found[0].category is None  # no query: the category is loaded with the video
    assert [v.completion for v in found] == [0.3, 0.5]
    assert found[1].last_watched_at == now - timedelta(minutes=20)
    assert timezone.is_aware(found[0].last_watched_at)


def test_user_completions_in_several_queries(library, monkeypatch):
    ann, bob, videos = library
    for i, video in enumerate(videos[:6]):
        WatchEvent.objects.create(user=ann, video=video, completion=0.1 * (i + 1))
        WatchEvent.objects.create(user=ann, video=video, completion=0.05)
    WatchEvent.objects.create(user=bob, video=videos[6], completion=0.9)
    monkeypatch.setattr(selectors, "PROGRESS_IDS_PER_QUERY", 4)
    with CaptureQueriesContext(connection) as queries:
        found = selectors.user_completions(user=ann, video_ids=[v.pk for v in videos] + [videos[0].pk])
    assert len(queries) == 2  # 8 distinct ids, 4 per query
    assert found == {v.pk: pytest.approx(0.1 * (i + 1)) for i, v in enumerate(videos[:6])}
    assert selectors.user_completions(user=ann, video_ids=[]) == {}


def test_built_instances_behave_as_the_orms(library):
    """The instances are real: a saved one updates its row and loads its relations; an unsaved one inserts."""
    _ann, _bob, videos = library
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {rows.columns(Video, 'v')} FROM videos_video v WHERE v.id = %s", [videos[1].pk])
        (built,) = rows.instances(Video, cursor.fetchall(), "v")
    assert built._state.db == connection.alias and built.category.name == "Science"
    built.title = "Renamed"
    built.save()
    assert Video.objects.get(pk=videos[1].pk).title == "Renamed" and Video.objects.count() == len(videos)
    fresh = rows.unsaved(Video, title="Brand new", duration_seconds=5)
    assert fresh.pk is None and fresh._state.adding and fresh.created_at is not None
    fresh.save()
    assert Video.objects.filter(title="Brand new").exists()


def test_a_model_with_construction_receivers_goes_through_its_constructor(db):
    from django.db.models.signals import post_init

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.title)

    post_init.connect(receiver, sender=Video)
    try:
        video = rows.unsaved(Video, id=3, title="Watched")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {rows.columns(Video, 'v')} FROM videos_video v")
            rows.instances(Video, cursor.fetchall(), "v")
    finally:
        post_init.disconnect(receiver, sender=Video)
    assert video.title == "Watched" and seen == ["Watched"]
    rows.unsaved(Video, id=4, title="Unseen")
    assert seen == ["Watched"]
