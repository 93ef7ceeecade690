"""Publishing model versions: write a version's rows, make it the one readers see, prune old rows,
roll back.

Readers only ever see the active version, and the switch is one short transaction, so they see
either the previous list or the new one, never a mix.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from recommender.exceptions import RetrainError
from recommender.ml.data import InteractionMatrix
from recommender.models import COMPLETED_STATUSES, ModelVersion, PreparedFeed, Recommendation
from recommender.selectors import active_version, active_version_cache_clear
from recommender.services.artifacts import artifact_verify, artifacts_prune

if TYPE_CHECKING:
    from recommender.ml.score import TopN

logger = logging.getLogger(__name__)

ACTIVATABLE = COMPLETED_STATUSES

_COLUMNS = ("version_id", "user_id", "video_id", "score", "rank", "reason_video_id")


def recommendations_write(*, version: ModelVersion, data: InteractionMatrix, top: TopN) -> int:
    """Bulk-write a version's top-N rows (not yet visible: the version is not active)."""
    import numpy as np

    valid = top.video_index >= 0
    rows_idx, cols_idx = np.nonzero(valid)
    user_ids = data.user_ids[top.user_index[rows_idx]]
    video_ids = data.video_ids[top.video_index[rows_idx, cols_idx]]
    scores = top.score[rows_idx, cols_idx].astype(float)
    ranks = cols_idx + 1
    reason_idx = top.reason_index[rows_idx, cols_idx]
    reason_ids = np.where(reason_idx >= 0, data.video_ids[np.maximum(reason_idx, 0)], -1)

    if not np.all(np.isfinite(scores)):
        raise ValueError("the model produced non-finite scores")
    columns = (user_ids, video_ids, scores, ranks, reason_ids)
    if connection.vendor == "postgresql":
        table = Recommendation._meta.db_table
        with connection.cursor() as cursor:
            copy_sql = f"COPY {table} ({', '.join(_COLUMNS)}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for block in _copy_blocks(version.pk, columns):
                    copy.write(block)
    else:
        Recommendation.objects.bulk_create(
            (Recommendation(**dict(zip(_COLUMNS, record, strict=True))) for record in _records(version.pk, columns)),
            batch_size=2000,
        )
    return len(user_ids)


_BLOCK_ROWS = 65_536  # rows per COPY text block: a large catalog never holds every row as text


def _records(version_id: int, columns: tuple[Any, ...], start: int = 0, stop: int | None = None) -> Iterator[tuple]:
    """Rows ``start:stop`` of the column arrays as ``_COLUMNS`` tuples (no reason: ``None``)."""
    user_ids, video_ids, scores, ranks, reason_ids = (c[start:stop].tolist() for c in columns)
    for user_id, video_id, score, rank, reason in zip(user_ids, video_ids, scores, ranks, reason_ids, strict=True):
        yield version_id, user_id, video_id, score, rank, reason if reason >= 0 else None


def _copy_blocks(version_id: int, columns: tuple[Any, ...]) -> Iterator[str]:
    """The rows in ``COPY``'s text format, a block at a time: only numbers (floats by ``repr``, exact),
    nothing to escape; ``\\N`` is NULL."""
    for start in range(0, len(columns[0]), _BLOCK_ROWS):
        yield "".join(
            f"{version}\t{user}\t{video}\t{score!r}\t{rank}\t{reason}\n"
            for version, user, video, score, rank, reason in _records(version_id, columns, start, start + _BLOCK_ROWS)
        ).replace("\tNone\n", "\t\\N\n")


def version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make ``version`` the one readers see, in one short transaction (the previous one retires).

    A version the promotion gate rejected may be activated by an explicit decision, provided its
    recommendations were written. The version's saved model must be present and intact
    (``ArtifactUnavailable`` otherwise): the predict and evaluate commands and scoring load it."""
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        _check_activatable(locked)
        artifact_verify(version=locked)
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exclude(pk=version.pk).update(
            status=ModelVersion.Status.RETIRED
        )
        now = timezone.now()
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.ACTIVE, activated_at=now)
        # Readers' cached copy of the active version: dropped now and again once this commits
        # (a reader between the two could re-cache the old version inside an outer transaction).
        transaction.on_commit(active_version_cache_clear)
    active_version_cache_clear()
    version.status = ModelVersion.Status.ACTIVE
    version.activated_at = now
    return version


def _check_activatable(locked: ModelVersion) -> None:
    """``RetrainError`` with one readable line when ``locked`` may not become the active version."""
    if locked.status not in ACTIVATABLE:
        raise RetrainError(
            f"Model version {locked.pk} is {locked.status}; only a version that finished training can be activated.",
            locked,
        )
    if (locked.metrics or {}).get("recommendations_pruned"):
        raise RetrainError(
            f"Model version {locked.pk} can no longer be activated: its recommendations were pruned "
            "(RECOMMENDATION_VERSIONS_KEPT); retrain instead.",
            locked,
        )
    if locked.status == ModelVersion.Status.REJECTED and locked.n_recommendations == 0:
        raise RetrainError(
            f"Model version {locked.pk} was rejected before any recommendation was written "
            f"({(locked.gate or {}).get('reason', 'see its gate')}); it cannot be activated.",
            locked,
        )


def recommendations_prune(*, keep: int) -> int:
    """Delete the stored rows (recommendations and prepared feeds) of all but the newest ``keep``
    inactive versions; returns how many versions were pruned.

    Every retrain adds a full top-N table, so without this the table grows forever. The newest
    ``keep`` inactive versions keep their rows for an instant rollback; a pruned version is marked
    (``metrics.recommendations_pruned``) and can no longer be activated.
    """
    candidates = (
        ModelVersion.objects.filter(n_recommendations__gt=0)
        .exclude(status__in=[ModelVersion.Status.ACTIVE, ModelVersion.Status.RUNNING])
        .order_by("-pk")
    )
    pruned = list(candidates[max(keep, 0) :])
    for version in pruned:
        Recommendation.objects.filter(version=version).delete()
        PreparedFeed.objects.filter(version=version).delete()  # the feeds prepared from those rows
        version.metrics = {**(version.metrics or {}), "recommendations_pruned": True}
        version.n_recommendations = 0
        version.save(update_fields=["metrics", "n_recommendations"])
    if pruned:
        logger.info("Pruned the recommendations of model versions %s", [v.pk for v in pruned])
    _prepared_feeds_prune(keep=settings.PREPARED_FEED_VERSIONS_KEPT)
    artifacts_prune()
    return len(pruned)


def _prepared_feeds_prune(*, keep: int) -> None:
    """Drop the prepared feeds of all but the newest ``keep`` inactive versions (the active
    version's stay). Their rows stay, so such a version can still be activated; it is then served
    from the rows (``manage.py prepare_feeds`` prepares it again)."""
    inactive = (
        PreparedFeed.objects.exclude(version__status__in=[ModelVersion.Status.ACTIVE, ModelVersion.Status.RUNNING])
        .order_by("-version_id")
        .values_list("version_id", flat=True)
        .distinct()
    )
    dropped = list(inactive)[max(keep, 0) :]
    if dropped:
        PreparedFeed.objects.filter(version_id__in=dropped).delete()
        logger.info("Dropped the prepared feeds of model versions %s", dropped)


def version_rollback(*, version: ModelVersion | None = None) -> ModelVersion:
    """Serve an earlier version again, instantly: its recommendations are still stored, nothing is
    retrained.

    Without ``version``: the newest version that was active before and is older than the active
    one (so repeated rollbacks walk back through history). Raises ``RetrainError`` with one
    readable line when there is nothing to roll back to or the version cannot be activated.
    """
    active = active_version()
    if version is None:
        earlier = ModelVersion.objects.filter(status=ModelVersion.Status.RETIRED, n_recommendations__gt=0)
        if active is not None:
            earlier = earlier.filter(pk__lt=active.pk)
        version = earlier.order_by("-pk").first()
        if version is None:
            raise RetrainError(
                "There is no earlier version to roll back to"
                + (f" (version {active.pk} is active)." if active is not None else ".")
            )
    elif active is not None and version.pk == active.pk:
        raise RetrainError(f"Model version {version.pk} is already active.", version)
    version_activate(version=version)
    logger.info(
        "Rolled back: model version %s is active (was %s).", version.pk, active.pk if active is not None else "none"
    )
    return version
