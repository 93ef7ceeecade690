"""Hooks for apps built on top of the catalog: ``videos`` imports none of them, they register here.

After every committed write of watch events (one event, an API batch, a CSV import) the registered
``after_watches_recorded`` hooks are called once with the range of new event ids. The recommender
registers its every-N-events retrain nudge in ``RecommenderConfig.ready``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from django.db import transaction

logger = logging.getLogger(__name__)

WatchesRecordedHook = Callable[..., None]  # called as hook(first_event_id=..., last_event_id=...)

_after_watches_recorded: list[WatchesRecordedHook] = []


def after_watches_recorded_register(hook: WatchesRecordedHook) -> None:
    """Call ``hook(first_event_id=..., last_event_id=...)`` after each committed write of watch
    events. Registering the same hook twice has no effect."""
    if hook not in _after_watches_recorded:
        _after_watches_recorded.append(hook)


def after_watches_recorded_unregister(hook: WatchesRecordedHook) -> None:
    if hook in _after_watches_recorded:
        _after_watches_recorded.remove(hook)


def watches_recorded(first_event_id: int, last_event_id: int) -> None:
    """Schedule the hooks for events ``first_event_id``..``last_event_id``, to run once the current
    transaction commits (at once outside a transaction). Call it once per write, not per event."""
    transaction.on_commit(partial(_hooks_run, first_event_id, last_event_id))


def _hooks_run(first_event_id: int, last_event_id: int) -> None:
    """Runs after the events committed: the write has succeeded, so nothing here may turn it into
    an error. A failing hook is logged in one line, never raised."""
    for hook in list(_after_watches_recorded):
        try:
            hook(first_event_id=first_event_id, last_event_id=last_event_id)
        except Exception as exc:
            logger.warning(
                "Hook after events %s..%s failed: %s: %s", first_event_id, last_event_id, type(exc).__name__, exc
            )
