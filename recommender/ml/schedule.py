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

# Between the two: an epoch long enough to hold MEDIUM_DATA_STEPS steps of twice the configured batch
# (MovieLens 100K: 900,000 samples, 110 steps of 8,192) trains in batches twice as large at twice the
# learning rate, and stops after MEDIUM_DATA_PATIENCE epochs without improvement: a fifth less work
# per epoch on a CPU (each step's cost is partly per batch, not per sample) and one epoch less of
# waiting, at the same validation figures (bench/tune.py, round 6; docs/benchmarks.md).  Smaller
# data keeps its configuration: there a batch is capped anyway (``epochs.effective_batch_size``).
MEDIUM_DATA_STEPS = 64
MEDIUM_DATA_BATCH_FACTOR = 2
MEDIUM_DATA_LR_FACTOR = 2.0
MEDIUM_DATA_PATIENCE = 2


def epoch_samples(config: TrainConfig, n_pairs: int) -> int:
    """Training samples in one epoch over ``n_pairs`` watched pairs: each pair, plus its sampled
    unwatched videos under the ``expected_completion`` objective."""
    negatives = config.negatives if config.objective == "expected_completion" else 0
    return int(n_pairs) * (1 + negatives)


@dataclass(frozen=True)
class Schedule:
    """How a retrain trains on its data: ``config`` (the configuration it trains with), the size
    regime that changed it (``regime``: ``"medium"`` or ``"large"``, ``""`` when ``config`` is the
    configured one), and the warm refit epochs the large-data schedule asks for
    (``refit_warm_epochs``; ``None`` leaves the site's setting)."""

    config: TrainConfig
    regime: str = ""
    refit_warm_epochs: int | None = None

    @property
    def large(self) -> bool:
        return self.regime == "large"

    def describe(self, base: TrainConfig) -> dict[str, Any]:
        """What the schedule changed, for the version's metrics (empty when nothing)."""
        if not self.regime:
            return {}
        changed = {
            name: getattr(self.config, name)
            for name in ("epochs", "batch_size", "learning_rate", "patience")
            if getattr(self.config, name) != getattr(base, name)
        }
        if self.large:
            return {"large_data": True, **changed, "refit_warm_epochs": self.refit_warm_epochs}
        return {"medium_data": True, **changed}


def schedule_for(config: TrainConfig, n_pairs: int, *, min_samples: int) -> Schedule:
    """The schedule of a retrain of ``config`` on ``n_pairs`` watched pairs.

    At or above ``min_samples`` samples per epoch (``0`` = never, and no medium regime either: the
    configuration trains as it is at every size): batches ``LARGE_DATA_BATCH_FACTOR`` times larger at
    ``LARGE_DATA_LR_FACTOR`` times the learning rate, as many epochs as fit in
    ``LARGE_DATA_BUDGET_SAMPLES`` (at least one, at most ``config.epochs``), and a warm refit of
    ``LARGE_DATA_WARM_REFIT_EPOCHS`` epochs for the published model.  Below it, from
    ``MEDIUM_DATA_STEPS`` steps of twice the batch per epoch: batches ``MEDIUM_DATA_BATCH_FACTOR``
    times larger at ``MEDIUM_DATA_LR_FACTOR`` times the learning rate, patience at most
    ``MEDIUM_DATA_PATIENCE``.  Below that: ``config`` as is.
    """
    per_epoch = epoch_samples(config, n_pairs)
    if min_samples <= 0:
        return Schedule(config)
    max_batch = int(PARAMS["batch_size"].maximum or 1)
    max_lr = PARAMS["learning_rate"].maximum or 1.0
    if per_epoch >= min_samples:
        epochs = max(1, min(config.epochs, -(-LARGE_DATA_BUDGET_SAMPLES // per_epoch)))
        scheduled = config.replace(
            epochs=epochs,
            batch_size=min(config.batch_size * LARGE_DATA_BATCH_FACTOR, max_batch),
            learning_rate=min(config.learning_rate * LARGE_DATA_LR_FACTOR, max_lr),
        )
        return Schedule(scheduled, regime="large", refit_warm_epochs=LARGE_DATA_WARM_REFIT_EPOCHS)
    if per_epoch >= MEDIUM_DATA_STEPS * MEDIUM_DATA_BATCH_FACTOR * config.batch_size:
        scheduled = config.replace(
            batch_size=min(config.batch_size * MEDIUM_DATA_BATCH_FACTOR, max_batch),
            learning_rate=min(config.learning_rate * MEDIUM_DATA_LR_FACTOR, max_lr),
            patience=min(config.patience, MEDIUM_DATA_PATIENCE),
        )
        return Schedule(scheduled, regime="medium")
    return Schedule(config)
