import sys

from django.core.management.base import BaseCommand, CommandError

from recommender.ml.config import ARCHITECTURES, OBJECTIVES, PRESETS
from recommender.models import ModelVersion
from recommender.services import RetrainError, retrain, retrain_enqueue, train_config_build


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

    def add_arguments(self, parser):
        parser.add_argument(
            "--objective", choices=OBJECTIVES, help="Training objective (default: setting RECOMMENDER_OBJECTIVE)."
        )
        parser.add_argument(
            "--architecture", choices=ARCHITECTURES, help="Network: mlp (reference) or neumf (GMF + MLP)."
        )
        parser.add_argument(
            "--epochs", type=_positive_int, help="Maximum number of epochs (early stopping may end sooner)."
        )
        parser.add_argument(
            "--batch-size",
            type=_positive_int,
            help="Largest training batch (small data uses smaller batches so an epoch has at least 32 steps).",
        )
        parser.add_argument("--embedding-dim", type=_positive_int, help="Size of the user and video embeddings.")
        parser.add_argument("--seed", type=int, help="Random seed (same data + seed = same model).")
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
            "non-finite scores, too few users served).",
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not draw the per-epoch progress bar.")
        parser.add_argument(
            "--async",
            dest="queue",
            action="store_true",
            help="Queue the retrain for a Celery worker and print the task id instead of training here.",
        )

    def handle(self, *args, **options):
        overrides = {
            name: options[name]
            for name in ("objective", "architecture", "epochs", "batch_size", "embedding_dim", "seed")
            if options[name] is not None
        }
        if options["preset"] is not None:
            overrides["preset"] = options["preset"]
        try:
            config = train_config_build(**overrides)
        except ValueError as exc:
            raise CommandError(f"Invalid training settings: {exc}") from None

        if options["queue"] and options["force"]:
            raise CommandError("--force applies to a retrain run here; it cannot be combined with --async.")
        if options["queue"]:
            try:
                task_id = retrain_enqueue(triggered_by="command", **overrides)
            except RetrainError as exc:
                raise CommandError(str(exc).splitlines()[0]) from None
            self.stdout.write(self.style.SUCCESS(f"Retrain queued: task {task_id}"))
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
        self._summary(version)
        if version.status == ModelVersion.Status.REJECTED:
            active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
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
            verdict = "passed" if version.gate.get("passed") else "forced" if version.gate.get("forced") else "rejected"
            out.write(f"  promotion gate: {verdict} ({version.gate.get('reason')})")
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

    def __init__(self, stream, *, enabled: bool):
        self.stream = stream
        self.enabled = enabled
        self.bar = None
        self.stage = None

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
