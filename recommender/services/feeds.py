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
import math
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone, translation

from recommender.calibration import match_of
from recommender.feed import PREPARED_FORMAT, PREPARED_KEY, _model_reason, json_text
from recommender.models import ModelVersion, PreparedFeed, Recommendation
from videos.models import Category, Video
from videos.payload import VideoData, video_values

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
    rows = Recommendation.objects.filter(version=version).order_by()  # no ordering: DISTINCT over one column
    parts = _Fragments(
        set(rows.values_list("video_id", flat=True).distinct())
        | set(rows.exclude(reason_video=None).values_list("reason_video_id", flat=True).distinct())
    )
    for start in range(0, len(user_ids), PREPARE_BATCH_USERS):
        chunk = user_ids[start : start + PREPARE_BATCH_USERS]
        records = list(_records(version, chunk, parts))
        _write(records)
        written += len(records)
    # Readers look for prepared rows only in a version that says it has them (the active version is
    # cached with its metrics): a version published before this costs no extra query.
    prepared = {"rows": written, "languages": feed_languages(), "format": PREPARED_FORMAT}
    version.metrics = {**(version.metrics or {}), PREPARED_KEY: prepared}
    ModelVersion.objects.filter(pk=version.pk).update(metrics=version.metrics)
    logger.info("Prepared %s feeds of model version %s", written, version.pk)
    return written


def _records(version: ModelVersion, user_ids: list[int], parts: _Fragments) -> Iterator[tuple[Any, ...]]:
    with connection.cursor() as cursor:  # plain tuples: hundreds of thousands of rows per version
        cursor.execute(
            f"SELECT user_id, video_id, score, reason_video_id FROM {Recommendation._meta.db_table}"
            " WHERE version_id = %s AND user_id >= %s AND user_id <= %s ORDER BY user_id, rank",
            [version.pk, user_ids[0], user_ids[-1]],
        )
        rows = cursor.fetchall()
    by_user: dict[int, list[tuple[int, float, int | None]]] = {}
    for user_id, video_id, score, reason_id in rows:
        if video_id in parts.videos:  # a video deleted since the rows were written is left out
            by_user.setdefault(user_id, []).append((video_id, score, reason_id))
    calibration = (version.metrics or {}).get("calibration")
    now = timezone.now()
    languages = feed_languages()
    for user_id, user_rows in by_user.items():
        ids = {video_id for video_id, _s, _r in user_rows} | {r for _v, _s, r in user_rows if r}
        video_ids = " " + " ".join(str(pk) for pk in sorted(ids)) + " "
        for language, payload in zip(languages, parts.payloads(user_rows, calibration, languages), strict=True):
            yield (version.pk, user_id, language, payload, video_ids, now)


class _Fragments:
    """The JSON of one viewer's feed in a language, as ``_model_items`` and ``feed_item_data`` build it
    live (without the rank), assembled from pieces serialised once per preparation: each video's
    JSON, and each (video, reason video, language)'s reason fields. Viewers share most of them, so
    a preparation serialises the catalogue once instead of every item of every viewer."""

    def __init__(self, video_ids: set[int]) -> None:
        self.videos = Video.objects.select_related("category").in_bulk(video_ids)
        self.video_data = VideoData()
        self.video_json: dict[int, str] = {}
        self.reason_json: dict[tuple[int | None, str], str] = {}

    def _video(self, video_id: int) -> str:
        found = self.video_json.get(video_id)
        if found is None:
            data = self.video_data(video_values(self.videos[video_id]))
            found = self.video_json[video_id] = json_text(data)
        return found

    def _reason(self, video_id: int, reason_id: int | None, language: str) -> str:
        key = (reason_id, language)  # the reason depends on the watched video only
        found = self.reason_json.get(key)
        if found is None:
            reason, text = _model_reason(self.videos[video_id], self.videos.get(reason_id) if reason_id else None)
            detail = {k: v for k, v in reason.items() if k != "video_obj"}
            found = self.reason_json[key] = (
                f'"reason":{json_text(text)},"reason_detail":{json_text(detail)},"reason_video":{json_text(detail.get("video"))}'
            )
        return found

    def payloads(self, rows: list[tuple[int, float, int | None]], calibration: Any, languages: list[str]) -> list[str]:
        """The ``PreparedFeed.payload`` text (``PREPARED_FORMAT``) in each of ``languages``: the
        category names as JSON on the first line, then one line per item, "<video id> <item JSON>",
        best first. Compact JSON has no raw line break, so a reader splits lines and parses (or, for
        the API, copies) only the items it sends. What does not depend on the language (the score,
        the match, the video) is serialised once for all of them."""
        heads = []
        categories: dict[str, Category] = {}
        for video_id, score, _reason_id in rows:
            heads.append(
                f'{video_id} {{"score":{_number(score)},"match":{_number(match_of(calibration, score))},'
                f'"video":{self._video(video_id)},'
            )
            video = self.videos[video_id]
            if video.category_id:
                categories.setdefault(str(video.category_id), video.category)
        texts = []
        for language in languages:
            name_field = Category.TRANSLATED_NAMES.get(language.lower())
            names = {pk: getattr(category, name_field) for pk, category in categories.items()} if name_field else {}
            with translation.override(language):
                items = [
                    f"{head}{self._reason(video_id, reason_id, language)}}}"
                    for head, (video_id, _score, reason_id) in zip(heads, rows, strict=True)
                ]
            texts.append("\n".join([json_text(names), *items]))
        return texts


def _number(value: float | None) -> str:
    """A score as ``json.dumps`` writes it (finite floats: their repr), ten times faster."""
    if value is None:
        return "null"
    value = float(value)
    return repr(value) if math.isfinite(value) else json.dumps(value)


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
