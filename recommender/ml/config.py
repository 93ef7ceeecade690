"""Training configuration: one frozen dataclass, validated, JSON round-trippable, and the schema of
its hyper-parameters (type, valid values, help, whether a retrain request may set it) that the
validation, the ``retrain`` command's options and the API's retrain request all derive from."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any

from recommender.ml.architectures import NAMES as ARCHITECTURES
from recommender.ml.architectures import REGISTRY
from recommender.ml.data import AGGREGATES
from recommender.ml.numbers import is_finite_number

OBJECTIVES = ("completion", "expected_completion")


def _is_int(value: Any) -> bool:
    # bool is a subclass of int; ``epochs=True`` is a bug, not a number.
    return isinstance(value, int) and not isinstance(value, bool)


def _bounds(low: float | None, high: float | None, open_low: bool, open_high: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
    if low is not None:
        return f"{'>' if open_low else '>='} {low}"
    if high is not None:
        return f"{'<' if open_high else '<='} {high}"
    return ""


@dataclass(frozen=True)
class Param:
    """One hyper-parameter of :class:`TrainConfig`.

    ``kind``: ``"choice"`` (one of ``choices``), ``"int"``, ``"float"`` (finite), ``"bool"`` or
    ``"ints"`` (a non-empty list of at most ``max_items`` integers; the bounds apply to each).
    ``minimum`` / ``maximum``: inclusive bounds, unless ``open_minimum`` / ``open_maximum``.
    ``client``: a retrain request (the ``retrain`` command, the API) may set it; such a parameter
    has inclusive bounds only, which every surface can express.
    """

    name: str
    kind: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    open_minimum: bool = False
    open_maximum: bool = False
    choices: tuple[str, ...] = ()
    max_items: int | None = None
    client: bool = False

    def describe(self) -> str:
        """The valid values in words, e.g. ``an integer in [1, 1000]``."""
        bounds = _bounds(self.minimum, self.maximum, self.open_minimum, self.open_maximum)
        if self.kind == "choice":
            return f"one of {self.choices}"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "int":
            return f"an integer {bounds}".rstrip()
        if self.kind == "float":
            return f"a finite number {bounds}".rstrip()
        return f"a non-empty list of at most {self.max_items} integers {bounds}".rstrip()

    def _in_bounds(self, value: float) -> bool:
        if self.minimum is not None and (value <= self.minimum if self.open_minimum else value < self.minimum):
            return False
        return self.maximum is None or (value < self.maximum if self.open_maximum else value <= self.maximum)

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is valid (``"ints"``: a tuple, as :class:`TrainConfig` stores it)."""
        if self.kind == "choice":
            return isinstance(value, str) and value in self.choices
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "int":
            return _is_int(value) and self._in_bounds(value)
        if self.kind == "float":
            return is_finite_number(value) and self._in_bounds(value)
        return (
            isinstance(value, tuple)
            and 0 < len(value) <= (self.max_items or len(value))
            and all(_is_int(v) and self._in_bounds(v) for v in value)
        )

    def problem(self, value: Any) -> str:
        """The one-line error for an invalid ``value``."""
        return f"{self.name} must be {self.describe()}, got {value!r}"

    @property
    def flag(self) -> str:
        """The command-line option, e.g. ``--batch-size``."""
        return "--" + self.name.replace("_", "-")


def _architecture_help() -> str:
    return "Network: " + "; ".join(f"{a.name} ({a.summary})" for a in REGISTRY.values()) + "."


# Every field of TrainConfig, in its order.  The bounds of the client parameters are also what a
# retrain request may ask for: they keep one request from tying up a worker for days.
SCHEMA: tuple[Param, ...] = (
    Param(
        "objective",
        "choice",
        "Training objective: completion (regress the completion of watched videos, as the reference "
        "program does) or expected_completion (also learn from sampled unwatched videos: what to show next).",
        choices=OBJECTIVES,
        client=True,
    ),
    Param("architecture", "choice", _architecture_help(), choices=ARCHITECTURES, client=True),
    Param("embedding_dim", "int", "Size of the user and video embeddings.", 1, 1024, client=True),
    Param(
        "hidden_units",
        "ints",
        "Units of each hidden layer of the MLP tower, first to last.",
        1,
        4096,
        max_items=8,
        client=True,
    ),
    Param("epochs", "int", "Maximum number of epochs (early stopping may end sooner).", 1, 1000, client=True),
    Param(
        "batch_size",
        "int",
        "Largest training batch (small data uses smaller batches so an epoch has at least 32 steps).",
        1,
        65536,
        client=True,
    ),
    Param("learning_rate", "float", "Learning rate of the Adam optimiser.", 1e-6, 1.0, client=True),
    Param(
        "lr_decay",
        "float",
        "Factor applied to the learning rate after every epoch (1 keeps it constant).",
        0,
        1,
        open_minimum=True,
    ),
    Param("l2", "float", "L2 penalty on every embedding table.", 0),
    Param("l2_rows", "float", "L2 penalty on the embedding rows each training example looks up.", 0),
    Param("dropout", "float", "Dropout rate after every hidden layer of the MLP tower.", 0, 1, open_maximum=True),
    Param("ema", "float", "Momentum of a moving average of the weights (0 = off).", 0, 1, open_maximum=True),
    Param("use_bias", "bool", "Learn a per-viewer and per-video offset."),
    Param(
        "negatives",
        "int",
        "Unwatched videos sampled per watched one (objective expected_completion).",
        0,
        100,
        client=True,
    ),
    Param(
        "video_features",
        "bool",
        "Pool each video's categories and duration bucket into its vector, when the data has them "
        "(a video with few or no watches is then scored from what it shares with others).",
    ),
    Param(
        "user_history",
        "int",
        "Watched videos pooled into the viewer's vector, at most this many per viewer (0 = off).",
        0,
        4096,
    ),
    Param(
        "listwise",
        "float",
        "Weight of a sampled-softmax term added to the loss (objective expected_completion): each watched "
        "video against its own sampled unwatched ones, weighted by its completion (0 = off).",
        0,
        100,
    ),
    Param(
        "recency",
        "float",
        "Weight a viewer's watches by how recent they are: the latest counts 1 + this, the earliest "
        "1 - this, linearly in between (0 = every watch the same; for data without real watch times).",
        0,
        1,
        client=True,
    ),
    Param(
        "recent_boost",
        "float",
        "Rank higher the videos like the viewer's latest watches: this many logits per unit of mean "
        "cosine similarity to them, added to the model's score when feeds are scored and evaluated. "
        "Off by itself when the watch order carries no taste; 0 = always off.",
        0,
        20,
        client=True,
    ),
    Param("recent_window", "int", "How many of the viewer's latest watches recent_boost compares with.", 1, 1000),
    Param(
        "validation_fraction",
        "float",
        "Share of the watched pairs held out for early stopping.",
        0,
        1,
        open_maximum=True,
    ),
    Param("min_validation_samples", "int", "Below this many watched pairs, train without early stopping.", 0),
    Param("patience", "int", "Epochs without improvement before training stops.", 0),
    Param("seed", "int", "Random seed (same data and seed, same model).", 0, 2**32 - 1, client=True),
    Param(
        "aggregate",
        "choice",
        "How several watch events of one viewer and video become one completion: max, last or mean.",
        choices=AGGREGATES,
    ),
)
PARAMS: dict[str, Param] = {param.name: param for param in SCHEMA}


def client_params() -> tuple[Param, ...]:
    """The hyper-parameters a retrain request may set, in schema order."""
    return tuple(param for param in SCHEMA if param.client)


def _cli_type(param: Param) -> Any:
    number = int if param.kind in ("int", "ints") else float

    def parse(text: str) -> int | float:
        try:
            value = number(text)
        except ValueError:
            kind = "a whole number" if number is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        item = dataclasses.replace(param, kind="int" if param.kind == "ints" else param.kind)
        if not item.accepts(value):
            raise argparse.ArgumentTypeError(f"must be {item.describe()}, got {text}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per client hyper-parameter (``--batch-size 512``, ``--hidden-units 64 32``), with
    the schema's help and limits; an option not given is ``None``."""
    for param in client_params():
        options: dict[str, Any] = {"dest": param.name, "default": None, "help": param.help}
        if param.kind == "choice":
            options["choices"] = param.choices
        elif param.kind == "bool":
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = _cli_type(param)
            options["metavar"] = "X" if param.kind == "float" else "N"
            options["help"] = f"{param.help} Accepts {param.describe()}."
            if param.kind == "ints":
                options["nargs"] = "+"
        parser.add_argument(param.flag, **options)


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
        a network registered in ``recommender.ml.architectures`` (one module each):
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
    ``video_features``:
        with per-video side information given to training (``train_model(features=...)``), add
        the mean of its category and duration-bucket vectors to every video's vector in every
        branch; videos nobody watched yet are then not sampled as negatives (no watch is no
        evidence of dislike).  Without features given, no effect.
    ``user_history``:
        pool the viewer's watched videos (at most this many, a seeded sample) into the viewer's
        vector in every branch, with a video table of its own (FISM / SVD++-style); the target
        video is left out of its own pool while training.  0 = off.
    ``listwise``:
        weight of a sampled-softmax (listwise) term added to the binary cross-entropy: every
        watched video competes with its own ``negatives`` sampled unwatched videos, the term
        weighted by its completion.  The cross-entropy keeps the score an estimate of
        completion if recommended; the softmax term sharpens the ranking.  0 = off.
    ``recency``:
        weight of each watched pair in the loss by its place in the viewer's own history (when
        the data knows when each pair was last watched, ``InteractionMatrix.seen``): the latest
        ``1 + recency``, the earliest ``1 - recency``, linear in the rank in between, so the mean
        stays 1 (a viewer with one watch: 1). Tastes drift; what someone watched lately says
        more about what they start next. Sampled unwatched pairs keep weight 1. 0 = off.
    ``recent_boost``, ``recent_window``:
        at scoring (feeds, evaluation, calibration; not in training), add to every score's logit
        ``recent_boost`` times the video's mean cosine similarity to the viewer's ``recent_window``
        latest watched videos (the model's video vectors, as reasons use them;
        ``recommender.ml.recent``). People watch in runs of a kind; the latest watches say
        what the next one is like. Needs ``InteractionMatrix.seen``, and is skipped when that order
        carries no taste (``recent.order_signal``); 0 = off.
    ``aggregate``:
        how several watch events of one (user, video) pair become one completion: ``"max"``,
        ``"last"`` (the latest recorded) or ``"mean"``.  The training matrix and every
        evaluation of the model use it; it is recorded with the rest of the configuration.
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
    video_features: bool = False
    user_history: int = 0
    listwise: float = 0.0
    recency: float = 0.0
    recent_boost: float = 0.0
    recent_window: int = 3
    validation_fraction: float = 0.1
    min_validation_samples: int = 200
    patience: int = 3
    seed: int = 42
    aggregate: str = "max"

    def __post_init__(self) -> None:
        # Accept a list (e.g. from JSON or a form) but store the hashable tuple.
        if isinstance(self.hidden_units, list):
            object.__setattr__(self, "hidden_units", tuple(self.hidden_units))
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid field (see :data:`SCHEMA`)."""
        for param in SCHEMA:
            value = getattr(self, param.name)
            if not param.accepts(value):
                raise ValueError(param.problem(value))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (``hidden_units`` as a list)."""
        d = dataclasses.asdict(self)
        d["hidden_units"] = list(self.hidden_units)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; missing keys take defaults (a configuration recorded before
        ``aggregate`` existed reads as ``"max"``, the rule it was trained with by default), unknown
        keys fail."""
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
    # What to show next (watched-or-not plus how far): NeuMF, 8 sampled negatives per watch, a
    # viewer's recent watches weighted up in training, and videos like the 3 latest ranked higher.
    "ranking": {
        "objective": "expected_completion",
        "architecture": "neumf",
        "negatives": 8,
        "l2": 1e-6,
        "batch_size": 4096,
        "learning_rate": 2e-3,
        "ema": 0.99,
        "recency": 0.9,
        "recent_boost": 4.0,
        "recent_window": 3,
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
