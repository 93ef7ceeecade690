"""Believable "Because you watched X" reasons, chosen when a version is published.

For each published pick, X is the viewer's watched video most similar to it by the cosine of the
video vectors the model's architecture exposes (``Forward.video_vectors``), among the videos the
viewer got well into (completion >= ``REASON_MIN_COMPLETION``) and that are not short clips
(duration >= ``REASON_MIN_SECONDS`` or unknown). When no such video is similar enough
(cosine < ``REASON_MIN_SIMILARITY``) the pick gets no named video and the feed says "Popular with
viewers like you" instead. The scorer applies this rule as it writes a version's rows
(``reason_rule``, ``recommender.ml.score.reasons_for``); ``reasons_assign`` applies it again to the
rows of a stored version (after the rule or the catalogue's durations changed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import transaction

from recommender.feed import REASON_MIN_SECONDS
from recommender.ml.score import REASON_MIN_COMPLETION, reasons_for, unit_rows
from recommender.models import ModelVersion, Recommendation
from videos.models import Video

__all__ = ["REASON_MIN_COMPLETION", "REASON_MIN_SIMILARITY", "reason_rule", "reasons_assign"]

REASON_MIN_SIMILARITY = 0.5


def reason_rule(data: Any) -> dict[str, Any]:
    """``score_top_n``'s reason arguments for ``data``'s videos: short clips never explain a pick,
    and a pick with no similar enough well-watched video gets no named reason."""
    short = set(
        Video.objects.filter(duration_seconds__gt=0, duration_seconds__lt=REASON_MIN_SECONDS).values_list(
            "pk", flat=True
        )
    )
    eligible = np.array([int(v) not in short for v in data.video_ids], dtype=bool)
    return {"reason_eligible": eligible, "reason_min_similarity": REASON_MIN_SIMILARITY}


def reasons_assign(*, version: ModelVersion, vectors: np.ndarray, data: Any, batch: int = 5000) -> dict[str, int]:
    """Rewrite the reasons of ``version``'s rows by the rule (see the module text); ``vectors``: the
    model's video vectors in ``data``'s video index order; ``data``: the version's interaction matrix."""
    unit = unit_rows(np.asarray(vectors, dtype=np.float32))
    rule = reason_rule(data)
    video_index = {int(v): i for i, v in enumerate(data.video_ids)}
    user_index = {int(u): i for i, u in enumerate(data.user_ids)}
    csr = data.matrix
    counts = {"rows": 0, "named": 0}
    changed: list[Recommendation] = []
    rows = Recommendation.objects.filter(version=version).order_by("user_id", "rank").only("id", "user_id", "video_id")
    by_user: dict[int, list[Recommendation]] = {}
    for row in rows.iterator(chunk_size=batch):
        by_user.setdefault(row.user_id, []).append(row)
    for user_id, recs in by_user.items():
        u = user_index.get(user_id)
        span = slice(csr.indptr[u], csr.indptr[u + 1]) if u is not None else slice(0, 0)
        picks = np.array([video_index.get(r.video_id, -1) for r in recs])
        best = np.full(len(recs), -1, dtype=np.int64)
        known = picks >= 0
        best[known] = reasons_for(
            picks[known],
            csr.indices[span],
            csr.data[span],
            unit,
            eligible=rule["reason_eligible"],
            min_similarity=rule["reason_min_similarity"],
        )
        for rec, b in zip(recs, best, strict=True):
            rec.reason_video_id = int(data.video_ids[b]) if b >= 0 else None
            counts["rows"] += 1
            counts["named"] += int(b >= 0)
            changed.append(rec)
    with transaction.atomic():
        Recommendation.objects.bulk_update(changed, ["reason_video"], batch_size=batch)
    return counts
