import sys

from django.core.management.base import BaseCommand, CommandError

from recommender.ml.config import ARCHITECTURES, OBJECTIVES
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
        parser.add_argument("--batch-size", type=_positive_int, help="Training batch size.")
        parser.add_argument("--embedding-dim", type=_positive_int, help="Size of the user and video embeddings.")
        parser.add_argument("--seed", type=int, help="Random seed (same data + seed = same model).")
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
        try:
            config = train_config_build(**overrides)
        except ValueError as exc:
            raise CommandError(f"Invalid training settings: {exc}") from None

        if options["queue"]:
            try:
                task_id = retrain_enqueue(triggered_by="command", **overrides)
            except RetrainError as exc:
                raise CommandError(str(exc).splitlines()[0]) from None
            self.stdout.write(self.style.SUCCESS(f"Retrain queued: task {task_id}"))
            return

        progress = _Progress(self.stderr, enabled=not options["no_progress"])
        try:
            version = retrain(config=config, triggered_by="command", on_progress=progress.update)
        except RetrainError as exc:
            progress.close()
            raise CommandError(str(exc).splitlines()[0]) from None
        progress.close()
        self._summary(version)

    def _summary(self, version: ModelVersion) -> None:
        out = self.stdout
        loss = version.final_loss
        out.write(
            self.style.SUCCESS(
                f"Model version {version.pk} is now active ({version.objective}, {version.architecture})."
            )
        )
        out.write(
            f"  data: {version.n_users} users, {version.n_videos} videos, {version.n_events} events "
            f"({version.n_interactions} user-video pairs, last event id {version.last_event_id})"
        )
        metrics = version.metrics
        line = f"  training: {metrics.get('epochs_run', len(version.history))} epochs"
        if loss is not None:
            line += f", final loss {loss:.4f}"
        if metrics.get("holdout_rmse") is not None:
            line += f", holdout RMSE {metrics['holdout_rmse']:.4f} / MAE {metrics['holdout_mae']:.4f}"
        out.write(line)
        out.write(f"  recommendations written: {version.n_recommendations}")
        out.write("  seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in version.durations.items()))


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
            if self.bar is not None and version.stage != ModelVersion.Stage.TRAINING:
                self.bar.close()
                self.bar = None
            if version.stage != ModelVersion.Stage.TRAINING:
                self.stream.write(f"… {version.get_stage_display()}")
        if version.stage == ModelVersion.Stage.TRAINING and version.epoch:
            from tqdm import tqdm

            if self.bar is None:
                self.bar = tqdm(total=version.epochs_total, desc="training", unit="epoch", file=sys.stderr)
            self.bar.total = version.epochs_total
            last = version.history[-1] if version.history else {}
            postfix = {k: f"{last[k]:.4f}" for k in ("loss", "val_loss") if isinstance(last.get(k), (int, float))}
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(version.epoch - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
