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

Fast serving: when a version is published, each viewer's model feed is written ready to send, per
language (``PreparedFeed``, see ``recommender.services.feeds``). A request then reads that one row
together with the videos finished since (one query) and slices it; ``recommendation_feed_data`` hands
the API its JSON items as they are. Without a prepared row (a viewer who joined after the retrain, a
version published before prepared feeds existed, a failed preparation, a catalog edit since) the
feed is read from the recommendation rows as before: the same items either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from recommender import selectors
from recommender.calibration import match_of
from recommender.models import ModelVersion, PreparedFeed, Recommendation
from videos import rows
from videos import selectors as video_selectors
from videos.models import Category, Video, WatchEvent
from videos.payload import VideoData, video_values

# A watched video explains a pick only when it is at least this long: a six-second test clip
# says nothing about the viewer's taste.
REASON_MIN_SECONDS = 60
# The popular fallback aggregates over every watch event: computed at most once a minute.
POPULAR_CACHE_KEY = "feed:popular-video-ids"
POPULAR_CACHE_SECONDS = 60
POPULAR_POOL = 200
# ``ModelVersion.metrics[PREPARED_KEY]``: {"rows": n, "languages": [...], "format": PREPARED_FORMAT} once
# its feeds are prepared. Rows of another format (an older release) are not read: the version is
# served from its recommendation rows until ``manage.py prepare_feeds`` or the next retrain.
PREPARED_KEY = "prepared_feeds"
PREPARED_FORMAT = 2


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
    # The viewer's furthest progress on the items' videos, when the read gave it (see ``Prepared``);
    # None: ask ``videos.selectors.user_completions``.
    progress: dict[int, float] | None = None

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


def _model_items(
    user: Any, version: ModelVersion, calibration: dict[str, Any] | None, limit: int, offset: int
) -> list[FeedItem]:
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


def feed_item_data(item: FeedItem, video_data: VideoData) -> dict[str, Any]:
    """One item as ``GET /api/recommendations/`` sends it (``api.recommendations``)."""
    detail = item.reason_data()
    return {
        "rank": item.rank,
        "score": item.score,
        "match": item.match,
        "video": video_data(video_values(item.video)),
        "reason": item.reason_text,
        "reason_detail": detail,
        "reason_video": detail.get("video"),
    }


@dataclass
class Prepared:
    """A viewer's prepared feed (``PreparedFeed.payload``) less the videos finished since."""

    lines: list[str]  # "<video id> <item JSON>" per item, best first; the JSON as the API sends it, without "rank"
    category_names: str  # JSON: category id -> name in the row's language (pages only)
    language: str
    # The viewer's furthest progress on the videos watched since the version (None: not read).
    progress: dict[int, float] | None = None

    def items(self, limit: int, offset: int) -> list[str]:
        """The JSON of the items from position ``offset`` (0-based), at most ``limit``."""
        return [line[line.index(" ") + 1 :] for line in self.lines[offset : offset + limit]]

    def entries(self, limit: int, offset: int) -> list[dict[str, Any]]:
        return [json.loads(item) for item in self.items(limit, offset)]


# The prepared row and, as two arrays, the viewer's furthest progress on every video watched since the
# version's data was read (events after ``last_event_id``: the rule of ``_model_items``). The picks
# leave out everything watched before, so this is all the progress there is on them.
_PREPARED_SQL = (
    "SELECT p.payload, s.ids, s.best FROM {prepared} p LEFT JOIN LATERAL"
    " (SELECT array_agg(w.video_id) AS ids, array_agg(w.best) AS best FROM"
    " (SELECT e.video_id, MAX(e.completion) AS best FROM {events} e WHERE e.user_id = %s AND e.id > %s"
    " GROUP BY e.video_id) w) s ON true"
    " WHERE p.version_id = %s AND p.user_id = %s AND p.language = %s"
)


def _prepared(user: Any, version: ModelVersion) -> Prepared | None:
    """The viewer's prepared feed of ``version`` in the active language (None: not prepared).

    On PostgreSQL one query reads the row and the viewer's progress since the version (kept as
    ``Prepared.progress``; finished videos leave the feed). The payload is split into its lines (see
    ``services.feeds``); no item is parsed here.
    """
    language = get_language() or ""
    prepared = (version.metrics or {}).get(PREPARED_KEY) or {}
    if prepared.get("format") != PREPARED_FORMAT or language not in prepared.get("languages", ()):
        return None
    if connection.vendor == "postgresql":
        # Hand-written SQL: the ORM would compile the same two-part query on every request.
        since = version.last_event_id if version.last_event_id is not None else 0
        with connection.cursor() as cursor:
            cursor.execute(
                _PREPARED_SQL.format(prepared=PreparedFeed._meta.db_table, events=WatchEvent._meta.db_table),
                [user.pk, since, version.pk, user.pk, language],
            )
            found = cursor.fetchone()
        if found is None:
            return None
        payload, ids, best = found
        progress = {int(pk): float(value) for pk, value in zip(ids or (), best or (), strict=True)}
        done = settings.FINISHED_COMPLETION
        finished_ids = [pk for pk, value in progress.items() if value >= done]
        return _prepared_lines(payload, finished_ids, language, progress)
    rows = PreparedFeed.objects.filter(version_id=version.pk, user_id=user.pk, language=language)
    payload = rows.values_list("payload", flat=True).first()
    if payload is None:
        return None
    finished = video_selectors.finished_video_ids(user=user)
    if version.last_event_id is not None:
        finished = finished.filter(id__gt=version.last_event_id)
    return _prepared_lines(payload, list(finished.values_list("video_id", flat=True)), language)


def _prepared_lines(
    payload: str, finished_ids: list[int], language: str, progress: dict[int, float] | None = None
) -> Prepared:
    """A stored payload split into its lines, less the videos in ``finished_ids`` (nothing parsed)."""
    category_names, *lines = payload.split("\n")
    if finished_ids:
        gone = {str(pk) for pk in finished_ids}
        lines = [line for line in lines if line.partition(" ")[0] not in gone]
    return Prepared(lines, category_names, language, progress)


_VIDEO_CATEGORY = Video._meta.get_field("category")


def _prepared_video(data: dict[str, Any], categories: dict[int, Category]) -> Video:
    """An unsaved ``Video`` carrying what the pages show, from an item's JSON (built positionally,
    ``videos.rows.unsaved``). ``categories``: the feed's categories by id (see ``_prepared_items``)."""
    video = rows.unsaved(
        Video,
        id=data["id"],
        title=data["title"],
        description=data["description"],
        duration_seconds=data["duration_seconds"],
        media_url=data["media_url"],
        thumbnail_url=data["thumbnail_url"],
        category_id=data["category"]["id"] if data["category"] is not None else None,
        tags=",".join(data["tags"]),
        created_at=datetime.fromisoformat(data["created_at"]),
    )
    _VIDEO_CATEGORY.set_cached_value(video, categories.get(video.category_id) if video.category_id else None)
    return video


def _prepared_items(prepared: Prepared, limit: int, offset: int) -> list[FeedItem]:
    """The items of a prepared feed. A feed's fifty picks share a few categories and explaining
    videos: each is built once and shared by its items (read-only objects for the pages)."""
    items = []
    category_names = json.loads(prepared.category_names)
    translated = Category.TRANSLATED_NAMES.get(prepared.language.lower())
    categories: dict[int, Category] = {}
    watched_videos: dict[int, Video] = {}
    for position, entry in enumerate(prepared.entries(limit, offset), start=offset + 1):
        reason = dict(entry["reason_detail"])
        watched = entry["reason_video"]
        if watched is not None:
            if watched["id"] not in watched_videos:
                watched_videos[watched["id"]] = rows.unsaved(Video, id=watched["id"], title=watched["title"])
            reason["video_obj"] = watched_videos[watched["id"]]
        category = entry["video"]["category"]
        if category is not None and category["id"] not in categories:
            names = {translated: category_names.get(str(category["id"]), "")} if translated else {}
            categories[category["id"]] = rows.unsaved(
                Category, id=category["id"], name=category["name"], slug=category["slug"], **names
            )
        video = _prepared_video(entry["video"], categories)
        items.append(FeedItem(video, position, entry["score"], entry["match"], reason, entry["reason"]))
    return items


def _feed(user: Any, limit: int, offset: int, *, read: FeedRead | None = None) -> tuple[Feed, Prepared | None]:
    """The feed and, when it comes from a prepared feed, that feed (its items not yet parsed).
    ``read``: the version and prepared feed already read (``feed_read``)."""
    if read is None:
        version = selectors.active_version_cached()
        read = FeedRead(version, (version.metrics or {}).get("calibration") if version is not None else None)
        if version is not None and user.is_authenticated:
            read.prepared = _prepared(user, version)
    version = read.version
    if version is not None and user.is_authenticated:
        if read.prepared is not None:
            if read.prepared.lines[offset : offset + 1] or offset > 0:
                return Feed([], "model", version), read.prepared
        else:
            items = _model_items(user, version, read.calibration, limit, offset)
            if items or offset > 0:
                return Feed(items, "model", version), None
    return Feed(_popular_items(user, limit, offset), "popular", version), None


def recommendation_feed(*, user: Any, limit: int, offset: int = 0) -> Feed:
    """The viewer's feed (see the module text): at most ``limit`` items from position ``offset``."""
    feed, prepared = _feed(user, limit, offset)
    if prepared is not None:
        feed.items = _prepared_items(prepared, limit, offset)
        feed.progress = prepared.progress
    return feed


# The API's path on PostgreSQL: the active version's brief and calibration, its prepared row for the
# viewer and language (if any), and the videos finished since, in one query (no cache read). ``{user}``
# is the viewer's id as SQL: an integer, or a column when the token lookup reads the feed with the
# user (``api.recommendations``); the parameters come from ``feed_read_params``.
_ACTIVE_PREPARED_SQL = (
    "SELECT v.id, v.finished_at, v.activated_at, v.objective, v.architecture, v.last_event_id,"
    " v.metrics -> %s ->> 'format', v.metrics -> 'calibration', p.payload,"
    " ARRAY(SELECT DISTINCT e.video_id FROM {events} e"
    " WHERE e.user_id = {user} AND e.completion >= %s AND e.id > COALESCE(v.last_event_id, 0))"
    " FROM {versions} v LEFT JOIN {prepared} p ON p.version_id = v.id AND p.user_id = {user} AND p.language = %s"
    " WHERE v.status = %s"
)
_BRIEF_FIELDS = ("id", "finished_at", "activated_at", "objective", "architecture", "last_event_id")
FEED_READ_COLUMNS = 10  # the columns of feed_read_sql, in order


@dataclass
class FeedRead:
    """The active version (brief fields only), its calibration, and the viewer's prepared feed of it
    (None: not prepared in this language and format), read in one query (``feed_read_sql``)."""

    version: ModelVersion | None
    calibration: dict[str, Any] | None = None
    prepared: Prepared | None = None


def feed_read_sql(user_sql: str) -> str:
    """The SELECT of a ``FeedRead`` (``FEED_READ_COLUMNS`` columns, at most one row), the viewer's id
    given as the SQL expression ``user_sql``."""
    return _ACTIVE_PREPARED_SQL.format(
        versions=ModelVersion._meta.db_table,
        prepared=PreparedFeed._meta.db_table,
        events=WatchEvent._meta.db_table,
        user=user_sql,
    )


def feed_read_params(language: str) -> list[Any]:
    """The parameters of ``feed_read_sql`` (other than the user), in order."""
    return [PREPARED_KEY, settings.FINISHED_COMPLETION, language, ModelVersion.Status.ACTIVE]


def feed_read_from_row(row: tuple[Any, ...] | None, language: str) -> FeedRead:
    """A ``FeedRead`` from the columns of ``feed_read_sql`` (None or a NULL version id: no active version)."""
    if row is None or row[0] is None:
        return FeedRead(None)
    version = ModelVersion.from_db(connection.alias, _BRIEF_FIELDS, row[:6])
    prepared_format, calibration, payload, finished_ids = row[6:]
    if isinstance(calibration, str):  # Django reads jsonb as text (its JSONField parses it)
        calibration = json.loads(calibration)
    read = FeedRead(version, calibration)
    if payload is not None and prepared_format == str(PREPARED_FORMAT):
        read.prepared = _prepared_lines(payload, finished_ids, language)
    return read


def feed_read(user: Any) -> FeedRead | None:
    """The API's read of the active version and the viewer's prepared feed, in one query on
    PostgreSQL (None elsewhere, or for an anonymous user: read them the usual way)."""
    if connection.vendor != "postgresql" or not user.is_authenticated:
        return None
    language = get_language() or ""
    with connection.cursor() as cursor:
        cursor.execute(feed_read_sql(str(int(user.pk))), feed_read_params(language))  # an integer id as SQL
        return feed_read_from_row(cursor.fetchone(), language)


def recommendation_feed_data(
    *, user: Any, limit: int, offset: int = 0, read: FeedRead | None = None
) -> tuple[Feed, list[str]]:
    """``recommendation_feed`` with its items as the API sends them: each item's JSON text
    (``feed_item_data``, serialised); from a prepared feed, the stored JSON with its rank put in front
    (``feed.items`` stays empty), so nothing is parsed or re-serialised on this path.

    ``feed.version`` may carry only the fields of ``api.recommendations.model_version_brief``. ``read``:
    the viewer's ``FeedRead`` when the caller has it already (read with the token)."""
    feed, prepared = _feed(user, limit, offset, read=read or feed_read(user))
    if prepared is None:
        video_data = VideoData()
        return feed, [json_text(feed_item_data(item, video_data)) for item in feed.items]
    return feed, [
        f'{{"rank":{rank},{item[1:]}' for rank, item in enumerate(prepared.items(limit, offset), start=offset + 1)
    ]


def json_text(value: Any) -> str:
    """Compact JSON as DRF's renderer writes it (U+2028/U+2029 escaped, so it is valid JavaScript too)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
