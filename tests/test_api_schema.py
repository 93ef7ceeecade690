# ruff: noqa: F811  (fixtures imported from api_support are function parameters here)
"""Property-based fuzzing of the whole API from its own OpenAPI schema (Schemathesis).

Hypothesis generates valid and invalid requests for every operation the schema documents; each is
sent through the WSGI application as an authenticated user, and the response must not be a 5xx,
must match what the schema promises (status code, content type, body), and a request that breaks
the schema must be refused with a 4xx (no lenient parsing behind the documented types). Retrains are never
queued: the retrain endpoint answers 403 to the normal user, and the staff run leaves it out.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
import schemathesis
from api_support import _api_test_settings, catalog, publish_version, staff, viewer  # noqa: F401
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from videos.models import WatchEvent

# Hypothesis keeps small caches on disk: in the temporary folder, not in the working tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "recsite-hypothesis")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
FUZZ_SETTINGS = hypothesis_settings(
    max_examples=50,
    deadline=None,
    database=None,  # no stored examples: every run explores afresh
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Requests go through the real WSGI handler, which closes database connections when a
    request ends; inside a test that would drop the test's transaction (as Django's own test
    client avoids too)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_data(viewer, staff, catalog):
    """Something to find: the user's events, an active version with their recommendations."""
    for video in catalog[:3]:
        WatchEvent.objects.create(user=viewer, video=video, completion=0.5, client_event_id=f"seed-{video.pk}")
    publish_version(users_videos={viewer: catalog[3:]}, reason=catalog[0])
    return viewer


def _load_schema():
    # Loaded once at collection, from the schema the site itself serves (no database needed). A
    # private cache: the anonymous rate limit must not count this request in a shared Redis.
    from recsite.wsgi import application

    private_cache = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "schema"}}
    with override_settings(CACHES=private_cache):
        return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


schema = _load_schema()
staff_schema = schema.include(path_regex=r"^/api/models/")


def _auth_headers(user) -> dict[str, str]:
    # Recreated for every example: a fuzzed DELETE /api/auth/token/ may have revoked it.
    # Identity encoding: the WSGI transport hands the body over as sent, and the site compresses
    # responses for clients that accept gzip (tested in test_deploy_static).
    token, _created = Token.objects.get_or_create(user=user)
    return {"Authorization": f"Token {token.key}", "Accept-Encoding": "identity"}


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_conforms_to_its_schema(case, fuzz_data):
    case.call_and_validate(headers=_auth_headers(fuzz_data), checks=CHECKS)


@staff_schema.parametrize()
@FUZZ_SETTINGS
def test_staff_model_endpoints_conform_to_the_schema(case, fuzz_data, staff):
    case.call_and_validate(headers=_auth_headers(staff), checks=CHECKS)


def test_schema_documents_every_api_route(client):
    """No endpoint escapes the fuzzing: every routed API view is in the schema."""
    from django.urls import get_resolver

    documented = set(client.get("/api/schema/?format=json").json()["paths"])
    routed = set()

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, route)
            elif route.startswith("api/") and getattr(pattern.callback, "cls", None) is not None:
                routed.add(route)

    walk(get_resolver().url_patterns)
    routed = {r for r in routed if not r.startswith(("api/schema", "api/docs", "api/redoc"))}
    normalized = {"/" + re.sub(r"\(\?P<\w+>[^)]*\)", "{id}", r).replace("^", "").replace("$", "") for r in routed}
    assert normalized <= documented, normalized - documented
