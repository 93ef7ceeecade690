"""/healthz (liveness) and /readyz (readiness)."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from recommender.models import ModelVersion

SECRET_ERROR = 'connection to server at "10.0.0.7", port 5432 failed: password authentication failed for user "app"'


def active_model(*, age: timedelta = timedelta(minutes=5)) -> ModelVersion:
    published = timezone.now() - age
    return ModelVersion.objects.create(
        objective="completion", status=ModelVersion.Status.ACTIVE, finished_at=published, activated_at=published
    )


def broken_cursor():
    return mock.patch.object(connection, "cursor", side_effect=OperationalError(SECRET_ERROR))


@pytest.fixture(autouse=True)
def _no_redis(settings):
    """Readiness checks Redis only when one is configured; tests opt in."""
    settings.REDIS_URL = ""


def test_healthz_answers_without_touching_the_database(client):
    # No database fixture: any query would raise here.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_never_reports_database_errors(client):
    """Regression: a failing database made /healthz answer 503 with the driver's error text."""
    with broken_cursor():
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert b"password" not in response.content


@pytest.mark.django_db
def test_readyz_with_an_active_model_is_ready(client):
    active_model()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_without_an_active_model_is_not_ready(client, caplog):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    # One warning that says why, not Django's generic ERROR line for a 503.
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith(("recsite", "django"))] == [
        ("WARNING", "not ready: model missing")
    ]


@pytest.mark.django_db
def test_readyz_database_failure_is_503_without_the_error_text(client, caplog):
    active_model()
    with broken_cursor():
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert b"password" not in response.content
    # The operator finds the reason in the log.
    assert "password authentication failed" in caplog.text


@pytest.mark.django_db
def test_readyz_shows_the_detail_to_staff_only(client, make_user):
    version = active_model(age=timedelta(hours=2))
    client.force_login(make_user("viewer"))
    assert client.get("/readyz").json() == {"status": "ok"}

    client.force_login(make_user("operator", is_staff=True))
    body = client.get("/readyz").json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"status": "ok"}
    assert "redis" not in body["checks"]
    model = body["checks"]["model"]
    assert model["status"] == "ok"
    assert model["version"] == version.pk
    assert 2 * 3600 - 60 <= model["age_seconds"] <= 2 * 3600 + 60


@pytest.mark.django_db
def test_readyz_stale_model_when_a_maximum_age_is_set(client, make_user, settings):
    active_model(age=timedelta(hours=3))
    settings.READYZ_MODEL_MAX_AGE_HOURS = 2
    client.force_login(make_user("operator", is_staff=True))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["model"]["status"] == "stale"

    settings.READYZ_MODEL_MAX_AGE_HOURS = 4
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_redis_down_is_503_quickly(client, make_user, settings):
    active_model()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    client.force_login(make_user("operator", is_staff=True))
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["status"] == "error"
    assert body["checks"]["database"] == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_with_a_working_redis(client, make_user, settings):
    url = os.environ.get("REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("REDIS_URL must be set in CI")
        pytest.skip("needs REDIS_URL")
    active_model()
    settings.REDIS_URL = url
    client.force_login(make_user("operator", is_staff=True))
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == {"status": "ok"}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_checks_are_exempt_from_the_https_redirect(client, settings, path):
    """Probes speak plain HTTP to the process; every other page is redirected to HTTPS."""
    settings.SECURE_SSL_REDIRECT = True
    active_model()
    assert client.get(path).status_code == 200
    redirected = client.get("/videos/")
    assert redirected.status_code == 301
    assert redirected["Location"] == "https://testserver/videos/"
