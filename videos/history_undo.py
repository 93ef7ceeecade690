"""Undo for "Remove from history": a removed watch event is remembered in the viewer's session for
a while, so that the message announcing the removal can offer to put it back exactly as it was
(same id, time, completion and source)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from videos.models import Video, WatchEvent

SESSION_KEY = "history_removed"
# Only the most recent removals can be undone; older ones are forgotten.
KEEP = 10


def removal_remember(*, session: SessionBase, event: WatchEvent) -> None:
    """Keep what is needed to restore ``event`` (already deleted) in the session."""
    removed: dict[str, dict[str, Any]] = dict(session.get(SESSION_KEY) or {})
    removed[str(event.pk)] = {
        "video": event.video_id,
        "completion": event.completion,
        "watched_at": event.watched_at.isoformat(),
        "source": event.source,
        "client_event_id": event.client_event_id,
    }
    session[SESSION_KEY] = dict(list(removed.items())[-KEEP:])


def watch_event_restore(*, session: SessionBase, user: Any, event_id: int) -> WatchEvent | None:
    """Put a removed event of ``user`` back; None when it is not (or no longer) restorable.

    The snapshot is taken out of the session first, so one removal is restored at most once.
    """
    removed: dict[str, dict[str, Any]] = dict(session.get(SESSION_KEY) or {})
    snapshot = removed.pop(str(event_id), None)
    session[SESSION_KEY] = removed
    if not isinstance(snapshot, dict):
        return None
    video = Video.objects.filter(pk=snapshot.get("video")).first()
    watched_at = parse_datetime(str(snapshot.get("watched_at") or ""))
    if video is None or not isinstance(watched_at, datetime):
        return None
    source = snapshot.get("source")
    event = WatchEvent(
        pk=event_id,
        user=user,
        video=video,
        completion=min(1.0, max(0.0, float(snapshot.get("completion") or 0.0))),
        watched_at=watched_at,
        source=source if source in WatchEvent.Source.values else WatchEvent.Source.WEB,
        client_event_id=snapshot.get("client_event_id") or None,
    )
    if event.client_event_id and WatchEvent.objects.filter(user=user, client_event_id=event.client_event_id).exists():
        event.client_event_id = None  # the id was used again since: keep the watch, drop the id
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        return None
    return event
