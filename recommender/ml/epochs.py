"""Each epoch's training arrays: shuffled, padded ``(steps, batch_size)`` blocks of the observed pairs
plus, for ``expected_completion``, freshly sampled negatives.

An epoch of more than ``SEGMENT_SAMPLES`` samples is built and trained in segments (the pairs of
one segment are a slice of the epoch's shuffled order, each with its own negatives), so its arrays
never hold more than a segment: tens of millions of samples would otherwise take gigabytes, twice
over while the next one is prepared. Smaller epochs are one unit, built exactly as before.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from recommender.ml.config import TrainConfig
from recommender.ml.sampling import NegativeSampler, redraw_excluded, sample_grouped

# Samples per segment of a large epoch (observed pairs and their negatives).
SEGMENT_SAMPLES = 16_000_000

# Large batches keep the CPU busy on big data, but on a small catalog a 4096-sample batch would
# mean one or two gradient steps per epoch and an untrained model (the demo data has ~5k samples
# per epoch). The configured batch size is therefore an upper bound: an epoch gets at least
# MIN_STEPS_PER_EPOCH steps, with batches of at least MIN_BATCH_SIZE.
MIN_STEPS_PER_EPOCH = 32
MIN_BATCH_SIZE = 32


def effective_batch_size(samples_per_epoch: int, batch_size: int) -> int:
    """The batch size actually used for ``samples_per_epoch`` samples (at most ``batch_size``)."""
    wanted = max(MIN_BATCH_SIZE, math.ceil(samples_per_epoch / MIN_STEPS_PER_EPOCH))
    return min(batch_size, wanted)


class EpochData:
    """Builds each epoch's shuffled, padded ``(steps, batch_size)`` arrays: the
    observed training pairs plus, for ``expected_completion``, freshly sampled
    negatives.  All randomness comes from one seeded generator used in epoch order.
    ``weights``: each observed pair's weight in the loss (None: 1; negatives weigh 1)."""

    def __init__(
        self,
        users: np.ndarray,
        videos: np.ndarray,
        labels: np.ndarray,
        sampler: NegativeSampler | None,
        config: TrainConfig,
        rng: np.random.Generator,
        weights: np.ndarray | None = None,
    ) -> None:
        self.users, self.videos, self.labels = users, videos, labels
        self.weights = weights
        self.sampler, self.config, self.rng = sampler, config, rng
        self.excluded: np.ndarray | None = None  # videos never sampled as negatives, if any

    def _negatives(self, users: np.ndarray, videos: np.ndarray) -> np.ndarray:
        if self.sampler is None or self.excluded is None:
            return videos
        return redraw_excluded(self.sampler, users, videos, self.excluded, self.rng)

    def next(self) -> tuple[np.ndarray, ...]:
        """One whole epoch's arrays."""
        if self.sampler is not None and self.config.listwise > 0:
            return self._grouped()
        return self._arrays(self.users, self.videos, self.labels, self.weights)

    def _arrays(
        self, u: np.ndarray, v: np.ndarray, y: np.ndarray, w: np.ndarray | None = None
    ) -> tuple[np.ndarray, ...]:
        """The pairs ``u, v, y`` (weights ``w``, None: 1) plus their negatives, shuffled and padded
        into batches."""
        n_pairs = len(u)
        if self.sampler is not None:
            nu, nv = self.sampler.sample(u, self.config.negatives, self.rng)
            nv = self._negatives(nu, nv)
            u = np.concatenate([u, nu])
            v = np.concatenate([v, nv])
            y = np.concatenate([y, np.zeros(len(nu), np.float32)])
        n = len(u)
        bs = self.config.batch_size
        steps = -(-n // bs)
        perm = self.rng.permutation(n)
        out = []
        for arr, dtype in ((u, np.int32), (v, np.int32), (y, np.float32)):
            padded = np.zeros(steps * bs, dtype=dtype)
            padded[:n] = arr[perm]
            out.append(padded.reshape(steps, bs))
        weights = np.zeros(steps * bs, dtype=np.float32)
        if w is None:
            weights[:n] = 1.0
        else:
            weights[:n] = np.concatenate([w, np.ones(n - n_pairs, np.float32)])[perm]
        out.append(weights.reshape(steps, bs))
        return tuple(out)

    def _grouped(self) -> tuple[np.ndarray, ...]:
        """Listwise epochs: every watched pair followed by its own ``negatives`` sampled ones,
        whole groups per batch (the batch size rounded down to a multiple of the group)."""
        assert self.sampler is not None
        k = self.config.negatives
        group = 1 + k
        perm = self.rng.permutation(len(self.users))
        u, v, y = self.users[perm], self.videos[perm], self.labels[perm]
        w = self.weights[perm] if self.weights is not None else 1.0
        neg, valid = sample_grouped(self.sampler, u, k, self.rng)
        neg = self._negatives(np.repeat(u, k), neg.ravel()).reshape(neg.shape)
        n = len(u)
        per_batch = max(1, self.config.batch_size // group)
        steps = -(-n // per_batch)
        shape = (steps * per_batch, group)
        users = np.zeros(shape, np.int32)
        videos = np.zeros(shape, np.int32)
        labels = np.zeros(shape, np.float32)
        weights = np.zeros(shape, np.float32)
        users[:n] = u[:, None]
        videos[:n, 0], videos[:n, 1:] = v, neg
        labels[:n, 0] = y
        weights[:n, 0], weights[:n, 1:] = w, valid
        return tuple(a.reshape(steps, per_batch * group) for a in (users, videos, labels, weights))

    def units(self, epochs: int) -> Iterator[tuple[bool, tuple[np.ndarray, ...]]]:
        """``(last segment of its epoch?, arrays)`` for ``epochs`` epochs, built lazily in order."""
        per_pair = 1 + (self.config.negatives if self.sampler is not None else 0)
        segments = math.ceil(len(self.users) * per_pair / SEGMENT_SAMPLES)
        for _epoch in range(epochs):
            if segments <= 1 or (self.sampler is not None and self.config.listwise > 0):
                yield True, self.next()
                continue
            order = self.rng.permutation(len(self.users))
            for i, part in enumerate(np.array_split(order, segments)):
                w = self.weights[part] if self.weights is not None else None
                yield i == segments - 1, self._arrays(self.users[part], self.videos[part], self.labels[part], w)
