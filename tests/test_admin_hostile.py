"""Hostile input in the admin: log-in, change lists (search, filters, ordering, pages), autocomplete,
and the add/change forms of every registered model. Never a 500; NUL characters get a readable 400;
bad ids, overlong values and impossible numbers become form errors and nothing is stored.
Run on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from videos.models import Category, Video, WatchEvent

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-password-123"
HUGE = "9" * 40
REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
MODEL_IDS = [model._meta.label for model, _model_admin in REGISTERED]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def boss(make_user):
    return make_user("boss", password=PASSWORD, is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(boss) -> Client:
    client = Client()
    client.force_login(boss)
    return client


@pytest.fixture
def catalog(make_user):
    music = Category.objects.create(name="Music", slug="music")
    video = Video.objects.create(title="Song", category=music, duration_seconds=60)
    viewer = make_user("viewer", password=PASSWORD)
    event = WatchEvent.objects.create(user=viewer, video=video, completion=0.5, client_event_id="first")
    return {"category": music, "video": video, "viewer": viewer, "event": event}


def url(model, view: str, *args: str) -> str:
    opts = model._meta
    base = f"/admin/{opts.app_label}/{opts.model_name}/"
    return base + "".join(f"{arg}/" for arg in args) + (f"{view}/" if view else "")


def assert_served(response) -> None:
    assert response.status_code < 500, response.content[:300]


def assert_refused_page(response, *words: str) -> None:
    assert response.status_code == 400, response.content[:300]
    text = response.content.decode()
    assert response["Content-Type"].startswith("text/plain") and text.startswith("Bad request. ")
    for word in words:
        assert word in text


def form_errors(response) -> dict:
    """The errors of the admin's add/change form shown again with status 200."""
    assert response.status_code == 200, response.content[:300]
    return response.context["adminform"].form.errors


def snapshot() -> list:
    return [
        list(WatchEvent.objects.order_by("pk").values()),
        list(Video.objects.order_by("pk").values()),
        list(Category.objects.order_by("pk").values()),
    ]


# --- log-in ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"username": "boss\x00", "password": PASSWORD}, ["“username”", "NUL"]),
        ({"username": "boss", "password": "\x00"}, ["“password”", "NUL"]),
    ],
)
def test_admin_login_with_a_nul_is_400(boss, data, words):
    client = Client()
    assert_refused_page(client.post("/admin/login/", data), *words)
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "data",
    [
        {"username": "b" * 10_000, "password": PASSWORD},  # was a 500 on PostgreSQL (failed-login record)
        {"username": "boss", "password": "p" * 100_000},
        {"username": "", "password": ""},
        {"username": "viewer", "password": PASSWORD},  # not staff
    ],
)
def test_admin_login_with_odd_values_shows_the_form_again(boss, catalog, data):
    client = Client()
    response = client.post("/admin/login/", data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_admin_login_names_the_length_limit(boss):
    response = Client().post("/admin/login/", {"username": "b" * 151, "password": PASSWORD})
    assert "at most 150 characters" in str(response.context["form"].errors["username"])


# --- change lists -------------------------------------------------------------------------------------


def changelist_queries(model_admin) -> list[str]:
    queries = [
        "q=" + "x" * 5000,
        "q=%25_%5C%27%22",
        "q=%F0%9F%98%80%E2%80%AE",
        "q=a&q=b",
        "o=abc",
        "o=999",
        "o=1.-2.x",
        f"o={HUGE}",
        "p=abc",
        f"p={HUGE}",
        "p=-1",
        "no_such_field=1",
        "e=1",
        "_popup=1&_to_field=password",
        "all=&q=x",
    ]
    for entry in model_admin.list_filter:
        if not isinstance(entry, str):
            continue
        for suffix, value in [
            ("__exact", "abc"),
            ("__exact", HUGE),
            ("__id__exact", "abc"),
            ("__id__exact", HUGE),
            ("__isnull", "maybe"),
            ("__gte", "not-a-date"),
            ("", "x" * 5000),
        ]:
            queries.append(f"{entry}{suffix}={value}")
    if model_admin.date_hierarchy:
        field = model_admin.date_hierarchy
        queries += [f"{field}__year=abc", f"{field}__year={HUGE}", f"{field}__year=2024&{field}__month=13"]
        queries += [f"{field}__year=2024&{field}__month=2&{field}__day=31", f"{field}__year=0"]
    return queries


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=MODEL_IDS)
def test_changelists_survive_odd_parameters(staff_client, catalog, model, model_admin):
    for query in changelist_queries(model_admin):
        assert_served(staff_client.get(url(model, "") + "?" + query))


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=MODEL_IDS)
@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("q=%00", ["query parameter “q”", "NUL"]),
        ("q=abc%00def", ["“q”", "NUL"]),
        ("o=%00", ["“o”", "NUL"]),
        ("p=1%00", ["“p”", "NUL"]),
        ("%00=1", ["query parameter", "NUL"]),
        ("q=%ED%A0%80", ["query parameter", "UTF-8"]),
    ],
)
def test_changelist_with_a_nul_is_400(staff_client, catalog, model, model_admin, query, words):
    assert_refused_page(staff_client.get(url(model, "") + "?" + query), *words)


def test_changelist_search_with_a_nul_was_silently_empty(staff_client, catalog):
    """PostgreSQL cannot compare text with a NUL; the search must say so, not show an empty list."""
    assert_refused_page(staff_client.get("/admin/videos/watchevent/?q=first%00"), "“q”", "NUL")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("term=%00", 400),
        ("term=" + "x" * 5000, 200),
        ("term=%25", 200),
        ("term=" + HUGE, 200),
        ("term=Song&page=abc", 404),
        (f"term=Song&page={HUGE}", 404),
    ],
)
def test_autocomplete_survives_odd_terms(staff_client, catalog, query, status):
    base = "/admin/autocomplete/?app_label=videos&model_name=watchevent&field_name=video&"
    assert staff_client.get(base + query).status_code == status


@pytest.mark.parametrize(
    "query",
    [
        "app_label=videos&model_name=nothing&field_name=video&term=a",
        "app_label=videos&model_name=watchevent&field_name=completion&term=a",
        "app_label=" + "x" * 5000 + "&model_name=watchevent&field_name=video",
        "term=a",
    ],
)
def test_autocomplete_refuses_unknown_fields(staff_client, catalog, query):
    assert staff_client.get("/admin/autocomplete/?" + query).status_code == 403


# --- add and change forms of every registered model ---------------------------------------------------------


def admin_form_fields(model_admin, user, obj=None) -> list[str]:
    request = RequestFactory().get("/")
    request.user = user
    form_class = model_admin.get_form(request, obj)
    return list(form_class.base_fields)


PAYLOADS = ["abc", HUGE, "-1", "1.5", "x" * 10_000, "", "%", "2024-13-45"]


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=MODEL_IDS)
def test_add_forms_survive_hostile_values_in_every_field(staff_client, boss, catalog, model, model_admin):
    fields = admin_form_fields(model_admin, boss)
    for payload in PAYLOADS:
        data = {}
        for name in fields:
            data.update({name: payload, f"{name}_0": payload, f"{name}_1": payload})
        assert_served(staff_client.post(url(model, "add"), data))
        for name in fields:
            assert_served(staff_client.post(url(model, "add"), {name: payload, f"{name}_0": payload}))


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=MODEL_IDS)
def test_add_forms_survive_hostile_initial_values(staff_client, boss, catalog, model, model_admin):
    """The add form also takes initial values from the query string (``?video=3``)."""
    for name in admin_form_fields(model_admin, boss):
        for payload in [*PAYLOADS[:4], "2024-01-01 10:00", "x" * 1000]:
            assert_served(staff_client.get(url(model, "add") + f"?{name}={payload}"))


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=MODEL_IDS)
@pytest.mark.parametrize("object_id", ["abc", HUGE, "-1", "1.5", "x" * 5000, "%25", "_5F"])
def test_unknown_object_ids_are_not_a_500(staff_client, catalog, model, model_admin, object_id):
    for view in ("change", "history", "delete"):
        assert_served(staff_client.get(url(model, view, object_id)))
    assert_served(staff_client.post(url(model, "delete", object_id), {"post": "yes"}))


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=MODEL_IDS)
def test_a_nul_in_an_object_id_is_400(staff_client, catalog, model, model_admin):
    assert_refused_page(staff_client.get(url(model, "change", "1%00")), "address", "NUL")


def existing_objects(catalog, boss):
    return {
        WatchEvent: catalog["event"],
        Video: catalog["video"],
        Category: catalog["category"],
        get_user_model(): boss,
    }


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=MODEL_IDS)
def test_change_forms_survive_hostile_values_in_every_field(staff_client, boss, catalog, model, model_admin):
    obj = existing_objects(catalog, boss).get(model)
    if obj is None:
        pytest.skip("no object of this model in the fixture")
    fields = admin_form_fields(model_admin, boss, obj)
    for payload in PAYLOADS:
        data = {}
        for name in fields:
            data.update({name: payload, f"{name}_0": payload, f"{name}_1": payload})
        assert_served(staff_client.post(url(model, "change", str(obj.pk)), data))


# --- watch events, videos and categories: form errors, nothing stored -----------------------------------------


def watch_event_data(catalog, **changes) -> dict:
    data = {
        "user": str(catalog["viewer"].pk),
        "video": str(catalog["video"].pk),
        "completion": "50",  # the admin takes a percentage
        "watched_at_0": "2024-01-01",
        "watched_at_1": "12:00:00",
        "source": "admin",
        "client_event_id": "",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"video": "abc"}, "video"),  # was a 500: the autocomplete widget looked the value up unchecked
        ({"video": HUGE}, "video"),
        ({"video": str(2**63)}, "video"),
        ({"video": "-1"}, "video"),
        ({"video": "1.5"}, "video"),
        ({"video": "x" * 10_000}, "video"),
        ({"video": ""}, "video"),
        ({"user": "abc"}, "user"),
        ({"user": HUGE}, "user"),
        ({"user": "x" * 10_000}, "user"),
        ({"completion": "nan"}, "completion"),
        ({"completion": "inf"}, "completion"),
        ({"completion": "1e999"}, "completion"),
        ({"completion": "1" + "0" * 400}, "completion"),
        ({"completion": "101"}, "completion"),
        ({"completion": "-0.001"}, "completion"),
        ({"completion": "abc"}, "completion"),
        ({"source": "hacker"}, "source"),
        ({"watched_at_0": "2024-13-45"}, "watched_at"),
        ({"watched_at_0": "9" * 40}, "watched_at"),
        ({"client_event_id": "x" * 65}, "client_event_id"),
        ({"client_event_id": "x" * 10_000}, "client_event_id"),
        ({"client_event_id": "tab\there"}, "client_event_id"),
        ({"client_event_id": "first"}, "__all__"),  # already used by this viewer
    ],
)
def test_watch_event_add_form_reports_bad_values(staff_client, catalog, changes, field):
    before = snapshot()
    errors = form_errors(staff_client.post("/admin/videos/watchevent/add/", watch_event_data(catalog, **changes)))
    assert field in errors, errors
    assert snapshot() == before


def test_watch_event_add_form_still_stores_good_values(staff_client, catalog):
    response = staff_client.post("/admin/videos/watchevent/add/", watch_event_data(catalog, client_event_id="second"))
    assert response.status_code == 302
    assert WatchEvent.objects.filter(client_event_id="second", completion=0.5).exists()


@pytest.mark.parametrize(
    "query",
    [
        "video=abc",  # was a 500 (the autocomplete widget)
        f"video={HUGE}",
        "video=-1",
        "user=abc",
        "completion=abc",
        "watched_at=abc",  # was a 500 (the date-and-time widget)
        "watched_at=2024-01-01",
    ],
)
def test_watch_event_add_form_with_odd_initial_values(staff_client, catalog, query):
    assert staff_client.get("/admin/videos/watchevent/add/?" + query).status_code == 200


def test_good_initial_values_are_kept(staff_client, catalog):
    video = catalog["video"]
    response = staff_client.get(f"/admin/videos/watchevent/add/?video={video.pk}&watched_at=2024-01-02%2003:04:05")
    initial = response.context["adminform"].form.initial
    assert initial["video"] == str(video.pk)
    assert initial["watched_at"].isoformat() == "2024-01-02T03:04:05+00:00"
    assert initial["source"] == "admin"


def test_watch_event_change_form_reports_bad_values(staff_client, catalog):
    before = snapshot()
    event = catalog["event"]
    response = staff_client.post(
        f"/admin/videos/watchevent/{event.pk}/change/", watch_event_data(catalog, video="abc", user="x" * 5000)
    )
    assert set(form_errors(response)) >= {"video", "user"}
    assert snapshot() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "t" * 256}, "title"),
        ({"title": ""}, "title"),
        ({"title": "Song"}, "title"),  # taken
        ({"duration_seconds": "-1"}, "duration_seconds"),
        ({"duration_seconds": HUGE}, "duration_seconds"),
        ({"duration_seconds": "1e999"}, "duration_seconds"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
        ({"media_url": "http://" + "x" * 600 + ".example/"}, "media_url"),
        ({"thumbnail_url": "not a url"}, "thumbnail_url"),
        ({"category": "abc"}, "category"),
        ({"category": HUGE}, "category"),
        ({"tags": "t" * 256}, "tags"),
        ({"external_id": "e" * 101}, "external_id"),
        ({"created_at_0": "2024-02-30"}, "created_at"),
    ],
)
def test_video_add_form_reports_bad_values(staff_client, catalog, changes, field):
    data = {
        "title": "New clip",
        "description": "",
        "duration_seconds": "10",
        "media_url": "",
        "thumbnail_url": "",
        "category": str(catalog["category"].pk),
        "tags": "",
        "created_at_0": "2024-01-01",
        "created_at_1": "12:00:00",
        "external_id": "",
    }
    data.update(changes)
    before = snapshot()
    assert field in form_errors(staff_client.post("/admin/videos/video/add/", data))
    assert snapshot() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "n" * 101}, "name"),
        ({"name": "Music"}, "name"),
        ({"slug": "s" * 101}, "slug"),
        ({"slug": "not a slug!"}, "slug"),
        ({"slug": "music"}, "slug"),
    ],
)
def test_category_add_form_reports_bad_values(staff_client, catalog, changes, field):
    data = {"name": "Cooking", "slug": "cooking", **changes}
    before = snapshot()
    assert field in form_errors(staff_client.post("/admin/videos/category/add/", data))
    assert snapshot() == before


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/videos/category/add/", {"name": "Cook\x00ing", "slug": "cooking"}),
        ("/admin/videos/video/add/", {"title": "Clip\x00", "duration_seconds": "1"}),
        ("/admin/videos/watchevent/add/", {"video": "1\x00", "user": "1", "completion": "0.5"}),
        ("/admin/videos/watchevent/add/", {"client_event_id": "\x00", "completion": "0.5"}),
    ],
)
def test_a_nul_in_an_admin_form_is_400_and_stores_nothing(staff_client, catalog, path, data):
    before = snapshot()
    assert_refused_page(staff_client.post(path, data), "form field", "NUL")
    assert snapshot() == before


def test_an_encoded_surrogate_in_an_admin_form_is_400(staff_client, catalog):
    before = snapshot()
    response = staff_client.post(
        "/admin/videos/category/add/", "name=%ED%A0%80&slug=x", content_type="application/x-www-form-urlencoded"
    )
    assert_refused_page(response, "form field", "UTF-8")
    assert snapshot() == before
