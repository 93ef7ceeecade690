"""Measuring a model's quality: the held-out evaluation of every retrain, and a stored version
measured against the watches that arrived after it was trained (``manage.py evaluate``). The
promotion gate that uses these figures is :mod:`recommender.gate`.

The Django side of ``recommender/ml/holdout.py`` and ``recommender/ml/offline.py``: it reads
settings and rows, the ML modules do the numbers. TensorFlow is imported inside the functions
that train or load a model, never at import time.

Protocol of a retrain (``evaluation_run``). Every viewer with two or more watched videos gives up
the one watched most recently (ranked against ``RECOMMENDER_EVAL_NEGATIVES`` videos they never
watched: HR@10, NDCG@10) and a random ``RECOMMENDER_EVAL_HOLDOUT_FRACTION`` of the others (RMSE,
MAE of the completion). A model with the retrain's configuration is trained on the rest and
measured, next to the baselines. With ``RECOMMENDER_REFIT`` (the default) the published model is
then trained again on *all* pairs, for as many epochs as the evaluated one needed (its early
stopping used a validation share of the training part, never the held-out pairs), so the held-out
watches, a viewer's most recent taste, are not lost to the published model; the recorded figures
describe the evaluated sibling trained the same way on less data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings

from recommender.exceptions import RetrainError
from recommender.ml.config import TrainConfig
from recommender.ml.data import InteractionMatrix
from recommender.ml.numbers import json_number
from recommender.models import ModelVersion, Recommendation
from recommender.selectors import active_version

if TYPE_CHECKING:
    from recommender.ml.train import EpochCallback

logger = logging.getLogger(__name__)

K = 10


# ------------------------------------------------------------------------------ during a retrain


@dataclass
class EvaluationOutcome:
    """``metrics``: what to record on the version (all JSON-able).

    ``publish_result``: the evaluated model's training when it is to be published as is
    (``RECOMMENDER_REFIT`` off), else ``None``. ``final_config``: the configuration of the training
    that produces the published model when there is one; ``warm_weights``: the weights that
    training starts from (the evaluated model's, for a warm refit), ``None`` for a fresh model.
    ``loop``: the evaluated model's compiled training steps, which that training may reuse
    (``train_model(reuse=...)``; the evaluated model is no longer needed then).
    """

    metrics: dict[str, Any]
    final_config: TrainConfig
    publish_result: Any = None
    warm_weights: list[Any] | None = None
    loop: Any = None


def evaluation_run(
    *,
    data: InteractionMatrix,
    users: np.ndarray,
    videos: np.ndarray,
    times: np.ndarray,
    config: TrainConfig,
    on_epoch_end: EpochCallback | None = None,
    refit_warm_epochs: int | None = None,
) -> EvaluationOutcome:
    """Hold out, train, measure (see the module text). ``users`` / ``videos`` / ``times``: the
    events ``data`` was pivoted from (their times decide which watch is a viewer's latest).
    ``refit_warm_epochs``: instead of ``RECOMMENDER_REFIT_WARM_EPOCHS`` (the large-data schedule)."""
    if not settings.RECOMMENDER_EVALUATE:
        return EvaluationOutcome({"evaluation": "skipped", "evaluation_note": "RECOMMENDER_EVALUATE is off"}, config)
    if data.n_users < settings.RECOMMENDER_EVAL_MIN_USERS:
        # Held-out figures on a handful of viewers are noise (and the gate ignores them anyway);
        # skipping them keeps a tiny retrain, like the example matrix, fast.
        note = f"too few viewers for a held-out evaluation ({data.n_users} < RECOMMENDER_EVAL_MIN_USERS)"
        return EvaluationOutcome({"evaluation": "skipped", "evaluation_note": note}, config)

    from recommender.calibration import held_out_calibration
    from recommender.ml.holdout import pair_last_seen
    from recommender.ml.offline import EvaluationUnavailable, offline_evaluate

    last_seen = data.seen if data.seen is not None else pair_last_seen(data, users, videos, times)
    try:
        evaluation = offline_evaluate(
            data,
            last_seen,
            config,
            holdout_fraction=settings.RECOMMENDER_EVAL_HOLDOUT_FRACTION,
            negatives=settings.RECOMMENDER_EVAL_NEGATIVES,
            k=K,
            max_ranked_users=settings.RECOMMENDER_EVAL_MAX_USERS,
            on_epoch_end=on_epoch_end,
        )
    except EvaluationUnavailable as exc:
        return EvaluationOutcome({"evaluation": "skipped", "evaluation_note": str(exc)}, config)

    raw = evaluation.metrics
    metrics: dict[str, Any] = {"evaluation": "held_out"}
    for name, value in raw.items():
        if name in ("epochs_run", "best_epoch", "seconds"):
            metrics[f"evaluation_{name}"] = value
        else:
            metrics[name] = json_number(value)
    result = evaluation.result
    # The viewer-facing "match" figure: raw score -> observed completion on the held-out watches.
    metrics["calibration"] = held_out_calibration(result.model, evaluation.split, config)
    if settings.RECOMMENDER_REFIT:
        return _refit_outcome(metrics, config, result, refit_warm_epochs)
    metrics["refit"] = False
    return EvaluationOutcome(metrics, config, publish_result=result)


def _refit_outcome(
    metrics: dict[str, Any], config: TrainConfig, result: Any, warm_epochs: int | None = None
) -> EvaluationOutcome:
    """How the published model is trained on every pair after the evaluation.

    Warm (``RECOMMENDER_REFIT_WARM_EPOCHS`` > 0): the evaluated model, which has seen every pair
    but the held-out ones, trains that many more epochs on all of them, continuing its learning-rate
    schedule; a fraction of a second full training. Cold (0): a fresh model trains for as many
    epochs as the evaluated one needed.
    """
    from recommender.ml.offline import warm_start_weights

    metrics["refit"] = True
    best = max(1, result.best_epoch)
    if warm_epochs is None:
        warm_epochs = int(settings.RECOMMENDER_REFIT_WARM_EPOCHS)
    weights = warm_start_weights(result.model, config) if warm_epochs > 0 else None
    if weights is None:
        metrics["refit_epochs"] = best
        return EvaluationOutcome(metrics, config.replace(epochs=best, validation_fraction=0.0), loop=result.loop)
    metrics["refit_epochs"] = warm_epochs
    metrics["refit_warm"] = True
    final = config.replace(
        epochs=warm_epochs,
        validation_fraction=0.0,
        learning_rate=config.learning_rate * config.lr_decay**best,
    )
    return EvaluationOutcome(metrics, final, warm_weights=weights, loop=result.loop)


def served_figures(*, version: ModelVersion, n_users: int, n_videos: int) -> dict[str, float]:
    """Share of the version's users who got at least one recommendation, and the share of the
    catalogue that appears in somebody's top 10 (read back from the written rows, so it holds
    however the scoring was split)."""
    rows = Recommendation.objects.filter(version=version)
    served = rows.values("user_id").distinct().count()
    covered = rows.filter(rank__lte=K).values("video_id").distinct().count()
    return {
        "users_served_share": round(served / n_users, 6) if n_users else 0.0,
        f"coverage_at_{K}": round(covered / n_videos, 6) if n_videos else 0.0,
    }


# ------------------------------------------------------------------------------ evaluate command


def version_evaluate(*, version: ModelVersion | None = None) -> dict[str, Any]:
    """Metrics of ``version`` (default: the active one) for ``manage.py evaluate``.

    ``offline``: the figures recorded when it was trained (held-out split, see the module text).
    ``forward``: the saved model measured on the watches recorded *after* its last event (pairs it
    never saw): RMSE / MAE of their completion and, per viewer, the latest such watch ranked
    against sampled unwatched videos. ``forward`` is ``None`` when no newer watch of a known
    viewer and video exists.
    """
    if version is None:
        version = active_version()
        if version is None:
            raise RetrainError("There is no active model version: run `manage.py retrain` first, or name a version.")
    report: dict[str, Any] = {
        "version": version.pk,
        "status": version.status,
        "objective": version.objective,
        "architecture": version.architecture,
        "trained_on_events": version.n_events,
        "last_event_id": version.last_event_id,
        "offline": {k: v for k, v in (version.metrics or {}).items()},
        "gate": version.gate or None,
        "forward": None,
    }
    if version.status in (ModelVersion.Status.RUNNING, ModelVersion.Status.FAILED) or not version.artifact_path:
        report["forward_note"] = f"version {version.pk} is {version.status}: it has no model to evaluate"
        return report
    report["forward"], report["forward_note"] = _forward(version)
    return report


def _forward(version: ModelVersion) -> tuple[dict[str, Any] | None, str]:
    import numpy as np

    from recommender.ml.artifact import load_artifact
    from recommender.ml.holdout import forward_split, split_metrics
    from recommender.ml.recent import recent_affinity
    from recommender.ml.score import score_pairs
    from videos import selectors as video_selectors

    latest = video_selectors.latest_event_id()
    if latest is None or version.last_event_id is None or latest <= version.last_event_id:
        return None, "no watch event was recorded after this version was trained"
    try:
        artifact = load_artifact(version.artifact_path)
    except (OSError, ValueError) as exc:
        raise RetrainError(f"Cannot load the model of version {version.pk}: {exc}") from exc
    data = artifact.data
    users, videos, completions, times = video_selectors.event_columns_timed(
        up_to_event_id=latest, after_event_id=version.last_event_id
    )
    u = np.asarray(users, dtype=np.int64)
    v = np.asarray(videos, dtype=np.int64)
    known = np.isin(u, data.user_ids) & np.isin(v, data.video_ids)
    combined, split = forward_split(
        data,
        data.user_indices(u[known]),
        data.video_indices(v[known]),
        np.asarray(completions)[known],
        np.asarray(times)[known],
        aggregate=artifact.config.aggregate,  # read the new events as the training read its own
    )
    figures: dict[str, Any] = {"new_events": len(u), "events_of_unknown_users_or_videos": int((~known).sum())}
    if len(split.rated_user) == 0:
        return None, (
            f"{len(u)} newer watch event(s), none of a new (viewer, video) pair the model can score "
            "(new viewers or videos need a retrain)"
        )
    model = artifact.model
    affinity = recent_affinity(model, data, artifact.config)  # latest watches as of the training
    measured = split_metrics(
        lambda a, b: score_pairs(model, np.asarray(a), np.asarray(b), affinity=affinity),
        combined,
        split,
        negatives=settings.RECOMMENDER_EVAL_NEGATIVES,
        k=K,
        seed=artifact.config.seed,
        max_ranked_users=settings.RECOMMENDER_EVAL_MAX_USERS,
    )
    figures.update({name: json_number(value) for name, value in measured.items()})
    return figures, f"{len(split.rated_user)} (viewer, video) pair(s) watched after event {version.last_event_id}"
