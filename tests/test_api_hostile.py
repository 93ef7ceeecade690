# ruff: noqa: F811  (fixtures imported from api_support are function parameters here)
"""Hostile and malformed input: always a clear 4xx in the API's JSON error shape, never a 500,
and nothing stored. Also idempotency under concurrency, throttling and a Redis outage."""

from __future__ import annotations

import json
import runpy
import threading
import time
import uuid
from pathlib import Path

import pytest
from api_support import _api_test_settings, api, catalog, other, staff, token_client, viewer  # noqa: F401
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient

from videos.models import WatchEvent

pytestmark = pytest.mark.django_db
BIG = 2**63


def assert_refused(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str)
    return body


def post_raw(client: APIClient, path: str, raw: str | bytes, content_type: str = "application/json"):
    return client.generic("POST", path, raw, content_type=content_type)


# --- completion ----------------------------------------------------------------------------------

BAD_COMPLETIONS = [
    ("NaN", "JSON parse error"),  # a bare NaN literal is not JSON
    ("Infinity", "JSON parse error"),
    ("1e400", "completion: Completion must be a finite number."),  # a JSON number that overflows to inf
    ("1" + "0" * 400, "completion: Completion must be a number between 0 and 1."),
    ('"nan"', "completion: Completion must be a number between 0 and 1."),
    ('"inf"', "completion: Completion must be a number between 0 and 1."),
    ('"1e400"', "completion: Completion must be a number between 0 and 1."),
    ('"0.5"', "completion: Completion must be a number between 0 and 1."),
    ("-0.01", "completion: Completion must be between 0 and 1."),
    ("1.0001", "completion: Completion must be between 0 and 1."),
    ("null", "completion: This field may not be null."),
    ('""', "completion: Completion must be a number between 0 and 1."),
    ("true", "completion: Completion must be a number between 0 and 1."),
    ("[]", "completion: Completion must be a number between 0 and 1."),
    ("{}", "completion: Completion must be a number between 0 and 1."),
]


@pytest.mark.parametrize(("raw", "message"), BAD_COMPLETIONS)
def test_bad_completion_is_refused(api, catalog, raw, message):
    body = assert_refused(post_raw(api, "/api/events/", f'{{"video": {catalog[0].pk}, "completion": {raw}}}'))
    assert body["detail"].startswith(message)
    assert not WatchEvent.objects.exists()


def test_missing_completion_is_refused(api, catalog):
    body = assert_refused(api.post("/api/events/", {"video": catalog[0].pk}, format="json"))
    assert body["errors"] == {"completion": ["This field is required."]}


# --- ids -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("999999", "video: Video 999999 does not exist."),
        ('"abc"', "video: A whole number is required."),
        ("1.5", "video: A whole number is required."),
        ("true", "video: A whole number is required."),
        ("null", "video: This field may not be null."),
        ("[1]", "video: A whole number is required."),
        ("0", "video: Ensure this value is greater than or equal to 1."),
        ("-1", "video: Ensure this value is greater than or equal to 1."),
        (str(BIG), "video: Ensure this value is less than or equal to 9223372036854775807."),
        (str(2**64 + 5), "video: Ensure this value is less than or equal to 9223372036854775807."),
        ('"12"', "video: A whole number is required."),
        ('"' + "9" * 5000 + '"', "video: A whole number is required."),
    ],
)
def test_bad_video_id_is_refused(api, catalog, raw, message):
    body = assert_refused(post_raw(api, "/api/events/", f'{{"video": {raw}, "completion": 0.5}}'))
    assert body["detail"] == message
    assert not WatchEvent.objects.exists()


@pytest.mark.parametrize("raw_id", ["abc", "0", "-1", str(BIG), str(BIG - 1), "9" * 40, "1.5", "%ED%A0%80", "١"])
def test_bad_path_ids_are_404(api, staff, viewer, catalog, raw_id):
    WatchEvent.objects.create(user=viewer, video=catalog[0], completion=0.5)
    for path in (f"/api/videos/{raw_id}/", f"/api/events/{raw_id}/"):
        assert_refused(api.get(path), 404)
    assert_refused(api.delete(f"/api/events/{raw_id}/"), 404)
    staff_api = token_client(staff)
    assert_refused(staff_api.get(f"/api/models/{raw_id}/"), 404)
    assert_refused(staff_api.post(f"/api/models/{raw_id}/activate/"), 404)
    assert WatchEvent.objects.count() == 1


@pytest.mark.parametrize("raw_id", ["%00", "1%00", "%00abc"])
def test_a_nul_in_the_path_is_400_in_the_api_error_shape(api, staff, viewer, catalog, raw_id):
    WatchEvent.objects.create(user=viewer, video=catalog[0], completion=0.5)
    for client, method, path in (
        (api, "get", f"/api/videos/{raw_id}/"),
        (api, "get", f"/api/events/{raw_id}/"),
        (api, "delete", f"/api/events/{raw_id}/"),
        (token_client(staff), "post", f"/api/models/{raw_id}/activate/"),
        (APIClient(), "get", f"/api/no-such-endpoint/{raw_id}"),
    ):
        body = assert_refused(getattr(client, method)(path))
        assert body["detail"] == "The address: Text must not contain the NUL character (U+0000)."
        assert body["errors"] == {"path": ["Text must not contain the NUL character (U+0000)."]}
    assert WatchEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("search=a%00b", "search", "NUL"),
        ("%00=1", "query", "NUL"),
        ("search=%ED%A0%80", "query", "UTF-8"),  # a lone surrogate, encoded as if it were UTF-8
        ("search=%FF", "query", "UTF-8"),
        ("&".join(f"p{i}=1" for i in range(1001)), "query", "Too many fields"),
    ],
)
def test_unusable_query_strings_are_400_in_the_api_error_shape(api, catalog, query, field, words):
    for path in ("/api/videos/", "/api/events/", "/api/recommendations/"):
        body = assert_refused(api.get(f"{path}?{query}"))
        assert list(body["errors"]) == [field]
        assert words in body["detail"]


def test_a_nul_in_a_header_is_400_in_the_api_error_shape(viewer, catalog):
    from rest_framework.authtoken.models import Token

    token, _created = Token.objects.get_or_create(user=viewer)
    client = APIClient()
    for value in (f"Token {token.key}\x00", "Token \x00", f"Token {token.key[:-1]}\x00"):
        body = assert_refused(client.get("/api/videos/", HTTP_AUTHORIZATION=value))
        assert body["detail"].startswith("The header “Authorization”: ")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/events/", {"video": str(BIG)}),
        ("/api/events/", {"video": "abc"}),
        ("/api/videos/", {"search": "a\x00b"}),
        ("/api/videos/", {"category": "\x00"}),
        ("/api/videos/", {"search": "x" * 101}),
        ("/api/videos/", {"ordering": "password"}),
        ("/api/videos/", {"page": "abc"}),
        ("/api/videos/", {"page": "0"}),
        ("/api/videos/", {"page": "9" * 30}),
        ("/api/videos/", {"page_size": "-1"}),
        ("/api/videos/", {"page_size": "1.5"}),
        ("/api/recommendations/", {"limit": "0"}),
        ("/api/recommendations/", {"limit": "1000"}),
        ("/api/recommendations/", {"limit": "ten"}),
    ],
)
def test_bad_query_parameters_are_400(api, catalog, path, params):
    body = assert_refused(api.get(path, params))
    assert set(body["errors"]) == set(params)


def test_page_past_the_end_is_404(api, catalog):
    assert_refused(api.get("/api/videos/", {"page": str(10**17)}), 404)


# --- other fields ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"watched_at": "yesterday"}, "watched_at"),
        ({"watched_at": "2999-01-01T00:00:00Z"}, "watched_at"),
        ({"watched_at": "0001-01-01T00:00:00+01:00"}, "watched_at"),
        ({"watched_at": 12345}, "watched_at"),
        ({"client_event_id": "x" * 65}, "client_event_id"),
        ({"client_event_id": "x" * 100_000}, "client_event_id"),
        ({"client_event_id": "a\x00b"}, "client_event_id"),
        ({"client_event_id": "line\nbreak"}, "client_event_id"),
        ({"client_event_id": ["a"]}, "client_event_id"),
        ({"client_event_id": 12}, "client_event_id"),
    ],
)
def test_bad_optional_fields_are_refused(api, catalog, extra, field):
    body = assert_refused(api.post("/api/events/", {"video": catalog[0].pk, "completion": 0.5, **extra}, format="json"))
    assert field in body["errors"]
    assert not WatchEvent.objects.exists()


# --- bodies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        ("{", "application/json", 400),
        ('{"video": 1, "completion": 0.5', "application/json", 400),
        ("[1, 2, 3]", "application/json", 400),
        ('"just a string"', "application/json", 400),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400),
        (b'{"video": 1, "completion": 0.5, "client_event_id": "\xff\xfe"}', "application/json", 400),
        ("video=1&completion=0.5", "application/x-www-form-urlencoded", 415),
        ("<event/>", "application/xml", 415),
    ],
)
def test_malformed_bodies_are_refused(api, catalog, raw, content_type, status):
    for path in ("/api/events/", "/api/events/bulk/"):
        assert_refused(post_raw(api, path, raw, content_type), status)
    assert not WatchEvent.objects.exists()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "JSON parse error - The JSON is nested too deeply (at most 32 levels)."),
        ("[" * 100_000, "JSON parse error - The JSON is nested too deeply (at most 32 levels)."),
        (
            '{"a":' * 50_000 + "1" + "}" * 50_000,
            "JSON parse error - The JSON is nested too deeply (at most 32 levels).",
        ),
        ('{"video": 1, "completion": 0.5, "x": ' + "[" * 32 + "]" * 32 + "}", "JSON parse error - The JSON is nested"),
        ('{"video": 1, "completion": 0.5, "x\\u0000": 1}', "JSON parse error - Names must not contain the NUL"),
        ('"\\ud800"', "JSON parse error - Text must not contain unpaired surrogate characters"),
        ("NaN", "JSON parse error - NaN is not a JSON number."),
    ],
)
def test_deep_or_unusable_json_documents_are_refused(api, catalog, raw, message):
    for path in ("/api/events/", "/api/events/bulk/", "/api/auth/token/"):
        body = assert_refused(post_raw(api, path, raw))
        assert body["code"] == "parse_error"
        assert body["detail"].startswith(message)
    assert not WatchEvent.objects.exists()


def test_json_nested_32_levels_is_still_read(api, catalog):
    raw = json.dumps({"video": catalog[0].pk, "completion": 0.5, "x": json.loads("[" * 31 + "]" * 31)})
    assert post_raw(api, "/api/events/", raw).status_code == 201


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ('{"video": 1, "completion": 0.5, "client_event_id": "\\ud800"}', "client_event_id", "surrogate"),
        ('{"video": 1, "completion": 0.5, "client_event_id": "a\\udc00b"}', "client_event_id", "surrogate"),
        ('{"video": 1, "completion": 0.5, "client_event_id": "a\\u0000"}', "client_event_id", "NUL"),
        ('{"video": 1, "completion": "\\ud800"}', "completion", "surrogate"),
        (
            '{"events": [{"video": 1, "completion": 0.5, "client_event_id": "\\u0000"}]}',
            "events.0.client_event_id",
            "NUL",
        ),
    ],
)
def test_strings_with_nul_or_lone_surrogates_are_refused_by_field(api, catalog, raw, field, words):
    raw = raw.replace('"video": 1', f'"video": {catalog[0].pk}')
    for path in ("/api/events/", "/api/events/bulk/"):
        body = assert_refused(post_raw(api, path, raw))
        assert list(body["errors"]) == [field]
        assert body["detail"].startswith(f"{field}: ") and words in body["detail"]
    assert not WatchEvent.objects.exists()


@pytest.mark.parametrize("client_event_id", ["a\nb", "tab\there", "\u202e", "bell\u0007"])
def test_client_event_id_must_be_printable(api, catalog, client_event_id):
    body = {"video": catalog[0].pk, "completion": 0.5, "client_event_id": client_event_id}
    for path, payload in (("/api/events/", body), ("/api/events/bulk/", {"events": [body]})):
        response = assert_refused(api.post(path, payload, format="json"))
        errors = response["errors"] if path == "/api/events/" else response["errors"][0]["errors"]
        assert errors == {
            "client_event_id": ["Client event id must be printable text (no line breaks, tabs or control characters)."]
        }
    assert not WatchEvent.objects.exists()


def test_staff_bodies_with_a_surrogate_are_refused_not_echoed(staff, eager_celery):
    """A choice field would echo the bad value in its message; the parser refuses it first."""
    client = token_client(staff)
    body = assert_refused(post_raw(client, "/api/retrain/", '{"objective": "\\ud800"}'))
    assert body["errors"] == {"objective": ["Text must not contain unpaired surrogate characters (U+D800 to U+DFFF)."]}


def test_a_3_mb_body_is_413(api, catalog):
    events = [{"video": catalog[0].pk, "completion": 0.5, "client_event_id": "x" * 60}] * 30_000
    raw = json.dumps({"events": events})
    assert len(raw) > 3_000_000
    for path in ("/api/events/", "/api/events/bulk/", "/api/auth/token/"):
        body = assert_refused(post_raw(api, path, raw), 413)
        assert "too large" in body["detail"]
    assert not WatchEvent.objects.exists()


def test_a_body_longer_than_its_content_length_is_cut_at_the_limit(api, catalog, settings):
    """The cap holds on the bytes read, not only on the declared length."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    raw = json.dumps({"video": catalog[0].pk, "completion": 0.5, "client_event_id": "y" * 60, "pad": "z" * 100})
    assert_refused(post_raw(api, "/api/events/", raw), 413)
    assert not WatchEvent.objects.exists()


def test_bulk_of_1001_events_is_refused(api, catalog):
    events = [{"video": catalog[0].pk, "completion": 0.5}] * 1001
    body = assert_refused(api.post("/api/events/bulk/", {"events": events}, format="json"))
    assert body["detail"] == "events: A bulk request holds at most 1000 events; this one has 1001."
    assert not WatchEvent.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [{}, {"events": []}, {"events": "nope"}, {"events": {"video": 1}}, {"events": None}],
)
def test_bulk_without_a_list_of_events_is_refused(api, catalog, payload):
    body = assert_refused(api.post("/api/events/bulk/", payload, format="json"))
    assert "events" in body["errors"]


def test_bulk_with_bad_items_stores_nothing_and_names_each_item(api, viewer, other, catalog):
    events = [
        {"video": catalog[0].pk, "completion": 0.5},
        {"video": catalog[1].pk, "completion": "nan"},
        {"video": 999_999, "completion": 0.5},
        {"video": catalog[2].pk, "completion": 0.5, "user": other.pk},
        "not an object",
        {"video": BIG, "completion": 2},
    ]
    body = assert_refused(api.post("/api/events/bulk/", {"events": events}, format="json"))
    assert body["detail"] == "5 of 6 events are invalid; nothing was stored."
    errors = {item["index"]: item["errors"] for item in body["errors"]}
    assert set(errors) == {1, 2, 3, 4, 5}
    assert errors[1] == {"completion": ["Completion must be a number between 0 and 1."]}
    assert errors[2] == {"video": ["Video 999999 does not exist."]}
    assert list(errors[3]) == ["user"]
    assert "non_field_errors" in errors[4]
    assert set(errors[5]) == {"video", "completion"}
    assert not WatchEvent.objects.exists()


def test_bulk_rolls_back_when_storing_fails_midway(api, catalog, monkeypatch):
    """All or nothing even when the database refuses an item after earlier ones were written."""
    from django.core.exceptions import ValidationError

    from videos import services

    real = services.watch_event_record
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 3:
            raise ValidationError("Completion must be between 0 and 1.")
        return real(**kwargs)

    monkeypatch.setattr(services, "watch_event_record", flaky)
    events = [{"video": v.pk, "completion": 0.5} for v in catalog[:4]]
    assert_refused(api.post("/api/events/bulk/", {"events": events}, format="json"))
    assert len(calls) == 3
    assert not WatchEvent.objects.exists()


def test_token_obtain_refuses_hostile_bodies(viewer):
    client = APIClient()
    assert_refused(post_raw(client, "/api/auth/token/", "{"))
    assert_refused(client.post("/api/auth/token/", {"username": "viewer\x00", "password": "x"}, format="json"))
    assert_refused(client.post("/api/auth/token/", {"username": "viewer", "password": "p" * 5000}, format="json"))
    assert_refused(client.post("/api/auth/token/", {"username": ["viewer"], "password": 5}, format="json"))


def test_retrain_refuses_hostile_bodies(staff, eager_celery):
    from recommender.models import ModelVersion

    client = token_client(staff)
    for body in (
        {"epochs": BIG},
        {"epochs": True},
        {"hidden_units": []},
        {"hidden_units": [0]},
        {"hidden_units": list(range(1, 20))},
        {"learning_rate": "inf"},
        {"batch_size": "1e400"},
        {"epochs": "3"},
        {"learning_rate": 10**400},
    ):
        assert_refused(client.post("/api/retrain/", body, format="json"))
    assert_refused(post_raw(client, "/api/retrain/", "[]"))
    assert_refused(post_raw(client, "/api/retrain/", '{"learning_rate": 1e400}'))
    assert not ModelVersion.objects.exists()


# --- idempotency under concurrency -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_client_event_id_store_one_event(viewer, catalog):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises writers on one file lock)")
    n_threads = 8
    barrier = threading.Barrier(n_threads)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()
    body = {"video": catalog[0].pk, "completion": 0.6, "client_event_id": f"retry-{uuid.uuid4()}"}

    def post():
        from django.db import connections

        try:
            client = token_client(viewer)
            barrier.wait(timeout=10)
            response = client.post("/api/events/", body, format="json")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == n_threads
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (n_threads - 1) + [201]
    assert len({payload["id"] for _, payload in results}) == 1
    assert WatchEvent.objects.filter(user=viewer, client_event_id=body["client_event_id"]).count() == 1


# --- throttling ----------------------------------------------------------------------------------------


def _rates(settings, **rates):
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **rates}
    settings.REST_FRAMEWORK = rest


def test_event_writes_have_their_own_tighter_limit(api, other, catalog, settings):
    _rates(settings, events="3/minute", user="100/minute")
    for _ in range(3):
        assert api.post("/api/events/", {"video": catalog[0].pk, "completion": 0.5}, format="json").status_code == 201
    body = assert_refused(api.post("/api/events/", {"video": catalog[0].pk, "completion": 0.5}, format="json"), 429)
    assert body["code"] == "throttled"
    refused = api.post("/api/events/bulk/", {"events": [{"video": catalog[0].pk, "completion": 0.5}]}, format="json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert WatchEvent.objects.count() == 3
    # Reads are not event writes; another user has their own budget.
    assert api.get("/api/events/").status_code == 200
    assert token_client(other).post("/api/events/", {"video": catalog[0].pk, "completion": 0.5}).status_code == 201


def test_user_and_anonymous_limits(api, catalog, settings):
    _rates(settings, user="2/minute", anon="2/minute")
    assert api.get("/api/videos/").status_code == 200
    assert api.get("/api/videos/").status_code == 200
    assert_refused(api.get("/api/videos/"), 429)
    # Anonymous clients only reach the open endpoints (the rest answer 401 before counting).
    anonymous = APIClient()
    for _ in range(2):
        assert anonymous.post("/api/auth/token/", {"username": "x", "password": "y"}).status_code == 400
    assert_refused(anonymous.post("/api/auth/token/", {"username": "x", "password": "y"}), 429)


def test_password_checks_for_tokens_are_limited_per_address(api, viewer, settings):
    _rates(settings, auth="2/minute")
    client = APIClient()
    for _ in range(2):
        assert client.post("/api/auth/token/", {"username": "viewer", "password": "guess"}).status_code == 400
    assert_refused(client.post("/api/auth/token/", {"username": "viewer", "password": "a-long-password-123"}), 429)
    # Being logged in (or holding a token) does not lift the limit on password checks.
    assert_refused(api.post("/api/auth/token/", {"username": "viewer", "password": "guess"}), 429)


def _cache_settings_for(monkeypatch, cache_url: str) -> dict:
    """CACHES exactly as recsite/settings.py builds it for ``CACHE_URL``."""
    monkeypatch.setenv("CACHE_URL", cache_url)
    namespace = runpy.run_path(str(Path(django_settings.BASE_DIR) / "recsite" / "settings.py"))
    return namespace["CACHES"]


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs REDIS_URL (set in CI)")
def test_throttle_counters_live_in_redis(api, viewer, catalog, settings, monkeypatch):
    caches = _cache_settings_for(monkeypatch, django_settings.REDIS_URL)
    from django.utils.module_loading import import_string
    from django_redis.cache import RedisCache

    assert issubclass(import_string(caches["default"]["BACKEND"]), RedisCache)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4()}"  # never touches anyone else's keys
    settings.CACHES = caches
    _rates(settings, events="2/minute")
    from django.core.cache import cache

    key = f"window:throttle_events_{viewer.pk}"
    try:
        for _ in range(2):
            assert api.post("/api/events/", {"video": catalog[0].pk, "completion": 0.5}).status_code == 201
        assert cache.get(key) == 2  # the counter lives in Redis, shared by every worker
        refused = api.post("/api/events/", {"video": catalog[0].pk, "completion": 0.5})
        assert_refused(refused, 429)
        assert 0 < int(refused["Retry-After"]) <= 60  # the rest of the client's window
        assert WatchEvent.objects.filter(user=viewer).count() == 2

        # The window opens at the client's first request and closes after the rate's period.
        _rates(settings, events="2/second")
        cache.delete(key)
        for _ in range(2):
            assert api.post("/api/events/", {"video": catalog[0].pk, "completion": 0.5}).status_code == 201
        assert_refused(api.post("/api/events/", {"video": catalog[0].pk, "completion": 0.5}), 429)
        time.sleep(1.1)
        assert api.post("/api/events/", {"video": catalog[0].pk, "completion": 0.5}).status_code == 201
        assert cache.get(key) == 1
    finally:
        cache.delete_many([key, f"window:throttle_user_{viewer.pk}"])


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs REDIS_URL (set in CI)")
def test_a_limit_costs_one_redis_round_trip(api, viewer, settings, monkeypatch):
    caches = _cache_settings_for(monkeypatch, django_settings.REDIS_URL)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4()}"
    settings.CACHES = caches
    from django.core.cache import cache
    from redis.client import Pipeline, Redis

    calls: list[str] = []
    real_execute, real_command = Pipeline.execute, Redis.execute_command

    def pipeline_execute(self, *args, **kwargs):
        calls.append("pipeline")
        return real_execute(self, *args, **kwargs)

    def execute_command(self, *args, **kwargs):
        calls.append(str(args[0]))
        return real_command(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", pipeline_execute)
    monkeypatch.setattr(Redis, "execute_command", execute_command)
    try:
        cache.get("warm")  # the active version and the connection pool, outside the count
        calls.clear()
        assert api.get("/api/videos/").status_code == 200
        # the "user" limit: one script (set-if-new, increment, time left), no pipeline
        assert calls.count("EVALSHA") == 1 and calls.count("pipeline") == 0
        assert cache.get(f"window:throttle_user_{viewer.pk}") == 1
        assert cache.get(f"throttle_user_{viewer.pk}") is None  # no list of timestamps
    finally:
        cache.delete(f"window:throttle_user_{viewer.pk}")


def test_a_redis_outage_lets_requests_through(api, viewer, catalog, settings, monkeypatch):
    """With the cache's Redis down the API still records and serves; limits pause, errors are logged."""
    settings.CACHES = _cache_settings_for(monkeypatch, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    _rates(settings, events="1/minute", user="1/minute")
    for _ in range(3):
        assert api.post("/api/events/", {"video": catalog[0].pk, "completion": 0.5}).status_code == 201
    assert api.get("/api/recommendations/").status_code == 200
    assert WatchEvent.objects.filter(user=viewer).count() == 3
