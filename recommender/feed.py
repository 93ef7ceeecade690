"""The viewer's recommendation feed: ONE place that decides what "Recommended for you" lists.

``recommendation_feed`` is read by the ``/recommended/`` page, the home page's shelf and
``GET /api/recommendations/``, so the three always list the same videos in the same order:

- the active model version's published rows for the viewer, best first, without videos the
  viewer finished since (the published rows already leave out everything watched before);
- when the model has nothing for the viewer (no version, a new account, joined after the retrain,
  or everything finished): the most popular videos, again without the ones the viewer finished.

Every item carries the raw model score (``score``, the training objective's value: not a
completion), the viewer-facing figure (``match``, see ``recommender.calibration``), a structured
reason and that reason's text in the active language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext as _

from recommender import selectors
from recommender.calibration import match_of
from recommender.models import ModelVersion, Recommendation
from videos import selectors as video_selectors
from videos.models import Video

# A watched video explains a pick only when it is at least this long: a six-second test clip
# says nothing about the viewer's taste.
REASON_MIN_SECONDS = 60
# The popular fallback aggregates over every watch event: computed at most once a minute.
POPULAR_CACHE_KEY = "feed:popular-video-ids"
POPULAR_CACHE_SECONDS = 60
POPULAR_POOL = 200


@dataclass
class FeedItem:
    video: Video
    rank: int
    score: float | None
    match: float | None
    reason: dict[str, Any]
    reason_text: str

    @property
    def reason_video(self) -> Video | None:
        """The watched video that explains this pick (``because_you_watched`` only)."""
        return self.reason.get("video_obj")

    def reason_data(self) -> dict[str, Any]:
        """The reason as JSON-able data (what the API returns)."""
        return {key: value for key, value in self.reason.items() if key != "video_obj"}


@dataclass
class Feed:
    items: list[FeedItem]
    source: str  # "model" or "popular"
    version: ModelVersion | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cold_start(self) -> bool:
        return self.source == "popular"


def _finished_ids(user: Any) -> set[int]:
    return set(video_selectors.finished_video_ids(user=user).values_list("video_id", flat=True))


def _model_reason(video: Video, reason_video: Video | None) -> tuple[dict[str, Any], str]:
    # An unknown length (None or 0) is not held against a video; a known short one is never named.
    if reason_video is not None and not 0 < (reason_video.duration_seconds or 0) < REASON_MIN_SECONDS:
        data = {
            "kind": "because_you_watched",
            "video": {"id": reason_video.pk, "title": reason_video.title},
            "video_obj": reason_video,
        }
        return data, _("Because you watched “%(title)s”") % {"title": reason_video.title}
    return {"kind": "viewers_like_you"}, _("Popular with viewers like you")


def _model_items(user: Any, version: ModelVersion, limit: int, offset: int) -> list[FeedItem]:
    # Finished since the version's data was read (a subquery: the rows come in one query).
    finished = video_selectors.finished_video_ids(user=user)
    if version.last_event_id is not None:
        finished = finished.filter(id__gt=version.last_event_id)
    rows = (
        Recommendation.objects.filter(version=version, user=user)
        .exclude(video_id__in=finished)
        .select_related("video", "video__category", "reason_video")
        .order_by("rank")[offset : offset + limit]
    )
    calibration = (version.metrics or {}).get("calibration")
    items = []
    for position, row in enumerate(rows, start=offset + 1):
        reason, text = _model_reason(row.video, row.reason_video)
        items.append(FeedItem(row.video, position, row.score, match_of(calibration, row.score), reason, text))
    return items


def popular_video_ids() -> list[int]:
    ids = cache.get(POPULAR_CACHE_KEY)
    if ids is None:
        ids = list(video_selectors.popular_videos(limit=POPULAR_POOL).values_list("pk", flat=True))
        cache.set(POPULAR_CACHE_KEY, ids, POPULAR_CACHE_SECONDS)
    return ids


def _popular_items(user: Any, limit: int, offset: int) -> list[FeedItem]:
    finished = _finished_ids(user) if user.is_authenticated else set()
    ids = [pk for pk in popular_video_ids() if pk not in finished][offset : offset + limit]
    videos = Video.objects.select_related("category").in_bulk(ids)
    items: list[FeedItem] = []
    for pk in ids:
        video = videos.get(pk)
        if video is None:
            continue
        reason: dict[str, Any] = {"kind": "popular"}
        text = _("Popular with viewers")
        if video.category_id:
            reason = {
                "kind": "trending_in_category",
                "category": {"slug": video.category.slug, "name": video.category.name},
            }
            text = _("Trending in %(category)s") % {"category": video.category.display_name}
        items.append(FeedItem(video, offset + len(items) + 1, None, None, reason, text))
    return items


def recommendation_feed(*, user: Any, limit: int, offset: int = 0) -> Feed:
    """The viewer's feed (see the module text): at most ``limit`` items from position ``offset``."""
    version = selectors.active_version_cached()
    if version is not None and user.is_authenticated:
        items = _model_items(user, version, limit, offset)
        if items or offset > 0:
            return Feed(items, "model", version)
    return Feed(_popular_items(user, limit, offset), "popular", version)
