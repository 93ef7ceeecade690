"""The viewer's own history page and removing entries from it."""

import pytest
from django.urls import reverse

from videos.models import Category, Video, WatchEvent
from videos.services import watch_event_delete


@pytest.fixture
def setup(make_user):
    ann, bob = make_user("ann"), make_user("bob")
    cat = Category.objects.create(name="Travel")
    lisbon = Video.objects.create(title="Three Days in Lisbon", category=cat)
    kyoto = Video.objects.create(title="Kyoto in Autumn", category=cat)
    secret = Video.objects.create(title="Bob's Private Pick", category=cat)
    mine = [
        WatchEvent.objects.create(user=ann, video=lisbon, completion=0.35),
        WatchEvent.objects.create(user=ann, video=kyoto, completion=1.0),
    ]
    theirs = WatchEvent.objects.create(user=bob, video=secret, completion=0.8)
    return ann, bob, mine, theirs


def test_history_lists_only_own_events(client, setup):
    ann, _bob, mine, theirs = setup
    client.force_login(ann)
    page = client.get(reverse("history"))
    assert page.status_code == 200
    assert "Three Days in Lisbon" in page.text and "35 % watched" in page.text
    assert "Kyoto in Autumn" in page.text and "Finished" in page.text
    assert "Bob's Private Pick" not in page.text and "Bob&#x27;s Private Pick" not in page.text
    assert f'action="{reverse("history-remove", args=[theirs.pk])}"' not in page.text
    assert [e.pk for e in page.context["page"]] == [mine[1].pk, mine[0].pk]  # newest first
    assert page.context["summary"] == {"events": 2, "videos": 2, "finished": 1}


def test_remove_own_entry(client, setup):
    ann, _bob, mine, _theirs = setup
    client.force_login(ann)
    response = client.post(reverse("history-remove", args=[mine[0].pk]), follow=True)
    assert response.redirect_chain == [(reverse("history"), 302)]
    assert "Removed “Three Days in Lisbon” (35 %) from your history." in response.text
    assert not WatchEvent.objects.filter(pk=mine[0].pk).exists()
    assert WatchEvent.objects.filter(pk=mine[1].pk).exists()


def test_remove_keeps_the_page_number(client, setup):
    ann, _bob, mine, _theirs = setup
    client.force_login(ann)
    response = client.post(reverse("history-remove", args=[mine[0].pk]), {"page": "3"})
    assert response["Location"] == reverse("history") + "?page=3"
    response = client.post(reverse("history-remove", args=[mine[1].pk]), {"page": "//evil.example"})
    assert response["Location"] == reverse("history")


def test_another_users_entry_is_a_404_and_stays(client, setup):
    ann, _bob, _mine, theirs = setup
    client.force_login(ann)
    assert client.post(reverse("history-remove", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("history-remove", args=[999999])).status_code == 404
    assert client.get(reverse("history-remove", args=[theirs.pk])).status_code == 405
    assert WatchEvent.objects.filter(pk=theirs.pk).exists()
    assert WatchEvent.objects.count() == 3


def test_empty_history(client, make_user):
    client.force_login(make_user("fresh"))
    page = client.get(reverse("history"))
    assert page.status_code == 200 and "Nothing here yet." in page.text


def test_history_paginates(client, make_user):
    user = make_user("busy")
    video = Video.objects.create(title="Loop")
    WatchEvent.objects.bulk_create(WatchEvent(user=user, video=video, completion=i / 100) for i in range(35))
    client.force_login(user)
    first = client.get(reverse("history"))
    assert len(first.context["page"].object_list) == 30 and 'href="?page=2"' in first.text
    assert len(client.get(reverse("history"), {"page": 2}).context["page"].object_list) == 5


def test_watch_event_delete_service(setup):
    ann, bob, mine, theirs = setup
    removed = watch_event_delete(user=ann, event_id=mine[0].pk)
    assert removed.pk == mine[0].pk and removed.video.title == "Three Days in Lisbon"
    with pytest.raises(WatchEvent.DoesNotExist):
        watch_event_delete(user=ann, event_id=theirs.pk)
    with pytest.raises(WatchEvent.DoesNotExist):
        watch_event_delete(user=ann, event_id=mine[0].pk)  # already gone
    assert list(WatchEvent.objects.filter(user=bob)) == [theirs]
