"""The retrain pipeline: the only road from watch events to recommendations.

A retrain runs these stages in order, each a function of its own, each recording its stage and
its duration on the model version:

``stage_read``     the watch events (``values_list``, no model instances), up to the newest id
``stage_pivot``    the sparse user × video matrix, with the configuration's aggregation rule
``stage_evaluate`` held-out figures (``recommender.quality``)
``stage_train``    the model that is published (the evaluated one, or a refit on every event)
``stage_save``     the saved artifact (before scoring: shards on other workers load it)
``stage_score``    every unwatched video of every user scored in blocks, the top-N rows written
``stage_publish``  the promotion gate, then the version is activated and old rows pruned

Readers therefore see either the previous list or the new one, never a mix. If anything fails,
the previous active version stays served and the new version is marked failed with its error.

TensorFlow is imported lazily inside the stages that need it, so the web process (which only
reads the recommendations table) never loads it.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.utils import timezone

from recommender import quality
from recommender.exceptions import NoTrainingData, RetrainError
from recommender.gate import gate_decide
from recommender.locks import retrain_lock
from recommender.ml.config import DEFAULT_PRESET, TrainConfig, preset_config
from recommender.ml.data import InteractionMatrix, pivot
from recommender.ml.holdout import pair_last_seen
from recommender.ml.numbers import plain
from recommender.ml.schedule import schedule_for
from recommender.models import ModelVersion, PreparedFeed, Recommendation
from recommender.services import feeds, publishing, sharding
from recommender.services.artifacts import artifact_directory_new, artifacts_prune
from recommender.services.recovery import version_fail, versions_interrupted_fail
from videos import selectors as video_selectors

if TYPE_CHECKING:
    from recommender.gate import GateDecision
    from recommender.ml.train import TrainResult
    from recommender.quality import EvaluationOutcome

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[ModelVersion], None]

NO_EVENTS_MESSAGE = (
    "No watch events to learn from: record some watches first "
    "(or run `manage.py seed_demo` / `manage.py import_matrix`)."
)


def train_config_build(*, preset: str | None = None, **overrides: Any) -> TrainConfig:
    """A training configuration: the ``preset`` (see ``recommender.ml.config.PRESETS``) or, without
    one, the default preset of the objective (``RECOMMENDER_OBJECTIVE`` unless ``overrides`` name
    one), with ``overrides`` applied (``None`` values ignored). ``ValueError`` for a bad value.
    The event aggregation rule is ``WATCH_AGGREGATE`` unless ``overrides`` name one."""
    values = {k: v for k, v in overrides.items() if v is not None}
    values.setdefault("aggregate", settings.WATCH_AGGREGATE)
    if preset is None:
        objective = values.get("objective", settings.RECOMMENDER_OBJECTIVE)
        if objective not in DEFAULT_PRESET:
            raise ValueError(f"objective must be one of {tuple(DEFAULT_PRESET)}, got {objective!r}")
        preset = DEFAULT_PRESET[objective]
    config = preset_config(preset, **values)
    config.validate()
    return config


@dataclass
class Stopwatch:
    """Seconds per stage, recorded on the version as ``durations``."""

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


@dataclass
class RetrainRun:
    """One retrain in progress: its version row, settings and clock, handed from stage to stage."""

    version: ModelVersion
    config: TrainConfig
    last_event_id: int
    activate: bool = True
    force: bool = False
    on_progress: ProgressCallback | None = None
    clock: Stopwatch = field(default_factory=Stopwatch)
    refit_warm_epochs: int | None = None  # set by the large-data schedule; None = the setting

    def progress(self) -> None:
        if self.on_progress:
            self.on_progress(self.version)

    def enter(self, stage: str, **fields: Any) -> None:
        """Record that the version entered ``stage`` (with ``fields``) and report progress."""
        self.version.stage = stage
        for name, value in fields.items():
            setattr(self.version, name, value)
        ModelVersion.objects.filter(pk=self.version.pk).update(stage=stage, **fields)
        self.progress()

    def epoch_done(self, epoch: int, total: int, **fields: Any) -> None:
        """Record training progress (an epoch of ``total`` ended) and report it."""
        self.version.epoch, self.version.epochs_total = epoch, total
        for name, value in fields.items():
            setattr(self.version, name, value)
        ModelVersion.objects.filter(pk=self.version.pk).update(epoch=epoch, epochs_total=total, **fields)
        self.progress()


@dataclass(frozen=True)
class Events:
    """The watch events a retrain learns from, as parallel columns in id order."""

    users: np.ndarray
    videos: np.ndarray
    completions: np.ndarray
    times: np.ndarray


@dataclass(frozen=True)
class Scored:
    """What ``stage_score`` wrote: rows, user ranges, and seconds spent scoring."""

    n_rows: int
    n_shards: int
    score_seconds: float


# ------------------------------------------------------------------------------------ the stages


def stage_read(run: RetrainRun) -> Events:
    """Every watch event up to the version's ``last_event_id``."""
    users, videos, completions, times = video_selectors.event_columns_timed(up_to_event_id=run.last_event_id)
    run.clock.lap("read")
    return Events(users=users, videos=videos, completions=completions, times=times)


def stage_pivot(run: RetrainRun, events: Events) -> InteractionMatrix:
    """The user × video matrix (one cell per pair by the aggregation rule), knowing when each was last watched."""
    run.enter(ModelVersion.Stage.PIVOTING, n_events=len(events.users))
    data = pivot(events.users, events.videos, events.completions, aggregate=run.config.aggregate)
    data = data.with_seen(pair_last_seen(data, events.users, events.videos, events.times))
    run.clock.lap("pivot")
    return data


def schedule_apply(run: RetrainRun, data: InteractionMatrix) -> None:
    """Medium and large data (``recommender.ml.schedule``): the run and its version take the scheduled
    configuration (the version's hyper-parameters; what changed under ``metrics["schedule"]``)."""
    schedule = schedule_for(run.config, data.n_interactions, min_samples=settings.RECOMMENDER_LARGE_DATA_SAMPLES)
    if not schedule.regime:
        return
    described = schedule.describe(run.config)
    logger.info("Model version %s: %s-data schedule %s", run.version.pk, schedule.regime, described)
    run.config, run.refit_warm_epochs = schedule.config, schedule.refit_warm_epochs
    metrics = {**(run.version.metrics or {}), "schedule": described}
    run.enter(run.version.stage, hyperparameters=run.config.to_dict(), epochs_total=run.config.epochs, metrics=metrics)


def stage_evaluate(run: RetrainRun, events: Events, data: InteractionMatrix) -> EvaluationOutcome:
    """Held-out figures of the configuration on these events (``recommender.quality``)."""
    run.enter(
        ModelVersion.Stage.EVALUATING, n_users=data.n_users, n_videos=data.n_videos, n_interactions=data.n_interactions
    )

    def epoch_done(epoch: int, total: int, logs: dict[str, Any]) -> None:
        run.epoch_done(epoch, total)

    outcome = quality.evaluation_run(
        data=data,
        users=events.users,
        videos=events.videos,
        times=events.times,
        config=run.config,
        on_epoch_end=epoch_done,
        refit_warm_epochs=run.refit_warm_epochs,
    )
    if "schedule" in (run.version.metrics or {}):
        outcome.metrics["schedule"] = run.version.metrics["schedule"]
    run.clock.lap("evaluate")
    return outcome


def stage_train(run: RetrainRun, data: InteractionMatrix, outcome: EvaluationOutcome) -> TrainResult:
    """The model to publish: the evaluated one (``RECOMMENDER_REFIT`` off) or one trained on every event."""
    from recommender.ml.train import train_model

    run.enter(ModelVersion.Stage.TRAINING, metrics=outcome.metrics, epoch=0, epochs_total=outcome.final_config.epochs)
    history: list[dict[str, Any]] = []

    def epoch_done(epoch: int, total: int, logs: dict[str, Any]) -> None:
        history.append({"epoch": epoch, **{k: plain(v) for k, v in logs.items() if k != "epoch"}})
        run.epoch_done(epoch, total, history=list(history))

    if outcome.publish_result is not None:
        result: TrainResult = outcome.publish_result
    else:
        config, weights = outcome.final_config, outcome.warm_weights  # reuse: not compiled twice
        result = train_model(data, config, on_epoch_end=epoch_done, initial_weights=weights, reuse=outcome.loop)
    run.clock.lap("train")
    return result


def stage_save(run: RetrainRun, data: InteractionMatrix, outcome: EvaluationOutcome, result: TrainResult) -> None:
    """Save the artifact (before scoring: scoring shards on other workers load it from MODEL_DIR)."""
    from recommender.ml.artifact import save_artifact

    artifact_path, sha256 = save_artifact(
        artifact_directory_new(run.version),
        model=result.model,
        data=data,
        config=outcome.final_config,  # what trained this model (after a refit: its epoch count)
        meta={"model_version": run.version.pk, "last_event_id": run.last_event_id},
    )
    run.clock.lap("save")
    run.enter(
        ModelVersion.Stage.SCORING, history=result.history, artifact_path=str(artifact_path), artifact_sha256=sha256
    )


def stage_score(run: RetrainRun, data: InteractionMatrix, result: TrainResult) -> Scored:
    """Score every unwatched video of every user and write the top-N rows, block by block: here,
    or in ``SCORING_SHARDS`` user ranges on other workers. Records ``score`` and ``write`` times."""
    shards = sharding.user_shards(data.n_users, settings.SCORING_SHARDS)
    if len(shards) > 1 and not sharding.shard_workers_available():
        logger.warning("No other worker consumes the scoring queue: scoring version %s in one piece.", run.version.pk)
        shards = [(0, data.n_users)]
    if len(shards) == 1:
        n_rows, score_s = sharding.score_and_write(run.version, result.model, data, 0, data.n_users, config=run.config)
    else:
        n_rows, score_s = sharding.score_and_write_sharded(run.version, shards)
    clock = run.clock
    clock.durations["score"] = round(score_s, 4)
    clock.lap("write")
    clock.durations["write"] = round(max(clock.durations["write"] - score_s, 0.0), 4)
    return Scored(n_rows=n_rows, n_shards=len(shards), score_seconds=score_s)


def stage_publish(
    run: RetrainRun, data: InteractionMatrix, outcome: EvaluationOutcome, result: TrainResult, scored: Scored
) -> None:
    """Record the figures, ask the promotion gate, then (unless rejected) activate the version and
    prune old rows."""
    version = run.version
    n_pairs_scored = data.n_users * data.n_videos - data.n_interactions
    metrics = {
        **outcome.metrics,
        **quality.served_figures(version=version, n_users=data.n_users, n_videos=data.n_videos),
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "train_samples": result.train_samples,
        "train_samples_per_s": round(result.samples_per_s, 1),
        "pairs_scored": int(n_pairs_scored),
        "pairs_scored_per_s": round(n_pairs_scored / max(scored.score_seconds, 1e-9), 1),
        "scoring_shards": scored.n_shards,
    }
    run.enter(ModelVersion.Stage.PUBLISHING, n_recommendations=scored.n_rows, metrics=metrics)
    decision = gate_decide(version=version, metrics=metrics)
    if not decision.passed and not run.force:
        _version_reject(run, decision, metrics)
        return
    gate = decision.as_json(forced=not decision.passed)
    _feeds_prepare(run)
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.SUCCEEDED, gate=gate)
    version.status, version.gate = ModelVersion.Status.SUCCEEDED, gate
    if run.activate:
        publishing.version_activate(version=version)
        publishing.recommendations_prune(keep=settings.RECOMMENDATION_VERSIONS_KEPT)
    run.clock.lap("publish")
    version.refresh_from_db()
    version.stage = ModelVersion.Stage.DONE
    version.finished_at = timezone.now()
    version.durations = run.clock.total()
    version.save(update_fields=["stage", "finished_at", "durations"])
    run.progress()


def _feeds_prepare(run: RetrainRun) -> None:
    """Each viewer's feed, ready to send (``services.feeds``), before the version can be activated.
    A failure here is logged, not fatal: viewers without a prepared feed are served from the rows."""
    try:
        feeds.feeds_prepare(version=run.version)
    except Exception:
        # The rows already written are right; viewers without one are served from the rows.
        logger.exception("Preparing the feeds of model version %s failed; serving from its rows.", run.version.pk)
    run.clock.lap("prepare")


def stages_run(run: RetrainRun) -> None:
    """Run the stages in order; a diverged model is never scored or written (the gate rejects it)."""
    from recommender.ml.score import model_is_finite
    from recommender.ml.train import train_model  # noqa: F401  TensorFlow's import, timed on its own

    run.clock.lap("import")  # paid once per process (a warm worker pays 0)
    run.progress()
    events = stage_read(run)
    data = stage_pivot(run, events)
    schedule_apply(run, data)
    outcome = stage_evaluate(run, events, data)
    result = stage_train(run, data, outcome)
    if not model_is_finite(result.model):
        decision = gate_decide(version=run.version, metrics=outcome.metrics, model_finite=False)
        _version_reject(run, decision, outcome.metrics, history=result.history)
        return
    stage_save(run, data, outcome, result)
    scored = stage_score(run, data, result)
    stage_publish(run, data, outcome, result, scored)


# ------------------------------------------------------------------------------ running a retrain


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
    The version records held-out metrics; the promotion gate (``recommender.gate``) may keep
    it as ``rejected`` (the previous version stays active; ``version.gate`` says why) unless
    ``force`` is set.
    """
    config = config or train_config_build()
    config.validate()
    with retrain_lock():
        versions_interrupted_fail()
        return retrain_locked(config, triggered_by, activate=activate, on_progress=on_progress, force=force)


def retrain_locked(
    config: TrainConfig,
    triggered_by: str,
    *,
    activate: bool = True,
    on_progress: ProgressCallback | None = None,
    force: bool = False,
    version: ModelVersion | None = None,
) -> ModelVersion:
    """Run a retrain with the lock held: a new row, or ``version`` (a claimed queued row)."""
    last_event_id = video_selectors.latest_event_id()
    if last_event_id is None:
        if version is not None:
            version_fail(version.pk, NO_EVENTS_MESSAGE)
        raise NoTrainingData(NO_EVENTS_MESSAGE)
    version = _version_start(config, triggered_by, last_event_id, version)
    run = RetrainRun(version, config, last_event_id, activate=activate, force=force, on_progress=on_progress)
    try:
        stages_run(run)
    except BaseException as exc:
        # BaseException: a Celery soft time limit or a Ctrl-C must not leave the version "running".
        message = _version_failed(run, exc)
        if not isinstance(exc, Exception):
            raise
        raise RetrainError(f"Retrain failed (model version {version.pk}): {message}", version) from exc
    return version


def _version_start(
    config: TrainConfig, triggered_by: str, last_event_id: int, version: ModelVersion | None
) -> ModelVersion:
    """The running row of this retrain: a new one, or the claimed queued ``version``."""
    if version is None:
        return ModelVersion.objects.create(
            status=ModelVersion.Status.RUNNING,
            stage=ModelVersion.Stage.READING,
            objective=config.objective,
            architecture=config.architecture,
            hyperparameters=config.to_dict(),
            epochs_total=config.epochs,
            triggered_by=triggered_by,
            last_event_id=last_event_id,
        )
    version.status, version.stage, version.last_event_id = (
        ModelVersion.Status.RUNNING,
        ModelVersion.Stage.READING,
        last_event_id,
    )
    version.save(update_fields=["status", "stage", "last_event_id"])
    return version


def _version_failed(run: RetrainRun, exc: BaseException) -> str:
    """Mark the version failed after ``exc`` (its rows removed); returns the one-line message."""
    version = run.version
    message = f"{type(exc).__name__}: {exc}"
    logger.exception("Retrain of model version %s failed", version.pk)
    Recommendation.objects.filter(version=version).delete()
    PreparedFeed.objects.filter(version=version).delete()
    ModelVersion.objects.filter(pk=version.pk).exclude(status=ModelVersion.Status.ACTIVE).update(
        status=ModelVersion.Status.FAILED,
        error=message + "\n\n" + traceback.format_exc(),
        finished_at=timezone.now(),
        durations=run.clock.total(),
    )
    artifacts_prune()
    version.refresh_from_db()
    return message


def _version_reject(
    run: RetrainRun, decision: GateDecision, metrics: dict[str, Any], *, history: list[Any] | None = None
) -> None:
    """Keep a version the promotion gate refused: status ``rejected``, the verdict in ``gate``. Its
    rows (when written) stay, so an operator may still activate it by name."""
    version = run.version
    fields: dict[str, Any] = {
        "status": ModelVersion.Status.REJECTED,
        "stage": ModelVersion.Stage.DONE,
        "gate": decision.as_json(),
        "metrics": metrics,
        "finished_at": timezone.now(),
        "durations": run.clock.total(),
    }
    if history is not None:
        fields["history"] = history
    ModelVersion.objects.filter(pk=version.pk).update(**fields)
    version.refresh_from_db()
    logger.warning("Model version %s rejected by the promotion gate: %s", version.pk, decision.reason)
    run.progress()
