"""Reads of model versions and recommendations; readers only ever see the active version."""

from __future__ import annotations

from django.db.models import QuerySet

from recommender.models import ModelVersion, Recommendation


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def recommendations_for_user(*, user, limit: int = 50, version: ModelVersion | None = None) -> QuerySet[Recommendation]:
    """The user's top recommendations from the active version (empty when there is none)."""
    version = version or active_version()
    if version is None or not user.is_authenticated:
        return Recommendation.objects.none()
    return (
        Recommendation.objects.filter(version=version, user=user)
        .select_related("video", "video__category", "reason_video")
        .order_by("rank")[:limit]
    )
