import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from videos.demo import DEMO_PASSWORD, DEMO_USERNAME, PROFILES
from videos.models import Category, Video, WatchEvent


@pytest.mark.django_db
def test_seed_demo_creates_catalog_users_and_login(capsys):
    call_command("seed_demo")
    assert Category.objects.count() == 6
    assert Video.objects.count() == 48
    events = WatchEvent.objects.count()
    assert events > len(PROFILES) * 5
    assert authenticate(username=DEMO_USERNAME, password=DEMO_PASSWORD) is not None
    assert f"'{DEMO_USERNAME}'" in capsys.readouterr().out

    # Tastes are structured: viewers finish videos of their favourite categories, abandon others.
    for username, favourites in PROFILES:
        liked = WatchEvent.objects.filter(user__username=username, video__category__name__in=favourites)
        other = WatchEvent.objects.filter(user__username=username).exclude(video__category__name__in=favourites)
        assert all(e.completion >= 0.75 for e in liked)
        assert all(e.completion <= 0.3 for e in other)

    call_command("seed_demo")  # idempotent
    assert WatchEvent.objects.count() == events
    assert Video.objects.count() == 48
