"""Training configuration: one frozen dataclass, validated, JSON round-trippable."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

OBJECTIVES = ("completion", "expected_completion")
ARCHITECTURES = ("mlp", "neumf")


def _is_int(value: Any) -> bool:
    # bool is a subclass of int; ``epochs=True`` is a bug, not a number.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run.

    ``objective``:
        ``"completion"`` -- the reference program: regress the completion of observed
        (user, video) cells with MSE.  ``"expected_completion"`` -- binary cross-entropy
        with the completion as a soft label, on observed cells plus ``negatives``
        sampled unwatched videos per observed cell (label 0), re-sampled every epoch;
        the score then estimates "completion if recommended", not "completion if
        watched".
    ``architecture``:
        ``"mlp"`` -- the reference network (embeddings -> concat -> dense tower);
        ``"neumf"`` -- GMF branch (element-wise product of its own embeddings) plus the
        MLP branch, concatenated before the output unit (He et al., 2017).
    ``l2``:
        L2 penalty on every embedding table (added to the loss once per batch).
    ``l2_rows``:
        L2 penalty on the embedding rows (biases included) that each training example
        looks up, averaged over the batch -- the regularisation of SGD matrix
        factorisation: a user or video is shrunk in proportion to how often it appears.
    ``lr_decay``:
        the learning rate of epoch ``e`` (1-based) is ``learning_rate * lr_decay ** (e - 1)``;
        1.0 keeps it constant.
    ``ema``:
        momentum of an exponential moving average of the weights, updated every step;
        validation and the returned model use the average (0 = off).
    ``dropout``:
        dropout rate after every hidden layer of the MLP tower (training only).
    ``use_bias``:
        add a learned per-user and per-video bias to the output logit (as in biased
        matrix factorisation).  With the defaults ``l2=0``, ``dropout=0`` and
        ``use_bias=False`` (and ``l2_rows=0``), ``objective="completion"`` with ``architecture="mlp"`` is
        exactly the reference program's network.
    ``min_validation_samples``:
        with fewer observed pairs than this there is no validation split: the model
        trains on everything for ``epochs`` epochs without early stopping.
    """

    objective: str = "expected_completion"
    architecture: str = "mlp"
    embedding_dim: int = 64
    hidden_units: tuple[int, ...] = (64, 32)
    epochs: int = 20
    batch_size: int = 2048
    learning_rate: float = 1e-3
    lr_decay: float = 1.0
    l2: float = 0.0
    l2_rows: float = 0.0
    dropout: float = 0.0
    ema: float = 0.0
    use_bias: bool = False
    negatives: int = 4
    validation_fraction: float = 0.1
    min_validation_samples: int = 200
    patience: int = 3
    seed: int = 42

    def __post_init__(self) -> None:
        # Accept a list (e.g. from JSON or a form) but store the hashable tuple.
        if isinstance(self.hidden_units, list):
            object.__setattr__(self, "hidden_units", tuple(self.hidden_units))
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid field."""
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        for name, minimum in (
            ("embedding_dim", 1),
            ("epochs", 1),
            ("batch_size", 1),
            ("negatives", 0),
            ("min_validation_samples", 0),
            ("patience", 0),
            ("seed", 0),
        ):
            value = getattr(self, name)
            if not _is_int(value) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if self.seed >= 2**32:
            raise ValueError(f"seed must be < 2**32, got {self.seed!r}")
        if (
            not isinstance(self.hidden_units, tuple)
            or not self.hidden_units
            or not all(_is_int(u) and u >= 1 for u in self.hidden_units)
        ):
            raise ValueError(f"hidden_units must be a non-empty tuple of integers >= 1, got {self.hidden_units!r}")
        if not _is_number(self.learning_rate) or not math.isfinite(self.learning_rate) or self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be a finite number > 0, got {self.learning_rate!r}")
        if not _is_number(self.l2) or not math.isfinite(self.l2) or self.l2 < 0:
            raise ValueError(f"l2 must be a finite number >= 0, got {self.l2!r}")
        if not _is_number(self.lr_decay) or not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be a number in (0, 1], got {self.lr_decay!r}")
        if not _is_number(self.l2_rows) or not math.isfinite(self.l2_rows) or self.l2_rows < 0:
            raise ValueError(f"l2_rows must be a finite number >= 0, got {self.l2_rows!r}")
        if not _is_number(self.dropout) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {self.dropout!r}")
        if not _is_number(self.ema) or not 0 <= self.ema < 1:
            raise ValueError(f"ema must be a number in [0, 1), got {self.ema!r}")
        if not isinstance(self.use_bias, bool):
            raise ValueError(f"use_bias must be true or false, got {self.use_bias!r}")
        if not _is_number(self.validation_fraction) or not 0 <= self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be a number in [0, 1), got {self.validation_fraction!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (``hidden_units`` as a list)."""
        d = dataclasses.asdict(self)
        d["hidden_units"] = list(self.hidden_units)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; missing keys take defaults, unknown keys fail."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s): {', '.join(unknown)}")
        return cls(**d)

    def replace(self, **overrides: Any) -> TrainConfig:
        """Copy with some fields changed (validated like the constructor)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s): {', '.join(unknown)}")
        return dataclasses.replace(self, **overrides)


# Named configurations.  "ranking" and "rating" were tuned on validation splits of MovieLens
# 100K (bench/tune.py; the table and the test figures are in docs/benchmarks.md).
PRESETS: dict[str, dict[str, Any]] = {
    # The reference program's network, objective and loss, unchanged.
    "reference": {"objective": "completion"},
    # What to show next (watched-or-not plus how far): NeuMF, 8 sampled negatives per watch.
    "ranking": {
        "objective": "expected_completion",
        "architecture": "neumf",
        "negatives": 8,
        "l2": 1e-6,
        "batch_size": 4096,
        "learning_rate": 2e-3,
        "ema": 0.99,
    },
    # Best completion (rating) prediction: NeuMF + user/video biases, strong L2, a moving
    # average of the weights, long training.
    "rating": {
        "objective": "completion",
        "architecture": "neumf",
        "use_bias": True,
        "l2": 1e-3,
        "embedding_dim": 128,
        "ema": 0.99,
        "epochs": 150,
        "patience": 10,
    },
}
# The preset a retrain starts from when it names only an objective.
DEFAULT_PRESET = {"expected_completion": "ranking", "completion": "reference"}


def preset_config(name: str, **overrides: Any) -> TrainConfig:
    """The named preset with ``overrides`` applied; ``ValueError`` for an unknown name."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {tuple(PRESETS)}, got {name!r}")
    return TrainConfig().replace(**{**PRESETS[name], **overrides})
