"""Fixtures and helpers shared by the API tests (tests/test_api*.py)."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommender.models import ModelVersion, Recommendation
from videos.models import Category, Video


@pytest.fixture(autouse=True)
def _api_test_settings(settings):
    """A private in-memory cache per test (rate-limit counters never leak between tests) and
    rates high enough that only the throttling tests meet a limit."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"t-{uuid.uuid4()}"}
    }
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {
        "anon": "10000/min",
        "user": "10000/min",
        "events": "10000/min",
        "auth": "10000/min",
    }
    settings.REST_FRAMEWORK = rest
    # Test users log in with passwords: a fast hasher keeps the many users of these tests cheap.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def token_client(user) -> APIClient:
    client = APIClient()
    token, _created = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def viewer(make_user):
    return make_user("viewer")


@pytest.fixture
def other(make_user):
    return make_user("other")


STAFF_PERMISSIONS = ("view_modelversion", "change_modelversion", "retrain_model")


@pytest.fixture
def staff(make_user):
    """An operator holding the model permissions the staff endpoints ask for."""
    from django.contrib.auth.models import Permission

    user = make_user("operator", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="recommender", codename__in=STAFF_PERMISSIONS)
    )
    return user


@pytest.fixture
def api(viewer) -> APIClient:
    return token_client(viewer)


@pytest.fixture
def catalog(db) -> list[Video]:
    music = Category.objects.create(name="Music")
    cooking = Category.objects.create(name="Cooking")
    videos = []
    for i in range(6):
        videos.append(
            Video.objects.create(
                title=f"{'Song' if i % 2 else 'Recipe'} {i}",
                category=music if i % 2 else cooking,
                duration_seconds=60 * (i + 1),
                tags="a, b" if i == 0 else "",
            )
        )
    return videos


def publish_version(*, users_videos: dict, reason=None, **fields) -> ModelVersion:
    """An active model version whose published rows are ``users_videos[user] = [video, ...]`` (best first)."""
    from artifact_support import artifact_fake
    from django.utils import timezone

    version = ModelVersion.objects.create(
        status=ModelVersion.Status.ACTIVE,
        stage=ModelVersion.Stage.DONE,
        objective="expected_completion",
        epoch=3,
        epochs_total=3,
        finished_at=timezone.now(),
        activated_at=timezone.now(),
        **fields,
    )
    artifact_fake(version)  # activation checks the saved model
    for user, videos in users_videos.items():
        for rank, video in enumerate(videos, start=1):
            Recommendation.objects.create(
                version=version, user=user, video=video, score=1.0 - rank / 100, rank=rank, reason_video=reason
            )
    return version
