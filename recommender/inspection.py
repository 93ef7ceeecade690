"""Read-only inspection of the active model: every user × video prediction (small catalogs)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from recommender.exceptions import RetrainError
from recommender.models import ModelVersion
from recommender.selectors import active_version
from recommender.services.artifacts import artifact_load
from videos.models import Video


def _user_names(user_ids: Iterable[int]) -> dict[int, str]:
    User = get_user_model()
    return dict(User.objects.filter(pk__in=list(user_ids)).values_list("pk", User.USERNAME_FIELD))


def _video_titles(video_ids: Iterable[int]) -> dict[int, str]:
    return dict(Video.objects.filter(pk__in=list(video_ids)).values_list("pk", "title"))


@dataclass(frozen=True)
class PredictedMatrix:
    users: list[str]
    videos: list[str]
    values: Any  # numpy array (n_users, n_videos), predicted completion on [0, 1]
    observed: Any  # numpy bool array: True where the user watched the video
    version: ModelVersion


def predicted_matrix(*, max_cells: int | None = None) -> PredictedMatrix:
    """Every user × video prediction of the active model (for small catalogs / inspection)."""
    import numpy as np

    from recommender.ml.recent import recent_affinity
    from recommender.ml.score import score_users

    version = active_version()
    if version is None:
        raise RetrainError("There is no active model yet: run `manage.py retrain` first.")
    artifact = artifact_load(version=version)
    data = artifact.data
    cells = data.n_users * data.n_videos
    limit = settings.PREDICT_MATRIX_MAX_CELLS if max_cells is None else max_cells
    if cells > limit:
        raise RetrainError(
            f"The matrix has {data.n_users} × {data.n_videos} = {cells:,} cells, more than the limit of "
            f"{limit:,} (setting PREDICT_MATRIX_MAX_CELLS); use the recommendations instead."
        )
    affinity = recent_affinity(artifact.model, data, artifact.config)  # as the feeds were scored
    values = score_users(artifact.model, np.arange(data.n_users), n_videos=data.n_videos, affinity=affinity)
    observed = data.watched_mask(np.arange(data.n_users))
    names, titles = _user_names(data.user_ids.tolist()), _video_titles(data.video_ids.tolist())
    return PredictedMatrix(
        users=[names.get(int(u), f"user {u}") for u in data.user_ids],
        videos=[titles.get(int(v), f"video {v}") for v in data.video_ids],
        values=values,
        observed=observed,
        version=version,
    )
