"""Reads of catalog and watch data."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Max, Min, QuerySet, Window
from django.db.models.functions import RowNumber

from videos import rows
from videos.models import Category, Video, WatchEvent

# Video ids per query of ``user_completions`` (SQLite allows 32,766 parameters; pages ask ~150).
PROGRESS_IDS_PER_QUERY = 1000
_q = connection.ops.quote_name
_EVENTS = _q(WatchEvent._meta.db_table)
_EVENT_USER = _q(WatchEvent._meta.get_field("user").column)
_EVENT_VIDEO = _q(WatchEvent._meta.get_field("video").column)
_EVENT_COMPLETION = _q(WatchEvent._meta.get_field("completion").column)
_EVENT_AT = _q(WatchEvent._meta.get_field("watched_at").column)
_VIDEO_CATEGORY = Video._meta.get_field("category")


def latest_event_id() -> int | None:
    return WatchEvent.objects.aggregate(m=Max("id"))["m"]


def event_columns_timed(
    *, up_to_event_id: int, after_event_id: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The watch events ``after_event_id`` < id <= ``up_to_event_id`` as four parallel arrays in id
    order: user id, video id (int64), completion and ``watched_at`` as POSIX seconds (float64; the
    model evaluation holds out every viewer's latest watch by time). Id order lets the "last"
    aggregation see events in the order they were stored.

    Millions of events: on PostgreSQL the columns come over ``COPY`` and are parsed in C, a block of
    ids at a time, so no Python object is made per event; elsewhere ``values_list`` rows are packed
    into arrays block by block."""
    low = after_event_id if after_event_id is not None else 0
    first = WatchEvent.objects.filter(id__gt=low, id__lte=up_to_event_id).aggregate(m=Min("id"))["m"]
    low = first - 1 if first is not None else up_to_event_id  # skip a long run of deleted ids
    blocks: list[tuple[np.ndarray, ...]] = []
    for start in range(low, up_to_event_id, EVENT_BLOCK):
        stop = min(start + EVENT_BLOCK, up_to_event_id)
        if connection.vendor == "postgresql":
            blocks.append(_event_block_copy(start, stop))
        else:
            blocks.append(_event_block_rows(start, stop))
    if not blocks:
        empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return empty_i, empty_i.copy(), empty_f, empty_f.copy()
    users, videos, completions, times = (np.concatenate(column) for column in zip(*blocks, strict=True))
    return users, videos, completions, times


# Event ids read per block: bounds the memory of one block's text or rows.
EVENT_BLOCK = 2_000_000


def _event_block_copy(start: int, stop: int) -> tuple[np.ndarray, ...]:
    table = WatchEvent._meta.db_table
    query = (
        f"COPY (SELECT user_id, video_id, completion, extract(epoch FROM watched_at) FROM {table}"
        f" WHERE id > {int(start)} AND id <= {int(stop)} ORDER BY id) TO STDOUT WITH (FORMAT csv)"
    )
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(query) as copy:
            for data in copy:
                buffer.write(data)
    if buffer.tell() == 0:
        return _empty_block()
    buffer.seek(0)
    frame = pd.read_csv(
        buffer,
        header=None,
        names=["user", "video", "completion", "time"],
        dtype={"user": np.int64, "video": np.int64, "completion": np.float64, "time": np.float64},
    )
    return tuple(frame[name].to_numpy() for name in ("user", "video", "completion", "time"))


def _event_block_rows(start: int, stop: int) -> tuple[np.ndarray, ...]:
    rows = (
        WatchEvent.objects.filter(id__gt=start, id__lte=stop)
        .order_by("id")
        .values_list("user_id", "video_id", "completion", "watched_at")
    )
    users: list[int] = []
    videos: list[int] = []
    completions: list[float] = []
    times: list[float] = []
    for user_id, video_id, completion, watched_at in rows.iterator(chunk_size=20_000):
        users.append(user_id)
        videos.append(video_id)
        completions.append(completion)
        times.append(watched_at.timestamp())
    if not users:
        return _empty_block()
    return (
        np.array(users, dtype=np.int64),
        np.array(videos, dtype=np.int64),
        np.array(completions, dtype=np.float64),
        np.array(times, dtype=np.float64),
    )


def _empty_block() -> tuple[np.ndarray, ...]:
    return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.float64))


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


def user_completion(*, user: Any, video: Video) -> float | None:
    """The viewer's own progress on a video: the furthest they got, or None."""
    return WatchEvent.objects.filter(user=user, video=video).aggregate(m=Max("completion"))["m"]


# --- Reads of the website (home sections, continue watching, history) -------------------------


def new_videos(*, limit: int = 12) -> QuerySet[Video]:
    return Video.objects.select_related("category").order_by("-created_at", "-id")[:limit]


def categories_with_videos() -> QuerySet[Category]:
    """Categories that hold at least one video, with their video count as ``n_videos``."""
    return Category.objects.annotate(n_videos=Count("videos")).filter(n_videos__gt=0).order_by("name")


def user_completions(*, user: Any, video_ids: Iterable[int]) -> dict[int, float]:
    """The viewer's furthest progress per video, for the given video ids (watched ones only).

    Hand-written SQL (``videos.rows``): every page asks this, and compiling it with the ORM cost
    more than running it."""
    ids = sorted({int(pk) for pk in video_ids})
    if not user.is_authenticated or not ids:
        return {}
    found: dict[int, float] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(ids), PROGRESS_IDS_PER_QUERY):
            part = ids[start : start + PROGRESS_IDS_PER_QUERY]
            cursor.execute(
                f"SELECT {_EVENT_VIDEO}, MAX({_EVENT_COMPLETION}) FROM {_EVENTS} WHERE {_EVENT_USER} = %s"
                f" AND {_EVENT_VIDEO} IN ({', '.join(['%s'] * len(part))}) GROUP BY {_EVENT_VIDEO}",
                [user.pk, *part],
            )
            found.update((int(video_id), float(best)) for video_id, best in cursor.fetchall())
    return found


def finished_video_ids(*, user: Any) -> QuerySet[WatchEvent, dict[str, Any]]:
    """Ids of the videos the user watched to at least ``FINISHED_COMPLETION`` (for ``__in`` filters)."""
    return (
        WatchEvent.objects.filter(user=user, completion__gte=settings.FINISHED_COMPLETION).values("video_id").distinct()
    )


def continue_watching(*, user: Any, limit: int = 12) -> list[Video]:
    """Partly watched videos (0 < furthest progress < ``FINISHED_COMPLETION``), most recent first.

    Each video carries ``completion`` (the furthest progress) and ``last_watched_at``, and its
    category is loaded with it. One hand-written query (``videos.rows``): the viewer's events grouped
    per video, joined to the videos and their categories.
    """
    if not user.is_authenticated:
        return []
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {rows.columns(Video, 'v')}, {rows.columns(Category, 'c')}, agg.best, agg.last_at FROM"
        f" (SELECT {_EVENT_VIDEO} AS video_id, MAX({_EVENT_COMPLETION}) AS best, MAX({_EVENT_AT}) AS last_at"
        f" FROM {_EVENTS} WHERE {_EVENT_USER} = %s GROUP BY {_EVENT_VIDEO}) agg"
        f" JOIN {quote(Video._meta.db_table)} v ON v.id = agg.video_id"
        f" LEFT JOIN {quote(Category._meta.db_table)} c ON c.id = v.{quote(_VIDEO_CATEGORY.column)}"
        " WHERE agg.best > 0 AND agg.best < %s ORDER BY agg.last_at DESC, v.id DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, settings.FINISHED_COMPLETION, limit])
        found = cursor.fetchall()
    n_video, n_category = rows.width(Video), rows.width(Category)
    videos = rows.instances(Video, (row[:n_video] for row in found), "v")
    categories = rows.instances(Category, (row[n_video : n_video + n_category] for row in found), "c")
    last_at = rows.field_converter(WatchEvent._meta.get_field("watched_at"), "agg")
    for video, category, row in zip(videos, categories, found, strict=True):
        _VIDEO_CATEGORY.set_cached_value(video, category if category.pk is not None else None)
        video.completion = float(row[-2])
        video.last_watched_at = last_at(row[-1])
    return videos


def watch_history(*, user: Any) -> QuerySet[WatchEvent]:
    """The user's own watch events, newest first."""
    return (
        WatchEvent.objects.filter(user=user).select_related("video", "video__category").order_by("-watched_at", "-id")
    )


def watch_summary(*, user: Any) -> dict[str, int]:
    """How many events and distinct videos the user has, and how many of those videos they finished."""
    per_video = WatchEvent.objects.filter(user=user).values("video_id").annotate(best=Max("completion"))
    videos = per_video.count()
    finished = per_video.filter(best__gte=settings.FINISHED_COMPLETION).count()
    return {"events": WatchEvent.objects.filter(user=user).count(), "videos": videos, "finished": finished}


CATALOG_ORDERS = ("new", "title", "popular")


def video_catalog(*, search: str = "", category_slug: str = "", order: str = "new") -> QuerySet[Video]:
    """The catalog page's list: ``video_list`` filters in the given order (new, title or popular)."""
    qs = video_list(search=search, category_slug=category_slug)
    if order == "popular":
        return qs.annotate(n_viewers=Count("watch_events__user", distinct=True)).order_by("-n_viewers", "title")
    if order == "title":
        return qs.order_by("title")
    return qs.order_by("-created_at", "-id")


def home_catalog(*, shelf_size: int) -> tuple[list[Video], list[Video], list[tuple[Category, list[Video]]]]:
    """The home page's catalog shelves: ``(popular, new, category shelves)``, ``shelf_size`` videos each
    (rendered and cached by ``videos.cards.catalog_html``)."""
    return (
        list(popular_videos(limit=shelf_size)),
        list(new_videos(limit=shelf_size)),
        category_shelves(per_category=shelf_size),
    )


def category_shelves(*, per_category: int = 8) -> list[tuple[Category, list[Video]]]:
    """The newest ``per_category`` videos of every non-empty category, in one query."""
    ranked = (
        Video.objects.filter(category__isnull=False)
        .select_related("category")
        .annotate(
            shelf_rank=Window(RowNumber(), partition_by=[F("category_id")], order_by=[F("created_at").desc(), F("id")])
        )
        .filter(shelf_rank__lte=per_category)
        .order_by("category__name", "shelf_rank")
    )
    shelves: dict[int, tuple[Category, list[Video]]] = {}
    for video in ranked:
        shelves.setdefault(video.category_id, (video.category, []))[1].append(video)
    return list(shelves.values())
