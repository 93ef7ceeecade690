"""Reads of catalog and watch data."""

from __future__ import annotations

from django.db.models import Count, Max, QuerySet

from videos.models import Video, WatchEvent


def latest_event_id() -> int | None:
    return WatchEvent.objects.aggregate(m=Max("id"))["m"]


def event_columns(*, up_to_event_id: int) -> tuple[list[int], list[int], list[float]]:
    """All watch events with id <= ``up_to_event_id`` as three parallel lists.

    Uses ``values_list`` (no model instances) in id order, so "last" aggregation sees events in
    the order they were stored.
    """
    rows = (
        WatchEvent.objects.filter(id__lte=up_to_event_id)
        .order_by("id")
        .values_list("user_id", "video_id", "completion")
    )
    users: list[int] = []
    videos: list[int] = []
    completions: list[float] = []
    for user_id, video_id, completion in rows.iterator(chunk_size=20_000):
        users.append(user_id)
        videos.append(video_id)
        completions.append(completion)
    return users, videos, completions


def video_list(*, search: str = "", category_slug: str = "") -> QuerySet[Video]:
    qs = Video.objects.select_related("category")
    if search:
        qs = qs.filter(title__icontains=search)
    if category_slug:
        qs = qs.filter(category__slug=category_slug)
    return qs


def popular_videos(*, limit: int = 12) -> QuerySet[Video]:
    return (
        Video.objects.select_related("category")
        .annotate(n_viewers=Count("watch_events__user", distinct=True))
        .filter(n_viewers__gt=0)
        .order_by("-n_viewers", "title")[:limit]
    )


def user_completion(*, user, video: Video) -> float | None:
    """The viewer's own progress on a video: the furthest they got, or None."""
    return WatchEvent.objects.filter(user=user, video=video).aggregate(m=Max("completion"))["m"]
