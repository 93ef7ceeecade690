"""Reads for the operator's console: the dashboard's figures, a version's readable report and the
small-catalog heat maps.

Reads only, and the number of queries does not grow with the data: each figure is one aggregate
(counts, histograms and top lists are computed by the database, never by looping over rows here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from recommender.models import ModelVersion, Recommendation
from recommender.selectors import active_version
from videos.models import Video, WatchEvent

DAYS = 30
LOSS_VERSIONS = 6
METRIC_VERSIONS = 20
SCORE_BINS = 10
TOP_VIDEOS = 10
# Catalogs up to this many viewers and videos get the observed/predicted heat maps.
HEATMAP_MAX = 50
BEAT_TASK_NAME = "retrain-recommender"
VERSION_FIELDS = (
    "id",
    "status",
    "stage",
    "created_at",
    "finished_at",
    "activated_at",
    "objective",
    "architecture",
    "metrics",
    "history",
    "triggered_by",
    "last_event_id",
    "n_users",
    "n_videos",
)


@dataclass
class Schedule:
    interval_minutes: int
    enabled: bool | None = None  # None: beat has not run yet (no schedule row)
    last_run_at: datetime | None = None
    next_run_at: datetime | None = None
    last_run_made_version: bool | None = None
    nothing_new: bool = False
    new_events: int = 0


@dataclass
class Dashboard:
    viewers: int
    videos: int
    watches: int
    watches_24h: int
    per_day: list[tuple[date, int]]
    active: ModelVersion | None
    active_age: timedelta | None
    in_progress: ModelVersion | None
    versions: list[ModelVersion]  # newest first, the last METRIC_VERSIONS
    score_bins: list[tuple[str, int]]
    recommended_videos: int
    top_videos: list[tuple[int, str, int]]
    schedule: Schedule
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def catalog_coverage(self) -> float | None:
        return self.recommended_videos / self.videos if self.active and self.videos else None


def dashboard_read(*, now: datetime | None = None) -> Dashboard:
    """Everything the dashboard shows, in a fixed number of queries."""
    now = now or timezone.now()
    totals = WatchEvent.objects.aggregate(
        watches=Count("id"),
        viewers=Count("user_id", distinct=True),
        recent=Count("id", filter=Q(watched_at__gte=now - timedelta(hours=24))),
        latest=Max("id"),
    )
    videos = Video.objects.count()
    start = (now - timedelta(days=DAYS - 1)).date()
    by_day = dict(
        WatchEvent.objects.filter(watched_at__date__gte=start)
        .annotate(day=TruncDate("watched_at"))
        .order_by()
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    per_day = [(start + timedelta(days=i), by_day.get(start + timedelta(days=i), 0)) for i in range(DAYS)]

    versions = list(ModelVersion.objects.only(*VERSION_FIELDS).order_by("-pk")[:METRIC_VERSIONS])
    active = next((v for v in versions if v.status == ModelVersion.Status.ACTIVE), None)
    if active is None:
        active = active_version()
    in_progress = next(
        (v for v in versions if v.status in (ModelVersion.Status.RUNNING, ModelVersion.Status.QUEUED)), None
    )

    score_bins: list[tuple[str, int]] = []
    recommended_videos = 0
    top_videos: list[tuple[int, str, int]] = []
    if active is not None:
        rows = Recommendation.objects.filter(version=active)
        bounds = rows.aggregate(
            low=Min("score"), high=Max("score"), covered=Count("video_id", distinct=True, filter=Q(rank__lte=10))
        )
        recommended_videos = bounds["covered"]
        if bounds["low"] is not None:
            low, high = float(bounds["low"]), float(bounds["high"])
            high = max(high, low + 1e-6)
            edges = [low + (high - low) * i / SCORE_BINS for i in range(SCORE_BINS + 1)]
            bins = {}
            for i in range(SCORE_BINS):
                cond = Q(score__gte=edges[i]) if i > 0 else Q()
                if i < SCORE_BINS - 1:
                    cond &= Q(score__lt=edges[i + 1])
                bins[f"b{i}"] = Count("id", filter=cond)
            counts = rows.aggregate(**bins)
            score_bins = [(f"{edges[i] * 100:.3g}", counts[f"b{i}"]) for i in range(SCORE_BINS)]
        top_videos = list(
            rows.filter(rank__lte=10)
            .order_by()
            .values("video_id")
            .annotate(n=Count("id"))
            .order_by("-n", "video_id")
            .values_list("video_id", "video__title", "n")[:TOP_VIDEOS]
        )

    schedule = _schedule(now=now, active=active, latest_event_id=totals["latest"])
    return Dashboard(
        viewers=totals["viewers"],
        videos=videos,
        watches=totals["watches"],
        watches_24h=totals["recent"],
        per_day=per_day,
        active=active,
        active_age=(now - (active.activated_at or active.created_at)) if active else None,
        in_progress=in_progress,
        versions=versions,
        score_bins=score_bins,
        recommended_videos=recommended_videos,
        top_videos=top_videos,
        schedule=schedule,
    )


def _schedule(*, now: datetime, active: ModelVersion | None, latest_event_id: int | None) -> Schedule:
    """The periodic retrain: when it ran, when it runs next, whether it will find anything new."""
    from django_celery_beat.models import PeriodicTask

    schedule = Schedule(interval_minutes=settings.RETRAIN_INTERVAL_MINUTES)
    task = PeriodicTask.objects.filter(name=BEAT_TASK_NAME).only("enabled", "last_run_at").first()
    since = (latest_event_id or 0) - ((active.last_event_id or 0) if active else 0)
    schedule.new_events = max(since, 0)
    schedule.nothing_new = active is not None and since <= 0
    if task is not None:
        schedule.enabled = task.enabled
        schedule.last_run_at = task.last_run_at
        if task.last_run_at:
            schedule.next_run_at = task.last_run_at + timedelta(minutes=schedule.interval_minutes)
            made = ModelVersion.objects.filter(triggered_by="beat", created_at__gte=task.last_run_at).exists()
            schedule.last_run_made_version = made
    return schedule


# ------------------------------------------------------------------------------------ heat maps


@dataclass(frozen=True)
class Heatmaps:
    users: list[str]
    videos: list[str]
    observed: list[list[float | None]]
    predicted: list[list[float | None]]
    watched: list[list[bool]]


def heatmaps_read(*, version: ModelVersion) -> Heatmaps | None:
    """The observed completions (the furthest each viewer got in each video) and the version's published
    scores, viewer × video, when the catalog has at most ``HEATMAP_MAX`` viewers and videos; else
    ``None``. Scores exist for the videos a viewer had not watched (those are what the site can
    recommend); a watched cell shows no prediction."""
    if not version.last_event_id:
        return None
    User = get_user_model()
    events = WatchEvent.objects.filter(pk__lte=version.last_event_id)
    sizes = events.aggregate(users=Count("user_id", distinct=True), videos=Count("video_id", distinct=True))
    if not sizes["users"] or sizes["users"] > HEATMAP_MAX or sizes["videos"] > HEATMAP_MAX:
        return None
    pairs = list(
        events.order_by()
        .values("user_id", "video_id")
        .annotate(value=Max("completion"))
        .values_list("user_id", "video_id", "value")
    )
    user_ids = sorted({u for u, _v, _c in pairs})
    video_ids = sorted({v for _u, v, _c in pairs})
    names = dict(User.objects.filter(pk__in=user_ids).values_list("pk", User.USERNAME_FIELD))
    titles = dict(Video.objects.filter(pk__in=video_ids).values_list("pk", "title"))
    row = {u: i for i, u in enumerate(user_ids)}
    col = {v: j for j, v in enumerate(video_ids)}
    observed: list[list[float | None]] = [[None] * len(video_ids) for _ in user_ids]
    predicted: list[list[float | None]] = [[None] * len(video_ids) for _ in user_ids]
    watched = [[False] * len(video_ids) for _ in user_ids]
    for u, v, c in pairs:
        observed[row[u]][col[v]] = c
        watched[row[u]][col[v]] = True
    scores = Recommendation.objects.filter(version=version).values_list("user_id", "video_id", "score")
    for u, v, s in scores:
        if u in row and v in col:
            predicted[row[u]][col[v]] = s
    return Heatmaps(
        users=[names.get(u, f"user {u}") for u in user_ids],
        videos=[titles.get(v, f"video {v}") for v in video_ids],
        observed=observed,
        predicted=predicted,
        watched=watched,
    )
