"""The only writers of catalog and watch data: pages, API, admin and imports all call these."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from videos.hooks import watches_recorded
from videos.models import Video, WatchEvent
from videos.validators import parse_completion, validate_client_event_id

User = get_user_model()
logger = logging.getLogger(__name__)


def watch_event_record(
    *,
    user: Any,
    video: Video,
    completion: object,
    source: str = WatchEvent.Source.WEB,
    watched_at: datetime | None = None,
    client_event_id: str | None = None,
    nudge: bool = True,
) -> tuple[WatchEvent, bool]:
    """Store one watch event; returns ``(event, created)``.

    With a ``client_event_id`` the call is idempotent: a retry with the same id for the same user
    returns the event stored the first time (``created`` False) and stores nothing. After the commit
    the ``videos.hooks`` run (the recommender's retrain nudge); ``nudge=False``: the caller runs
    them once for its whole batch.
    """
    value = parse_completion(completion)
    if source not in WatchEvent.Source.values:
        raise ValidationError(_("Unknown event source."), code="invalid_source")
    client_event_id = (client_event_id or "").strip() or None
    validate_client_event_id(client_event_id)
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
            if nudge:
                watches_recorded(event.pk, event.pk)
    except IntegrityError:
        # Two concurrent retries with one client id: the other one won, return its event.
        if client_event_id:
            existing = WatchEvent.objects.filter(user=user, client_event_id=client_event_id).first()
            if existing is not None:
                return existing, False
        raise
    return event, True


def watch_events_record_bulk(
    *, user: Any, items: Sequence[Mapping[str, Any]], source: str = WatchEvent.Source.API
) -> list[tuple[WatchEvent, bool]]:
    """Store several watch events of ``user`` all together or not at all.

    Each item holds the keyword arguments of ``watch_event_record`` (``video``, ``completion`` and
    optionally ``watched_at`` / ``client_event_id``); results come back in the items' order. Any
    refused item raises ValidationError and rolls back the events stored before it.
    """
    with transaction.atomic():
        results = [watch_event_record(user=user, source=source, nudge=False, **item) for item in items]
        new_ids = [event.pk for event, created in results if created]
        if new_ids:  # the hooks run once for the batch, after it committed
            watches_recorded(min(new_ids), max(new_ids))
        return results


def watch_event_delete(*, user: Any, event_id: int) -> WatchEvent:
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
    and videos are created as needed. All-or-nothing: any bad cell aborts the whole import. The
    file is read and checked by ``videos.watch_csv`` (the admin's upload uses the same rules).
    """
    from videos.watch_csv import WatchCsvError, watch_csv_read, watch_csv_store

    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise MatrixImportError(_("Scale must be a positive number."))
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MatrixImportError(_("File not found: %(path)s") % {"path": path}) from None
    except OSError as exc:
        raise MatrixImportError(_("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc}) from None
    try:
        result = watch_csv_store(parsed=watch_csv_read(data=data, format="wide", scale=scale))
    except WatchCsvError as exc:
        raise MatrixImportError(str(exc)) from None
    return MatrixImportResult(
        users_created=result.users_created,
        videos_created=result.videos_created,
        events_created=result.events_created,
    )
