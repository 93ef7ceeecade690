import sys
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from recommender.ml.config import PRESETS, client_params
from recommender.ml.config import add_arguments as add_training_arguments
from recommender.models import ModelVersion
from recommender.reporting import gate_word
from recommender.selectors import active_version
from recommender.services import RetrainError, retrain, retrain_queued_run, retrain_request, train_config_build

if TYPE_CHECKING:
    from tqdm import tqdm


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


# Stages that report per-epoch progress: the held-out evaluation's training, then the final one.
EPOCH_STAGES = (ModelVersion.Stage.EVALUATING, ModelVersion.Stage.TRAINING)


class Command(BaseCommand):
    help = (
        "Retrain the recommender now on every stored watch event, score all unwatched videos of every "
        "user and publish the new recommendations (the previous version stays served if anything fails)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # --objective, --architecture, --epochs, ...: options, limits and help from the training
        # configuration's schema (the API's retrain request reads the same). Left out: the
        # preset's value (the objective's default: setting RECOMMENDER_OBJECTIVE).
        add_training_arguments(parser)
        parser.add_argument(
            "--preset",
            choices=sorted(PRESETS),
            help="Start from a named configuration (reference, ranking, rating; see docs/benchmarks.md); "
            "default: the objective's own (ranking for expected_completion, reference for completion).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Activate the new version even if the promotion gate rejects it (worse metric, "
            "non-finite scores, too few users served). Only for a retrain run here, not with --async.",
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not draw the per-epoch progress bar.")
        parser.add_argument(
            "--async",
            dest="queue",
            action="store_true",
            help="Do not train here: queue the retrain (a Celery worker runs it; without a broker, a "
            "separate background process) and print the queued model version. Skipped when no event "
            "arrived since the active version, unless --even-if-unchanged.",
        )
        parser.add_argument(
            "--even-if-unchanged",
            action="store_true",
            help="With --async: queue the retrain even when no event arrived since the active version.",
        )
        parser.add_argument(
            "--queued-version",
            type=_positive_int,
            metavar="VERSION",
            help="Run the queued model version VERSION with the settings it was queued with (what a "
            "retrain request starts when no broker is configured).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        overrides = {p.name: options[p.name] for p in client_params() if options[p.name] is not None}
        if options["preset"] is not None:
            overrides["preset"] = options["preset"]
        try:
            config = train_config_build(**overrides)
        except ValueError as exc:
            raise CommandError(f"Invalid training settings: {exc}") from None

        if options["queued_version"] is not None:
            if overrides or options["queue"] or options["force"] or options["even_if_unchanged"]:
                raise CommandError(
                    "--queued-version runs a queued version with its own settings; give no other option."
                )
            self._run_queued(options["queued_version"], progress=not options["no_progress"])
            return
        if options["queue"] and options["force"]:
            raise CommandError("--force applies to a retrain run here; it cannot be combined with --async.")
        if options["even_if_unchanged"] and not options["queue"]:
            raise CommandError("--even-if-unchanged applies to --async (a retrain run here always trains).")
        if options["queue"]:
            try:
                ticket = retrain_request(
                    triggered_by="command", force=options["even_if_unchanged"], config_overrides=overrides
                )
            except RetrainError as exc:
                raise CommandError(str(exc).splitlines()[0]) from None
            if ticket.status == "skipped":
                self.stdout.write(f"Retrain skipped: {ticket.detail}")
            elif ticket.task_id and ticket.version is not None:
                self.stdout.write(
                    self.style.SUCCESS(f"Retrain queued: task {ticket.task_id} (model version {ticket.version.pk}).")
                )
            else:
                self.stdout.write(self.style.SUCCESS(ticket.detail))
            return

        progress = _Progress(self.stderr, enabled=not options["no_progress"])
        try:
            version = retrain(
                config=config, triggered_by="command", on_progress=progress.update, force=options["force"]
            )
        except RetrainError as exc:
            progress.close()
            raise CommandError(str(exc).splitlines()[0]) from None
        progress.close()
        self._report(version)

    def _run_queued(self, version_id: int, *, progress: bool) -> None:
        bar = _Progress(self.stderr, enabled=progress)
        try:
            version = retrain_queued_run(version_id=version_id, on_progress=bar.update)
        except RetrainError as exc:
            bar.close()
            raise CommandError(str(exc).splitlines()[0]) from None
        bar.close()
        if version is None:
            raise CommandError(f"Model version {version_id} is not queued (it ran already, or waited too long).")
        self._report(version)

    def _report(self, version: ModelVersion) -> None:
        self._summary(version)
        if version.status == ModelVersion.Status.REJECTED:
            active = active_version()
            kept = f"version {active.pk} stays active" if active else "no version is active"
            raise CommandError(
                f"Model version {version.pk} was rejected by the promotion gate: {version.gate.get('reason')}; "
                f"{kept} (rerun with --force, or `manage.py rollback {version.pk}`, to activate it anyway)."
            )

    def _summary(self, version: ModelVersion) -> None:
        out = self.stdout
        loss = version.final_loss
        if version.status == ModelVersion.Status.ACTIVE:
            headline = self.style.SUCCESS(f"Model version {version.pk} is now active")
        else:
            headline = self.style.WARNING(f"Model version {version.pk} is {version.get_status_display()}")
        out.write(f"{headline} ({version.objective}, {version.architecture}).")
        out.write(
            f"  data: {version.n_users} users, {version.n_videos} videos, {version.n_events} events "
            f"({version.n_interactions} user-video pairs, last event id {version.last_event_id})"
        )
        metrics = version.metrics
        line = f"  training: {metrics.get('epochs_run', len(version.history))} epochs"
        if loss is not None:
            line += f", final loss {loss:.4f}"
        out.write(line)
        out.write("  " + _evaluation_line(metrics))
        if version.gate:
            out.write(f"  promotion gate: {gate_word(version.gate)} ({version.gate.get('reason')})")
        out.write(f"  recommendations written: {version.n_recommendations}")
        out.write("  seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in version.durations.items()))


def _evaluation_line(metrics: dict) -> str:
    if metrics.get("evaluation") != "held_out":
        return f"evaluation skipped: {metrics.get('evaluation_note', 'not run')}"
    parts = []
    if isinstance(metrics.get("ndcg_at_10"), float):
        parts.append(
            f"HR@10 {metrics['hr_at_10']:.4f} / NDCG@10 {metrics['ndcg_at_10']:.4f} on {metrics['n_ranked']} users "
            f"(most-popular {metrics['baseline_popular_hr_at_10']:.4f} / {metrics['baseline_popular_ndcg_at_10']:.4f})"
        )
    if isinstance(metrics.get("rmse"), float):
        parts.append(
            f"RMSE {metrics['rmse']:.4f} / MAE {metrics['mae']:.4f} on {metrics['n_rated']} pairs "
            f"(user+video bias {metrics['baseline_bias_rmse']:.4f})"
        )
    return "held-out evaluation: " + ("; ".join(parts) or "no figures")


class _Progress:
    """A per-epoch progress bar on stderr (tqdm), plus one line per stage."""

    def __init__(self, stream: OutputWrapper, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.bar: tqdm | None = None
        self.stage: str | None = None

    def update(self, version: ModelVersion) -> None:
        if not self.enabled:
            return
        if version.stage != self.stage:
            self.stage = version.stage
            if self.bar is not None:
                self.bar.close()
                self.bar = None
            if version.stage not in EPOCH_STAGES:
                self.stream.write(f"… {version.get_stage_display()}")
        if version.stage in EPOCH_STAGES and version.epoch:
            from tqdm import tqdm

            if self.bar is None:
                self.bar = tqdm(
                    total=version.epochs_total, desc=version.get_stage_display(), unit="epoch", file=sys.stderr
                )
            self.bar.total = version.epochs_total
            last = version.history[-1] if version.history else {}
            postfix = {k: f"{last[k]:.4f}" for k in ("loss", "val_loss") if isinstance(last.get(k), (int, float))}
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(version.epoch - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
