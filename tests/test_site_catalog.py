"""Home sections, catalog (search, sort, pagination), category pages and the video page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from videos.models import Category, Video, WatchEvent
from videos.views import PAGE_SIZE, SHELF_SIZE


@pytest.fixture
def catalog(db):
    now = timezone.now()
    cooking = Category.objects.create(name="Cooking")
    music = Category.objects.create(name="Music")
    Category.objects.create(name="Empty")
    videos = {}
    for i, (title, cat) in enumerate(
        [("Dumplings", cooking), ("Noodles", cooking), ("Sourdough", cooking), ("Blues", music), ("Erhu", music)]
    ):
        videos[title] = Video.objects.create(
            title=title, category=cat, duration_seconds=65 + i, created_at=now - timedelta(days=i)
        )
    return videos


def test_home_sections(client, make_user, catalog):
    fans = [make_user(f"fan{i}") for i in range(3)]
    for fan in fans:
        WatchEvent.objects.create(user=fan, video=catalog["Erhu"], completion=0.9)
    WatchEvent.objects.create(user=fans[0], video=catalog["Noodles"], completion=0.5)
    page = client.get(reverse("home"))
    assert page.status_code == 200
    assert [v.title for v in page.context["popular"]] == ["Erhu", "Noodles"]
    assert [v.title for v in page.context["new"]] == ["Dumplings", "Noodles", "Sourdough", "Blues", "Erhu"]
    shelves = {c.name: [v.title for v in videos] for c, videos in page.context["shelves"]}
    assert shelves == {"Cooking": ["Dumplings", "Noodles", "Sourdough"], "Music": ["Blues", "Erhu"]}
    for heading in ("Popular", "New", "Cooking", "Music"):
        assert f">{heading}</h2>" in page.text
    assert "Empty" not in page.text  # categories without videos get no shelf


def test_category_shelves_are_capped(client, db):
    cat = Category.objects.create(name="Big")
    for i in range(SHELF_SIZE + 3):
        Video.objects.create(title=f"Big {i:02d}", category=cat)
    shelves = client.get(reverse("home")).context["shelves"]
    assert len(shelves) == 1 and len(shelves[0][1]) == SHELF_SIZE


def test_catalog_search_sort_and_pagination(client, db):
    cat = Category.objects.create(name="Series")
    now = timezone.now()
    for i in range(PAGE_SIZE + 5):
        Video.objects.create(title=f"Episode {i:02d}", category=cat, created_at=now - timedelta(hours=i))
    Video.objects.create(title="Unrelated", created_at=now - timedelta(days=30))
    first = client.get(reverse("video-list"), {"q": "episode", "sort": "title"})
    assert first.status_code == 200
    assert first.context["page"].paginator.count == PAGE_SIZE + 5
    assert first.context["page"].object_list[0].title == "Episode 00"
    assert 'href="?q=episode&amp;sort=title&amp;page=2"' in first.text
    second = client.get(reverse("video-list"), {"q": "episode", "sort": "title", "page": 2})
    assert [v.title for v in second.context["page"]] == [f"Episode {i:02d}" for i in range(PAGE_SIZE, PAGE_SIZE + 5)]
    assert "Unrelated" not in second.text
    # Out-of-range and junk page numbers fall back to a real page; unknown sort to "new".
    assert client.get(reverse("video-list"), {"page": "999"}).context["page"].number == 2
    junk = client.get(reverse("video-list"), {"page": "x", "sort": "'; drop"})
    assert junk.context["page"].number == 1 and junk.context["order"] == "new"
    assert junk.context["page"].object_list[0].title == "Episode 00"


def test_catalog_sort_by_popularity(client, make_user, catalog):
    for name in ("a", "b"):
        WatchEvent.objects.create(user=make_user(name), video=catalog["Sourdough"], completion=0.2)
    page = client.get(reverse("video-list"), {"sort": "popular"})
    assert page.context["page"].object_list[0].title == "Sourdough"


def test_search_with_no_result(client, catalog):
    page = client.get(reverse("video-list"), {"q": "zzz-nothing"})
    assert page.status_code == 200 and "No videos found." in page.text
    assert "Results for “zzz-nothing”" in page.text


def test_search_escapes_the_query(client, catalog):
    page = client.get(reverse("video-list"), {"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_category_page(client, catalog):
    page = client.get(reverse("category", args=["cooking"]))
    assert page.status_code == 200
    assert {v.title for v in page.context["page"]} == {"Dumplings", "Noodles", "Sourdough"}
    assert "<h1>Cooking</h1>" in page.text
    assert client.get(reverse("category", args=["cooking"]), {"q": "noo"}).context["page"].paginator.count == 1
    assert client.get(reverse("category", args=["nope"])).status_code == 404


def test_cards_show_placeholder_art_duration_and_own_progress(client, make_user, catalog):
    ann, bob = make_user("ann"), make_user("bob")
    WatchEvent.objects.create(user=ann, video=catalog["Noodles"], completion=0.25)
    WatchEvent.objects.create(user=bob, video=catalog["Blues"], completion=0.66)
    client.force_login(ann)
    page = client.get(reverse("video-list")).text
    assert '<span class="thumb-mono">N</span>' in page  # generated art: no image needed
    assert page.count(">Noodles<") == 1  # the title is printed once, under the art
    assert "1:06" in page  # Noodles lasts 66 s
    assert "25 % watched" in page
    assert "66 % watched" not in page  # bob's progress is his own


def test_video_page_without_media_offers_the_percent_control(client, make_user, catalog):
    video = catalog["Blues"]
    page = client.get(reverse("video-detail", args=[video.pk]))
    assert page.status_code == 200 and "<video" not in page.text
    assert "to keep track of what you watch" in page.text and 'type="range"' not in page.text

    ann, bob = make_user("ann"), make_user("bob")
    WatchEvent.objects.create(user=bob, video=video, completion=0.8)
    client.force_login(ann)
    page = client.get(reverse("video-detail", args=[video.pk]))
    assert page.context["completion"] is None  # bob's watch is not ann's
    assert "You have not watched this video yet." in page.text
    assert 'type="range"' in page.text and 'aria-describedby="percent-help"' in page.text
    assert "More in Music" in page.text and "Erhu" in page.text  # same category, not this video

    client.post(reverse("video-watch", args=[video.pk]), {"percent": "45"})
    page = client.get(reverse("video-detail", args=[video.pk]))
    assert page.context["completion"] == 0.45
    assert "You have watched 45 % of this video." in page.text
    assert 'aria-valuenow="45"' in page.text


def test_record_watch_errors_rerender_the_page(client, make_user, catalog):
    client.force_login(make_user())
    response = client.post(reverse("video-watch", args=[catalog["Erhu"].pk]), {"percent": "150"})
    assert response.status_code == 400
    assert "Ensure this value is less than or equal to 100." in response.text
    assert 'id="percent-errors"' in response.text
    assert WatchEvent.objects.count() == 0
