import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender import reporting
from recommender.exceptions import RetrainError
from recommender.management.commands._versions import version_or_error
from recommender.quality import version_evaluate
from recommender.reporting import METRIC_BY_KEY, OBJECTIVE_KEY_METRIC, OBJECTIVE_MEANING, metric_text

# (metric key, label, unit) in display order. Units: "share" of viewers or videos (shown as %),
# "points" of completion for errors of a predicted completion (0.12 = 12 points), "score" for
# NDCG (0..1), "count".
ROWS = [
    ("hr_at_10", "HR@10", "share"),
    ("ndcg_at_10", "NDCG@10", "score"),
    ("baseline_popular_hr_at_10", "HR@10 most-popular", "share"),
    ("baseline_popular_ndcg_at_10", "NDCG@10 most-popular", "score"),
    ("rmse", "RMSE (completion)", "points"),
    ("mae", "MAE (completion)", "points"),
    ("baseline_bias_rmse", "RMSE viewer+video average", "points"),
    ("baseline_mean_rmse", "RMSE global average", "points"),
    ("coverage_at_10", "catalog coverage top 10", "share"),
    ("users_served_share", "viewers served", "share"),
    ("n_ranked", "viewers ranked", "count"),
    ("n_rated", "watches rated", "count"),
]


class Command(BaseCommand):
    help = (
        "Show a model version's quality: the held-out metrics recorded when it was trained, the "
        "promotion gate's verdict, and the model measured on the watches recorded since it was "
        "trained, with what the objective optimises and which metric matters for it. Shares are "
        "percentages of viewers or videos; RMSE and MAE are in percentage points of completion. "
        "Default: the active version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", nargs="?", type=int, help="Model version id (default: the active version).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")

    def handle(self, *args: Any, version: int | None = None, **options: Any) -> None:
        target = version_or_error(version)
        try:
            report = version_evaluate(version=target)
        except RetrainError as exc:
            raise CommandError(str(exc).splitlines()[0]) from None
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, sort_keys=True))
            return
        self._table(report)

    def _table(self, report: dict) -> None:
        out = self.stdout
        out.write(
            f"Model version {report['version']} ({report['status']}, {report['objective']}, "
            f"{report['architecture']}), trained on {report['trained_on_events']} events "
            f"up to event {report['last_event_id']}."
        )
        offline = report["offline"] or {}
        forward = report["forward"] or {}
        objective = report["objective"]
        if objective in OBJECTIVE_MEANING:
            key = METRIC_BY_KEY[OBJECTIVE_KEY_METRIC[objective]].label
            out.write(f"Objective {objective}: {OBJECTIVE_MEANING[objective]} Judge it by {key} first.")
        out.write(
            "Verdict: "
            + reporting.verdict(metrics=offline, objective=objective, status=report["status"], gate=report.get("gate"))
        )
        if offline.get("evaluation") == "skipped":
            out.write(f"Held-out evaluation skipped: {offline.get('evaluation_note', '')}")
        out.write(f"{'metric':<26}{'held out at training':>22}{'watches since':>16}")
        for key, label, unit in ROWS:
            if key not in offline and key not in forward:
                continue
            out.write(f"{label:<26}{_cell(offline.get(key), unit):>22}{_cell(forward.get(key), unit):>16}")
        out.write(f"Watches since: {report.get('forward_note', '')}.")
        out.write("Units: % of viewers or videos; pts = percentage points of completion (10 pts = a tenth of a video).")
        gate = report.get("gate") or {}
        if gate:
            out.write(f"Promotion gate: {reporting.gate_word(gate)} — {gate.get('reason', '')}")


def _cell(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "score" and isinstance(value, (int, float)):
        return f"{value:.4f}"
    return metric_text(value, unit)
