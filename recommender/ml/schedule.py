"""The large-data schedule of a retrain: how a configuration trains when the data is large.

Pure Python (no TensorFlow, no Django): the settings module reads its default from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recommender.ml.config import PARAMS, TrainConfig

# A configuration tuned on a small data set runs its epochs of a few hundred steps each; on a
# hundred times more watches one epoch is a hundred times more steps, the model converges in a few
# of them, and early stopping pays for every epoch it waits.  Above ``min_samples`` training samples
# per epoch a retrain therefore trains on a budget of samples instead: measured on synthetic data of
# a million watches (docs/benchmarks.md, "Scale"), this keeps the held-out figures of the default
# recipe at a seventh of its training time.
LARGE_DATA_MIN_SAMPLES = 4_000_000  # default of the RECOMMENDER_LARGE_DATA_SAMPLES setting
LARGE_DATA_BUDGET_SAMPLES = 24_000_000  # samples per training (epochs x samples per epoch)
LARGE_DATA_BATCH_FACTOR = 2  # larger batches: fewer, cheaper steps per sample on a CPU ...
LARGE_DATA_LR_FACTOR = 4.0  # ... at a learning rate that converges within the budget
LARGE_DATA_WARM_REFIT_EPOCHS = 1  # the published model continues the evaluated one (no second training)


def epoch_samples(config: TrainConfig, n_pairs: int) -> int:
    """Training samples in one epoch over ``n_pairs`` watched pairs: each pair, plus its sampled
    unwatched videos under the ``expected_completion`` objective."""
    negatives = config.negatives if config.objective == "expected_completion" else 0
    return int(n_pairs) * (1 + negatives)


@dataclass(frozen=True)
class Schedule:
    """How a retrain trains on its data: ``config`` (the configuration it trains with), whether the
    large-data schedule applies (``large``), and the warm refit epochs that schedule asks for
    (``refit_warm_epochs``; ``None`` leaves the site's setting)."""

    config: TrainConfig
    large: bool = False
    refit_warm_epochs: int | None = None

    def describe(self, base: TrainConfig) -> dict[str, Any]:
        """What the schedule changed, for the version's metrics (empty when nothing)."""
        if not self.large:
            return {}
        changed = {
            name: getattr(self.config, name)
            for name in ("epochs", "batch_size", "learning_rate")
            if getattr(self.config, name) != getattr(base, name)
        }
        return {"large_data": True, **changed, "refit_warm_epochs": self.refit_warm_epochs}


def schedule_for(config: TrainConfig, n_pairs: int, *, min_samples: int) -> Schedule:
    """The schedule of a retrain of ``config`` on ``n_pairs`` watched pairs.

    At or above ``min_samples`` samples per epoch (``0`` = never): batches ``LARGE_DATA_BATCH_FACTOR``
    times larger at ``LARGE_DATA_LR_FACTOR`` times the learning rate, as many epochs as fit in
    ``LARGE_DATA_BUDGET_SAMPLES`` (at least one, at most ``config.epochs``), and a warm refit of
    ``LARGE_DATA_WARM_REFIT_EPOCHS`` epochs for the published model.  Below it: ``config`` as is.
    """
    per_epoch = epoch_samples(config, n_pairs)
    if min_samples <= 0 or per_epoch < min_samples:
        return Schedule(config)
    epochs = max(1, min(config.epochs, -(-LARGE_DATA_BUDGET_SAMPLES // per_epoch)))
    scheduled = config.replace(
        epochs=epochs,
        batch_size=min(config.batch_size * LARGE_DATA_BATCH_FACTOR, int(PARAMS["batch_size"].maximum or 1)),
        learning_rate=min(config.learning_rate * LARGE_DATA_LR_FACTOR, PARAMS["learning_rate"].maximum or 1.0),
    )
    return Schedule(scheduled, large=True, refit_warm_epochs=LARGE_DATA_WARM_REFIT_EPOCHS)
