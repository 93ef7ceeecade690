"""Hostile input on the site's pages and the player's JSON endpoint: never a 500.

NUL characters, lone surrogates and escapes that are not UTF-8 are refused with 400 and a readable
sentence (plain text for pages, JSON for the JSON endpoint); overlong values, odd numbers and
repeated parameters still get a page; nothing is stored. Run on SQLite and on PostgreSQL (which
cannot hold a NUL at all, so there a NUL that slipped through used to become a 500).
"""

from __future__ import annotations

import json

import pytest
from django.db import DataError
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from recsite.middleware import HostileInputMiddleware
from videos.models import Category, Video, WatchEvent

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-password-123"
HUGE = "9" * 40


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def video(db) -> Video:
    music = Category.objects.create(name="Music", slug="music")
    return Video.objects.create(title="Song", category=music, duration_seconds=60)


@pytest.fixture
def viewer(make_user):
    return make_user("viewer", password=PASSWORD)


@pytest.fixture
def browser(viewer) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


def assert_refused_page(response, *words: str, status: int = 400) -> str:
    """A refusal meant for people: the status, plain text, one readable line naming the problem."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert text.startswith("Bad request. ") and text.count("\n") == 1
    for word in words:
        assert word in text
    return text


def assert_refused_json(response, field: str, *words: str, status: int = 400) -> dict:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert field in body["errors"], body
    messages = body["errors"][field]
    assert messages and all(isinstance(m, str) and m for m in messages)
    for word in words:
        assert any(word in m for m in messages), messages
    return body


def assert_served(response) -> None:
    assert response.status_code < 500, response.content[:300]


def pages(video: Video) -> list[str]:
    return [
        "/",
        reverse("video-list"),
        reverse("category", args=["music"]),
        reverse("video-detail", args=[video.pk]),
        reverse("history"),
        reverse("recommended"),
        reverse("login"),
        reverse("signup"),
        reverse("password_change"),
    ]


# --- query strings -------------------------------------------------------------------------------------

REFUSED_QUERIES = [
    ("q=a%00b", ["query parameter “q”", "NUL"]),
    ("sort=%00", ["query parameter “sort”", "NUL"]),
    ("page=1%00", ["query parameter “page”", "NUL"]),
    ("%00=1", ["query parameter", "NUL"]),
    ("q=%ED%A0%80", ["query parameter", "UTF-8"]),  # a lone surrogate, encoded as if it were UTF-8
    ("q=%FF", ["query parameter", "UTF-8"]),
    ("&".join(f"p{i}=1" for i in range(1001)), ["Too many fields"]),
]


@pytest.mark.parametrize(("query", "words"), REFUSED_QUERIES)
@pytest.mark.parametrize("logged_in", [False, True])
def test_unusable_text_in_a_query_string_is_400_on_every_page(browser, video, query, words, logged_in):
    client = browser if logged_in else Client()
    for path in pages(video):
        assert_refused_page(client.get(f"{path}?{query}"), *words)


SERVED_QUERIES = [
    "q=" + "x" * 10_000,
    "q=%E2%80%AE%F0%9F%98%80",  # right-to-left override and an emoji: unusual but valid text
    "sort=password",
    "sort=" + "x" * 5000,
    "page=abc",
    "page=0",
    "page=-1",
    f"page={HUGE}",
    "page=1e999",
    "page=nan",
    "page=1&page=abc&page=" + HUGE,
    "q=a&q=b&sort=title&sort=-title",
    "category=%25&q=%25_%5C",
    "next=//evil.example/",
]


@pytest.mark.parametrize("query", SERVED_QUERIES)
def test_odd_query_parameters_still_get_a_page(browser, video, query):
    for client in (Client(), browser):
        for path in pages(video):
            assert_served(client.get(f"{path}?{query}"))


def test_search_with_a_nul_was_a_500_on_postgresql(video):
    body = assert_refused_page(Client().get("/videos/?q=%00"), "“q”", "NUL")
    assert "\x00" not in body


def test_home_search_redirect_does_not_carry_a_nul_to_the_catalog(video):
    assert_refused_page(Client().get("/?q=%00"), "“q”")


# --- path segments -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/category/%00/", ["address", "NUL"]),
        ("/category/mu%00sic/", ["address", "NUL"]),
        ("/videos/%00/", ["address", "NUL"]),
    ],
)
def test_unusable_text_in_the_path_is_400(path, words):
    assert_refused_page(Client().get(path), *words)


@pytest.mark.parametrize(
    "path",
    [
        "/category/" + "x" * 5000 + "/",
        "/category/%25/",
        # Bytes that are not UTF-8 (an encoded lone surrogate, an overlong NUL) stay literal %XX text.
        "/category/%ED%A0%80/",
        "/category/%C0%80/",
        "/category/%E2%80%AE/",
        "/videos/abc/",
        f"/videos/{HUGE}/",
        "/videos/0/",
        f"/videos/{2**63}/",
    ],
)
def test_unknown_paths_are_404(browser, path):
    assert browser.get(path).status_code == 404


@pytest.mark.parametrize("video_id", [HUGE, str(2**63), "0"])
def test_watching_an_impossible_video_stores_nothing(browser, video_id):
    assert browser.post(f"/videos/{video_id}/watch/", {"percent": "50"}).status_code == 404
    response = browser.post(f"/videos/{video_id}/progress/", '{"completion": 0.5}', content_type="application/json")
    assert_refused_json(response, "video", "Unknown video")
    assert not WatchEvent.objects.exists()


@pytest.mark.parametrize("event_id", [HUGE, str(2**63), str(2**63 - 1), "0"])
def test_removing_an_impossible_history_entry_is_404(browser, viewer, video, event_id):
    WatchEvent.objects.create(user=viewer, video=video, completion=0.5)
    assert browser.post(f"/history/{event_id}/remove/").status_code == 404
    assert WatchEvent.objects.count() == 1


# --- headers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("HTTP_COOKIE", "Cookie"),
        ("HTTP_ACCEPT_LANGUAGE", "Accept-Language"),
        ("HTTP_X_CSRFTOKEN", "X-Csrftoken"),
        ("HTTP_REFERER", "Referer"),
    ],
)
def test_a_nul_in_a_header_is_400(video, header, name):
    value = "sessionid=abcdefgh\x00ijkl" if header == "HTTP_COOKIE" else "x\x00"
    assert_refused_page(Client().get("/videos/", **{header: value}), f"header “{name}”", "NUL")


# --- forms -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "status"),
    [("\x00", 400), ("50\x00", 400), ("abc", 400), ("-1", 400), ("101", 400), (HUGE, 400), ("1e999", 400), ("", 400)],
)
def test_bad_watch_form_values_are_refused_and_nothing_stored(browser, video, percent, status):
    response = browser.post(reverse("video-watch", args=[video.pk]), {"percent": percent})
    assert response.status_code == status
    if "\x00" in percent:
        assert_refused_page(response, "form field “percent”", "NUL")
    else:
        assert "percent" in response.context["form"].errors
    assert not WatchEvent.objects.exists()


def test_watch_form_with_repeated_values_uses_the_last(browser, video):
    response = browser.post(
        reverse("video-watch", args=[video.pk]),
        "percent=abc&percent=40",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 302
    assert WatchEvent.objects.get().completion == 0.4


def test_encoded_surrogate_in_a_form_is_400(browser, video):
    response = browser.post(
        reverse("video-watch", args=[video.pk]), "percent=%ED%A0%80", content_type="application/x-www-form-urlencoded"
    )
    assert_refused_page(response, "form field", "UTF-8")
    assert not WatchEvent.objects.exists()


def test_history_remove_with_a_nul_page_keeps_the_entry(browser, viewer, video):
    event = WatchEvent.objects.create(user=viewer, video=video, completion=0.5)
    assert_refused_page(browser.post(reverse("history-remove", args=[event.pk]), {"page": "\x00"}), "“page”")
    assert WatchEvent.objects.filter(pk=event.pk).exists()
    response = browser.post(reverse("history-remove", args=[event.pk]), {"page": HUGE})
    assert response.status_code == 302
    assert not WatchEvent.objects.exists()


@pytest.mark.parametrize(
    ("data", "refused"),
    [
        ({"language": "\x00"}, True),
        ({"language": "zh-hans", "next": "/\x00"}, True),
        ({"language": "x" * 10_000}, False),
        ({"language": "xx"}, False),
        ({"language": "zh-hans", "next": "https://evil.example/"}, False),
        ({"language": "zh-hans", "next": "/" + "x" * 10_000}, False),
    ],
)
def test_set_language(data, refused):
    response = Client().post(reverse("set_language"), data)
    if refused:
        assert_refused_page(response, "form field", "NUL")
        assert "language" not in response.cookies
    else:
        assert response.status_code == 302
        assert "evil.example" not in response["Location"]


# --- accounts ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"username": "viewer\x00", "password": PASSWORD}, ["“username”", "NUL"]),
        ({"username": "viewer", "password": "pass\x00word"}, ["“password”", "NUL"]),
        ({"user\x00name": "viewer", "password": PASSWORD}, ["form field", "NUL"]),
    ],
)
def test_login_with_a_nul_is_400_and_logs_nobody_in(viewer, data, words):
    client = Client()
    assert_refused_page(client.post(reverse("login"), data), *words)
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "data",
    [
        {"username": "u" * 10_000, "password": "x"},
        {"username": "viewer", "password": "p" * 100_000},
        {"username": "", "password": ""},
        {"username": "%", "password": "%"},
    ],
)
def test_odd_logins_are_refused_politely(viewer, data):
    client = Client()
    response = client.post(reverse("login"), data)
    assert 400 <= response.status_code < 500 or (response.status_code == 200 and response.context["form"].errors)
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("data", "nul"),
    [
        ({"username": "new\x00user", "password1": PASSWORD, "password2": PASSWORD}, True),
        ({"username": "newuser", "password1": PASSWORD + "\x00", "password2": PASSWORD + "\x00"}, True),
        ({"username": "n" * 10_000, "password1": PASSWORD, "password2": PASSWORD}, False),
        ({"username": "new user!", "password1": PASSWORD, "password2": PASSWORD}, False),
        ({"username": "newuser", "password1": PASSWORD, "password2": "other-password-123"}, False),
    ],
)
def test_bad_sign_ups_create_no_account(data, nul):
    from django.contrib.auth import get_user_model

    response = Client().post(reverse("signup"), data)
    if nul:
        assert_refused_page(response, "NUL")
    else:
        assert response.status_code == 400
        assert response.context["form"].errors
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"old_password": PASSWORD + "\x00", "new_password1": "x-new-password-9", "new_password2": "x-new-password-9"},
        {"old_password": PASSWORD, "new_password1": "x-new-password-9\x00", "new_password2": "x-new-password-9\x00"},
    ],
)
def test_password_change_with_a_nul_keeps_the_password(browser, viewer, data):
    assert_refused_page(browser.post(reverse("password_change"), data), "NUL")
    viewer.refresh_from_db()
    assert viewer.check_password(PASSWORD)


@pytest.mark.parametrize("old_password", [PASSWORD, "wrong-" * 20_000])
def test_password_change_with_an_overlong_password_is_served(browser, viewer, old_password):
    """No password length limit is enforced, but a long one costs no more than a short one (no 500)."""
    long = "p" * 100_000
    response = browser.post(
        reverse("password_change"), {"old_password": old_password, "new_password1": long, "new_password2": long}
    )
    assert_served(response)
    viewer.refresh_from_db()
    assert viewer.check_password(long if old_password == PASSWORD else PASSWORD)


def test_sign_up_with_an_overlong_password_is_served(db):
    long = "p" * 100_000
    assert_served(Client().post(reverse("signup"), {"username": "newuser", "password1": long, "password2": long}))


# --- the player's JSON endpoint --------------------------------------------------------------------------


def post_progress(client: Client, video: Video, raw: str | bytes):
    return client.post(reverse("video-progress", args=[video.pk]), raw, content_type="application/json")


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ("[" * 100_000 + "]" * 100_000, "__all__", ["nested too deeply"]),
        ("[" * 100_000, "__all__", ["nested too deeply"]),
        ('{"completion": ' + "[" * 33 + "]" * 33 + "}", "__all__", ["nested too deeply"]),
        ('{"completion": 0.5, "client_event_id": "\\ud800"}', "client_event_id", ["surrogate"]),
        ('{"completion": 0.5, "client_event_id": "a\\udfffb"}', "client_event_id", ["surrogate"]),
        ('{"completion": 0.5, "client_event_id": "a\\u0000b"}', "client_event_id", ["NUL"]),
        ('{"completion": 0.5, "client_event_id": "a\\nb"}', "client_event_id", ["printable"]),
        ('{"completion": 0.5, "client_event_id": "' + "x" * 65 + '"}', "client_event_id", ["64"]),
        ('{"completion": 0.5, "client_event_id": "' + "x" * 100_000 + '"}', "client_event_id", ["64"]),
        ('{"completion": 0.5, "x\\u0000": 1}', "__all__", ["NUL"]),
        ('{"completion": 0.5, "extra": {"deep": ["\\ud800"]}}', "extra.deep.0", ["surrogate"]),
        ('{"completion": "0.5\\u0000"}', "completion", ["NUL"]),
        ('{"completion": 1' + "0" * 400 + "}", "completion", []),
        ('{"completion": 1e400}', "completion", ["finite"]),
        ('{"completion": -0.0000001}', "completion", []),
        (b'{"completion": 0.5, "client_event_id": "\xed\xa0\x80"}', "__all__", ["UTF-8"]),
        (b'{"completion": 0.5, "client_event_id": "\xff"}', "__all__", ["UTF-8"]),
        ('{"completion": 0.5', "__all__", ["JSON"]),
    ],
)
def test_progress_refuses_hostile_json_and_stores_nothing(browser, video, raw, field, words):
    response = post_progress(browser, video, raw)
    assert_refused_json(response, field, *words)
    assert not WatchEvent.objects.exists()


def test_progress_with_a_nul_in_the_query_string_answers_json(browser, video):
    response = browser.post(
        reverse("video-progress", args=[video.pk]) + "?x=%00",
        json.dumps({"completion": 0.5}),
        content_type="application/json",
    )
    body = assert_refused_json(response, "x", "NUL")
    assert "NUL" in body["detail"]
    assert not WatchEvent.objects.exists()


def test_progress_accepts_a_64_character_printable_id(browser, video):
    client_event_id = "é-" + "x" * 62
    response = post_progress(browser, video, json.dumps({"completion": 0.5, "client_event_id": client_event_id}))
    assert response.status_code == 201
    assert WatchEvent.objects.get().client_event_id == client_event_id


def test_progress_accepts_modest_nesting_elsewhere_in_the_body(browser, video):
    """The depth limit is generous: a body 32 levels deep is still read (the extra key is ignored)."""
    raw = '{"completion": 0.5, "extra": ' + "[" * 31 + "]" * 31 + "}"
    assert post_progress(browser, video, raw).status_code == 201


# --- the last net: a value the database refuses ------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"),
        OverflowError("Python int too large to convert to SQLite INTEGER"),
    ],
)
def test_a_value_the_database_refuses_is_a_400(error, caplog):
    middleware = HostileInputMiddleware(lambda request: HttpResponse())
    page = middleware.process_exception(RequestFactory().get("/videos/"), error)
    assert_refused_page(page, "out of range or cannot be stored")
    api = middleware.process_exception(RequestFactory().get("/api/videos/"), error)
    assert api.status_code == 400 and json.loads(api.content)["code"] == "invalid"
    assert "cannot take" in caplog.text  # logged: a check is missing somewhere


def test_other_exceptions_are_left_to_django():
    middleware = HostileInputMiddleware(lambda request: HttpResponse())
    assert middleware.process_exception(RequestFactory().get("/"), KeyError("x")) is None


def test_a_relation_filter_beyond_64_bits_is_not_a_500(video, make_user):
    """Django's ORM passes such an id to SQLite unchecked (OverflowError); PostgreSQL finds nothing."""
    client = Client()
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    response = client.get(f"/admin/videos/video/?category={HUGE}")
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert_refused_page(response, "out of range")
