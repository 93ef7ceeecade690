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
    l2: float = 0.0
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
