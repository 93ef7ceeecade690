"""Asking for retrains: whether one is worth running, queueing one (Celery task or a separate
process), running a queued one, and the every-N-events nudge after watches are recorded.

``recommender.tasks`` (thin Celery wrappers) imports this package; this package sends the retrain
task by name and never imports the tasks module.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.utils import timezone

from recommender.exceptions import AlreadyRunning, BrokerUnavailable, RetrainError
from recommender.locks import retrain_lock, retrain_lock_is_held
from recommender.ml.config import TrainConfig
from recommender.models import ModelVersion
from recommender.selectors import active_version, active_version_cached
from recommender.services.pipeline import (
    NO_EVENTS_MESSAGE,
    ProgressCallback,
    retrain,
    retrain_locked,
    train_config_build,
)
from recommender.services.recovery import version_fail, versions_interrupted_fail, versions_queued_expire
from videos import selectors as video_selectors

logger = logging.getLogger(__name__)

RETRAIN_TASK = "recommender.tasks.retrain_task"


def retrain_skip_reason(*, force: bool = False) -> str | None:
    """Why a retrain now would be pointless, as one line, or ``None`` when it is worth running.

    The one rule of every caller that asks for a retrain (API, admin, ``retrain --async``, the
    schedule, the every-N-events nudge): no watch events at all, or (unless ``force``) no event
    since the active version was trained.
    """
    latest = video_selectors.latest_event_id()
    if latest is None:
        return NO_EVENTS_MESSAGE
    if force:
        return None
    active = active_version()
    if active is not None and (active.last_event_id or 0) >= latest:
        return f"No watch event since model version {active.pk} was trained; nothing new to learn."
    return None


def retrain_if_stale(
    *,
    force: bool = False,
    config: TrainConfig | None = None,
    triggered_by: str = "task",
    on_progress: ProgressCallback | None = None,
) -> ModelVersion | None:
    """Retrain unless no event arrived since the active version was trained (``force`` overrides).

    Returns the new version, or ``None`` when the retrain was skipped (the reason is logged).
    """
    if not force and video_selectors.latest_event_id() is not None:  # no events at all: NoTrainingData below
        reason = retrain_skip_reason()
        if reason is not None:
            logger.info("Retrain skipped: %s", reason)
            return None
    return retrain(config=config, triggered_by=triggered_by, on_progress=on_progress)


@dataclass(frozen=True)
class RetrainTicket:
    """What became of a retrain request: ``status`` "queued" (``version`` is the queued row;
    ``task_id`` is the Celery task id, None when a separate process runs it) or "skipped"
    (nothing was created; ``detail`` says why)."""

    status: str
    version: ModelVersion | None
    task_id: str | None
    detail: str


def retrain_request(
    *, triggered_by: str, force: bool = False, config_overrides: dict[str, Any] | None = None
) -> RetrainTicket:
    """Ask for a retrain without training here: the one road for the API, the admin and
    ``retrain --async``. Returns at once (well under a second when the broker is healthy).

    Skipped (no version row) when there is nothing to learn from or, unless ``force``, nothing new
    was watched since the active version. Otherwise a ``queued`` version row is created first; with
    a broker the Celery task that runs it is queued, without one a separate ``manage.py retrain``
    process is started for it (its output goes to a log file under ``RETRAIN_LOG_DIR``).

    Raises ``ValueError`` for a bad setting in ``config_overrides``, ``AlreadyRunning`` when a
    retrain runs or waits already, and ``BrokerUnavailable`` when the broker cannot be reached (the
    queued row is removed again). Call it outside a transaction: the worker must see the row.
    """
    overrides = {k: v for k, v in (config_overrides or {}).items() if v is not None}
    config = train_config_build(**overrides)  # a bad value is the caller's error, not the worker's
    reason = retrain_skip_reason(force=force)
    if reason is not None:
        logger.info("Retrain request (%s) skipped: %s", triggered_by, reason)
        return RetrainTicket(status="skipped", version=None, task_id=None, detail=reason)
    versions_queued_expire()
    if retrain_lock_is_held():
        raise AlreadyRunning()
    waiting = ModelVersion.objects.filter(status=ModelVersion.Status.QUEUED).order_by("pk").first()
    if waiting is not None:
        raise AlreadyRunning(
            f"A retrain is already queued (model version {waiting.pk}); try again when it has finished."
        )
    version = ModelVersion.objects.create(
        status=ModelVersion.Status.QUEUED,
        stage=ModelVersion.Stage.QUEUED,
        objective=config.objective,
        architecture=config.architecture,
        hyperparameters=config.to_dict(),
        epochs_total=config.epochs,
        triggered_by=triggered_by,
    )
    try:
        if not broker_configured():
            log_path = _retrain_process_start(version)
            task_id = None
            detail = f"Retrain queued: model version {version.pk} runs in a separate process (log {log_path})."
        else:
            task_id = _retrain_task_publish(version)
            detail = f"Retrain queued: model version {version.pk}, task {task_id}."
    except BaseException:
        version.delete()
        raise
    logger.info("%s (requested by %s)", detail, triggered_by)
    return RetrainTicket(status="queued", version=version, task_id=task_id, detail=detail)


def broker_configured() -> bool:
    """True when Celery tasks go to a broker; False in the zero-setup mode (no ``REDIS_URL``),
    where Celery would run a task eagerly inside the calling process."""
    return not current_app.conf.task_always_eager


def _retrain_task_publish(version: ModelVersion) -> str:
    """Queue the Celery task that runs ``version``; ``BrokerUnavailable`` when the broker is
    unreachable. The publish is bounded by the broker timeouts and retry policy (settings)."""
    try:
        result = current_app.tasks[RETRAIN_TASK].apply_async(
            kwargs={"version_id": version.pk, "triggered_by": version.triggered_by},
            # The outcome is the version row; no result subscription (a second Redis round trip).
            ignore_result=True,
            retry=True,
            retry_policy=settings.CELERY_TASK_PUBLISH_RETRY_POLICY,
            # A message that waited longer than this is dropped; its row is failed by then.
            expires=settings.RETRAIN_QUEUED_TIMEOUT,
        )
    except Exception as exc:
        logger.warning("Could not queue the retrain of model version %s: %s: %s", version.pk, type(exc).__name__, exc)
        raise BrokerUnavailable() from None
    return str(result.id)


def _retrain_process_start(version: ModelVersion) -> Path:
    """Start ``manage.py retrain --queued-version N`` in a session of its own and return its log
    file. The web process never waits for it (and never imports TensorFlow)."""
    log_dir = Path(settings.RETRAIN_LOG_DIR)
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    log_path = log_dir / f"retrain-{stamp}-v{version.pk}.log"
    command = [
        sys.executable,
        str(Path(settings.BASE_DIR) / "manage.py"),
        "retrain",
        "--queued-version",
        str(version.pk),
        "--no-progress",
    ]
    try:
        with open(log_path, "ab") as log:
            subprocess.Popen(  # a fixed argument list, no shell
                command,
                cwd=settings.BASE_DIR,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the web worker's restart; not killed with it
                close_fds=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
    except OSError as exc:
        raise RetrainError(f"Could not start the retrain process: {exc}") from None
    return log_path


def retrain_queued_run(*, version_id: int, on_progress: ProgressCallback | None = None) -> ModelVersion | None:
    """Run the queued version ``version_id`` (the Celery task and ``retrain --queued-version`` call
    this). Returns the version, or ``None`` when the row is no longer queued (it ran already, or it
    waited too long and was failed). ``AlreadyRunning`` when another retrain holds the lock: the row
    is failed, since its request was answered "queued" and must not wait forever."""
    try:
        with retrain_lock():
            versions_interrupted_fail(keep=version_id)
            claimed = ModelVersion.objects.filter(pk=version_id, status=ModelVersion.Status.QUEUED).update(
                status=ModelVersion.Status.RUNNING, stage=ModelVersion.Stage.READING
            )
            if not claimed:
                logger.info("Model version %s is no longer queued; nothing to run.", version_id)
                return None
            version = ModelVersion.objects.get(pk=version_id)
            try:
                config = TrainConfig.from_dict(version.hyperparameters)
                config.validate()
            except (TypeError, ValueError) as exc:
                version_fail(version_id, f"Invalid training settings: {exc}")
                raise RetrainError(f"Model version {version_id} has invalid training settings: {exc}") from None
            return retrain_locked(config, version.triggered_by, on_progress=on_progress, version=version)
    except AlreadyRunning:
        version_fail(version_id, "Not run: another retrain was running when this one was due to start.")
        raise


def version_requeue(*, version_id: int) -> ModelVersion:
    """A new queued row with the settings of ``version_id`` (a retry after a transient error)."""
    old = ModelVersion.objects.get(pk=version_id)
    return ModelVersion.objects.create(
        status=ModelVersion.Status.QUEUED,
        stage=ModelVersion.Stage.QUEUED,
        objective=old.objective,
        architecture=old.architecture,
        hyperparameters=old.hyperparameters,
        epochs_total=old.epochs_total,
        triggered_by=old.triggered_by,
    )


def retrain_nudge(*, first_event_id: int, last_event_id: int | None = None) -> bool:
    """Queue an early retrain every ``RETRAIN_AFTER_NEW_EVENTS`` events (called once after each
    committed write of events ``first_event_id``..``last_event_id``, a single event or a batch).

    Needs a broker: without one the schedule alone retrains. Never raises and never blocks for
    long: recording a watch must succeed even when Redis is down (a failure is logged in one line).
    Returns True when a retrain was queued.
    """
    every = settings.RETRAIN_AFTER_NEW_EVENTS
    if every <= 0 or not broker_configured():
        return False
    last_event_id = first_event_id if last_event_id is None else last_event_id
    try:
        active = active_version_cached()  # a cache read per write, not a query
        base = (active.last_event_id if active else None) or 0
        # Did this write cross a multiple of ``every`` events since the active version?
        if last_event_id - base <= 0 or (last_event_id - base) // every == max(first_event_id - 1 - base, 0) // every:
            return False
        ticket = retrain_request(triggered_by="events")
    except AlreadyRunning:
        return False
    except Exception as exc:
        logger.warning(
            "Could not queue a retrain after event %s (is the broker down?): %s: %s",
            last_event_id,
            type(exc).__name__,
            str(exc).splitlines()[0] if str(exc) else "",
        )
        return False
    return ticket.status == "queued"


def on_watches_recorded(*, first_event_id: int, last_event_id: int) -> None:
    """The ``videos.hooks`` after-watches-recorded hook (registered in ``RecommenderConfig.ready``)."""
    retrain_nudge(first_event_id=first_event_id, last_event_id=last_event_id)
