"""The compiled training loop: optimiser steps over chunks of mini-batches, and its reuse.

One call of the step function trains up to ``CHUNK_STEPS`` mini-batches: a graph loop (XLA-compiled
for large runs) over ``(CHUNK_STEPS, batch_size)`` arrays and the number of steps to take. An epoch
is as many calls as it has chunks; the last chunk is padded and stops early. Every call has the same
input shapes, so the loop is traced and compiled once per model, whatever the number of samples.

That is what makes it reusable: a retrain trains twice on the same users and videos (the held-out
evaluation, then the published model on every pair), and tracing plus XLA's compilation cost about
2 s of each training on MovieLens 100K, a tenth of the retrain. :func:`~recommender.ml.train.
train_model` can train in an earlier training's model and compiled loop (:class:`Loop`), starting
from the fresh weights and a reset optimiser, instead of building and compiling its own; the earlier
model is then overwritten, so the caller hands it over explicitly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.ml.architectures.base import is_user_table
from recommender.ml.separable import separable_forward

if TYPE_CHECKING:
    import keras

    from recommender.ml.config import TrainConfig

# Mini-batches per call of the step function.
CHUNK_STEPS = 64

# Settings of a training that its compiled loop does not depend on (the learning rate is a variable).
PER_TRAINING = frozenset(
    {"epochs", "patience", "seed", "learning_rate", "lr_decay", "validation_fraction", "min_validation_samples"}
)


class Ema:
    """Exponential moving average of the trainable weights (``config.ema``), updated after
    every optimiser step inside the loop.  Validation and the returned model use the
    averaged weights: they smooth the noise of the last steps, much like averaging several
    checkpoints."""

    def __init__(self, model: keras.Model, momentum: float) -> None:
        import tensorflow as tf

        self.variables = model.trainable_variables
        self.shadows = [tf.Variable(np.asarray(v.numpy()), trainable=False) for v in self.variables]
        self.momentum = momentum

    def restart(self) -> None:
        """Start averaging afresh from the current weights."""
        for var, shadow in zip(self.variables, self.shadows, strict=True):
            shadow.assign(np.asarray(var.numpy()))

    def swap(self) -> None:
        """Exchange the live weights and their averages (call twice to undo)."""
        for var, shadow in zip(self.variables, self.shadows, strict=True):
            live = np.asarray(var.numpy())
            var.assign(shadow.numpy())
            shadow.assign(live)


def make_step_fn(
    model: keras.Model, config: TrainConfig, jit_compile: bool, ema: Ema | None = None, *, separable: bool = True
) -> Any:
    """A ``tf.function`` ``(users, videos, labels, weights, steps) -> (loss sum, absolute error sum)``
    training the first ``steps`` mini-batches of ``(CHUNK_STEPS, config.batch_size)`` arrays.
    Padding entries have weight 0; a batch's loss is the weighted mean, as in Keras; the sums are
    weighted by the samples.  ``separable``: evaluate the network through its projected tables
    where that is cheaper (:mod:`~recommender.ml.separable`)."""
    import keras
    import tensorflow as tf

    optimizer = model.optimizer
    variables = model.trainable_variables
    optimizer.build(variables)  # create the slot variables outside the graph
    bce = config.objective == "expected_completion"
    group = 1 + config.negatives if bce and config.listwise > 0 and config.negatives > 0 else 1
    # l2_rows: the embedding rows each example looks up, split by the input they read.
    row_tables: list[tuple[Any, bool]] = []
    if config.l2_rows > 0:
        for layer in model.layers:
            if isinstance(layer, keras.layers.Embedding):
                row_tables.append((layer.embeddings, is_user_table(layer.name)))
    forward = separable_forward(model, config, config.batch_size) if separable else None

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def run_steps(users: Any, videos: Any, labels: Any, weights: Any, steps: Any) -> Any:
        total_loss = tf.constant(0.0, tf.float32)
        total_abs = tf.constant(0.0, tf.float32)
        # A while loop on a counter: XLA compiles it once for any number of steps (a loop over
        # tf.range(steps) would need the number as a compile-time constant).
        step = tf.constant(0, tf.int32)
        while step < steps:
            u = users[step][:, None]
            v = videos[step][:, None]
            y = labels[step][:, None]
            w = weights[step]
            count = tf.reduce_sum(w)
            with tf.GradientTape() as tape:
                pred = forward(u[:, 0], v[:, 0]) if forward is not None else model([u, v], training=True)
                if bce:
                    per_sample = keras.losses.binary_crossentropy(y, pred)
                else:
                    per_sample = tf.square(y - pred)[:, 0]
                loss = tf.reduce_sum(per_sample * w) / count
                if group > 1:  # sampled softmax: each watched pair against its own negatives
                    logit = tf.math.log(tf.clip_by_value(pred[:, 0], 1e-7, 1.0)) - tf.math.log(
                        tf.clip_by_value(1.0 - pred[:, 0], 1e-7, 1.0)
                    )
                    logit = tf.reshape(logit, (-1, group))
                    wg = tf.reshape(w, (-1, group))
                    logit = tf.where(wg > 0, logit, -1e9)
                    ce = -tf.nn.log_softmax(logit, axis=1)[:, 0]
                    pos_weight = tf.reshape(y[:, 0], (-1, group))[:, 0] * wg[:, 0]
                    loss += config.listwise * tf.reduce_sum(ce * pos_weight) / tf.maximum(tf.reduce_sum(wg[:, 0]), 1.0)
                if model.losses:  # L2 on the embeddings
                    loss += tf.add_n(model.losses)
                if row_tables:  # L2 on the looked-up rows, per example
                    penalty = tf.add_n(
                        [
                            tf.reduce_sum(tf.square(tf.gather(table, u[:, 0] if is_user else v[:, 0])), axis=1)
                            for table, is_user in row_tables
                        ]
                    )
                    loss += config.l2_rows * tf.reduce_sum(penalty * w) / count
            grads = tape.gradient(loss, variables)
            optimizer.apply(grads, variables)
            if ema is not None:
                for shadow, var in zip(ema.shadows, variables, strict=True):
                    shadow.assign(ema.momentum * shadow + (1.0 - ema.momentum) * var)
            total_loss += loss * count
            total_abs += tf.reduce_sum(tf.abs(y - pred)[:, 0] * w)
            step += 1
        return total_loss, total_abs

    return run_steps


def run_unit(step_fn: Any, arrays: tuple[np.ndarray, ...]) -> tuple[float, float, int]:
    """Train on one unit of ``(steps, batch_size)`` arrays (an epoch or a segment of one), chunk by
    chunk: ``(loss sum, absolute error sum, samples)``."""
    steps, batch = arrays[0].shape
    loss_sum = abs_sum = 0.0
    for start in range(0, steps, CHUNK_STEPS):
        chunk = [a[start : start + CHUNK_STEPS] for a in arrays]
        taken = len(chunk[0])
        if taken < CHUNK_STEPS:  # padding rows are never reached: the loop stops at `taken`
            chunk = [np.concatenate([a, np.zeros((CHUNK_STEPS - taken, batch), a.dtype)]) for a in chunk]
        part_loss, part_abs = step_fn(*chunk, np.asarray(taken, np.int32))  # a tensor: no retracing
        loss_sum += float(part_loss)
        abs_sum += float(part_abs)
    return loss_sum, abs_sum, int(arrays[3].sum())


@dataclass(eq=False)
class Loop:
    """A model with its compiled step function, reusable by a later training of the same ``key``."""

    key: tuple
    model: Any
    step_fn: Any
    ema: Ema | None

    def restart(self, weights: list[np.ndarray], learning_rate: float) -> None:
        """Start a new training: ``weights``, the optimiser's state at zero, its learning rate, the
        moving average from the new weights."""
        self.model.set_weights(weights)
        optimizer = self.model.optimizer
        for variable in optimizer.variables:
            if variable.path == optimizer.learning_rate.path:
                continue
            variable.assign(np.zeros(variable.shape, variable.dtype))
        optimizer.learning_rate.assign(learning_rate)
        if self.ema is not None:
            self.ema.restart()


def loop_key(n_users: int, n_videos: int, config: TrainConfig, jit_compile: bool, separable: bool) -> tuple | None:
    """What a compiled loop depends on (``config.batch_size`` the batch actually used), or ``None``
    when a model of ``config`` cannot be reused: pooled bags are built from the data, dropout draws
    from the model's own random state."""
    if config.user_history > 0 or config.video_features or config.dropout > 0:
        return None
    fields = {name: value for name, value in asdict(config).items() if name not in PER_TRAINING}
    return (n_users, n_videos, jit_compile, separable, repr(sorted(fields.items())))
