"""Offline evaluation of a training configuration on one interaction matrix.

:func:`offline_evaluate` carves the held-out pairs out of the matrix
(:func:`~recommender.ml.holdout.evaluation_split`), trains a model on the rest with the
given configuration and measures it (:func:`~recommender.ml.holdout.split_metrics`).
The retrain service records the result on every model version; the published model may
then be refit on all pairs (see ``recommender/evaluation.py``).  Imports TensorFlow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.ml.config import TrainConfig
from recommender.ml.data import InteractionMatrix
from recommender.ml.features import VideoFeatures
from recommender.ml.holdout import EvaluationSplit, evaluation_split, split_metrics
from recommender.ml.recent import recent_term
from recommender.ml.score import score_pairs
from recommender.ml.train import EpochCallback, TrainResult, train_model


class EvaluationUnavailable(ValueError):
    """The matrix has nothing to hold out (no user watched two or more videos)."""


@dataclass
class OfflineEvaluation:
    """``metrics``: see :func:`~recommender.ml.holdout.split_metrics`, plus
    ``holdout_fraction``, ``epochs_run`` / ``best_epoch`` of the evaluated training and
    ``seconds`` (split + train + measure).  ``result``: that training (its model saw only
    ``split.train``)."""

    metrics: dict[str, Any]
    result: TrainResult
    split: EvaluationSplit


def offline_evaluate(
    data: InteractionMatrix,
    last_seen: Any,
    config: TrainConfig,
    *,
    holdout_fraction: float = 0.1,
    negatives: int = 99,
    k: int = 10,
    max_ranked_users: int | None = None,
    on_epoch_end: EpochCallback | None = None,
    jit_compile: bool | None = None,
    features: VideoFeatures | None = None,
) -> OfflineEvaluation:
    """Hold out, train on the rest, measure.  Seeded by ``config.seed`` throughout.

    ``features``: the videos' side information (see :func:`~recommender.ml.train.train_model`).
    Raises :class:`EvaluationUnavailable` when no user has two or more pairs.
    """
    started = time.perf_counter()
    split = evaluation_split(data, last_seen, holdout_fraction=holdout_fraction, seed=config.seed)
    if len(split.ranked_user) == 0:
        raise EvaluationUnavailable("no user has watched two or more videos, so nothing can be held out")
    result = train_model(split.train, config, on_epoch_end=on_epoch_end, jit_compile=jit_compile, features=features)
    model = result.model
    affinity, signal = recent_term(model, split.train, config)  # the feeds rank with it: measure with it
    metrics = split_metrics(
        lambda u, v: score_pairs(model, np.asarray(u), np.asarray(v), affinity=affinity),
        data,
        split,
        negatives=negatives,
        k=k,
        seed=config.seed,
        max_ranked_users=max_ranked_users,
    )
    if signal is not None:
        # Whether the watch order carried taste, so whether the boost was part of these figures.
        metrics.update(signal.as_metrics(), recent_boost_applied=affinity is not None)
    metrics.update(
        holdout_fraction=holdout_fraction,
        epochs_run=result.epochs_run,
        best_epoch=result.best_epoch,
        seconds=round(time.perf_counter() - started, 4),
    )
    return OfflineEvaluation(metrics=metrics, result=result, split=split)


def warm_start_weights(model: Any, config: TrainConfig) -> list[np.ndarray] | None:
    """The weights a refit on every pair may start from: ``model``'s, when its configuration has no
    per-data lookup tables (``user_history`` or ``video_features`` bags are built from the data
    they were trained on and must be built afresh); else ``None`` (train from scratch)."""
    if config.user_history > 0 or config.video_features:
        return None
    return [np.array(w) for w in model.get_weights()]
