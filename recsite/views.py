"""Health endpoints for container probes and load balancers.

``/healthz`` (liveness) says only that the process answers; it touches nothing else, so a database
outage never makes an orchestrator restart healthy web processes. ``/readyz`` (readiness) checks
what serving needs: the database, Redis when one is configured, an active model (and its age when
READYZ_MODEL_MAX_AGE_HOURS is set). Anonymous callers get only ``{"status": ...}``; the detail
(which check failed, the model version and its age) is for staff. Error texts go to the log,
never into a response.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

# Seconds a readiness probe waits for Redis before it counts as down.
REDIS_TIMEOUT_SECONDS = 0.5


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up and answers requests (no database, no detail)."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database, Redis (if configured) and an active model are usable, else 503."""
    checks: dict[str, dict[str, Any]] = {"database": _check_database()}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis(settings.REDIS_URL)
    checks["model"] = _check_model() if checks["database"]["status"] == "ok" else {"status": "unknown"}
    ready = all(check["status"] == "ok" for check in checks.values())
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable"}
    if _is_staff(request):
        body["checks"] = checks
    response = JsonResponse(body, status=200 if ready else 503)
    if not ready:
        failed = ", ".join(f"{name} {check['status']}" for name, check in checks.items() if check["status"] != "ok")
        logger.warning("not ready: %s", failed)
        # One warning per probe is enough: Django would also log every 503 as an ERROR.
        response._has_been_logged = True
    return response


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready"; the text goes to the log only
        logger.warning("readiness: database unavailable: %s", exc)
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok"}


def _check_redis(url: str) -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except Exception as exc:  # connection refused, timeout, authentication: all "not ready"
        logger.warning("readiness: Redis unavailable: %s", exc)
        return {"status": "error", "error": type(exc).__name__}
    finally:
        client.close()
    return {"status": "ok"}


def _check_model() -> dict[str, Any]:
    from recommender.selectors import active_version

    try:
        version = active_version()
    except Exception as exc:
        logger.warning("readiness: cannot read the active model version: %s", exc)
        return {"status": "error", "error": type(exc).__name__}
    if version is None:
        return {"status": "missing"}
    published = version.activated_at or version.finished_at or version.created_at
    age = max(0, int((timezone.now() - published).total_seconds()))
    detail: dict[str, Any] = {"status": "ok", "version": version.pk, "age_seconds": age}
    max_age_hours = settings.READYZ_MODEL_MAX_AGE_HOURS
    if max_age_hours and age > max_age_hours * 3600:
        detail["status"] = "stale"
        detail["max_age_seconds"] = max_age_hours * 3600
    return detail


def _is_staff(request: HttpRequest) -> bool:
    # Reading the user needs the session (the database): when that fails the caller is anonymous.
    try:
        return bool(request.user.is_active and request.user.is_staff)
    except Exception:
        return False
