"""Storing checked watch-data CSV files, and exporting the stored watches as CSV."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Avg, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from videos.hooks import watches_recorded
from videos.models import Video, WatchEvent
from videos.watch_csv.reading import (
    DEFAULT_SCALE,
    FORMATS,
    LONG_COLUMNS,
    WIDE_EXPORT_MAX_CELLS,
    WatchCsv,
    WatchCsvError,
    WatchCsvImportResult,
    WatchCsvPreview,
    spreadsheet_safe,
    watch_csv_read,
)


def watch_csv_preview(*, parsed: WatchCsv) -> WatchCsvPreview:
    """Which viewers and videos of ``parsed`` do not exist yet (two queries, nothing stored)."""
    User = get_user_model()
    known_users = set(
        User.objects.filter(**{f"{User.USERNAME_FIELD}__in": parsed.usernames}).values_list(
            User.USERNAME_FIELD, flat=True
        )
    )
    known_titles = set(Video.objects.filter(title__in=parsed.titles).values_list("title", flat=True))
    return WatchCsvPreview(
        parsed=parsed,
        new_users=[u for u in parsed.usernames if u not in known_users],
        new_videos=[t for t in parsed.titles if t not in known_titles],
    )


def watch_csv_store(*, parsed: WatchCsv, source: str = WatchEvent.Source.IMPORT) -> WatchCsvImportResult:
    """Store every cell of ``parsed`` in one transaction, creating missing viewers (who cannot sign
    in until given a password) and videos. Raises ``WatchCsvError`` and stores nothing when the file
    had any problem."""
    if not parsed.ok:
        raise parsed.error()
    User = get_user_model()
    name_field = User.USERNAME_FIELD
    try:
        with transaction.atomic():
            users = dict(User.objects.filter(**{f"{name_field}__in": parsed.usernames}).values_list(name_field, "pk"))
            new_users = [name for name in parsed.usernames if name not in users]
            for name in new_users:
                user = User(**{name_field: name})
                user.set_unusable_password()
                user.save()
                users[name] = user.pk
            videos = dict(Video.objects.filter(title__in=parsed.titles).values_list("title", "pk"))
            new_videos = [title for title in parsed.titles if title not in videos]
            created = Video.objects.bulk_create(Video(title=title) for title in new_videos)
            for video in created:
                videos[video.title] = video.pk
            if any(v is None for v in videos.values()):  # backends that return no ids from bulk_create
                videos = dict(Video.objects.filter(title__in=parsed.titles).values_list("title", "pk"))
            now = timezone.now()
            events = WatchEvent.objects.bulk_create(
                (
                    WatchEvent(
                        user_id=users[cell.username],
                        video_id=videos[cell.title],
                        completion=cell.completion,
                        source=source,
                        watched_at=cell.watched_at or now,
                    )
                    for cell in parsed.cells
                ),
                batch_size=2000,
            )
            new_ids = [event.pk for event in events if event.pk is not None]
            if new_ids:  # the hooks (the retrain nudge) run once for the import, after it committed
                watches_recorded(min(new_ids), max(new_ids))
    except IntegrityError as exc:
        raise WatchCsvError(
            [_("Nothing was stored: the database refused the import (%(error)s); try again.") % {"error": exc}]
        ) from None
    return WatchCsvImportResult(
        users_created=len(new_users), videos_created=len(new_videos), events_created=len(parsed.cells)
    )


def watch_csv_import(*, data: bytes | str, format: str = "auto", scale: float = DEFAULT_SCALE) -> WatchCsvImportResult:
    """Read, check and store a CSV file in one call (all or nothing); ``WatchCsvError`` on any problem."""
    parsed = watch_csv_read(data=data, format=format, scale=scale)
    if not parsed.ok:
        raise parsed.error()
    return watch_csv_store(parsed=parsed)


# ------------------------------------------------------------------------------------- export


def _csv_line(values: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


def _number(value: float) -> str:
    return format(round(value, 6), "g")


def watch_csv_export(*, format: str = "long", scale: float = DEFAULT_SCALE) -> Iterator[str]:
    """The stored watch data as CSV lines (header first), in the format ``watch_csv_read`` reads.

    ``long``: every watch event, oldest first, completion from 0 to 1. ``wide``: one row per viewer
    with watches, one column per video, cells on 0..``scale`` reduced like the training matrix
    (``WATCH_AGGREGATE``); ``WatchCsvError`` when the matrix would exceed ``WIDE_EXPORT_MAX_CELLS``.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if format == "long":
        return _export_long()
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise WatchCsvError([_("Scale must be a positive number.")])
    return _export_wide(float(scale))


def _export_long() -> Iterator[str]:
    name = f"user__{get_user_model().USERNAME_FIELD}"
    yield _csv_line(LONG_COLUMNS)
    rows = WatchEvent.objects.order_by("pk").values_list(name, "video__title", "completion", "watched_at")
    for user, title, completion, watched_at in rows.iterator(chunk_size=5000):
        yield _csv_line((spreadsheet_safe(user), spreadsheet_safe(title), _number(completion), watched_at.isoformat()))


def _export_wide(scale: float) -> Iterator[str]:
    User = get_user_model()
    users = list(
        User.objects.filter(watch_events__isnull=False).distinct().order_by("pk").values_list("pk", User.USERNAME_FIELD)
    )
    videos = list(Video.objects.order_by("pk").values_list("pk", "title"))
    cells = len(users) * len(videos)
    if cells > WIDE_EXPORT_MAX_CELLS:
        raise WatchCsvError(
            [
                _(
                    "The matrix has %(users)d viewers × %(videos)d videos = %(cells)d cells, more than "
                    "%(limit)d; export the long format instead."
                )
                % {"users": len(users), "videos": len(videos), "cells": cells, "limit": WIDE_EXPORT_MAX_CELLS}
            ]
        )
    values = _aggregated_completions()
    column = {pk: i for i, (pk, _title) in enumerate(videos)}

    def lines() -> Iterator[str]:
        yield _csv_line(["user", *(spreadsheet_safe(title) for _pk, title in videos)])
        for user_id, username in users:
            row = [""] * len(videos)
            for video_id, completion in values.get(user_id, {}).items():
                row[column[video_id]] = _number(completion * scale)
            yield _csv_line([spreadsheet_safe(username), *row])

    return lines()


def _aggregated_completions() -> dict[int, dict[int, float]]:
    """(user, video) → one completion, reduced as the training matrix reduces repeated watches."""
    how = settings.WATCH_AGGREGATE
    out: dict[int, dict[int, float]] = {}
    if how == "last":
        rows = WatchEvent.objects.order_by("pk").values_list("user_id", "video_id", "completion")
        for user_id, video_id, completion in rows.iterator(chunk_size=5000):
            out.setdefault(user_id, {})[video_id] = completion
        return out
    reduce = Avg("completion") if how == "mean" else Max("completion")
    pairs = WatchEvent.objects.order_by().values("user_id", "video_id").annotate(value=reduce)
    for row in pairs.values_list("user_id", "video_id", "value").iterator(chunk_size=5000):
        out.setdefault(row[0], {})[row[1]] = row[2]
    return out
