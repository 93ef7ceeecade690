import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from videos.demo import CATALOG, CLIP_TITLE, DEMO_PASSWORD, DEMO_USERNAME, PROFILES
from videos.models import Category, Video, WatchEvent
from videos.selectors import continue_watching

N_VIDEOS = sum(len(entries) for entries in CATALOG.values()) + 1  # + the playable demo clip


@pytest.mark.django_db
def test_seed_demo_creates_catalog_users_and_login(capsys):
    call_command("seed_demo")
    assert Category.objects.count() == len(CATALOG) == 8
    assert Video.objects.count() == N_VIDEOS == 65
    assert len(PROFILES) == 32
    assert all(Video.objects.filter(category__name=name).count() >= 8 for name in CATALOG)
    assert not Video.objects.filter(description="").exists()
    events = WatchEvent.objects.count()
    assert events > len(PROFILES) * 5
    assert authenticate(username=DEMO_USERNAME, password=DEMO_PASSWORD) is not None
    assert f"'{DEMO_USERNAME}'" in capsys.readouterr().out

    # Tastes are structured: viewers finish videos of their favourite categories, abandon others.
    for username, favourites in PROFILES:
        liked = WatchEvent.objects.filter(user__username=username, video__category__name__in=favourites)
        other = WatchEvent.objects.filter(user__username=username).exclude(video__category__name__in=favourites)
        assert liked.count() >= 2, username
        if username == DEMO_USERNAME:
            # The demo viewer also has a few liked videos started but not finished.
            in_progress = liked.filter(completion__lt=0.75)
            assert in_progress.count() == 3
            assert all(0.3 <= e.completion <= 0.7 for e in in_progress)
            assert liked.filter(completion__gte=0.75).count() >= 3
        else:
            assert all(e.completion >= 0.75 for e in liked)
        assert all(e.completion <= 0.3 for e in other)

    demo = authenticate(username=DEMO_USERNAME, password=DEMO_PASSWORD)
    assert continue_watching(user=demo), "the demo viewer has something to continue"

    call_command("seed_demo")  # idempotent
    assert WatchEvent.objects.count() == events
    assert Video.objects.count() == N_VIDEOS


@pytest.mark.django_db
def test_seed_demo_media_base_url_makes_the_clip_playable():
    call_command("seed_demo")
    assert Video.objects.get(title=CLIP_TITLE).media_url == ""
    call_command("seed_demo", "--media-base-url", "http://127.0.0.1:8000")
    assert Video.objects.get(title=CLIP_TITLE).media_url == "http://127.0.0.1:8000/static/media/demo-clip.webm"
    with pytest.raises(CommandError, match="not an http"):
        call_command("seed_demo", "--media-base-url", "ftp://example")
