"""What the operator's console shows, built from model versions: the version report, the
comparison of two versions, the heat maps and the dashboard's charts.

Pure page-building: no permission checks and no request handling (those stay in
``recommender.admin``), so every figure a console page shows is computed here, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from recommender import charts, dashboard, reporting
from recommender.models import FINISHED_STATUSES, ModelVersion
from recommender.selectors import active_version

HYPERPARAMETER_HELP = {
    "objective": _("What the model learns (see the verdict above)."),
    "architecture": _("mlp: the reference network; neumf: adds a matrix-factorisation branch."),
    "embedding_dim": _("Size of the learned profile of each viewer and video."),
    "hidden_units": _("Layer sizes of the network's tower."),
    "epochs": _("Most passes over the data (early stopping may end sooner)."),
    "batch_size": _("Examples per training step (an upper bound on small catalogs)."),
    "learning_rate": _("Step size of the optimiser."),
    "lr_decay": _("Learning-rate factor per epoch (1 = constant)."),
    "l2": _("Penalty on large profile values (against over-fitting)."),
    "l2_rows": _("Penalty per looked-up profile, as in matrix factorisation."),
    "dropout": _("Share of the tower's units switched off while training."),
    "ema": _("Averaging of the weights during training (0 = off)."),
    "use_bias": _("Learn a per-viewer and per-video offset."),
    "negatives": _("Unwatched videos sampled per watch (expected-completion objective)."),
    "video_features": _("Give each video's categories and length to its profile, so new videos can be scored."),
    "user_history": _("Watched videos pooled into each viewer's profile (0 = off)."),
    "listwise": _("Weight of a loss term that ranks each watch above its sampled unwatched videos (0 = off)."),
    "recency": _("How much more a viewer's latest watches count than their earliest (0 = all the same)."),
    "recent_boost": _("How much higher videos like the viewer's latest watches are ranked (0 = off)."),
    "recent_window": _("How many of the viewer's latest watches that comparison uses."),
    "aggregate": _("How repeated watches of one video become one completion: max, last or mean."),
    "validation_fraction": _("Share of watches kept aside to decide when to stop."),
    "min_validation_samples": _("Below this many watches, no validation split."),
    "patience": _("Epochs without improvement before training stops."),
    "seed": _("Random seed: the same data and seed give the same model."),
}
STAGE_LABELS = {
    "import": _("loading TensorFlow"),
    "read": _("reading watch events"),
    "pivot": _("building the matrix"),
    "evaluate": _("held-out evaluation"),
    "train": _("training"),
    "save": _("saving the model"),
    "score": _("scoring"),
    "write": _("writing recommendations"),
    "publish": _("publishing"),
}


def loss_series(version: ModelVersion, name: str | None = None, colour: str | None = None) -> list[charts.Series]:
    history = version.history or []
    label = name or gettext("training loss")
    series = [charts.Series(label, [(row.get("epoch", i + 1), row.get("loss")) for i, row in enumerate(history)])]
    if any(row.get("val_loss") is not None for row in history):
        series.append(
            charts.Series(
                (name + " · " if name else "") + gettext("validation loss"),
                [(row.get("epoch", i + 1), row.get("val_loss")) for i, row in enumerate(history)],
                dashed=True,
                colour=colour,
            )
        )
    return series


def training_curve(version: ModelVersion) -> str:
    return charts.line_chart(
        series=loss_series(version),
        label=gettext("Training loss per epoch, model version %(id)s") % {"id": version.pk},
        x_label=gettext("epoch"),
        y_label=gettext("loss"),
        empty_message=gettext("No epoch finished yet."),
    )


def version_report(version: ModelVersion) -> dict[str, Any]:
    """Everything the version page shows about one model version."""
    active = active_version()
    durations = {k: v for k, v in (version.durations or {}).items() if k != "total"}
    total = (version.durations or {}).get("total") or sum(durations.values()) or 0
    hyper = [
        (name, plain_value(value), HYPERPARAMETER_HELP.get(name, ""))
        for name, value in (version.hyperparameters or {}).items()
    ]
    return {
        "version": version,
        "verdict": reporting.verdict(
            metrics=version.metrics, objective=version.objective, status=version.status, gate=version.gate
        ),
        "objective_meaning": reporting.OBJECTIVE_MEANING.get(version.objective, ""),
        "metric_rows": reporting.metric_rows(version.metrics, version.objective),
        "evaluation_facts": evaluation_facts(version.metrics or {}),
        "gate": version.gate or None,
        "durations": [
            (STAGE_LABELS.get(k, k), v, round(100 * v / total) if total else 0) for k, v in durations.items()
        ],
        "duration_total": total,
        "hyperparameters": hyper,
        "curve": training_curve(version),
        "in_progress": version.status not in FINISHED_STATUSES,
        "active_id": active.pk if active else None,
        "small_catalog": 0 < version.n_users <= dashboard.HEATMAP_MAX and 0 < version.n_videos <= dashboard.HEATMAP_MAX,
    }


def version_progress(version: ModelVersion) -> dict[str, Any]:
    """A version's progress, as the page that follows a retrain polls it."""
    history = version.history or []
    return {
        "id": version.pk,
        "status": version.status,
        "status_label": str(version.get_status_display()),
        "stage": version.stage,
        "stage_label": str(version.get_stage_display()),
        "epoch": version.epoch,
        "epochs_total": version.epochs_total,
        "loss": history[-1].get("loss") if history else None,
        "finished": version.status in FINISHED_STATUSES,
        "error": version.error.splitlines()[0] if version.error else "",
    }


def comparison(left: ModelVersion, right: ModelVersion) -> dict[str, Any]:
    """Two versions side by side: metrics (with the better one marked), settings, facts, curves."""
    rows = []
    for spec in reporting.METRICS:
        a, b = (left.metrics or {}).get(spec.key), (right.metrics or {}).get(spec.key)
        if a is None and b is None:
            continue
        better = ""
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a != b:
            better = "left" if (a > b) == spec.higher_is_better else "right"
        rows.append((spec, reporting.metric_text(a, spec.unit), reporting.metric_text(b, spec.unit), better))
    names = list(dict.fromkeys([*(left.hyperparameters or {}), *(right.hyperparameters or {})]))
    hyper = [
        (
            name,
            plain_value((left.hyperparameters or {}).get(name, "–")),
            plain_value((right.hyperparameters or {}).get(name, "–")),
        )
        for name in names
    ]
    curve = charts.line_chart(
        series=[
            *loss_series(left, gettext("v%(id)s") % {"id": left.pk}, charts.PALETTE[0])[:1],
            *[
                charts.Series(s.name, s.points, colour=charts.PALETTE[1])
                for s in loss_series(right, gettext("v%(id)s") % {"id": right.pk})[:1]
            ],
        ],
        label=gettext("Training loss per epoch, versions %(a)s and %(b)s") % {"a": left.pk, "b": right.pk},
        x_label=gettext("epoch"),
        y_label=gettext("loss"),
    )
    facts = [
        (gettext("status"), left.get_status_display(), right.get_status_display()),
        (gettext("objective"), left.objective, right.objective),
        (gettext("created"), when(left.created_at), when(right.created_at)),
        (gettext("viewers × videos"), size(left), size(right)),
        (gettext("watch events"), left.n_events, right.n_events),
        (gettext("promotion gate"), reporting.gate_text(left.gate), reporting.gate_text(right.gate)),
        (
            gettext("training time (s)"),
            (left.durations or {}).get("total", "–"),
            (right.durations or {}).get("total", "–"),
        ),
    ]
    return {
        "left": left,
        "right": right,
        "metric_rows": rows,
        "hyper": hyper,
        "facts": facts,
        "curve": curve,
        "others": ModelVersion.objects.exclude(pk=left.pk).only("pk", "status", "created_at")[:30],
        "verdict_left": reporting.verdict(metrics=left.metrics, objective=left.objective, status=left.status),
        "verdict_right": reporting.verdict(metrics=right.metrics, objective=right.objective, status=right.status),
    }


def heatmaps(version: ModelVersion) -> dict[str, Any]:
    """Observed and predicted completion as heat maps (catalogs up to ``dashboard.HEATMAP_MAX``)."""
    maps = dashboard.heatmaps_read(version=version)
    context: dict[str, Any] = {"version": version, "maps": maps, "limit": dashboard.HEATMAP_MAX}
    if maps is not None:
        context["observed_map"] = charts.heatmap(
            rows=maps.users, columns=maps.videos, values=maps.observed, label=gettext("Observed completion")
        )
        context["predicted_map"] = charts.heatmap(
            rows=maps.users,
            columns=maps.videos,
            values=maps.predicted,
            marked=maps.watched,
            label=gettext("Predicted completion (published scores)"),
        )
    return context


def plain_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " × ".join(str(v) for v in value) if value else "–"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    return str(value)


def when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "–"


def size(version: ModelVersion) -> str:
    return f"{version.n_users:,} × {version.n_videos:,}"


def evaluation_facts(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    facts = []
    if metrics.get("n_ranked") is not None:
        facts.append((gettext("viewers ranked (HR, NDCG)"), f"{metrics['n_ranked']:,}"))
    if metrics.get("negatives") is not None:
        facts.append((gettext("unwatched videos each hidden watch competes with"), str(metrics["negatives"])))
    if metrics.get("n_rated") is not None:
        facts.append((gettext("held-out watches (RMSE, MAE)"), f"{metrics['n_rated']:,}"))
    gap = metrics.get("recent_order_gap")
    if metrics.get("recent_boost_applied") is not None and isinstance(gap, (int, float)):
        facts.append(
            (
                gettext("videos like the latest watches ranked higher"),
                (gettext("yes") if metrics["recent_boost_applied"] else gettext("no: the watch order says little"))
                + " "
                + gettext("(consecutive watches %(gap)s more alike than any two)") % {"gap": f"{gap:+.3f}"},
            )
        )
    if metrics.get("evaluation") == "skipped":
        facts.append((gettext("evaluation"), gettext("skipped: %(note)s") % {"note": metrics.get("evaluation_note")}))
    return facts


def dashboard_charts(data: dashboard.Dashboard) -> dict[str, Any]:
    per_day = charts.bar_chart(
        bars=[(day.strftime("%d %b"), n) for day, n in data.per_day],
        label=gettext("Watch events per day, last %(n)d days") % {"n": dashboard.DAYS},
        y_label=gettext("watches"),
        label_every=5,
        empty_message=gettext("No watch events in the last %(n)d days.") % {"n": dashboard.DAYS},
    )
    finished = [v for v in reversed(data.versions) if (v.metrics or {}).get("hr_at_10") is not None]
    ticks = [(float(v.pk), f"v{v.pk}") for v in finished]
    metric_series = [
        charts.Series("HR@10", [(v.pk, v.metrics.get("hr_at_10")) for v in finished], colour=charts.PALETTE[0]),
        charts.Series(
            gettext("HR@10 most popular"),
            [(v.pk, v.metrics.get("baseline_popular_hr_at_10")) for v in finished],
            dashed=True,
            colour=charts.PALETTE[0],
        ),
        charts.Series("NDCG@10", [(v.pk, v.metrics.get("ndcg_at_10")) for v in finished], colour=charts.PALETTE[1]),
        charts.Series(
            gettext("NDCG@10 most popular"),
            [(v.pk, v.metrics.get("baseline_popular_ndcg_at_10")) for v in finished],
            dashed=True,
            colour=charts.PALETTE[1],
        ),
        charts.Series(
            gettext("catalog coverage"),
            [(v.pk, v.metrics.get("coverage_at_10")) for v in finished],
            colour=charts.PALETTE[2],
        ),
    ]
    metrics_chart = charts.line_chart(
        series=metric_series,
        label=gettext("Ranking quality per model version against the most-popular baseline"),
        x_label=gettext("model version"),
        percent=True,
        x_ticks=ticks,
        empty_message=gettext("No evaluated model version yet."),
    )
    with_history = [v for v in data.versions if v.history][: dashboard.LOSS_VERSIONS]
    loss_chart = charts.line_chart(
        series=[
            charts.Series(f"v{v.pk}", [(r.get("epoch", i + 1), r.get("loss")) for i, r in enumerate(v.history)])
            for v in reversed(with_history)
        ],
        label=gettext("Training loss per epoch of the latest versions"),
        x_label=gettext("epoch"),
        y_label=gettext("loss"),
        empty_message=gettext("No version has trained yet."),
    )
    scores_chart = charts.bar_chart(
        bars=[(f"{edge} %", n) for edge, n in data.score_bins],
        label=gettext("Published scores of the active version (predicted completion, %)"),
        y_label=gettext("recommendations"),
        colour=charts.PALETTE[2],
        empty_message=gettext("No active version yet."),
    )
    return {
        "per_day_chart": per_day,
        "metrics_chart": metrics_chart,
        "loss_chart": loss_chart,
        "scores_chart": scores_chart,
    }
