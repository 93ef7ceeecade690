"""Model quality: the offline evaluation of every retrain, the promotion gate, and evaluating a
stored version against the watches that arrived after it was trained.

The Django side of ``recommender/ml/evaluate.py`` and ``recommender/ml/offline.py``: it reads
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
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from recommender.exceptions import RetrainError
from recommender.ml.config import TrainConfig
from recommender.ml.data import InteractionMatrix
from recommender.models import ModelVersion, Recommendation
from recommender.selectors import active_version

if TYPE_CHECKING:
    from recommender.ml.train import EpochCallback

logger = logging.getLogger(__name__)

K = 10
# Gate metrics and whether a larger value is better.
GATE_METRICS = {"ndcg_at_10": True, "hr_at_10": True, "rmse": False, "mae": False}
RATING_METRICS = ("rmse", "mae")


# ------------------------------------------------------------------------------ during a retrain


@dataclass
class EvaluationOutcome:
    """``metrics``: what to record on the version (all JSON-able).

    ``publish_model``: the evaluated model when it is to be published as is (``RECOMMENDER_REFIT``
    off), else ``None``. ``final_config``: the configuration of the training that produces the
    published model when there is one.
    """

    metrics: dict[str, Any]
    final_config: TrainConfig
    publish_result: Any = None


def evaluation_run(
    *,
    data: InteractionMatrix,
    users: list[int],
    videos: list[int],
    times: list[float],
    config: TrainConfig,
    on_epoch_end: EpochCallback | None = None,
) -> EvaluationOutcome:
    """Hold out, train, measure (see the module text). ``users`` / ``videos`` / ``times``: the
    events ``data`` was pivoted from (their times decide which watch is a viewer's latest)."""
    if not settings.RECOMMENDER_EVALUATE:
        return EvaluationOutcome({"evaluation": "skipped", "evaluation_note": "RECOMMENDER_EVALUATE is off"}, config)
    if data.n_users < settings.RECOMMENDER_EVAL_MIN_USERS:
        # Held-out figures on a handful of viewers are noise (and the gate ignores them anyway);
        # skipping them keeps a tiny retrain, like the example matrix, fast.
        note = f"too few viewers for a held-out evaluation ({data.n_users} < RECOMMENDER_EVAL_MIN_USERS)"
        return EvaluationOutcome({"evaluation": "skipped", "evaluation_note": note}, config)

    from recommender.calibration import held_out_calibration
    from recommender.ml.evaluate import pair_last_seen
    from recommender.ml.offline import EvaluationUnavailable, offline_evaluate

    last_seen = pair_last_seen(data, users, videos, times)
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
            metrics[name] = _json_number(value)
    result = evaluation.result
    # The viewer-facing "match" figure: raw score -> observed completion on the held-out watches.
    metrics["calibration"] = held_out_calibration(result.model, evaluation.split)
    if settings.RECOMMENDER_REFIT:
        metrics["refit"] = True
        final = config.replace(epochs=max(1, result.best_epoch), validation_fraction=0.0)
        return EvaluationOutcome(metrics, final)
    metrics["refit"] = False
    return EvaluationOutcome(metrics, config, publish_result=result)


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


@dataclass
class GateDecision:
    """The promotion gate's verdict on a new version."""

    passed: bool
    checks: list[dict[str, Any]] = field(default_factory=list)
    compared_with: int | None = None

    @property
    def reason(self) -> str:
        failed = [c["detail"] for c in self.checks if not c["passed"]]
        return "; ".join(failed) if failed else "all checks passed"

    def as_json(self, *, forced: bool = False) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "forced": forced,
            "reason": self.reason,
            "compared_with": self.compared_with,
            "checks": self.checks,
        }


def gate_settings() -> tuple[str, float, int, float]:
    """(metric, tolerance, min evaluated users, min share of users served), validated."""
    metric = settings.RECOMMENDER_GATE_METRIC
    if metric not in GATE_METRICS:
        raise ImproperlyConfigured(f"RECOMMENDER_GATE_METRIC must be one of {', '.join(GATE_METRICS)}, got {metric!r}")
    tolerance = float(settings.RECOMMENDER_GATE_TOLERANCE)
    if not 0 <= tolerance < 1:
        raise ImproperlyConfigured(f"RECOMMENDER_GATE_TOLERANCE must be in [0, 1), got {tolerance!r}")
    share = float(settings.RECOMMENDER_GATE_MIN_USER_SHARE)
    if not 0 <= share <= 1:
        raise ImproperlyConfigured(f"RECOMMENDER_GATE_MIN_USER_SHARE must be in [0, 1], got {share!r}")
    min_users = int(settings.RECOMMENDER_GATE_MIN_EVAL_USERS)
    return metric, tolerance, min_users, share


def gate_decide(*, version: ModelVersion, metrics: dict[str, Any], model_finite: bool = True) -> GateDecision:
    """May ``version`` (scored and written, not active) replace the active version?

    Three checks, all must pass:

    * **finite** -- every weight and every evaluated score is a finite number;
    * **served** -- at least ``RECOMMENDER_GATE_MIN_USER_SHARE`` of the users the version learned
      from got recommendations;
    * **metric** -- ``RECOMMENDER_GATE_METRIC`` is not worse than the active version's by more than
      ``RECOMMENDER_GATE_TOLERANCE`` (relative). Compared only when both versions measured it on
      at least ``RECOMMENDER_GATE_MIN_EVAL_USERS`` users (fewer make the figure noise), and, for
      RMSE / MAE, with the same objective (``expected_completion`` predicts lower completions by
      design); otherwise the check passes and says why it was not compared.
    """
    metric, tolerance, min_users, min_share = gate_settings()
    checks: list[dict[str, Any]] = []

    finite = model_finite and metrics.get("scores_finite", True) is not False
    checks.append(
        {
            "name": "finite",
            "passed": finite,
            "detail": "all scores are finite" if finite else "the model produced non-finite weights or scores",
        }
    )

    share = metrics.get("users_served_share")
    served_ok = share is not None and share >= min_share
    checks.append(
        {
            "name": "served",
            "passed": served_ok,
            "detail": (
                f"{_pct(share)} of users got recommendations (minimum {_pct(min_share)})"
                if share is not None
                else "no recommendations were written"
            ),
        }
    )

    active = active_version()
    if active is not None and active.pk == version.pk:
        active = None
    checks.append(_metric_check(metric, tolerance, min_users, metrics, version, active))
    return GateDecision(
        passed=all(c["passed"] for c in checks),
        checks=checks,
        compared_with=active.pk if active is not None else None,
    )


def _metric_check(
    metric: str,
    tolerance: float,
    min_users: int,
    metrics: dict[str, Any],
    version: ModelVersion,
    active: ModelVersion | None,
) -> dict[str, Any]:
    check: dict[str, Any] = {"name": "metric", "metric": metric, "passed": True}
    count_key = "n_rated" if metric in RATING_METRICS else "n_ranked"
    new = metrics.get(metric)
    if active is None:
        return {**check, "detail": f"{metric}: no active version to compare with"}
    old_metrics = active.metrics or {}
    old = old_metrics.get(metric)
    check.update(new=new, active=old)
    if not _is_number(new) or not _is_number(old):
        return {**check, "detail": f"{metric}: not measured on both versions, not compared"}
    if min(metrics.get(count_key) or 0, old_metrics.get(count_key) or 0) < min_users:
        return {
            **check,
            "detail": f"{metric}: fewer than {min_users} evaluated users on one of the versions, not compared",
        }
    if metric in RATING_METRICS and active.objective != version.objective:
        return {
            **check,
            "detail": f"{metric}: objectives differ ({active.objective} vs {version.objective}), not compared",
        }
    higher_is_better = GATE_METRICS[metric]
    limit = old * (1 - tolerance) if higher_is_better else old * (1 + tolerance)
    passed = new >= limit if higher_is_better else new <= limit
    word = "at least" if higher_is_better else "at most"
    detail = (
        f"{metric} {new:.4f} vs {old:.4f} of active version {active.pk} "
        f"({'within' if passed else 'outside'} the tolerance of {tolerance:.0%}: needs {word} {limit:.4f})"
    )
    return {**check, "passed": passed, "limit": limit, "detail": detail}


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
    from recommender.ml.evaluate import forward_split, split_metrics
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
    measured = split_metrics(
        lambda a, b: score_pairs(model, np.asarray(a), np.asarray(b)),
        combined,
        split,
        negatives=settings.RECOMMENDER_EVAL_NEGATIVES,
        k=K,
        seed=artifact.config.seed,
        max_ranked_users=settings.RECOMMENDER_EVAL_MAX_USERS,
    )
    figures.update({name: _json_number(value) for name, value in measured.items()})
    return figures, f"{len(split.rated_user)} (viewer, video) pair(s) watched after event {version.last_event_id}"


# ------------------------------------------------------------------------------ helpers


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _json_number(value: Any) -> Any:
    try:
        value = value.item()  # numpy scalar
    except AttributeError:
        pass
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return value


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}" if value in (0, 1) else f"{value:.1%}"
