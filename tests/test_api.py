# ruff: noqa: F811  (fixtures imported from api_support are function parameters here)
"""REST API endpoints: happy paths, authentication, per-user scoping and staff-only operations."""

from __future__ import annotations

import re

import pytest
from api_support import _api_test_settings, api, catalog, other, publish_version, staff, token_client, viewer  # noqa: F401
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommender.models import ModelVersion
from videos.models import WatchEvent

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/videos/"),
    ("get", "/api/videos/1/"),
    ("get", "/api/events/"),
    ("post", "/api/events/"),
    ("get", "/api/events/1/"),
    ("delete", "/api/events/1/"),
    ("post", "/api/events/bulk/"),
    ("get", "/api/recommendations/"),
    ("get", "/api/models/"),
    ("get", "/api/models/1/"),
    ("post", "/api/models/1/activate/"),
    ("post", "/api/retrain/"),
    ("delete", "/api/auth/token/"),
]
STAFF_ONLY = [
    ("get", "/api/models/"),
    ("get", "/api/models/1/"),
    ("post", "/api/models/1/activate/"),
    ("post", "/api/retrain/"),
]


# --- Authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_requests_are_refused(method, path):
    response = getattr(APIClient(), method)(path, {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


def test_unknown_token_is_refused(catalog):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    response = client.get("/api/videos/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token.", "code": "authentication_failed"}


def test_token_obtain_use_and_revoke(viewer, catalog):
    response = APIClient().post(
        "/api/auth/token/", {"username": "viewer", "password": "a-long-password-123"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=viewer).key == token
    # The same token on a second login.
    again = APIClient().post("/api/auth/token/", {"username": "viewer", "password": "a-long-password-123"})
    assert again.json()["token"] == token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/videos/").status_code == 200
    assert client.delete("/api/auth/token/").status_code == 204
    assert not Token.objects.filter(user=viewer).exists()
    assert client.get("/api/videos/").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"username": "viewer", "password": "wrong-password"},
        {"username": "nobody", "password": "a-long-password-123"},
        {"username": "viewer"},
        {},
    ],
)
def test_token_obtain_refuses_bad_credentials(viewer, body):
    response = APIClient().post("/api/auth/token/", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert not Token.objects.exists()


def test_inactive_user_gets_no_token(make_user):
    make_user("gone", is_active=False)
    response = APIClient().post("/api/auth/token/", {"username": "gone", "password": "a-long-password-123"})
    assert response.status_code == 400


def test_session_authentication_with_csrf(viewer, catalog):
    """The site's own JavaScript uses the login session; its writes must carry the CSRF token."""
    session = APIClient(enforce_csrf_checks=True)
    session.get(reverse("login"))  # a site page hands the browser its CSRF cookie
    csrf_value = session.cookies["csrftoken"].value
    session.force_login(viewer)
    assert session.get("/api/videos/").status_code == 200

    refused = session.post("/api/events/", {"video": catalog[0].pk, "completion": 0.5}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not WatchEvent.objects.exists()

    ok = session.post(
        "/api/events/", {"video": catalog[0].pk, "completion": 0.5}, format="json", HTTP_X_CSRFTOKEN=csrf_value
    )
    assert ok.status_code == 201
    assert WatchEvent.objects.get().user == viewer


# --- Videos --------------------------------------------------------------------------------------


def test_video_list_search_category_and_ordering(api, catalog):
    response = api.get("/api/videos/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6
    assert [v["title"] for v in body["results"]] == sorted(v.title for v in catalog)
    first = next(v for v in body["results"] if v["id"] == catalog[0].pk)
    assert first["category"] == {"id": catalog[0].category.pk, "name": "Cooking", "slug": "cooking"}
    assert first["tags"] == ["a", "b"]
    assert first["page_url"] == f"/videos/{catalog[0].pk}/"

    songs = api.get("/api/videos/", {"search": "song"}).json()
    assert {v["title"] for v in songs["results"]} == {"Song 1", "Song 3", "Song 5"}
    music = api.get("/api/videos/", {"category": "music", "ordering": "-duration_seconds"}).json()
    assert [v["title"] for v in music["results"]] == ["Song 5", "Song 3", "Song 1"]
    assert api.get("/api/videos/", {"category": "no-such-category"}).json()["count"] == 0


def test_video_list_pagination(api, catalog):
    page1 = api.get("/api/videos/", {"page_size": 4}).json()
    assert len(page1["results"]) == 4 and page1["count"] == 6
    assert page1["previous"] is None and "page=2" in page1["next"]
    page2 = api.get("/api/videos/", {"page_size": 4, "page": 2}).json()
    assert len(page2["results"]) == 2 and page2["next"] is None
    assert {v["id"] for v in page1["results"]} | {v["id"] for v in page2["results"]} == {v.pk for v in catalog}

    past_end = api.get("/api/videos/", {"page": 3, "page_size": 4})
    assert past_end.status_code == 404
    too_big = api.get("/api/videos/", {"page_size": 101})
    assert too_big.status_code == 400
    assert too_big.json()["errors"] == {"page_size": ["Must be a whole number between 1 and 100."]}


def test_fast_video_payload_matches_the_serializer(catalog):
    """The recommendations endpoint builds video objects without the serializer; they must not drift."""
    from api.serializers import VIDEO_VALUE_FIELDS, VideoData, VideoSerializer
    from videos.models import Video

    uncategorised = Video.objects.create(title="Loose", tags=" x ,, y ", description="d", media_url="https://e.x/v")
    for zone in ("UTC", "Asia/Shanghai"):
        with timezone.override(zone):
            for video in [*catalog, uncategorised]:
                row = Video.objects.filter(pk=video.pk).values(*VIDEO_VALUE_FIELDS).get()
                assert VideoData()(row) == VideoSerializer(Video.objects.get(pk=video.pk)).data


def test_fast_model_version_payload_matches_the_serializer(viewer, catalog):
    from api.recommendations import ModelVersionBriefSerializer, model_version_brief

    version = publish_version(users_videos={viewer: catalog[:1]})
    running = ModelVersion.objects.create(objective="completion")
    for v in (version, running):
        assert model_version_brief(v) == ModelVersionBriefSerializer(v).data


def test_video_detail(api, catalog):
    response = api.get(f"/api/videos/{catalog[1].pk}/")
    assert response.status_code == 200
    assert response.json()["title"] == catalog[1].title
    assert api.get("/api/videos/999999/").status_code == 404


# --- Events --------------------------------------------------------------------------------------


def test_record_an_event(api, viewer, catalog):
    response = api.post(
        "/api/events/",
        {"video": catalog[0].pk, "completion": 0.75, "watched_at": "2024-05-01T10:00:00Z"},
        format="json",
    )
    assert response.status_code == 201
    event = WatchEvent.objects.get()
    assert (event.user, event.video, event.completion, event.source) == (viewer, catalog[0], 0.75, "api")
    assert event.watched_at.isoformat() == "2024-05-01T10:00:00+00:00"
    body = response.json()
    assert body["id"] == event.pk and body["video"] == catalog[0].pk and body["video_title"] == catalog[0].title
    assert body["completion"] == 0.75 and body["source"] == "api" and body["client_event_id"] is None


def test_record_defaults_watched_at_to_now_and_accepts_the_bounds(api, catalog):
    for value in (0, 1, 0.0, 1.0):
        assert api.post("/api/events/", {"video": catalog[0].pk, "completion": value}, format="json").status_code == 201
    assert sorted(WatchEvent.objects.values_list("completion", flat=True)) == [0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize("owner_field", ["user", "user_id", "owner", "username"])
def test_a_body_naming_another_user_is_refused(api, other, catalog, owner_field):
    response = api.post(
        "/api/events/", {"video": catalog[0].pk, "completion": 0.5, owner_field: other.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        owner_field: ["An event always belongs to the authenticated user; do not send this field."]
    }
    assert not WatchEvent.objects.exists()


def test_event_list_shows_only_the_requesters_events(api, viewer, other, catalog):
    mine = [WatchEvent.objects.create(user=viewer, video=v, completion=0.5) for v in catalog[:3]]
    theirs = WatchEvent.objects.create(user=other, video=catalog[0], completion=0.9)
    body = api.get("/api/events/").json()
    assert body["count"] == 3
    assert {e["id"] for e in body["results"]} == {e.pk for e in mine}
    filtered = api.get("/api/events/", {"video": catalog[1].pk}).json()
    assert [e["id"] for e in filtered["results"]] == [mine[1].pk]

    # Another user's event does not exist for this user.
    assert api.get(f"/api/events/{theirs.pk}/").status_code == 404
    assert api.delete(f"/api/events/{theirs.pk}/").status_code == 404
    assert WatchEvent.objects.filter(pk=theirs.pk).exists()
    assert api.get(f"/api/events/{mine[0].pk}/").json()["id"] == mine[0].pk


def test_delete_own_event(api, viewer, catalog):
    event = WatchEvent.objects.create(user=viewer, video=catalog[0], completion=0.5)
    assert api.delete(f"/api/events/{event.pk}/").status_code == 204
    assert not WatchEvent.objects.exists()
    assert api.delete(f"/api/events/{event.pk}/").status_code == 404


def test_idempotent_retry_stores_once_and_returns_the_original(api, viewer, other, catalog):
    body = {"video": catalog[0].pk, "completion": 0.4, "client_event_id": "phone-42"}
    first = api.post("/api/events/", body, format="json")
    second = api.post("/api/events/", {**body, "completion": 0.9}, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert WatchEvent.objects.get().completion == 0.4
    # Client ids are per user: another user may use the same one.
    assert token_client(other).post("/api/events/", body, format="json").status_code == 201
    assert WatchEvent.objects.count() == 2


def test_bulk_stores_all_events_in_order(api, viewer, catalog):
    events = [
        {"video": v.pk, "completion": round(0.1 * (i + 1), 2), "client_event_id": f"b{i}"}
        for i, v in enumerate(catalog)
    ]
    WatchEvent.objects.create(user=viewer, video=catalog[0], completion=0.3, client_event_id="b0")
    response = api.post("/api/events/bulk/", {"events": events}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["existing"]) == (5, 1)
    assert [e["client_event_id"] for e in body["events"]] == [f"b{i}" for i in range(6)]
    assert [e["created"] for e in body["events"]] == [False] + [True] * 5
    assert body["events"][0]["completion"] == 0.3  # the stored original, not the retry's value
    assert WatchEvent.objects.filter(user=viewer).count() == 6
    assert set(WatchEvent.objects.values_list("source", flat=True)) == {"api", "web"}

    again = api.post("/api/events/bulk/", {"events": events}, format="json")
    assert again.status_code == 200
    assert again.json()["created"] == 0
    assert WatchEvent.objects.count() == 6


def test_bulk_of_exactly_1000_events(api, catalog):
    events = [{"video": catalog[i % 6].pk, "completion": (i % 101) / 100} for i in range(1000)]
    response = api.post("/api/events/bulk/", {"events": events}, format="json")
    assert response.status_code == 201
    assert response.json()["created"] == 1000
    assert WatchEvent.objects.count() == 1000


# --- Recommendations -----------------------------------------------------------------------------


def test_recommendations_from_the_active_version(api, viewer, other, catalog):
    version = publish_version(
        users_videos={viewer: [catalog[2], catalog[4], catalog[5]], other: [catalog[1]]}, reason=catalog[0]
    )
    response = api.get("/api/recommendations/")
    assert response.status_code == 200
    body = response.json()
    assert body["cold_start"] is False and body["source"] == "model"
    assert body["model_version"]["id"] == version.pk
    assert body["model_version"]["trained_at"] is not None
    assert [r["video"]["id"] for r in body["results"]] == [catalog[2].pk, catalog[4].pk, catalog[5].pk]
    assert [r["rank"] for r in body["results"]] == [1, 2, 3]
    assert body["results"][0]["score"] == pytest.approx(0.99)
    assert body["results"][0]["reason_video"] == {"id": catalog[0].pk, "title": catalog[0].title}
    assert catalog[0].title in body["results"][0]["reason"]

    limited = api.get("/api/recommendations/", {"limit": 2}).json()
    assert len(limited["results"]) == 2


def test_recommendations_cost_one_query_on_postgresql(api, viewer, catalog, django_assert_num_queries):
    """Profiled hot path: on PostgreSQL the token, its user, the active version, the viewer's prepared
    feed and the videos finished since come in one query; elsewhere the token lookup, the prepared
    row and the finished videos (the version is cached)."""
    from recommender.services.feeds import feeds_prepare

    feeds_prepare(version=publish_version(users_videos={viewer: catalog[1:]}, reason=catalog[0]))
    assert api.get("/api/recommendations/").status_code == 200  # fills the active-version cache
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 3):
        body = api.get("/api/recommendations/").json()
    assert len(body["results"]) == 5 and body["source"] == "model"


def test_recommendations_leave_out_videos_finished_since_publishing(api, viewer, catalog):
    publish_version(users_videos={viewer: [catalog[2], catalog[4]]})
    WatchEvent.objects.create(user=viewer, video=catalog[2], completion=1.0)
    body = api.get("/api/recommendations/").json()
    assert [r["video"]["id"] for r in body["results"]] == [catalog[4].pk]
    assert body["results"][0]["rank"] == 1


def test_cold_start_falls_back_to_popular_videos(api, viewer, other, catalog):
    WatchEvent.objects.create(user=other, video=catalog[3], completion=0.5)
    version = publish_version(users_videos={other: [catalog[1]]})
    body = api.get("/api/recommendations/").json()
    assert body["cold_start"] is True and body["source"] == "popular"
    assert body["model_version"]["id"] == version.pk
    assert [r["video"]["id"] for r in body["results"]] == [catalog[3].pk]
    assert body["results"][0]["score"] is None and body["results"][0]["reason_video"] is None


def test_no_model_yet_is_a_cold_start_too(api, viewer, catalog):
    body = api.get("/api/recommendations/").json()
    assert body == {"cold_start": True, "source": "popular", "model_version": None, "language": "en", "results": []}


# --- Staff ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), STAFF_ONLY)
def test_staff_endpoints_refuse_other_users(api, method, path):
    response = getattr(api, method)(path, {}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only staff members may use this endpoint.", "code": "permission_denied"}


def test_model_list_and_detail(staff, viewer, catalog):
    old = publish_version(users_videos={viewer: [catalog[0]]})
    old.status = ModelVersion.Status.RETIRED
    old.save()
    running = ModelVersion.objects.create(objective="completion", epoch=2, epochs_total=8, history=[{"loss": 0.5}])
    failed = ModelVersion.objects.create(objective="completion", status="failed", error="ValueError: boom")
    client = token_client(staff)
    body = client.get("/api/models/").json()
    assert [v["id"] for v in body["results"]] == [failed.pk, running.pk, old.pk]
    by_id = {v["id"]: v for v in body["results"]}
    assert by_id[running.pk]["status"] == "running" and by_id[running.pk]["progress"] == 0.25
    assert (by_id[running.pk]["epoch"], by_id[running.pk]["epochs_total"]) == (2, 8)
    assert by_id[failed.pk]["error"] == "ValueError: boom"
    assert "history" not in by_id[running.pk]
    assert client.get("/api/models/", {"status": "failed"}).json()["count"] == 1
    assert client.get("/api/models/", {"status": "bogus"}).status_code == 400

    detail = client.get(f"/api/models/{running.pk}/").json()
    assert detail["history"] == [{"loss": 0.5}]
    assert client.get("/api/models/999999/").status_code == 404


def test_activate_rolls_back_and_refuses_unfinished_versions(staff, viewer, catalog):
    old = publish_version(users_videos={viewer: [catalog[0]]})
    old.status = ModelVersion.Status.RETIRED
    old.save()
    new = publish_version(users_videos={viewer: [catalog[1]]})
    client = token_client(staff)
    viewer_api = token_client(viewer)
    assert viewer_api.get("/api/recommendations/").json()["model_version"]["id"] == new.pk

    response = client.post(f"/api/models/{old.pk}/activate/")
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert ModelVersion.objects.get(pk=new.pk).status == "retired"
    assert viewer_api.get("/api/recommendations/").json()["model_version"]["id"] == old.pk

    failed = ModelVersion.objects.create(objective="completion", status="failed")
    refused = client.post(f"/api/models/{failed.pk}/activate/")
    assert refused.status_code == 409
    assert "only a version that finished training can be activated" in refused.json()["detail"]
    assert ModelVersion.objects.get(pk=old.pk).status == "active"


def test_retrain_queues_a_task_and_trains(staff, viewer, make_user, catalog, eager_celery, retrain_processes):
    """End to end: events in through the API, a retrain through the API, recommendations out."""
    viewer_api = token_client(viewer)
    events = [{"video": v.pk, "completion": 0.9 if i % 2 else 0.2} for i, v in enumerate(catalog[:4])]
    assert viewer_api.post("/api/events/bulk/", {"events": events}, format="json").status_code == 201
    for n in range(3):
        other_user = make_user(f"user{n}")
        body = {"events": [{"video": v.pk, "completion": 0.8} for v in catalog[n : n + 4]]}
        assert token_client(other_user).post("/api/events/bulk/", body, format="json").status_code == 201

    response = token_client(staff).post("/api/retrain/", {"epochs": 1, "embedding_dim": 4}, format="json")
    assert response.status_code == 202, response.json()
    version = ModelVersion.objects.get()
    assert response.json()["version"] == version.pk and response.json()["status"] == "queued"
    # Answered before any training: without a broker a separate process runs the queued version.
    assert version.status == "queued" and retrain_processes == [version]
    call_command("retrain", "--queued-version", str(version.pk), "--no-progress")
    version.refresh_from_db()
    assert version.status == "active" and version.triggered_by == "api"
    assert version.hyperparameters["embedding_dim"] == 4

    body = viewer_api.get("/api/recommendations/").json()
    assert body["source"] == "model" and body["model_version"]["id"] == version.pk
    watched = {v.pk for v in catalog[:4]}
    assert body["results"] and all(r["video"]["id"] not in watched for r in body["results"])


def test_retrain_refuses_bad_settings_and_a_running_retrain(staff, eager_celery, monkeypatch):
    client = token_client(staff)
    for body, field in (({"epochs": 0}, "epochs"), ({"objective": "magic"}, "objective"), ({"seed": -1}, "seed")):
        response = client.post("/api/retrain/", body, format="json")
        assert response.status_code == 400
        assert field in response.json()["errors"]
    bad_rate = client.post("/api/retrain/", {"learning_rate": "nan"}, format="json")
    assert bad_rate.status_code == 400

    from recommender import services
    from recommender.exceptions import AlreadyRunning

    def busy(**kwargs):
        raise AlreadyRunning()

    monkeypatch.setattr(services, "retrain_request", busy)
    response = client.post("/api/retrain/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "A retrain is already running; try again when it has finished."
    assert not ModelVersion.objects.exists()


def test_retrain_conflicts_while_the_lock_is_held(staff, viewer, catalog, eager_celery):
    from recommender.locks import retrain_lock

    WatchEvent.objects.create(user=viewer, video=catalog[0], completion=0.5)  # something to learn
    with retrain_lock():
        response = token_client(staff).post("/api/retrain/", {"epochs": 1}, format="json")
    assert response.status_code == 409
    assert not ModelVersion.objects.exists()


# --- Docs ----------------------------------------------------------------------------------------


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/videos/",
        "/api/videos/{id}/",
        "/api/events/",
        "/api/events/bulk/",
        "/api/recommendations/",
        "/api/models/",
        "/api/models/{id}/activate/",
        "/api/retrain/",
        "/api/auth/token/",
    ):
        assert path in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    # Swagger UI loads when the reader opens it: its bundle, then its start-up script, which is its own
    # URL (no inline script under the CSP) and names the schema.
    console = re.search(r'data-styles="([^"]*)" data-scripts="([^"]*)"', html)
    bundle, script_url = console.group(2).split()
    assert bundle.endswith("swagger-ui-bundle.js") and script_url.startswith("/api/docs/?script=")
    script = client.get(script_url)
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()
    assert "cdn" not in html.lower() and "https://" not in html  # assets come from this site
    from django.contrib.staticfiles import finders

    assets = [*re.findall(r'"/static/([^"]+\.(?:js|css))"', html), console.group(1), bundle]
    assert len(assets) >= 4
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset


def test_unknown_api_path_is_a_json_404(api):
    response = api.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    hint = api.get("/api/videos")
    assert hint.status_code == 404 and "/api/videos/" in hint.json()["detail"]
