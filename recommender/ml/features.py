"""Side information of videos for the video tower: categories and duration (numpy only).

:class:`VideoFeatures` holds, per external video id, the ids of its categories (one for a
``videos.Video``, several genres for a MovieLens movie) and its duration in seconds (0 = unknown).
:meth:`VideoFeatures.bag` turns them into a bag of tokens per column of an interaction matrix --
one token per category, one for the duration bucket -- which a network configured with
``video_features`` pools into every video's vector, so that a video with few or no watches still
gets a vector from what it shares with others (see ``recommender.ml.architectures.bags``).

The tokens live in the trained model (the bag layer's index table), so an artifact needs no
extra file and the scoring code reads them from the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.ml.architectures.bags import Bag

# Upper bounds (seconds) of the duration buckets; 0 seconds means "unknown" and gets no token.
DURATION_EDGES = (60, 180, 600, 1800, 3600, 7200)


def duration_bucket(seconds: np.ndarray) -> np.ndarray:
    """Bucket of each duration: ``-1`` unknown (0 or less), else 0 .. len(DURATION_EDGES)."""
    s = np.asarray(seconds, dtype=np.float64)
    bucket = np.searchsorted(np.asarray(DURATION_EDGES, dtype=np.float64), s, side="left")
    return np.where(s > 0, bucket, -1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class VideoFeatures:
    """``video_ids[i]`` has the categories ``categories[i]`` (ids, any order, possibly none) and
    lasts ``durations[i]`` seconds (0 = unknown)."""

    video_ids: np.ndarray
    categories: tuple[tuple[int, ...], ...]
    durations: np.ndarray

    @classmethod
    def build(
        cls, video_ids: Sequence[int], categories: Sequence[Sequence[int]], durations: Sequence[float] | None = None
    ) -> VideoFeatures:
        """From parallel sequences; ``categories[i]`` may be empty, ``durations`` omitted."""
        ids = np.asarray(video_ids, dtype=np.int64)
        dur = np.zeros(len(ids)) if durations is None else np.asarray(durations, dtype=np.float64)
        if ids.ndim != 1 or len(categories) != len(ids) or dur.shape != ids.shape:
            raise ValueError("video_ids, categories and durations must have the same length")
        if len(np.unique(ids)) != len(ids):
            raise ValueError("video_ids must be distinct")
        cats = tuple(tuple(int(c) for c in row) for row in categories)
        return cls(video_ids=ids, categories=cats, durations=dur)

    def bag(self, video_ids: np.ndarray) -> Bag | None:
        """Tokens of every video of ``video_ids`` (a matrix's columns, in order): category tokens
        first (in ascending category id), then the duration bucket; ``None`` when no video has a
        feature.  A video absent from these features gets an empty row."""
        category_vocab = np.unique([c for row in self.categories for c in row]).astype(np.int64)
        buckets = duration_bucket(self.durations)
        n_tokens = len(category_vocab) + len(DURATION_EDGES) + 1
        rows: list[list[int]] = []
        where = {int(v): i for i, v in enumerate(self.video_ids)}
        for vid in np.asarray(video_ids, dtype=np.int64):
            i = where.get(int(vid))
            if i is None:
                rows.append([])
                continue
            tokens = sorted(int(t) for t in np.searchsorted(category_vocab, sorted(set(self.categories[i]))))
            if buckets[i] >= 0:
                tokens.append(len(category_vocab) + int(buckets[i]))
            rows.append(tokens)
        width = max((len(r) for r in rows), default=0)
        if width == 0:
            return None
        index = np.full((len(rows), width), -1, dtype=np.int32)
        for j, tokens in enumerate(rows):
            index[j, : len(tokens)] = tokens
        return Bag(index=index, tokens=n_tokens)
