"""Crash recovery: versions left ``running`` by a process that died, and queued versions that no
worker picked up in time, are marked failed (their partial rows and artifacts removed)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from recommender.models import ModelVersion, Recommendation
from recommender.services.artifacts import artifacts_prune

logger = logging.getLogger(__name__)


def version_fail(version_id: int, message: str) -> None:
    """Mark a queued or running version failed with ``message`` (finished versions stay as they are)."""
    ModelVersion.objects.filter(
        pk=version_id, status__in=[ModelVersion.Status.QUEUED, ModelVersion.Status.RUNNING]
    ).update(status=ModelVersion.Status.FAILED, error=message, finished_at=timezone.now())


def versions_queued_expire() -> int:
    """Fail queued versions that can no longer run: their task or process never picked them up
    within ``RETRAIN_QUEUED_TIMEOUT`` seconds (a Celery message expires at the same moment; a
    separate process claims its row within seconds of starting). A row that is still within its
    time is left alone: it is legitimately waiting for a worker."""
    cutoff = timezone.now() - timedelta(seconds=settings.RETRAIN_QUEUED_TIMEOUT)
    stale = list(
        ModelVersion.objects.filter(status=ModelVersion.Status.QUEUED, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    if not stale:
        return 0
    n = ModelVersion.objects.filter(pk__in=stale, status=ModelVersion.Status.QUEUED).update(
        status=ModelVersion.Status.FAILED,
        error=(
            f"Never started: no worker or process picked this retrain up within "
            f"{settings.RETRAIN_QUEUED_TIMEOUT} seconds (RETRAIN_QUEUED_TIMEOUT)."
        ),
        finished_at=timezone.now(),
    )
    logger.warning("Marked %d queued model version(s) that never started as failed: %s", n, stale)
    return n


def versions_interrupted_fail(*, keep: int | None = None) -> int:
    """Mark versions left ``running`` by a process that died as failed (call with the lock held),
    and queued versions that waited too long (``versions_queued_expire``).

    Holding the retrain lock proves that no other retrain is running, so any ``running`` version
    (other than ``keep``, the one this process is about to run) belongs to a process that was
    killed; its partial rows are removed.
    """
    expired = versions_queued_expire()
    stale_qs = ModelVersion.objects.filter(status=ModelVersion.Status.RUNNING)
    if keep is not None:
        stale_qs = stale_qs.exclude(pk=keep)
    stale = list(stale_qs.values_list("pk", flat=True))
    if not stale:
        return expired
    Recommendation.objects.filter(version_id__in=stale).delete()
    n = ModelVersion.objects.filter(pk__in=stale, status=ModelVersion.Status.RUNNING).update(
        status=ModelVersion.Status.FAILED,
        error="Interrupted: the process running this retrain stopped before it finished.",
        finished_at=timezone.now(),
    )
    logger.warning("Marked %d interrupted model version(s) as failed: %s", n, stale)
    artifacts_prune()
    return n + expired
