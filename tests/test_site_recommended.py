"""The "Recommended for you" page: a plain read of the active version, filtered at read time."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recommender.models import ModelVersion, Recommendation
from videos.models import Category, Video, WatchEvent


@pytest.fixture
def catalog(db):
    science = Category.objects.create(name="Science")
    return [Video.objects.create(title=f"Lecture {i}", category=science) for i in range(8)]


# Raw score s shows as the match 0.2 + 0.7 s (a calibration as a retrain stores it).
CALIBRATION = {"x": [0.0, 1.0], "y": [0.2, 0.9], "n": 100}


def publish(recs, *, status=ModelVersion.Status.ACTIVE, ago=timedelta(hours=3)):
    """A model version with the given (user, video, score, reason) rows, ranked in list order."""
    version = ModelVersion.objects.create(
        status=status,
        objective="expected_completion",
        n_users=2,
        n_events=9,
        finished_at=timezone.now() - ago,
        metrics={"calibration": CALIBRATION},
    )
    Recommendation.objects.bulk_create(
        Recommendation(version=version, user=u, video=v, score=s, rank=i + 1, reason_video=r)
        for i, (u, v, s, r) in enumerate(recs)
    )
    return version


def watch(user, video, completion, minutes_ago=0):
    return WatchEvent.objects.create(
        user=user, video=video, completion=completion, watched_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def test_shows_the_active_versions_picks_with_score_and_reason(client, make_user, catalog):
    ann, bob = make_user("ann"), make_user("bob")
    watch(ann, catalog[0], 1.0, minutes_ago=600)
    version = publish(
        [
            (ann, catalog[3], 0.83, catalog[0]),
            (ann, catalog[4], 0.61, catalog[0]),
            (bob, catalog[5], 0.99, None),
        ]
    )
    client.force_login(ann)
    page = client.get(reverse("recommended"))
    assert page.status_code == 200
    recs = page.context["recommendations"]
    assert [r.video for r in recs] == [catalog[3], catalog[4]]
    text = page.text
    assert text.index("Lecture 3") < text.index("Lecture 4")
    # The calibrated match (0.2 + 0.7 x 0.83 = 78 %), never the raw score (83 %).
    assert "Match" in text and "78 %" in text and "63 %" in text
    assert "83 %" not in text and "Predicted completion" not in text
    assert f'Because you watched <a href="{catalog[0].get_absolute_url()}">Lecture 0</a>' in text
    assert "Lecture 5" not in text  # bob's pick
    assert f"Computed 3\xa0hours ago by model version {version.pk}, from 9 watches of 2 viewers." in text


def test_video_finished_after_publishing_is_filtered_at_read_time(client, make_user, catalog):
    ann = make_user("ann")
    publish([(ann, catalog[1], 0.9, None), (ann, catalog[2], 0.8, None), (ann, catalog[3], 0.7, None)])
    watch(ann, catalog[1], 0.5, minutes_ago=30)
    watch(ann, catalog[1], 0.95, minutes_ago=20)  # finished now (max completion >= 0.9)
    watch(ann, catalog[2], 0.4, minutes_ago=10)  # started, not finished: still recommended
    client.force_login(ann)
    page = client.get(reverse("recommended"))
    assert [r.video for r in page.context["recommendations"]] == [catalog[2], catalog[3]]
    assert [v.pk for v in page.context["continuing"]] == [catalog[2].pk]


def test_finished_threshold_is_a_setting(client, make_user, catalog, settings):
    settings.FINISHED_COMPLETION = 0.5
    ann = make_user("ann")
    publish([(ann, catalog[1], 0.9, None), (ann, catalog[2], 0.8, None)])
    watch(ann, catalog[1], 0.6)
    client.force_login(ann)
    assert [r.video for r in client.get(reverse("recommended")).context["recommendations"]] == [catalog[2]]


def test_only_the_active_version_is_read(client, make_user, catalog):
    ann = make_user("ann")
    publish([(ann, catalog[1], 0.9, None)], status=ModelVersion.Status.RETIRED)
    publish([(ann, catalog[2], 0.9, None)], status=ModelVersion.Status.ACTIVE)
    publish([(ann, catalog[3], 0.9, None)], status=ModelVersion.Status.SUCCEEDED)
    publish([(ann, catalog[4], 0.9, None)], status=ModelVersion.Status.RUNNING)
    client.force_login(ann)
    assert [r.video for r in client.get(reverse("recommended")).context["recommendations"]] == [catalog[2]]


def test_continue_watching_is_partly_watched_most_recent_first(client, make_user, catalog):
    ann, bob = make_user("ann"), make_user("bob")
    watch(ann, catalog[0], 0.3, minutes_ago=50)
    watch(ann, catalog[1], 0.6, minutes_ago=5)
    watch(ann, catalog[2], 0.0, minutes_ago=1)  # opened, not watched at all
    watch(ann, catalog[3], 1.0, minutes_ago=2)  # finished
    watch(ann, catalog[4], 0.2, minutes_ago=40)
    watch(ann, catalog[4], 0.7, minutes_ago=30)  # two watches: furthest 70 %, last 30 min ago
    watch(bob, catalog[5], 0.5)
    watch(bob, catalog[0], 0.85, minutes_ago=0)  # someone else's progress and time never count
    client.force_login(ann)
    page = client.get(reverse("recommended"))
    continuing = page.context["continuing"]
    assert [v.pk for v in continuing] == [catalog[1].pk, catalog[4].pk, catalog[0].pk]
    assert [v.completion for v in continuing] == [0.6, 0.7, 0.3]
    assert "Continue watching" in page.text


def test_no_model_yet(client, make_user, catalog):
    viewer = make_user("viewer")
    watch(make_user("other"), catalog[6], 0.5)
    client.force_login(viewer)
    page = client.get(reverse("recommended"))
    assert page.context["fallback_reason"] == "no_model"
    assert "No model has been trained yet" in page.text
    assert [v.pk for v in page.context["fallback"]] == [catalog[6].pk]


def test_new_user_without_history(client, make_user, catalog):
    other = make_user("other")
    watch(other, catalog[6], 0.5)
    publish([(other, catalog[1], 0.9, None)])
    client.force_login(make_user("viewer"))
    page = client.get(reverse("recommended"))
    assert page.context["fallback_reason"] == "no_history"
    assert "We do not know your taste yet" in page.text and "these are popular" in page.text
    assert "Lecture 6" in page.text


def test_user_newer_than_the_model(client, make_user, catalog):
    other, late = make_user("other"), make_user("late")
    watch(other, catalog[6], 0.5)
    watch(other, catalog[7], 0.5)
    watch(late, catalog[7], 1.0)
    publish([(other, catalog[1], 0.9, None)], ago=timedelta(days=2))
    client.force_login(late)
    page = client.get(reverse("recommended"))
    assert page.context["fallback_reason"] == "not_in_model"
    assert "The current model was computed 2\xa0days ago, before it knew your watches." in page.text
    # Popular, but never what they already finished.
    assert [v.pk for v in page.context["fallback"]] == [catalog[6].pk]


def test_everything_recommended_was_finished(client, make_user, catalog):
    ann = make_user("ann")
    publish([(ann, catalog[1], 0.9, None)])
    watch(ann, catalog[1], 1.0)
    client.force_login(ann)
    page = client.get(reverse("recommended"))
    assert page.context["fallback_reason"] == "all_finished"
    assert "You have finished everything the current model picked for you." in page.text


def test_home_shows_the_recommended_shelf(client, make_user, catalog):
    ann = make_user("ann")
    publish([(ann, catalog[2], 0.77, catalog[0])])
    watch(ann, catalog[5], 0.4)
    page = client.get(reverse("home"))
    assert "Recommended for you" not in page.context and "Create a free account" in page.text
    client.force_login(ann)
    page = client.get(reverse("home"))
    assert [r.video for r in page.context["recommendations"]] == [catalog[2]]
    assert [v.pk for v in page.context["continuing"]] == [catalog[5].pk]
    assert "74 %" in page.text and "Because you watched" in page.text and "Create a free account" not in page.text
