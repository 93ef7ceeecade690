"""The promotion gate: may a new model version replace the active one?

A retrain scores and writes a new version, then asks :func:`gate_decide`; a version that fails a
check is recorded as "rejected" and the active version stays in service (``manage.py retrain
--force`` or a rollback can still activate it). Settings: ``RECOMMENDER_GATE_*``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from recommender.ml.numbers import is_finite_number
from recommender.models import ModelVersion
from recommender.selectors import active_version

# Gate metrics and whether a larger value is better.
GATE_METRICS = {"ndcg_at_10": True, "hr_at_10": True, "rmse": False, "mae": False}
RATING_METRICS = ("rmse", "mae")


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
    if not is_finite_number(new) or not is_finite_number(old):
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


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}" if value in (0, 1) else f"{value:.1%}"
