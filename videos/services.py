"""The only writers of catalog and watch data: pages, API, admin and imports all call these."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from videos.models import Video, WatchEvent

User = get_user_model()


def parse_completion(value: object) -> float:
    """Return ``value`` as a finite float in [0, 1] or raise ValidationError.

    Booleans, NaN, infinities and strings that only look numeric ("nan", "inf", "1e400") are refused.
    """
    if isinstance(value, bool) or value is None or value == "":
        raise ValidationError(_("Completion must be a number between 0 and 1."), code="invalid")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
        raise ValidationError(_("Completion must be a number between 0 and 1."), code="invalid") from None
    if not math.isfinite(number):
        raise ValidationError(_("Completion must be a finite number."), code="not_finite")
    if not 0.0 <= number <= 1.0:
        raise ValidationError(_("Completion must be between 0 and 1."), code="out_of_range")
    return number


def watch_event_record(
    *,
    user,
    video: Video,
    completion: object,
    source: str = WatchEvent.Source.WEB,
    watched_at: datetime | None = None,
    client_event_id: str | None = None,
) -> tuple[WatchEvent, bool]:
    """Store one watch event; returns ``(event, created)``.

    With a ``client_event_id`` the call is idempotent: a retry with the same id for the same user
    returns the event stored the first time (``created`` False) and stores nothing.
    """
    value = parse_completion(completion)
    if source not in WatchEvent.Source.values:
        raise ValidationError(_("Unknown event source."), code="invalid_source")
    client_event_id = (client_event_id or "").strip() or None
    if client_event_id and len(client_event_id) > 64:
        raise ValidationError(_("Client event id is at most 64 characters."), code="too_long")
    if client_event_id:
        existing = WatchEvent.objects.filter(user=user, client_event_id=client_event_id).first()
        if existing is not None:
            return existing, False
    event = WatchEvent(
        user=user,
        video=video,
        completion=value,
        source=source,
        watched_at=watched_at or timezone.now(),
        client_event_id=client_event_id,
    )
    try:
        with transaction.atomic():
            event.save()
            transaction.on_commit(partial(_retrain_nudge, event.pk))
    except IntegrityError:
        # Two concurrent retries with one client id: the other one won, return its event.
        if client_event_id:
            existing = WatchEvent.objects.filter(user=user, client_event_id=client_event_id).first()
            if existing is not None:
                return existing, False
        raise
    return event, True


def watch_events_record_bulk(
    *, user, items: Sequence[Mapping[str, Any]], source: str = WatchEvent.Source.API
) -> list[tuple[WatchEvent, bool]]:
    """Store several watch events of ``user`` all together or not at all.

    Each item holds the keyword arguments of ``watch_event_record`` (``video``, ``completion`` and
    optionally ``watched_at`` / ``client_event_id``); results come back in the items' order. Any
    refused item raises ValidationError and rolls back the events stored before it.
    """
    with transaction.atomic():
        return [watch_event_record(user=user, source=source, **item) for item in items]


def _retrain_nudge(event_id: int) -> None:
    # Lazy import: videos must not depend on the recommender at import time.
    from recommender.services import retrain_nudge

    retrain_nudge(event_id=event_id)


def watch_event_delete(*, user, event_id: int) -> WatchEvent:
    """Delete one of ``user``'s own watch events and return it (its ``pk`` is kept for messages).

    Raises ``WatchEvent.DoesNotExist`` when the id is unknown or belongs to another user, so a
    caller cannot tell another viewer's event from a missing one. The change reaches the
    recommendations at the next retrain.
    """
    event = WatchEvent.objects.select_related("video").get(pk=event_id, user=user)
    deleted_pk = event.pk
    event.delete()
    event.pk = deleted_pk
    return event


@dataclass(frozen=True)
class MatrixImportResult:
    users_created: int
    videos_created: int
    events_created: int


class MatrixImportError(ValueError):
    """A wide CSV could not be imported; the message names the row and column."""


def matrix_import(*, path: str | Path, scale: float = 10.0) -> MatrixImportResult:
    """Import a wide completion matrix (first column user name, other columns video titles).

    A cell holds completion on a 0..``scale`` scale; an empty cell means "not watched". Users
    and videos are created as needed. All-or-nothing: any bad cell aborts the whole import.
    """
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise MatrixImportError(_("Scale must be a positive number."))
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MatrixImportError(_("File not found: %(path)s") % {"path": path}) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MatrixImportError(_("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc}) from None

    rows = list(csv.reader(io.StringIO(text)))
    if not rows or len(rows[0]) < 2:
        raise MatrixImportError(_("The file needs a header row: a user column, then one column per video."))
    header = [h.strip() for h in rows[0]]
    titles = header[1:]
    for col, title in enumerate(titles, start=2):
        if not title:
            raise MatrixImportError(_("Row 1, column %(col)d: empty video title.") % {"col": col})
    if len(set(titles)) != len(titles):
        raise MatrixImportError(_("Row 1: duplicate video titles in the header."))

    cells: list[tuple[str, str, float]] = []
    seen_users: set[str] = set()
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise MatrixImportError(
                _("Row %(row)d: %(n)d cells but the header has %(m)d columns.")
                % {"row": line_no, "n": len(row), "m": len(header)}
            )
        username = row[0].strip()
        if not username:
            raise MatrixImportError(_("Row %(row)d, column 1: empty user name.") % {"row": line_no})
        if username in seen_users:
            raise MatrixImportError(_("Row %(row)d: user %(user)s appears twice.") % {"row": line_no, "user": username})
        seen_users.add(username)
        for col, raw in enumerate(row[1:], start=2):
            raw = raw.strip()
            if not raw:
                continue
            where = {"row": line_no, "col": col, "user": username, "video": header[col - 1], "value": raw}
            try:
                value = float(raw)
            except ValueError:
                raise MatrixImportError(
                    _("Row %(row)d (%(user)s), column %(col)d (%(video)s): %(value)r is not a number.") % where
                ) from None
            if not math.isfinite(value) or not 0 <= value <= scale:
                where["scale"] = scale
                raise MatrixImportError(
                    _("Row %(row)d (%(user)s), column %(col)d (%(video)s): %(value)s is outside 0..%(scale)g.") % where
                )
            cells.append((username, header[col - 1], value / scale))
    if not cells:
        raise MatrixImportError(_("The file holds no completion values."))

    with transaction.atomic():
        users_before = set(User.objects.filter(username__in=seen_users).values_list("username", flat=True))
        users = {}
        for name in sorted(seen_users):
            user, _created = User.objects.get_or_create(username=name)
            users[name] = user
        videos_before = set(Video.objects.filter(title__in=titles).values_list("title", flat=True))
        videos = {}
        for title in titles:
            video, _created = Video.objects.get_or_create(title=title)
            videos[title] = video
        now = timezone.now()
        WatchEvent.objects.bulk_create(
            WatchEvent(
                user=users[u],
                video=videos[v],
                completion=c,
                source=WatchEvent.Source.IMPORT,
                watched_at=now,
            )
            for u, v, c in cells
        )
    return MatrixImportResult(
        users_created=len(seen_users - users_before),
        videos_created=len(set(titles) - videos_before),
        events_created=len(cells),
    )
