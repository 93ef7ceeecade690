"""Prepared feeds: each viewer's model feed of a version, written ready to send when it is published.

``feeds_prepare`` runs after a version's recommendation rows are written and before it is activated
(so activation stays one atomic flip); it writes one ``PreparedFeed`` row per viewer and language of
the site (``settings.LANGUAGES``): the items exactly as ``recommender.feed`` builds them from the
rows (``feed_item_data``, without the rank), plus the category names in that language for the pages.
Requests then read one row (``recommender.feed``). The rows go with the version's recommendations
(``recommendations_prune``, a failed retrain).

A video or category edited or deleted after publishing would leave its old title or name in the
prepared rows: those rows are dropped (``catalog_changed``), and the viewers concerned are served
from the recommendation rows until the next retrain (or ``manage.py prepare_feeds``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone, translation

from recommender.calibration import match_of
from recommender.feed import PREPARED_KEY, FeedItem, _model_reason, feed_item_data
from recommender.models import ModelVersion, PreparedFeed, Recommendation
from videos.models import Category, Video
from videos.payload import VideoData

logger = logging.getLogger(__name__)

# Viewers read and written per batch (their rows are held in memory meanwhile).
PREPARE_BATCH_USERS = 500
_COLUMNS = ("version_id", "user_id", "language", "payload", "video_ids", "created_at")


def feed_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def feeds_prepare(*, version: ModelVersion) -> int:
    """(Re)write the prepared feeds of ``version`` for every viewer it has rows for, in every
    language; returns how many rows were written."""
    PreparedFeed.objects.filter(version=version).delete()
    user_ids = list(
        Recommendation.objects.filter(version=version).order_by("user_id").values_list("user_id", flat=True).distinct()
    )
    written = 0
    video_data = _VideoDataOnce()
    for start in range(0, len(user_ids), PREPARE_BATCH_USERS):
        chunk = user_ids[start : start + PREPARE_BATCH_USERS]
        records = list(_records(version, chunk, video_data))
        _write(records)
        written += len(records)
    # Readers look for prepared rows only in a version that says it has them (the active version is
    # cached with its metrics): a version published before this costs no extra query.
    version.metrics = {**(version.metrics or {}), PREPARED_KEY: {"rows": written, "languages": feed_languages()}}
    ModelVersion.objects.filter(pk=version.pk).update(metrics=version.metrics)
    logger.info("Prepared %s feeds of model version %s", written, version.pk)
    return written


def _records(version: ModelVersion, user_ids: list[int], video_data: VideoData) -> Iterator[tuple[Any, ...]]:
    rows = (
        Recommendation.objects.filter(version=version, user_id__in=user_ids)
        .select_related("video", "video__category", "reason_video")
        .order_by("user_id", "rank")
    )
    by_user: dict[int, list[Recommendation]] = {}
    for row in rows:
        by_user.setdefault(row.user_id, []).append(row)
    calibration = (version.metrics or {}).get("calibration")
    now = timezone.now()
    for user_id, user_rows in by_user.items():
        ids = {row.video_id for row in user_rows} | {row.reason_video_id for row in user_rows if row.reason_video_id}
        video_ids = " " + " ".join(str(pk) for pk in sorted(ids)) + " "
        for language in feed_languages():
            with translation.override(language):
                payload = _payload(user_rows, calibration, video_data, language)
            yield (version.pk, user_id, language, payload, video_ids, now)


def _payload(
    rows: list[Recommendation],
    calibration: Any,
    video_data: VideoData,
    language: str,
) -> str:
    """The JSON of one viewer's feed in the active ``language``: as ``_model_items`` reads it live."""
    items = []
    categories: dict[str, str] = {}
    name_field = Category.TRANSLATED_NAMES.get(language.lower())
    for row in rows:
        reason, text = _model_reason(row.video, row.reason_video)
        item = FeedItem(row.video, row.rank, row.score, match_of(calibration, row.score), reason, text)
        entry = feed_item_data(item, video_data)
        del entry["rank"]
        entry["match"] = item.match  # rounded when sent, as feed_item_data rounds it
        items.append(entry)
        category = row.video.category if row.video.category_id else None
        if category is not None and name_field:
            categories[str(category.pk)] = getattr(category, name_field)
    return json.dumps({"items": items, "category_names": categories}, ensure_ascii=False, separators=(",", ":"))


class _VideoDataOnce(VideoData):
    """``VideoData`` that builds each video's JSON once per preparation (all viewers, languages)."""

    def __init__(self) -> None:
        super().__init__()
        self.built: dict[int, dict[str, Any]] = {}

    def __call__(self, values: Mapping[str, Any]) -> dict[str, Any]:
        found = self.built.get(values["id"])
        if found is None:
            found = self.built[values["id"]] = super().__call__(values)
        return found


def _write(records: list[tuple[Any, ...]]) -> None:
    if not records:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {PreparedFeed._meta.db_table} ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                for record in records:
                    copy.write_row(record)
    else:
        PreparedFeed.objects.bulk_create(
            (PreparedFeed(**dict(zip(_COLUMNS, record, strict=True))) for record in records), batch_size=1000
        )


def feeds_drop(*, version: ModelVersion) -> int:
    """Delete the prepared feeds of ``version``; returns how many rows went."""
    deleted, _by_model = PreparedFeed.objects.filter(version=version).delete()
    return deleted


def catalog_changed(*, video_id: int | None = None, category_id: int | None = None) -> None:
    """Drop the prepared feeds that show a video or category as it was before an edit or a delete."""
    if video_id is not None:
        PreparedFeed.objects.filter(video_ids__contains=f" {video_id} ").delete()
    if category_id is not None:
        # Compact JSON (see _payload) names a video's category exactly so.
        PreparedFeed.objects.filter(payload__contains=f'"category":{{"id":{category_id},').delete()


# Signal receivers (connected in recommender.apps). A new video is in no prepared feed yet.


def on_video_saved(sender: type[Video], instance: Video, created: bool = False, **kwargs: Any) -> None:
    if not created and not kwargs.get("raw"):
        catalog_changed(video_id=instance.pk)


def on_video_deleted(sender: type[Video], instance: Video, **kwargs: Any) -> None:
    catalog_changed(video_id=instance.pk)


def on_category_saved(sender: type[Category], instance: Category, created: bool = False, **kwargs: Any) -> None:
    if not created and not kwargs.get("raw"):
        catalog_changed(category_id=instance.pk)


def on_category_deleted(sender: type[Category], instance: Category, **kwargs: Any) -> None:
    catalog_changed(category_id=instance.pk)
