"""A model version's figures in words an operator can read: labelled metric rows with their
baselines, the one-line verdict, and what each objective optimises. Used by the admin pages and by
``manage.py evaluate`` so both say the same thing in the same units.

Units: completion is a share of a video watched; the site shows it as a percentage. Errors of a
predicted completion (RMSE, MAE) are therefore given in *percentage points* of completion
(0.12 = 12 points), ranking figures (HR@10, coverage) as percentages of viewers or videos.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

OBJECTIVE_MEANING = {
    "completion": (
        "predicts how much of a video a viewer will watch if they start it (the reference program's "
        "objective); the error metrics RMSE and MAE measure it directly, HR@10 and NDCG@10 show "
        "whether the ranking it implies is useful."
    ),
    "expected_completion": (
        "ranks the videos a viewer is most likely to open and finish; HR@10 and NDCG@10 measure "
        "it. RMSE and MAE only measure watches the viewer chose, which this objective does not "
        "try to predict, so a higher RMSE than the simple baselines is expected and is not a fault."
    ),
}
# The metric each objective is judged by first.
OBJECTIVE_KEY_METRIC = {"completion": "rmse", "expected_completion": "ndcg_at_10"}


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: str
    baseline_key: str | None
    baseline_label: str
    higher_is_better: bool
    unit: str  # "share" (shown as %), "points" (completion error), "score" (0..1 plain)
    help: str


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "hr_at_10",
        "HR@10",
        "baseline_popular_hr_at_10",
        "most popular",
        True,
        "share",
        "Share of viewers whose most recent watch (hidden from training) the model ranks in its top 10, "
        "against videos they never watched.",
    ),
    MetricSpec(
        "ndcg_at_10",
        "NDCG@10",
        "baseline_popular_ndcg_at_10",
        "most popular",
        True,
        "score",
        "Like HR@10, but a hit at rank 1 counts fully and lower ranks less "
        "(0 = never in the top 10, 1 = always first).",
    ),
    MetricSpec(
        "coverage_at_10",
        "catalog coverage",
        None,
        "",
        True,
        "share",
        "Share of the catalog that appears in at least one viewer's top 10.",
    ),
    MetricSpec(
        "users_served_share",
        "viewers served",
        None,
        "",
        True,
        "share",
        "Share of the model's viewers who got at least one recommendation.",
    ),
    MetricSpec(
        "rmse",
        "RMSE",
        "baseline_bias_rmse",
        "viewer + video average",
        False,
        "points",
        "Typical error of the predicted completion of held-out watches, in percentage points of completion.",
    ),
    MetricSpec(
        "mae",
        "MAE",
        "baseline_bias_mae",
        "viewer + video average",
        False,
        "points",
        "Average absolute error of the predicted completion, in percentage points of completion.",
    ),
)
METRIC_BY_KEY = {spec.key: spec for spec in METRICS}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def metric_text(value: Any, unit: str) -> str:
    """One figure in the product's units: ``share`` → "41.0 %", ``points`` → "12.3 pts", ``score`` → "0.2237"."""
    number = _number(value)
    if number is None:
        return "–"
    if unit == "share":
        return f"{number * 100:.1f} %"
    if unit == "points":
        return f"{number * 100:.1f} pts"
    if unit == "count":
        return f"{number:,.0f}"
    return f"{number:.4f}"


@dataclass(frozen=True)
class MetricRow:
    spec: MetricSpec
    value: float | None
    baseline: float | None
    text: str
    baseline_text: str
    beats_baseline: bool | None
    key_metric: bool


def metric_rows(metrics: dict[str, Any] | None, objective: str) -> list[MetricRow]:
    """The recorded metrics that exist, with their baseline and whether the model beats it."""
    metrics = metrics or {}
    rows = []
    for spec in METRICS:
        value = _number(metrics.get(spec.key))
        if value is None:
            continue
        baseline = _number(metrics.get(spec.baseline_key)) if spec.baseline_key else None
        beats = None
        if baseline is not None:
            beats = value > baseline if spec.higher_is_better else value < baseline
        rows.append(
            MetricRow(
                spec=spec,
                value=value,
                baseline=baseline,
                text=metric_text(value, spec.unit),
                baseline_text=metric_text(baseline, spec.unit) if baseline is not None else "",
                beats_baseline=beats,
                key_metric=OBJECTIVE_KEY_METRIC.get(objective) == spec.key,
            )
        )
    return rows


def verdict(*, metrics: dict[str, Any] | None, objective: str, status: str = "", gate: dict | None = None) -> str:
    """One sentence a non-specialist can read: how the model does on the metric that matters for
    its objective, compared with the simple baseline."""
    metrics = metrics or {}
    if status in ("queued", "running"):
        return _("Training is in progress; the figures appear when it has finished.")
    if status == "failed":
        return _("Training failed; the previous version stays in service (see the error below).")
    if metrics.get("evaluation") == "skipped" or not metrics:
        note = metrics.get("evaluation_note", "")
        return _("No held-out evaluation was made%(note)s, so there is no quality figure for this version.") % {
            "note": f" ({note})" if note else ""
        }
    key = OBJECTIVE_KEY_METRIC.get(objective, "ndcg_at_10")
    spec = METRIC_BY_KEY[key]
    value = _number(metrics.get(key))
    baseline = _number(metrics.get(spec.baseline_key)) if spec.baseline_key else None
    if value is None:
        return _("The metric that matters for this objective (%(metric)s) was not measured.") % {"metric": spec.label}
    hr, hr_base = _number(metrics.get("hr_at_10")), _number(metrics.get("baseline_popular_hr_at_10"))
    if key == "ndcg_at_10" and hr is not None:
        sentence = _(
            "For %(hr)s of viewers the video they watched next is in this model's top 10 (showing the "
            "most popular videos: %(base)s)."
        ) % {"hr": metric_text(hr, "share"), "base": metric_text(hr_base, "share")}
    else:
        sentence = _("Predicted completion is off by %(value)s on average (viewer + video averages: %(base)s).") % {
            "value": metric_text(value, spec.unit),
            "base": metric_text(baseline, spec.unit),
        }
    if baseline is None:
        judgement = ""
    elif (value > baseline) if spec.higher_is_better else (value < baseline):
        judgement = " " + _("Better than the simple baseline on %(metric)s, the metric that matters here.")
    else:
        judgement = " " + _("Not better than the simple baseline on %(metric)s, the metric that matters here.")
    text = sentence + (judgement % {"metric": spec.label} if judgement else "")
    if gate and not gate.get("passed") and not gate.get("forced"):
        text += " " + _("The promotion gate kept it out of service: %(reason)s.") % {"reason": gate.get("reason", "")}
    return text


def gate_word(gate: dict | None) -> str:
    """The promotion gate's verdict in one word ("passed", "forced" or "rejected"); "–" when the
    version met no gate. The one wording used by the console, the commands and the API's readers."""
    gate = gate or {}
    if not gate:
        return "–"
    if gate.get("passed"):
        return str(_("passed"))
    return str(_("forced")) if gate.get("forced") else str(_("rejected"))


def gate_text(gate: dict | None) -> str:
    """The verdict with its reason when the gate did not simply pass: "rejected: <reason>"."""
    word = gate_word(gate)
    if not gate or gate.get("passed"):
        return word
    return f"{word}: {gate.get('reason', '')}"
