"""Reads of model versions and recommendations; readers only ever see the active version."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet

from recommender.models import ModelVersion, Recommendation
from videos.selectors import finished_video_ids


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


# The API's recommendations endpoint asks for the active version on every request. A cached copy
# (summary fields only) saves a query per request; ``version_activate`` clears it whenever the
# active version changes. With a per-process cache (no Redis) other processes may keep serving the
# previous version for up to ACTIVE_VERSION_CACHE_SECONDS.
ACTIVE_VERSION_CACHE_KEY = "recommender:active-version"
ACTIVE_VERSION_CACHE_SECONDS = 10
ACTIVE_VERSION_SUMMARY_FIELDS = (
    "id",
    "status",
    "finished_at",
    "activated_at",
    "objective",
    "architecture",
    "last_event_id",
    # The feed's calibration (``metrics["calibration"]``) and the page's "computed ... from N watches".
    "metrics",
    "created_at",
    "n_events",
    "n_users",
)


def active_version_cached() -> ModelVersion | None:
    """The active version with only ``ACTIVE_VERSION_SUMMARY_FIELDS`` loaded, from the cache when fresh."""
    version = cache.get(ACTIVE_VERSION_CACHE_KEY)
    if version is None:
        version = (
            ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).only(*ACTIVE_VERSION_SUMMARY_FIELDS).first()
        )
        # False caches "no active version" (None would read as a miss).
        cache.set(ACTIVE_VERSION_CACHE_KEY, version or False, ACTIVE_VERSION_CACHE_SECONDS)
    return version or None


def active_version_cache_clear() -> None:
    cache.delete(ACTIVE_VERSION_CACHE_KEY)


def recommendations_for_user(
    *, user: Any, limit: int = 50, version: ModelVersion | None = None, exclude_finished: bool = False
) -> QuerySet[Recommendation]:
    """The user's top recommendations from the active version (empty when there is none).

    ``exclude_finished`` also drops videos the user finished (completion >= FINISHED_COMPLETION)
    after the version was published; the published rows already leave out everything watched before.
    """
    version = version or active_version()
    if version is None or not user.is_authenticated:
        return Recommendation.objects.none()
    qs = Recommendation.objects.filter(version=version, user=user)
    if exclude_finished:
        qs = qs.exclude(video_id__in=finished_video_ids(user=user))
    return qs.select_related("video", "video__category", "reason_video").order_by("rank")[:limit]


def version_has_user(*, user: Any, version: ModelVersion | None) -> bool:
    """Whether ``version`` published any recommendation for ``user`` (i.e. the model knows them)."""
    if version is None or not user.is_authenticated:
        return False
    return Recommendation.objects.filter(version=version, user=user).exists()
