"""The API's JSON for a video, built from plain values (no serializer machinery).

``VideoData`` gives exactly ``api.serializers.VideoSerializer(video).data`` (tests/test_api.py checks
it) from a ``Video.objects.values(*VIDEO_VALUE_FIELDS)`` row or from ``video_values(video)``. It lives
here, below both ``api`` and ``recommender``, because the recommender writes the same JSON into its
prepared feeds (``recommender.prepared``) when a model version is published.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from django.utils import timezone

from videos.models import Video

VIDEO_VALUE_FIELDS = (
    "id",
    "title",
    "description",
    "duration_seconds",
    "media_url",
    "thumbnail_url",
    "tags",
    "created_at",
    "category_id",
    "category__name",
    "category__slug",
)
_URL_ID_PLACEHOLDER = 987654321


def video_values(video: Video) -> dict[str, Any]:
    """``VIDEO_VALUE_FIELDS`` of a loaded ``video`` (its category loaded with it, or none)."""
    values = {name: getattr(video, name) for name in VIDEO_VALUE_FIELDS if "__" not in name}
    category = video.category if video.category_id else None
    values["category__name"] = category.name if category else None
    values["category__slug"] = category.slug if category else None
    return values


class VideoData:
    """``VideoSerializer(video).data`` from ``Video.objects.values(*VIDEO_VALUE_FIELDS)`` rows.

    Per-row work is kept to plain Python: the time zone and the page URL pattern are looked up once
    per instance (per request) rather than once per field of every row.
    """

    def __init__(self) -> None:
        self.tz = timezone.get_current_timezone()
        self.page_url = reverse("video-detail", args=[_URL_ID_PLACEHOLDER]).replace(str(_URL_ID_PLACEHOLDER), "{}")

    def __call__(self, values: Mapping[str, Any]) -> dict[str, Any]:
        category_id = values["category_id"]
        created = values["created_at"].astimezone(self.tz).isoformat()
        return {
            "id": values["id"],
            "title": values["title"],
            "description": values["description"],
            "duration_seconds": values["duration_seconds"],
            "media_url": values["media_url"],
            "thumbnail_url": values["thumbnail_url"],
            "category": None
            if category_id is None
            else {"id": category_id, "name": values["category__name"], "slug": values["category__slug"]},
            "tags": [tag.strip() for tag in values["tags"].split(",") if tag.strip()],
            # As DRF writes datetimes: ISO 8601, UTC as "Z".
            "created_at": created[:-6] + "Z" if created.endswith("+00:00") else created,
            "page_url": self.page_url.format(values["id"]),
        }
