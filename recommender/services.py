"""Retrain and publish: the only road from watch events to recommendations.

``retrain`` reads events (``values_list``), pivots them into the user × video matrix, trains the
NCF model, scores every unwatched video of every user in vectorised blocks, writes the new
version's rows and then flips the active version in one short transaction. Readers therefore see
either the previous list or the new one, never a mix. If anything fails, the previous active
version stays served and the new version is marked failed with its error.

TensorFlow is imported lazily inside the functions that need it, so the web process (which only
reads the recommendations table) never loads it.
"""

from __future__ import annotations

import itertools
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from recommender.exceptions import AlreadyRunning, NoTrainingData, RetrainError
from recommender.locks import retrain_lock, retrain_lock_is_held
from recommender.ml.config import DEFAULT_PRESET, TrainConfig, preset_config
from recommender.ml.data import InteractionMatrix, pivot
from recommender.models import ModelVersion, Recommendation
from recommender.selectors import active_version_cache_clear, active_version_cached
from videos import selectors as video_selectors
from videos.models import Video

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[ModelVersion], None]


def train_config_build(*, preset: str | None = None, **overrides: Any) -> TrainConfig:
    """A training configuration: the ``preset`` (see ``recommender.ml.config.PRESETS``) or, without
    one, the default preset of the objective (``RECOMMENDER_OBJECTIVE`` unless ``overrides`` name
    one), with ``overrides`` applied (``None`` values ignored). ``ValueError`` for a bad value."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if preset is None:
        objective = values.get("objective", settings.RECOMMENDER_OBJECTIVE)
        if objective not in DEFAULT_PRESET:
            raise ValueError(f"objective must be one of {tuple(DEFAULT_PRESET)}, got {objective!r}")
        preset = DEFAULT_PRESET[objective]
    config = preset_config(preset, **values)
    config.validate()
    return config


@dataclass
class _Stopwatch:
    durations: dict[str, float] = field(default_factory=dict)
    _start: float = field(default_factory=time.perf_counter)
    _mark: float = field(default_factory=time.perf_counter)

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.durations[stage] = round(now - self._mark, 4)
        self._mark = now

    def total(self) -> dict[str, float]:
        self.durations["total"] = round(time.perf_counter() - self._start, 4)
        return self.durations


def _set_stage(version: ModelVersion, stage: str, on_progress: ProgressCallback | None, **fields) -> None:
    version.stage = stage
    for name, value in fields.items():
        setattr(version, name, value)
    ModelVersion.objects.filter(pk=version.pk).update(stage=stage, **fields)
    if on_progress:
        on_progress(version)


def retrain(
    *,
    config: TrainConfig | None = None,
    triggered_by: str = "command",
    activate: bool = True,
    on_progress: ProgressCallback | None = None,
    force: bool = False,
) -> ModelVersion:
    """Train a new model version on every stored watch event and publish its recommendations.

    Only one retrain runs at a time, whoever starts it: a second caller gets ``AlreadyRunning`` at
    once. Raises ``NoTrainingData`` (nothing is created) when no events exist and ``RetrainError``
    when training or publishing failed (the version is kept with status ``failed`` and its error).
    The version records held-out metrics; the promotion gate (``recommender.evaluation``) may keep
    it as ``rejected`` (the previous version stays active; ``version.gate`` says why) unless
    ``force`` is set.
    """
    config = config or train_config_build()
    config.validate()
    with retrain_lock():
        versions_interrupted_fail()
        return _retrain_locked(config, triggered_by, activate, on_progress, force)


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
    if not force:
        active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
        latest = video_selectors.latest_event_id()
        if active is not None and latest is not None and (active.last_event_id or 0) >= latest:
            logger.info(
                "Retrain skipped: no watch event since model version %s (last event id %s).",
                active.pk,
                active.last_event_id,
            )
            return None
    return retrain(config=config, triggered_by=triggered_by, on_progress=on_progress)


def retrain_enqueue(*, triggered_by: str, force: bool = True, **config_overrides: Any) -> str:
    """Queue a retrain on the ``training`` queue and return the Celery task id.

    Refuses with ``AlreadyRunning`` when a retrain holds the lock right now. Without a broker
    (``REDIS_URL`` unset) Celery runs the task eagerly, in this process.
    """
    from recommender.tasks import retrain_task

    if retrain_lock_is_held():
        raise AlreadyRunning()
    overrides = {k: v for k, v in config_overrides.items() if v is not None}
    if overrides:
        train_config_build(**overrides)  # validate now: a bad value is the caller's error, not the worker's
    result = retrain_task.apply_async(kwargs={"force": force, "triggered_by": triggered_by, "config": overrides})
    return result.id


def retrain_nudge(*, event_id: int) -> bool:
    """Queue an early retrain every ``RETRAIN_AFTER_NEW_EVENTS`` events (called after each new event).

    Needs a broker: without one (eager Celery) a retrain would run inside the web request, so the
    schedule alone retrains. Broker errors are logged, never raised: recording a watch must succeed
    even when Redis is down. Returns True when a task was queued.
    """
    every = settings.RETRAIN_AFTER_NEW_EVENTS
    if every <= 0 or settings.CELERY_TASK_ALWAYS_EAGER:
        return False
    active = active_version_cached()  # a cache read per event, not a query
    since = event_id - ((active.last_event_id if active else None) or 0)
    if since <= 0 or since % every:
        return False
    from recommender.tasks import retrain_task

    try:
        retrain_task.apply_async(kwargs={"triggered_by": "events"}, retry=False)
    except Exception:
        logger.warning("Could not queue a retrain after event %s (is the broker down?)", event_id, exc_info=True)
        return False
    return True


def versions_interrupted_fail() -> int:
    """Mark versions left ``running`` by a process that died as failed (call with the lock held).

    Holding the retrain lock proves that no other retrain is running, so any ``running`` version
    belongs to a process that was killed; its partial rows are removed.
    """
    stale = list(ModelVersion.objects.filter(status=ModelVersion.Status.RUNNING).values_list("pk", flat=True))
    if not stale:
        return 0
    Recommendation.objects.filter(version_id__in=stale).delete()
    n = ModelVersion.objects.filter(pk__in=stale, status=ModelVersion.Status.RUNNING).update(
        status=ModelVersion.Status.FAILED,
        error="Interrupted: the process running this retrain stopped before it finished.",
        finished_at=timezone.now(),
    )
    logger.warning("Marked %d interrupted model version(s) as failed: %s", n, stale)
    return n


def _retrain_locked(
    config: TrainConfig, triggered_by: str, activate: bool, on_progress: ProgressCallback | None, force: bool = False
) -> ModelVersion:
    last_event_id = video_selectors.latest_event_id()
    if last_event_id is None:
        raise NoTrainingData(
            "No watch events to learn from: record some watches first "
            "(or run `manage.py seed_demo` / `manage.py import_matrix`)."
        )

    version = ModelVersion.objects.create(
        status=ModelVersion.Status.RUNNING,
        stage=ModelVersion.Stage.READING,
        objective=config.objective,
        architecture=config.architecture,
        hyperparameters=config.to_dict(),
        epochs_total=config.epochs,
        triggered_by=triggered_by,
        last_event_id=last_event_id,
    )
    clock = _Stopwatch()
    try:
        _run(version, config, last_event_id, clock, activate, on_progress, force)
    except BaseException as exc:
        # BaseException: a Celery soft time limit or a Ctrl-C must not leave the version "running".
        message = f"{type(exc).__name__}: {exc}"
        logger.exception("Retrain of model version %s failed", version.pk)
        Recommendation.objects.filter(version=version).delete()
        ModelVersion.objects.filter(pk=version.pk).exclude(status=ModelVersion.Status.ACTIVE).update(
            status=ModelVersion.Status.FAILED,
            error=message + "\n\n" + traceback.format_exc(),
            finished_at=timezone.now(),
            durations=clock.total(),
        )
        version.refresh_from_db()
        if not isinstance(exc, Exception):
            raise
        raise RetrainError(f"Retrain failed (model version {version.pk}): {message}", version) from exc
    return version


def _run(
    version: ModelVersion,
    config: TrainConfig,
    last_event_id: int,
    clock: _Stopwatch,
    activate: bool,
    on_progress: ProgressCallback | None,
    force: bool = False,
) -> None:
    # Heavy imports happen here, in the worker or command process only.
    from recommender import evaluation
    from recommender.ml.artifact import save_artifact
    from recommender.ml.score import model_is_finite
    from recommender.ml.train import train_model

    clock.lap("import")  # TensorFlow's import time, paid once per process (a warm worker pays 0)
    if on_progress:
        on_progress(version)
    users, videos, completions, times = video_selectors.event_columns_timed(up_to_event_id=last_event_id)
    clock.lap("read")

    _set_stage(version, ModelVersion.Stage.PIVOTING, on_progress, n_events=len(users))
    data = pivot(users, videos, completions, aggregate=settings.WATCH_AGGREGATE)
    clock.lap("pivot")

    _set_stage(
        version,
        ModelVersion.Stage.EVALUATING,
        on_progress,
        n_users=data.n_users,
        n_videos=data.n_videos,
        n_interactions=data.n_interactions,
    )

    def evaluation_epoch_done(epoch: int, total: int, logs: dict) -> None:
        version.epoch, version.epochs_total = epoch, total
        ModelVersion.objects.filter(pk=version.pk).update(epoch=epoch, epochs_total=total)
        if on_progress:
            on_progress(version)

    outcome = evaluation.evaluation_run(
        data=data, users=users, videos=videos, times=times, config=config, on_epoch_end=evaluation_epoch_done
    )
    clock.lap("evaluate")

    _set_stage(
        version,
        ModelVersion.Stage.TRAINING,
        on_progress,
        metrics=outcome.metrics,
        epoch=0,
        epochs_total=outcome.final_config.epochs,
    )
    history: list[dict] = []

    def epoch_done(epoch: int, total: int, logs: dict) -> None:
        history.append({"epoch": epoch, **{k: _plain(v) for k, v in logs.items() if k != "epoch"}})
        version.epoch, version.epochs_total, version.history = epoch, total, list(history)
        ModelVersion.objects.filter(pk=version.pk).update(epoch=epoch, epochs_total=total, history=history)
        if on_progress:
            on_progress(version)

    if outcome.publish_result is not None:
        result = outcome.publish_result  # RECOMMENDER_REFIT off: publish the evaluated model
    else:
        result = train_model(data, outcome.final_config, on_epoch_end=epoch_done)
    clock.lap("train")
    if not model_is_finite(result.model):
        # A diverged model is never scored or written; the gate's finite check rejects it.
        decision = evaluation.gate_decide(version=version, metrics=outcome.metrics, model_finite=False)
        _version_reject(version, decision, outcome.metrics, clock, on_progress, history=result.history)
        return

    # The artifact is saved before scoring: scoring shards on other workers load it from MODEL_DIR.
    directory = Path(settings.MODEL_DIR) / f"v{version.pk}"
    artifact_path, sha256 = save_artifact(
        directory,
        model=result.model,
        data=data,
        config=outcome.final_config,  # what trained this model (after a refit: its epoch count)
        meta={"model_version": version.pk, "last_event_id": last_event_id},
    )
    clock.lap("save")

    _set_stage(
        version,
        ModelVersion.Stage.SCORING,
        on_progress,
        history=result.history,
        artifact_path=str(artifact_path),
        artifact_sha256=sha256,
    )
    shards = user_shards(data.n_users, settings.SCORING_SHARDS)
    if len(shards) > 1 and not _shard_workers_available():
        logger.warning("No other worker consumes the scoring queue: scoring version %s in one piece.", version.pk)
        shards = [(0, data.n_users)]
    if len(shards) == 1:
        n_rows, score_s = _score_and_write(version, result.model, data, 0, data.n_users)
    else:
        n_rows, score_s = _score_and_write_sharded(version, shards)
    clock.durations["score"] = round(score_s, 4)
    clock.lap("write")
    clock.durations["write"] = round(max(clock.durations["write"] - score_s, 0.0), 4)
    n_pairs_scored = data.n_users * data.n_videos - data.n_interactions

    metrics = {
        **outcome.metrics,
        **evaluation.served_figures(version=version, n_users=data.n_users, n_videos=data.n_videos),
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "train_samples": result.train_samples,
        "train_samples_per_s": round(result.samples_per_s, 1),
        "pairs_scored": int(n_pairs_scored),
        "pairs_scored_per_s": round(n_pairs_scored / max(score_s, 1e-9), 1),
        "scoring_shards": len(shards),
    }
    _set_stage(
        version,
        ModelVersion.Stage.PUBLISHING,
        on_progress,
        n_recommendations=n_rows,
        metrics=metrics,
    )
    decision = evaluation.gate_decide(version=version, metrics=metrics)
    if not decision.passed and not force:
        _version_reject(version, decision, metrics, clock, on_progress)
        return
    gate = decision.as_json(forced=not decision.passed)
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.SUCCEEDED, gate=gate)
    version.status, version.gate = ModelVersion.Status.SUCCEEDED, gate
    if activate:
        version_activate(version=version)
        recommendations_prune(keep=settings.RECOMMENDATION_VERSIONS_KEPT)
    clock.lap("publish")
    version.refresh_from_db()
    version.stage = ModelVersion.Stage.DONE
    version.finished_at = timezone.now()
    version.durations = clock.total()
    version.save(update_fields=["stage", "finished_at", "durations"])
    if on_progress:
        on_progress(version)


def _version_reject(
    version: ModelVersion,
    decision,
    metrics: dict,
    clock: _Stopwatch,
    on_progress: ProgressCallback | None,
    *,
    history: list | None = None,
) -> None:
    """Keep a version the promotion gate refused: status ``rejected``, the verdict in ``gate``. Its
    rows (when written) stay, so an operator may still activate it by name."""
    fields = {
        "status": ModelVersion.Status.REJECTED,
        "stage": ModelVersion.Stage.DONE,
        "gate": decision.as_json(),
        "metrics": metrics,
        "finished_at": timezone.now(),
        "durations": clock.total(),
    }
    if history is not None:
        fields["history"] = history
    ModelVersion.objects.filter(pk=version.pk).update(**fields)
    version.refresh_from_db()
    logger.warning("Model version %s rejected by the promotion gate: %s", version.pk, decision.reason)
    if on_progress:
        on_progress(version)


def user_shards(n_users: int, n_shards: int) -> list[tuple[int, int]]:
    """Split user indices 0..n_users into at most ``n_shards`` contiguous, non-empty ranges."""
    n_shards = max(1, min(int(n_shards), n_users))
    bounds = [round(i * n_users / n_shards) for i in range(n_shards + 1)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _score_and_write(version: ModelVersion, model, data: InteractionMatrix, start: int, stop: int) -> tuple[int, float]:
    import numpy as np

    from recommender.ml.score import score_top_n

    started = time.perf_counter()
    top = score_top_n(
        model, data, top_n=settings.RECOMMENDATIONS_TOP_N, user_indices=np.arange(start, stop, dtype=np.int64)
    )
    score_s = time.perf_counter() - started
    return recommendations_write(version=version, data=data, top=top), score_s


def recommendations_shard_write(*, version_id: int, start: int, stop: int) -> dict[str, float | int]:
    """Score users ``start``..``stop`` of a version from its saved artifact and write their rows.

    Runs on any worker that can read MODEL_DIR. Safe to retry: the shard's earlier rows are
    replaced.
    """
    from recommender.ml.artifact import load_artifact

    version = ModelVersion.objects.get(pk=version_id)
    if version.status != ModelVersion.Status.RUNNING:
        raise RetrainError(f"Model version {version_id} is {version.status}, not running; shard not scored.")
    artifact = load_artifact(version.artifact_path)
    data = artifact.data
    user_ids = data.user_ids[start:stop].tolist()
    Recommendation.objects.filter(version_id=version_id, user_id__in=user_ids).delete()
    n_rows, score_s = _score_and_write(version, artifact.model, data, start, stop)
    return {"rows": n_rows, "score_seconds": score_s}


def _shard_workers_available() -> bool:
    """True when shard tasks can run: eager Celery, or another live worker consumes their queue.

    The retrain task waits for its shards, so the worker running it cannot also run them; without
    a second worker the wait would never end.
    """
    from celery import current_task

    from recsite.celery import app

    if app.conf.task_always_eager:
        return True
    me = getattr(getattr(current_task, "request", None), "hostname", None)
    try:
        queues = app.control.inspect(timeout=1.0).active_queues() or {}
    except Exception:
        logger.warning("Could not ask the workers which queues they consume", exc_info=True)
        return False
    wanted = settings.CELERY_TASK_DEFAULT_QUEUE
    return any(name != me and any(q.get("name") == wanted for q in qs) for name, qs in queues.items())


def _score_and_write_sharded(version: ModelVersion, shards: list[tuple[int, int]]) -> tuple[int, float]:
    """Run one Celery task per user range, wait for all; any failed shard fails the version."""
    from celery import group

    from recommender.tasks import score_shard_task

    job = group(score_shard_task.s(version.pk, start, stop) for start, stop in shards)
    results = job.apply_async()
    try:
        outcomes = results.get(timeout=settings.RETRAIN_SOFT_TIME_LIMIT, disable_sync_subtasks=False, propagate=True)
    finally:
        results.forget()
    return sum(int(o["rows"]) for o in outcomes), sum(float(o["score_seconds"]) for o in outcomes)


def _plain(value: Any) -> Any:
    """numpy scalars → Python numbers so they can be stored as JSON."""
    try:
        return value.item()
    except AttributeError:
        return value


def recommendations_write(*, version: ModelVersion, data: InteractionMatrix, top) -> int:
    """Bulk-write a version's top-N rows (not yet visible: the version is not active)."""
    import numpy as np

    valid = top.video_index >= 0
    rows_idx, cols_idx = np.nonzero(valid)
    user_ids = data.user_ids[top.user_index[rows_idx]]
    video_ids = data.video_ids[top.video_index[rows_idx, cols_idx]]
    scores = top.score[rows_idx, cols_idx].astype(float)
    ranks = cols_idx + 1
    reason_idx = top.reason_index[rows_idx, cols_idx]
    reason_ids = np.where(reason_idx >= 0, data.video_ids[np.maximum(reason_idx, 0)], -1)

    if not np.all(np.isfinite(scores)):
        raise ValueError("the model produced non-finite scores")
    records = zip(
        user_ids.tolist(), video_ids.tolist(), scores.tolist(), ranks.tolist(), reason_ids.tolist(), strict=True
    )
    if connection.vendor == "postgresql":
        table = Recommendation._meta.db_table
        with connection.cursor() as cursor:
            copy_sql = f"COPY {table} (version_id, user_id, video_id, score, rank, reason_video_id) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for user_id, video_id, score, rank, reason in records:
                    copy.write_row((version.pk, user_id, video_id, score, rank, reason if reason >= 0 else None))
    else:
        Recommendation.objects.bulk_create(
            (
                Recommendation(
                    version_id=version.pk,
                    user_id=user_id,
                    video_id=video_id,
                    score=score,
                    rank=rank,
                    reason_video_id=reason if reason >= 0 else None,
                )
                for user_id, video_id, score, rank, reason in records
            ),
            batch_size=2000,
        )
    return len(user_ids)


ACTIVATABLE = (
    ModelVersion.Status.SUCCEEDED,
    ModelVersion.Status.RETIRED,
    ModelVersion.Status.ACTIVE,
    ModelVersion.Status.REJECTED,
)


def version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make ``version`` the one readers see, in one short transaction (the previous one retires).

    A version the promotion gate rejected may be activated by an explicit decision, provided its
    recommendations were written."""
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status not in ACTIVATABLE:
            raise RetrainError(
                f"Model version {version.pk} is {locked.status}; only a version that finished "
                "training can be activated.",
                version,
            )
        if (locked.metrics or {}).get("recommendations_pruned"):
            raise RetrainError(
                f"Model version {version.pk} can no longer be activated: its recommendations were pruned "
                "(RECOMMENDATION_VERSIONS_KEPT); retrain instead.",
                version,
            )
        if locked.status == ModelVersion.Status.REJECTED and locked.n_recommendations == 0:
            raise RetrainError(
                f"Model version {version.pk} was rejected before any recommendation was written "
                f"({(locked.gate or {}).get('reason', 'see its gate')}); it cannot be activated.",
                version,
            )
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exclude(pk=version.pk).update(
            status=ModelVersion.Status.RETIRED
        )
        now = timezone.now()
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.ACTIVE, activated_at=now)
        # Readers' cached copy of the active version: dropped now and again once this commits
        # (a reader between the two could re-cache the old version inside an outer transaction).
        transaction.on_commit(active_version_cache_clear)
    active_version_cache_clear()
    version.status = ModelVersion.Status.ACTIVE
    version.activated_at = now
    return version


def recommendations_prune(*, keep: int) -> int:
    """Delete the stored rows of all but the newest ``keep`` inactive versions; returns how many
    versions were pruned.

    Every retrain adds a full top-N table, so without this the table grows forever. The newest
    ``keep`` inactive versions keep their rows for an instant rollback; a pruned version is marked
    (``metrics.recommendations_pruned``) and can no longer be activated.
    """
    candidates = (
        ModelVersion.objects.filter(n_recommendations__gt=0)
        .exclude(status__in=[ModelVersion.Status.ACTIVE, ModelVersion.Status.RUNNING])
        .order_by("-pk")
    )
    pruned = list(candidates[max(keep, 0) :])
    for version in pruned:
        Recommendation.objects.filter(version=version).delete()
        version.metrics = {**(version.metrics or {}), "recommendations_pruned": True}
        version.n_recommendations = 0
        version.save(update_fields=["metrics", "n_recommendations"])
    if pruned:
        logger.info("Pruned the recommendations of model versions %s", [v.pk for v in pruned])
    return len(pruned)


def version_rollback(*, version: ModelVersion | None = None) -> ModelVersion:
    """Serve an earlier version again, instantly: its recommendations are still stored, nothing is
    retrained.

    Without ``version``: the newest version that was active before and is older than the active
    one (so repeated rollbacks walk back through history). Raises ``RetrainError`` with one
    readable line when there is nothing to roll back to or the version cannot be activated.
    """
    active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    if version is None:
        earlier = ModelVersion.objects.filter(status=ModelVersion.Status.RETIRED, n_recommendations__gt=0)
        if active is not None:
            earlier = earlier.filter(pk__lt=active.pk)
        version = earlier.order_by("-pk").first()
        if version is None:
            raise RetrainError(
                "There is no earlier version to roll back to"
                + (f" (version {active.pk} is active)." if active is not None else ".")
            )
    elif active is not None and version.pk == active.pk:
        raise RetrainError(f"Model version {version.pk} is already active.", version)
    version_activate(version=version)
    logger.info(
        "Rolled back: model version %s is active (was %s).", version.pk, active.pk if active is not None else "none"
    )
    return version


def _user_names(user_ids) -> dict[int, str]:
    User = get_user_model()
    return dict(User.objects.filter(pk__in=list(user_ids)).values_list("pk", User.USERNAME_FIELD))


def _video_titles(video_ids) -> dict[int, str]:
    return dict(Video.objects.filter(pk__in=list(video_ids)).values_list("pk", "title"))


@dataclass(frozen=True)
class PredictedMatrix:
    users: list[str]
    videos: list[str]
    values: Any  # numpy array (n_users, n_videos), predicted completion on [0, 1]
    observed: Any  # numpy bool array: True where the user watched the video
    version: ModelVersion


def predicted_matrix(*, max_cells: int | None = None) -> PredictedMatrix:
    """Every user × video prediction of the active model (for small catalogs / inspection)."""
    import numpy as np

    from recommender.ml.artifact import load_artifact
    from recommender.ml.score import score_users
    from recommender.selectors import active_version

    version = active_version()
    if version is None:
        raise RetrainError("There is no active model yet: run `manage.py retrain` first.")
    artifact = load_artifact(version.artifact_path)
    data = artifact.data
    cells = data.n_users * data.n_videos
    limit = settings.PREDICT_MATRIX_MAX_CELLS if max_cells is None else max_cells
    if cells > limit:
        raise RetrainError(
            f"The matrix has {data.n_users} × {data.n_videos} = {cells:,} cells, more than the limit of "
            f"{limit:,} (setting PREDICT_MATRIX_MAX_CELLS); use the recommendations instead."
        )
    values = score_users(artifact.model, np.arange(data.n_users), n_videos=data.n_videos)
    observed = data.watched_mask(np.arange(data.n_users))
    names, titles = _user_names(data.user_ids.tolist()), _video_titles(data.video_ids.tolist())
    return PredictedMatrix(
        users=[names.get(int(u), f"user {u}") for u in data.user_ids],
        videos=[titles.get(int(v), f"video {v}") for v in data.video_ids],
        values=values,
        observed=observed,
        version=version,
    )
