"""Celery tasks: thin wrappers that take ids / plain values and call the retrain service.

TensorFlow is only imported inside the service calls, so loading this module (which the web process
does to queue tasks) stays cheap.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.exceptions import Retry
from django.conf import settings
from django.db import InterfaceError, OperationalError

from recommender import services
from recommender.exceptions import AlreadyRunning, NoTrainingData, RetrainError

logger = logging.getLogger(__name__)

try:  # the broker/result client; transient connection errors are worth a retry
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
        OperationalError,
        InterfaceError,
        RedisConnectionError,
        RedisTimeoutError,
    )
except ImportError:  # pragma: no cover - redis is a pinned dependency
    TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@shared_task(
    bind=True,
    name="recommender.tasks.retrain_task",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.RETRAIN_SOFT_TIME_LIMIT,
    time_limit=settings.RETRAIN_TIME_LIMIT,
    max_retries=3,
)
def retrain_task(
    self: Task,
    *,
    version_id: int | None = None,
    force: bool = False,
    triggered_by: str = "task",
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the queued version ``version_id`` (queued by ``services.retrain_request``), or without
    one (the schedule) retrain unless nothing changed and not ``force``; report the outcome as JSON."""
    try:
        if version_id is not None:
            version = services.retrain_queued_run(version_id=version_id)
            if version is None:
                detail = f"Model version {version_id} is no longer queued (it ran already or waited too long)."
                return {"status": "not_queued", "version": version_id, "detail": detail}
        else:
            train_config = services.train_config_build(**(config or {}))
            version = services.retrain_if_stale(force=force, config=train_config, triggered_by=triggered_by)
    except AlreadyRunning as exc:
        logger.info("Retrain task %s: %s", self.request.id, exc)
        return {"status": "already_running", "detail": str(exc)}
    except NoTrainingData as exc:
        logger.info("Retrain task %s: %s", self.request.id, exc)
        return {"status": "no_data", "detail": str(exc)}
    except RetrainError as exc:
        cause = exc.__cause__
        if isinstance(cause, TRANSIENT_ERRORS) and self.request.retries < self.max_retries:
            logger.warning("Retrain task %s: transient error, retrying: %s", self.request.id, cause)
            raise _retry(self, cause, version_id) from exc
        raise
    except TRANSIENT_ERRORS as exc:
        if self.request.retries < self.max_retries:
            raise _retry(self, exc, version_id) from exc
        raise
    if version is None:
        return {"status": "skipped", "detail": "No watch event since the active version was trained."}
    return {"status": version.status, "version": version.pk, "durations": version.durations}


def _retry(task: Task, exc: BaseException, version_id: int | None) -> Retry:
    """The retry of a failed run: a queued version's retry runs a fresh queued copy of it (the
    failed row stays as the record of the attempt)."""
    countdown = min(300, 10 * 2**task.request.retries)
    if version_id is None:
        return task.retry(exc=exc, countdown=countdown)
    again = services.version_requeue(version_id=version_id)
    kwargs = {**task.request.kwargs, "version_id": again.pk}
    return task.retry(exc=exc, countdown=countdown, kwargs=kwargs)


@shared_task(
    bind=True,
    name="recommender.tasks.score_shard_task",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    max_retries=3,
)
def score_shard_task(self: Task, version_id: int, start: int, stop: int) -> dict[str, float | int]:
    """Score and write the recommendations of user indices ``start``..``stop`` of a running version."""
    return services.recommendations_shard_write(version_id=version_id, start=start, stop=stop)
