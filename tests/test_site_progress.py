"""The player's JSON endpoint: POST /videos/<id>/progress/ records completion through the service."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from videos.models import Video, WatchEvent


@pytest.fixture
def video(db):
    return Video.objects.create(title="Clip", duration_seconds=6, media_url="http://127.0.0.1:8000/static/clip.webm")


@pytest.fixture
def viewer(client, make_user):
    user = make_user("viewer")
    client.force_login(user)
    return user


def post(client, video_id, body, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(reverse("video-progress", args=[video_id]), data, content_type="application/json", **extra)


def test_progress_is_recorded_as_a_web_watch(client, viewer, video):
    response = post(client, video.pk, {"completion": 0.42})
    assert response.status_code == 201
    event = WatchEvent.objects.get()
    assert (event.user, event.video, event.completion, event.source) == (viewer, video, 0.42, "web")
    assert response.json() == {"event_id": event.pk, "completion": 0.42, "best_completion": 0.42, "created": True}

    # A later, smaller report is stored too; the viewer's best stays the furthest point.
    response = post(client, video.pk, {"completion": 0.2})
    assert response.status_code == 201
    assert response.json()["best_completion"] == 0.42
    assert WatchEvent.objects.count() == 2


def test_progress_with_client_event_id_is_stored_once(client, viewer, video):
    first = post(client, video.pk, {"completion": 0.5, "client_event_id": "page-1"})
    again = post(client, video.pk, {"completion": 0.5, "client_event_id": "page-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["event_id"] == first.json()["event_id"] and again.json()["created"] is False
    assert WatchEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"completion": NaN}', "completion"),
        ('{"completion": Infinity}', "completion"),
        ({"completion": "nan"}, "completion"),
        ({"completion": "inf"}, "completion"),
        ({"completion": "1e400"}, "completion"),
        ({"completion": -0.1}, "completion"),
        ({"completion": 1.5}, "completion"),
        ({"completion": None}, "completion"),
        ({"completion": True}, "completion"),
        ({"completion": []}, "completion"),
        ({"completion": "half"}, "completion"),
        ({}, "completion"),
        ({"percent": 50}, "completion"),
        ({"completion": 0.5, "client_event_id": 7}, "client_event_id"),
        ({"completion": 0.5, "client_event_id": "x" * 65}, "client_event_id"),
        ("not json", "__all__"),
        ("", "__all__"),
        ("[0.5]", "__all__"),
        ('"0.5"', "__all__"),
    ],
)
def test_bad_input_is_refused_with_a_field_message_and_nothing_stored(client, viewer, video, body, field):
    response = post(client, video.pk, body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert all(isinstance(m, str) and m for m in errors[field])
    assert WatchEvent.objects.count() == 0


def test_unknown_video_is_a_400_naming_the_video(client, viewer, video):
    response = post(client, video.pk + 1000, {"completion": 0.5})
    assert response.status_code == 400
    assert response.json()["errors"] == {"video": ["Unknown video."]}
    # Both problems are reported at once.
    response = post(client, video.pk + 1000, {"completion": 2})
    assert set(response.json()["errors"]) == {"video", "completion"}
    assert WatchEvent.objects.count() == 0


def test_oversized_body_is_refused(client, viewer, video, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(client, video.pk, {"completion": 0.5, "padding": "x" * 2000})
    assert response.status_code == 400
    assert response.json() == {"errors": {"__all__": ["The request body is too large."]}}
    assert WatchEvent.objects.count() == 0


def test_anonymous_and_wrong_method_store_nothing(client, video):
    response = post(client, video.pk, {"completion": 0.5})
    assert response.status_code == 403
    assert response.json()["errors"]["__all__"]
    assert client.get(reverse("video-progress", args=[video.pk])).status_code == 405
    assert WatchEvent.objects.count() == 0


def test_csrf_token_is_required(make_user, video):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("careful"))
    assert post(browser, video.pk, {"completion": 0.5}).status_code == 403
    assert WatchEvent.objects.count() == 0

    page = browser.get(reverse("video-detail", args=[video.pk]))
    token = page.cookies["csrftoken"].value
    assert 'id="progress-csrf"' in page.text
    response = post(browser, video.pk, {"completion": 0.5}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201
    assert WatchEvent.objects.count() == 1


def test_player_page_wires_the_endpoint(client, viewer, video):
    page = client.get(reverse("video-detail", args=[video.pk])).text
    assert f'src="{video.media_url}"' in page
    assert f'data-progress-url="{reverse("video-progress", args=[video.pk])}"' in page
    assert "/static/js/player.js" in page
    # Anonymous visitors can play but nothing reports progress.
    client.logout()
    page = client.get(reverse("video-detail", args=[video.pk])).text
    assert "<video" in page and "data-progress-url" not in page and "player.js" not in page
