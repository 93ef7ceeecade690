"""Scoring a version's users in blocks and writing their rows: in this process, or split into user
ranges scored by Celery tasks on other workers (which load the version's saved model).

The tasks are sent by name (``recommender.tasks`` imports this package, never the reverse).
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from recommender.exceptions import RetrainError
from recommender.ml.config import TrainConfig
from recommender.ml.data import InteractionMatrix
from recommender.models import ModelVersion, Recommendation
from recommender.services import publishing
from recommender.services.artifacts import artifact_load

logger = logging.getLogger(__name__)

SCORE_SHARD_TASK = "recommender.tasks.score_shard_task"


def user_shards(n_users: int, n_shards: int) -> list[tuple[int, int]]:
    """Split user indices 0..n_users into at most ``n_shards`` contiguous, non-empty ranges."""
    n_shards = max(1, min(int(n_shards), n_users))
    bounds = [round(i * n_users / n_shards) for i in range(n_shards + 1)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def score_and_write(
    version: ModelVersion, model: Any, data: InteractionMatrix, start: int, stop: int, *, config: TrainConfig
) -> tuple[int, float]:
    """Score users ``start``..``stop`` and write their top-N rows; returns (rows, scoring seconds).
    ``config``: what trained ``model`` (its ``recent_boost`` ranks with the viewers' latest watches)."""
    import numpy as np

    from recommender.ml.recent import recent_affinity
    from recommender.ml.score import candidate_count, score_top_n
    from recommender.reasons import reason_rule

    share = float(settings.RECOMMENDER_CANDIDATE_SHARE)
    if not 0 < share <= 1:
        raise ImproperlyConfigured(f"RECOMMENDER_CANDIDATE_SHARE must be in (0, 1], got {share!r}")
    started = time.perf_counter()
    top_n = settings.RECOMMENDATIONS_TOP_N
    top = score_top_n(
        model,
        data,
        top_n=top_n,
        user_indices=np.arange(start, stop, dtype=np.int64),
        candidates=candidate_count(
            data.n_videos,
            top_n=top_n,
            from_videos=settings.RECOMMENDER_CANDIDATES_FROM_VIDEOS,
            share=share,
        ),
        **reason_rule(data),
        affinity=recent_affinity(model, data, config),
    )
    score_s = time.perf_counter() - started
    return publishing.recommendations_write(version=version, data=data, top=top), score_s


def recommendations_shard_write(*, version_id: int, start: int, stop: int) -> dict[str, float | int]:
    """Score users ``start``..``stop`` of a version from its saved artifact and write their rows.

    Runs on any worker that can read MODEL_DIR. Safe to retry: the shard's earlier rows are
    replaced.
    """
    version = ModelVersion.objects.get(pk=version_id)
    if version.status != ModelVersion.Status.RUNNING:
        raise RetrainError(f"Model version {version_id} is {version.status}, not running; shard not scored.")
    artifact = artifact_load(version=version)
    data = artifact.data
    user_ids = data.user_ids[start:stop].tolist()
    Recommendation.objects.filter(version_id=version_id, user_id__in=user_ids).delete()
    n_rows, score_s = score_and_write(version, artifact.model, data, start, stop, config=artifact.config)
    return {"rows": n_rows, "score_seconds": score_s}


def shard_workers_available() -> bool:
    """True when shard tasks can run: eager Celery, or another live worker consumes their queue.

    The retrain task waits for its shards, so the worker running it cannot also run them; without
    a second worker the wait would never end.
    """
    from celery import current_task

    if current_app.conf.task_always_eager:
        return True
    me = getattr(getattr(current_task, "request", None), "hostname", None)
    try:
        queues = current_app.control.inspect(timeout=1.0).active_queues() or {}
    except Exception:
        logger.warning("Could not ask the workers which queues they consume", exc_info=True)
        return False
    wanted = settings.CELERY_TASK_DEFAULT_QUEUE
    return any(name != me and any(q.get("name") == wanted for q in qs) for name, qs in queues.items())


def score_and_write_sharded(version: ModelVersion, shards: list[tuple[int, int]]) -> tuple[int, float]:
    """Run one Celery task per user range, wait for all; any failed shard fails the version."""
    from celery import group

    job = group(current_app.signature(SCORE_SHARD_TASK, args=(version.pk, start, stop)) for start, stop in shards)
    results = job.apply_async()
    try:
        outcomes = results.get(timeout=settings.RETRAIN_SOFT_TIME_LIMIT, disable_sync_subtasks=False, propagate=True)
    finally:
        results.forget()
    return sum(int(o["rows"]) for o in outcomes), sum(float(o["score_seconds"]) for o in outcomes)
