"""What a new viewer meets first: the order of the home rows, cards, the video page without a file,
history wording and undo, category names in Chinese, icons, page descriptions and heading levels."""

from __future__ import annotations

import itertools
import re

import pytest
from django.urls import reverse
from django.utils import translation

from videos.models import Category, Video, WatchEvent


@pytest.fixture
def catalog(db):
    cooking = Category.objects.create(name="Cooking")
    own = Category.objects.create(name="Board Games")
    return {
        "noodles": Video.objects.create(title="Hand-Pulled Noodles", category=cooking, duration_seconds=125),
        "sourdough": Video.objects.create(
            title="Perfect Sourdough at Home", category=cooking, media_url="https://media.example/s.webm"
        ),
        "chess": Video.objects.create(title="Opening Traps", category=own),
    }


def test_home_shows_continue_watching_before_the_picks(client, make_user, catalog):
    ann = make_user("ann")
    WatchEvent.objects.create(user=ann, video=catalog["noodles"], completion=0.4)
    client.force_login(ann)
    page = client.get(reverse("home")).text
    assert page.index('id="shelf-continue"') < page.index('id="shelf-recommended"')
    assert '<h1 class="visually-hidden">Home</h1>' in page


def test_cards_print_the_title_once_and_headings_do_not_skip(client, catalog):
    page = client.get(reverse("video-list")).text
    assert page.count(">Hand-Pulled Noodles<") == 1
    assert '<span class="thumb-mono">H</span>' in page and "thumb-title" not in page
    headings = [int(level) for level in re.findall(r"<h([1-6])", page)]
    assert headings[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(headings))


def test_history_uses_viewer_wording_and_no_skipped_heading(client, make_user, catalog):
    ann = make_user("ann")
    WatchEvent.objects.create(user=ann, video=catalog["noodles"], completion=0.4, source="import")
    WatchEvent.objects.create(user=ann, video=catalog["chess"], completion=0.2, source="api")
    WatchEvent.objects.create(user=ann, video=catalog["sourdough"], completion=0.9, source="web")
    client.force_login(ann)
    page = client.get(reverse("history")).text
    assert "recorded by an app" in page
    assert "· import" not in page and "· web" not in page and "· API" not in page
    assert "<h3" not in page and '<h2><a href="' in page


def test_remove_then_undo_restores_the_same_entry(client, make_user, catalog):
    ann = make_user("ann")
    event = WatchEvent.objects.create(
        user=ann, video=catalog["noodles"], completion=0.35, source="import", client_event_id="abc-1"
    )
    before = WatchEvent.objects.values().get(pk=event.pk)
    client.force_login(ann)
    page = client.post(reverse("history-remove", args=[event.pk]), {"page": "2"}, follow=True)
    assert "Removed “Hand-Pulled Noodles” (35 %) from your history." in page.text
    undo_url = reverse("history-undo", args=[event.pk])
    assert f'action="{undo_url}"' in page.text and ">Undo</button>" in page.text
    assert not WatchEvent.objects.filter(pk=event.pk).exists()

    response = client.post(undo_url, {"page": "2"})
    assert response.status_code == 302 and response["Location"] == reverse("history") + "?page=2"
    assert WatchEvent.objects.values().get(pk=event.pk) == before  # same id, time, source, client id
    # Only once: a second undo finds nothing to restore.
    page = client.post(undo_url, follow=True)
    assert "That entry can no longer be restored." in page.text
    assert WatchEvent.objects.filter(user=ann).count() == 1


def test_undo_is_only_for_ones_own_removal(client, make_user, catalog):
    ann, bob = make_user("ann"), make_user("bob")
    event = WatchEvent.objects.create(user=ann, video=catalog["noodles"], completion=0.5)
    client.force_login(ann)
    client.post(reverse("history-remove", args=[event.pk]))
    client.force_login(bob)  # a new session: ann's removal is not in it
    client.post(reverse("history-undo", args=[event.pk]))
    assert not WatchEvent.objects.filter(pk=event.pk).exists()
    assert client.get(reverse("history-undo", args=[event.pk])).status_code == 405
    client.logout()
    response = client.post(reverse("history-undo", args=[event.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_video_without_a_file_shows_a_no_media_state_and_the_slider_starts_at_progress(client, make_user, catalog):
    video = catalog["noodles"]
    page = client.get(reverse("video-detail", args=[video.pk])).text
    assert 'id="no-media"' in page and "No video file to play" in page and 'class="thumb ' not in page.split("<h1")[0]

    ann = make_user("ann")
    client.force_login(ann)
    page = client.get(reverse("video-detail", args=[video.pk])).text
    assert re.search(r'type="range"[^>]*value="0"', page, re.S)  # not watched: starts at 0, not 100 %
    WatchEvent.objects.create(user=ann, video=video, completion=0.45)
    page = client.get(reverse("video-detail", args=[video.pk])).text
    assert re.search(r'type="range"[^>]*value="45"', page, re.S)

    with_file = client.get(reverse("video-detail", args=[catalog["sourdough"].pk])).text
    assert 'id="no-media"' not in with_file and "<video" in with_file


def test_category_names_follow_the_language(client, catalog):
    cooking = Category.objects.get(name="Cooking")
    assert cooking.name_zh_hans == "烹饪"  # a known name gets its Chinese name when created
    own = Category.objects.get(name="Board Games")
    assert own.name_zh_hans == ""
    with translation.override("zh-hans"):
        assert cooking.display_name == "烹饪" and own.display_name == "Board Games"  # English when not named
    with translation.override("en"):
        assert cooking.display_name == "Cooking"

    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
    page = client.get(reverse("video-detail", args=[catalog["noodles"].pk]), **zh).text
    assert "更多烹饪视频" in page and "More in" not in page
    listing = client.get(reverse("video-list"), **zh).text
    assert ">烹饪<span" in listing and "Cooking" not in listing


def test_chinese_times_read_naturally():
    with translation.override("zh-hans"):
        text = translation.gettext(
            "Computed %(ago)s by model version %(id)s, from %(n)s watches of %(users)s viewers."
        ) % {"ago": "24秒之前", "id": 3, "n": 10, "users": 2}
    assert text.startswith("24秒之前由模型版本 3 计算") and "于24秒" not in text


def test_pages_have_a_description_and_the_branded_icons(client, catalog):
    for url in (reverse("home"), reverse("video-list"), reverse("login")):
        page = client.get(url).text
        assert re.search(r'<meta name="description" content="[^"]{40,}">', page), url
        assert 'href="/static/img/favicon.svg" type="image/svg+xml"' in page
        assert 'href="/static/img/favicon.ico"' in page and "apple-touch-icon.png" in page
    video = client.get(reverse("video-detail", args=[catalog["sourdough"].pk])).text
    assert '<meta name="description" content="Watch “Perfect Sourdough at Home”' in video
    assert client.get("/favicon.ico")["Location"] == "/static/img/favicon.ico"


def test_admin_pages_have_the_icon(admin_client):
    assert 'href="/static/img/favicon.svg"' in admin_client.get(reverse("admin:index")).text


def test_swagger_page_has_language_description_and_no_inline_code(client, db):
    page = client.get(reverse("api-docs"), HTTP_ACCEPT_LANGUAGE="en").text
    assert '<html lang="en">' in page
    assert '<meta name="description" content="Interactive reference' in page
    assert "<style" not in page and "<script>" not in page and " style=" not in page
    # Swagger UI's bundle is not loaded with the page: the console loads it when opened.
    assert not re.search(r"<script src=\"[^\"]+swagger-ui-bundle", page)
    assert re.search(r'data-scripts="[^"]+swagger-ui-bundle\.js /api/docs/\?script="', page)
    assert "swagger-ui-standalone-preset" not in page  # unused by the BaseLayout
    script = client.get(reverse("api-docs") + "?script=").text
    assert 'docExpansion: "none"' in script and "/api/schema/" in script
