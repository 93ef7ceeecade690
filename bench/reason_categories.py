#!/usr/bin/env python
"""How believable are the "Because you watched X" reasons? Share of reasons in the pick's category.

Reads the active model version of the database in ``DATABASE_URL`` (e.g. after ``manage.py seed_demo``
and ``manage.py retrain``) and prints JSON with two figures over every viewer's published picks:

- ``stored``: the reasons as the scorer wrote them (``Recommendation.reason_video``): what the site
  showed before the feed (``recommender/feed.py``);
- ``feed``: the reasons the feed shows now (``recommendation_feed``; a short clip never explains a pick,
  a pick without a believable reason says "Popular with viewers like you").

    DJANGO_DEBUG=1 DATABASE_URL=postgres://... .venv/bin/python bench/reason_categories.py [--recompute]

``--recompute`` first rewrites the version's reasons with ``recommender.reasons.reasons_assign`` (loads
the version's artifact: imports TensorFlow), by the rule the scorer applies when it publishes; useful
for a version published before that rule.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings")


def main() -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from recommender.feed import REASON_MIN_SECONDS, recommendation_feed
    from recommender.models import Recommendation
    from recommender.selectors import active_version
    from videos.models import Video

    version = active_version()
    if version is None:
        raise SystemExit("no active model version: run manage.py retrain first")
    assigned = None
    if "--recompute" in sys.argv[1:]:
        from recommender.ml.architectures import forward_of
        from recommender.reasons import reasons_assign
        from recommender.services import artifact_load

        artifact = artifact_load(version=version)
        vectors = forward_of(artifact.model).video_vectors()
        assigned = reasons_assign(version=version, vectors=vectors, data=artifact.data)
    rows = Recommendation.objects.filter(version=version).select_related("video", "reason_video")
    stored = Counter()
    for row in rows.iterator():
        stored["picks"] += 1
        if row.reason_video is None:
            continue
        stored["named"] += 1
        stored["same_category"] += int(row.reason_video.category_id == row.video.category_id)
        stored["short_clip"] += int(0 < row.reason_video.duration_seconds < REASON_MIN_SECONDS)
    feed = Counter()
    # A prepared feed's explaining video carries its id and title only: categories from the table.
    category_of = dict(Video.objects.values_list("pk", "category_id"))
    users = get_user_model().objects.filter(pk__in=rows.values("user_id"))
    for user in users:
        for item in recommendation_feed(user=user, limit=settings.RECOMMENDATIONS_TOP_N).items:
            feed["picks"] += 1
            feed[item.reason["kind"]] += 1
            if item.reason_video is not None:
                feed["named"] += 1
                feed["same_category"] += int(category_of[item.reason_video.pk] == category_of[item.video.pk])

    def share(counts: Counter, key: str, of: str) -> float:
        return round(counts[key] / counts[of], 4) if counts[of] else 0.0

    out = {
        "version": version.pk,
        "recomputed": assigned,
        "viewers": users.count(),
        "stored": {**stored, "same_category_share": share(stored, "same_category", "named")},
        "feed": {**feed, "same_category_share": share(feed, "same_category", "named")},
        "load": os.getloadavg(),
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
