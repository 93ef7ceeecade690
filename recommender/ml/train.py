"""Build and train the neural collaborative-filtering model (Keras 3, TensorFlow).

The networks themselves are defined in ``recommender.ml.architectures`` (one module each, next to
their numpy forward pass); :func:`build_model` builds the configured one and compiles it.

Training runs a custom loop: one ``tf.function`` runs up to 64 mini-batches (a graph
``while`` loop; :mod:`~recommender.ml.steps`), so the Python overhead is a few calls per epoch.
That matters for tiny data (the seed matrix trains 100 epochs in ~0.5 s) and lets the
``expected_completion`` objective draw fresh negatives every epoch in numpy (in a
background thread, overlapping the previous epoch).  Big runs compile that loop with
XLA (about twice the CPU throughput, ~1.5 s compile); see ``XLA_MIN_SAMPLES``.  A second
training on the same users and videos may reuse the first one's compiled loop (``reuse``).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from recommender.ml.architectures import architecture
from recommender.ml.architectures.bags import USER_HISTORY, VIDEO_FEATURES, Bag, user_history
from recommender.ml.config import TrainConfig
from recommender.ml.data import InteractionMatrix
from recommender.ml.epochs import EpochData, effective_batch_size
from recommender.ml.features import VideoFeatures
from recommender.ml.sampling import NegativeSampler
from recommender.ml.score import score_pairs
from recommender.ml.steps import Ema, Loop, loop_key, make_step_fn, run_unit

EpochCallback = Callable[[int, int, dict], None]


def build_model(n_users: int, n_videos: int, config: TrainConfig, bags: dict[str, Bag] | None = None) -> keras.Model:
    """Build and compile the model for ``n_users`` x ``n_videos``.

    ``objective="completion"``: Adam, MSE, metric MAE (the reference program).
    ``objective="expected_completion"``: Adam, binary cross-entropy, metric MAE.
    """
    config.validate()
    if n_users < 1 or n_videos < 1:
        raise ValueError(f"need at least one user and one video, got {n_users}x{n_videos}")
    model = architecture(config.architecture).build(n_users, n_videos, config, bags)
    loss = "mse" if config.objective == "completion" else "binary_crossentropy"
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss=loss,
        metrics=["mae"],
    )
    return model


@dataclass
class TrainResult:
    """Outcome of :func:`train_model`.

    ``history``: one dict per epoch run: ``epoch`` (1-based), ``loss`` (training
    objective incl. L2, mean over the epoch), ``mae`` (training mean absolute error
    against the labels, sampled negatives included), ``val_loss`` (objective on the
    validation set -- without L2 -- or ``None``), ``val_rmse`` / ``val_mae``
    (completion error on the held-out *observed* pairs, or ``None``), ``samples``
    (training samples this epoch) and ``seconds`` (wall time of the epoch).
    ``holdout``: ``{"rmse", "mae", "n"}`` of the returned (best) weights on the
    held-out observed pairs; empty when there was no validation split.  For
    ``expected_completion`` these errors are inflated by design (the model predicts
    completion *if recommended*, lower than the completion of a watched video); rank
    with :mod:`recommender.ml.holdout` instead.
    ``samples_per_s``: training samples / seconds spent in training steps.
    ``loop``: the model's compiled training steps, for ``train_model(reuse=...)``.
    """

    model: keras.Model
    history: list[dict] = field(default_factory=list)
    epochs_run: int = 0
    best_epoch: int = 0
    train_samples: int = 0
    samples_per_s: float = 0.0
    seconds: float = 0.0
    holdout: dict = field(default_factory=dict)
    loop: Loop | None = field(default=None, repr=False)


# ----------------------------------------------------------------------------- sampling


# Kept under its historical name; the sampler lives in the TensorFlow-free sampling module.
_NegativeSampler = NegativeSampler


# ----------------------------------------------------------------------------- training


def _split(n: int, config: TrainConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training / validation observed pairs (seeded random split)."""
    if n < config.min_validation_samples or config.validation_fraction <= 0:
        return np.arange(n), np.arange(0)
    n_val = min(n - 1, max(1, round(n * config.validation_fraction)))
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


# Auto-enable XLA when the run is big enough to repay its ~1.5-2 s compile: it trains
# the default model ~2x faster on CPU, but would dominate tiny runs (seed matrix).
XLA_MIN_SAMPLES = 2_000_000


def _val_loss(pred: np.ndarray, labels: np.ndarray, bce: bool) -> float:
    p = pred.astype(np.float64)
    y = labels.astype(np.float64)
    if bce:
        eps = 1e-7  # Keras' clipping epsilon
        p = np.clip(p, eps, 1 - eps)
        return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
    return float(np.mean((p - y) ** 2))


def train_model(
    data: InteractionMatrix,
    config: TrainConfig,
    *,
    on_epoch_end: EpochCallback | None = None,
    jit_compile: bool | None = None,
    features: VideoFeatures | None = None,
    initial_weights: list[np.ndarray] | None = None,
    separable: bool = True,
    reuse: Loop | None = None,
) -> TrainResult:
    """Train a model on ``data`` (``features``: the videos' side information, used with
    ``config.video_features``), fresh or from ``initial_weights`` (``model.get_weights()`` of a
    model of the same configuration and shape; see ``offline.warm_start_weights``).

    ``config.recency``: weigh each watched pair by its place in the viewer's history, when
    ``data.seen`` says when each was last watched (``InteractionMatrix.recency_weights``).

    Seeded: the same data and config give identical weights.  With at least
    ``config.min_validation_samples`` observed pairs, a random
    ``validation_fraction`` of them is held out; training stops early when
    ``val_loss`` has not improved for ``patience`` epochs and the best epoch's
    weights are restored.  For ``expected_completion`` the validation set also gets
    ``negatives`` unwatched pairs per held-out pair, drawn once so ``val_loss`` is
    comparable between epochs; training negatives are drawn afresh every epoch
    from videos the user never watched (held-out pairs count as watched, so a
    held-out positive is never taught as a 0).

    ``on_epoch_end(epoch, total_epochs, logs)`` is called after every epoch with the
    1-based epoch number and that epoch's history dict.

    ``separable``: where cheaper, evaluate the network through its projected embedding tables
    (:mod:`~recommender.ml.separable`; the same model, float rounding aside).

    ``reuse``: the ``loop`` of an earlier result on the same users and videos: when its network
    and batch are this training's, train in its model and compiled steps (:mod:`~recommender.ml.
    steps`; the same weights and arithmetic as a fresh model, without tracing and compiling again).
    That earlier result's model is overwritten.

    ``jit_compile``: compile the epoch loop with XLA; ``None`` (default) does so when
    ``epochs x samples per epoch >= XLA_MIN_SAMPLES``.  Either way the result is
    deterministic, but XLA and non-XLA runs differ by float rounding.
    """
    config.validate()
    t_start = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)

    users, videos, completion = data.triples()
    train_idx, val_idx = _split(len(users), config, rng)
    tr_u, tr_v, tr_y = users[train_idx], videos[train_idx], completion[train_idx]
    pair_weights = data.recency_weights(config.recency)  # None: every watched pair weighs 1
    va_u, va_v, va_y = users[val_idx], videos[val_idx], completion[val_idx]
    has_val = len(val_idx) > 0

    bce = config.objective == "expected_completion"
    sampler = NegativeSampler(data) if bce and config.negatives > 0 else None
    if has_val:
        vl_u, vl_v, vl_y = va_u, va_v, va_y
        if sampler is not None:
            nu, nv = sampler.sample(va_u, config.negatives, rng)
            vl_u = np.concatenate([va_u, nu])
            vl_v = np.concatenate([va_v, nv])
            vl_y = np.concatenate([va_y, np.zeros(len(nu), np.float32)])

    per_epoch = len(tr_u) * (1 + (config.negatives if sampler is not None else 0))
    batch_config = config.replace(batch_size=effective_batch_size(per_epoch, config.batch_size))
    tr_w = pair_weights[train_idx] if pair_weights is not None else None
    epoch_data = EpochData(tr_u, tr_v, tr_y, sampler, batch_config, rng, tr_w)
    if jit_compile is None:
        jit_compile = per_epoch * config.epochs >= XLA_MIN_SAMPLES

    bags: dict[str, Bag] = {}
    if config.user_history > 0:
        bags[USER_HISTORY] = user_history(tr_u, tr_v, data.n_users, data.n_videos, config.user_history, config.seed)
    video_bag = features.bag(data.video_ids) if config.video_features and features is not None else None
    if video_bag is not None:
        bags[VIDEO_FEATURES] = video_bag
        epoch_data.excluded = np.bincount(tr_v, minlength=data.n_videos) == 0
    model = build_model(data.n_users, data.n_videos, config, bags)  # the seed decides its weights
    if initial_weights is not None:
        model.set_weights(initial_weights)  # before the averaging copies them
    key = loop_key(data.n_users, data.n_videos, batch_config, jit_compile, separable) if not bags else None
    if reuse is not None and key is not None and reuse.key == key:
        loop = reuse  # its model and compiled steps, from these weights
        loop.restart(model.get_weights(), config.learning_rate)
        model = loop.model
    else:
        ema = Ema(model, config.ema) if config.ema > 0 else None
        loop = Loop(key or (), model, make_step_fn(model, batch_config, jit_compile, ema, separable=separable), ema)
    ema = loop.ema

    history: list[dict] = []
    best_loss = math.inf
    best_epoch = 0
    best_weights: list[np.ndarray] | None = None
    wait = 0
    samples = 0
    train_seconds = 0.0
    # Prepare epoch e+1 in a thread while TensorFlow (which releases the GIL) trains
    # epoch e.  One worker and in-order submission keep the random stream identical.
    units = epoch_data.units(config.epochs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(next, units, None)
        for epoch in range(1, config.epochs + 1):
            t0 = time.perf_counter()
            if config.lr_decay != 1.0:
                model.optimizer.learning_rate.assign(config.learning_rate * config.lr_decay ** (epoch - 1))
            loss_sum = abs_sum = 0.0
            n_samples = 0
            last = False
            while not last:  # one unit per epoch, or several segments of a large one
                unit = upcoming.result()
                if unit is None:  # every epoch's units were made (not reached: the loop ends first)
                    break
                upcoming = pool.submit(next, units, None)
                last, arrays = unit
                part_loss, part_abs, part_n = run_unit(loop.step_fn, arrays)
                loss_sum += part_loss
                abs_sum += part_abs
                n_samples += part_n
            loss, abs_err = loss_sum / max(n_samples, 1), abs_sum / max(n_samples, 1)
            train_seconds += time.perf_counter() - t0
            samples += n_samples
            logs: dict[str, Any] = {
                "epoch": epoch,
                "loss": loss,
                "mae": abs_err,
                "val_loss": None,
                "val_rmse": None,
                "val_mae": None,
            }
            improved = False
            if has_val:
                if ema is not None:
                    ema.swap()  # validate the averaged weights
                pred = score_pairs(model, vl_u, vl_v)
                logs["val_loss"] = _val_loss(pred, vl_y, bce)
                err = pred[: len(va_y)].astype(np.float64) - va_y
                logs["val_rmse"] = float(np.sqrt(np.mean(err**2)))
                logs["val_mae"] = float(np.mean(np.abs(err)))
                improved = logs["val_loss"] < best_loss
                if improved:
                    best_weights = model.get_weights()
                if ema is not None:
                    ema.swap()
            logs["samples"] = n_samples
            logs["seconds"] = time.perf_counter() - t0
            history.append(logs)
            if on_epoch_end is not None:
                on_epoch_end(epoch, config.epochs, logs)
            if not math.isfinite(loss):
                raise FloatingPointError(f"training diverged at epoch {epoch} (loss={loss}); lower learning_rate")
            if not has_val:
                best_epoch = epoch
                continue
            if improved:
                best_loss, best_epoch, wait = logs["val_loss"], epoch, 0
            else:
                wait += 1
                if wait >= config.patience:  # keras.callbacks.EarlyStopping's rule
                    break
        upcoming.cancel()

    holdout: dict[str, Any] = {}
    if ema is not None and not has_val:
        ema.swap()  # publish the averaged weights
    if has_val:
        if best_weights is not None and (best_epoch != len(history) or ema is not None):
            model.set_weights(best_weights)
        pred = score_pairs(model, va_u, va_v).astype(np.float64)
        holdout = {
            "rmse": float(np.sqrt(np.mean((pred - va_y) ** 2))),
            "mae": float(np.mean(np.abs(pred - va_y))),
            "n": len(va_y),
        }
    return TrainResult(
        model=model,
        history=history,
        epochs_run=len(history),
        best_epoch=best_epoch,
        train_samples=samples,
        samples_per_s=samples / train_seconds if train_seconds > 0 else 0.0,
        seconds=time.perf_counter() - t_start,
        holdout=holdout,
        loop=loop if loop.key else None,
    )
