"""Helpers shared by the model-version commands (a leading underscore: not a command itself)."""

from django.core.management.base import CommandError

from recommender.models import ModelVersion


def version_or_error(version_id: int | None) -> ModelVersion | None:
    """The version with this id, None when no id was given, or a one-line CommandError."""
    if version_id is None:
        return None
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None:
        raise CommandError(f"There is no model version {version_id}.")
    return version
