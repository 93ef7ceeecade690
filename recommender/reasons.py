"""Believable "Because you watched X" reasons, chosen when a version is published.

For each published pick, X is the viewer's watched video most similar to it by the cosine of the
video vectors the model's architecture exposes (``Forward.video_vectors``), among the videos the
viewer got well into (completion >= ``REASON_MIN_COMPLETION``) and that are not short clips
(duration >= ``REASON_MIN_SECONDS`` or unknown). When no such video is similar enough
(cosine < ``REASON_MIN_SIMILARITY``) the pick gets no named video and the feed says "Popular with
viewers like you" instead. ``reasons_assign`` rewrites ``Recommendation.reason_video`` of a version.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import transaction

from recommender.feed import REASON_MIN_SECONDS
from recommender.models import ModelVersion, Recommendation
from videos.models import Video

REASON_MIN_COMPLETION = 0.5
REASON_MIN_SIMILARITY = 0.5


def reason_choose(
    pick_vectors: np.ndarray, watched_vectors: np.ndarray, *, min_similarity: float = REASON_MIN_SIMILARITY
) -> np.ndarray:
    """For each pick (rows of unit ``pick_vectors``) the index of the most similar row of unit
    ``watched_vectors``, or -1 when none reaches ``min_similarity`` (or nothing was watched)."""
    if len(watched_vectors) == 0 or len(pick_vectors) == 0:
        return np.full(len(pick_vectors), -1, dtype=np.int64)
    similarity = pick_vectors @ watched_vectors.T
    best = np.argmax(similarity, axis=1)
    ok = similarity[np.arange(len(best)), best] >= min_similarity
    return np.where(ok, best, -1)


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norm > 0, norm, 1)).astype(np.float32)


def reasons_assign(*, version: ModelVersion, vectors: np.ndarray, data: Any, batch: int = 5000) -> dict[str, int]:
    """Rewrite the reasons of ``version``'s rows (see the module text); ``vectors``: the model's
    video vectors in ``data``'s video index order; ``data``: the version's interaction matrix."""
    unit = _unit(np.asarray(vectors, dtype=np.float32))
    video_index = {int(v): i for i, v in enumerate(data.video_ids)}
    short = set(
        Video.objects.filter(duration_seconds__gt=0, duration_seconds__lt=REASON_MIN_SECONDS).values_list(
            "pk", flat=True
        )
    )
    eligible_video = np.array([int(v) not in short for v in data.video_ids], dtype=bool)
    csr = data.matrix
    user_index = {int(u): i for i, u in enumerate(data.user_ids)}
    counts = {"rows": 0, "named": 0}
    changed: list[Recommendation] = []
    rows = Recommendation.objects.filter(version=version).order_by("user_id", "rank").only("id", "user_id", "video_id")
    by_user: dict[int, list[Recommendation]] = {}
    for row in rows.iterator(chunk_size=batch):
        by_user.setdefault(row.user_id, []).append(row)
    for user_id, recs in by_user.items():
        u = user_index.get(user_id)
        watched = csr.indices[csr.indptr[u] : csr.indptr[u + 1]] if u is not None else np.array([], dtype=np.int64)
        done = csr.data[csr.indptr[u] : csr.indptr[u + 1]] if u is not None else np.array([])
        liked = watched[(done >= REASON_MIN_COMPLETION) & eligible_video[watched]]
        picks = np.array([video_index.get(r.video_id, -1) for r in recs])
        known = picks >= 0
        best = np.full(len(recs), -1, dtype=np.int64)
        best[known] = reason_choose(unit[picks[known]], unit[liked])
        for rec, b in zip(recs, best, strict=True):
            rec.reason_video_id = int(data.video_ids[liked[b]]) if b >= 0 else None
            counts["rows"] += 1
            counts["named"] += int(b >= 0)
            changed.append(rec)
    with transaction.atomic():
        Recommendation.objects.bulk_update(changed, ["reason_video"], batch_size=batch)
    return counts
