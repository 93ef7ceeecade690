"""Fast serving: each viewer's feed is prepared when a version is published (per language), read in
one query, and is the same feed the recommendation rows give; finished videos still leave it at once."""

from __future__ import annotations

import pytest
from api_support import _api_test_settings, token_client  # noqa: F401
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import translation

from recommender.feed import PREPARED_KEY, recommendation_feed
from recommender.models import ModelVersion, PreparedFeed, Recommendation
from recommender.selectors import active_version_cache_clear
from recommender.services import publishing, retrain
from recommender.services.feeds import feeds_prepare
from videos.models import Category, Video, WatchEvent

CALIBRATION = {"x": [0.0, 1.0], "y": [0.3, 0.9], "n": 100}
LANGUAGES = ("en", "zh-hans")


@pytest.fixture
def catalog(db):
    science = Category.objects.create(name="Science", slug="science", name_zh_hans="科学")
    music = Category.objects.create(name="Music", slug="music")
    return [
        Video.objects.create(
            title=f"Video {i}", category=science if i % 2 else music, duration_seconds=600, tags="a, b"
        )
        for i in range(12)
    ]


def publish(rows, *, last_event_id=0, status=ModelVersion.Status.ACTIVE, prepare=True):
    version = ModelVersion.objects.create(
        status=status,
        objective="expected_completion",
        last_event_id=last_event_id,
        metrics={"calibration": CALIBRATION},
        n_recommendations=len(rows),
    )
    Recommendation.objects.bulk_create(
        Recommendation(version=version, user=u, video=v, score=s, rank=i + 1, reason_video=r)
        for i, (u, v, s, r) in enumerate(rows)
    )
    if prepare:
        feeds_prepare(version=version)
    active_version_cache_clear()
    return version


def api_feed(user, language="en", query="limit=20"):
    return token_client(user).get(f"/api/recommendations/?{query}", HTTP_ACCEPT_LANGUAGE=language).json()


def page_feed(user, language, limit=50):
    """What the pages get from the feed selector, as comparable data."""
    with translation.override(language):
        feed = recommendation_feed(user=user, limit=limit)
        return feed.source, [
            (
                item.video.pk,
                item.video.title,
                item.video.category.display_name if item.video.category else None,
                item.video.tag_list,
                item.video.get_absolute_url(),
                item.rank,
                item.score,
                item.match,
                item.reason_data(),
                item.reason_text,
                item.reason_video.pk if item.reason_video else None,
                item.reason_video.title if item.reason_video else None,
            )
            for item in feed.items
        ]


def drop_rows(version):
    """Delete the recommendation rows: what is still served can only come from the prepared feeds."""
    Recommendation.objects.filter(version=version).delete()


@pytest.mark.django_db
def test_publishing_prepares_every_viewer_and_language_with_the_live_feeds_content(make_user, fast_config):
    science = Category.objects.create(name="Science", slug="science", name_zh_hans="科学")
    videos = [
        Video.objects.create(title=f"Video {i}", duration_seconds=300, category=science if i % 2 else None)
        for i in range(10)
    ]
    users = [make_user(f"user{i}") for i in range(6)]
    for u_index, user in enumerate(users):
        for v_index, video in enumerate(videos):
            if (u_index + v_index) % 3:
                WatchEvent.objects.create(user=user, video=video, completion=0.95 if v_index % 2 else 0.2)

    version = retrain(config=fast_config)

    assert version.status == ModelVersion.Status.ACTIVE
    assert PreparedFeed.objects.filter(version=version).count() == len(users) * len(LANGUAGES)
    assert set(version.metrics[PREPARED_KEY]["languages"]) == set(LANGUAGES)
    assert "prepare" in version.durations
    queries = ("limit=20", "limit=3&offset=2", "limit=5&offset=40")
    prepared = {
        (user.pk, language, query): api_feed(user, language, query)
        for user in users[:4]
        for language in LANGUAGES
        for query in queries
    }
    pages = {(user.pk, language): page_feed(user, language) for user in users[:4] for language in LANGUAGES}
    assert any(
        r["reason_detail"]["kind"] == "because_you_watched"
        for r in prepared[(users[0].pk, "en", "limit=20")]["results"]
    )

    PreparedFeed.objects.all().delete()  # from here on the same feeds come from the rows
    for (user_pk, language, query), body in prepared.items():
        user = users[[u.pk for u in users].index(user_pk)]
        assert body == api_feed(user, language, query)
        assert (
            list(body["results"][0]) == list(api_feed(user, language, query)["results"][0]) if body["results"] else True
        )
    for (user_pk, language), feed in pages.items():
        user = users[[u.pk for u in users].index(user_pk)]
        assert feed == page_feed(user, language)
        assert feed[0] == "model" and feed[1]
    assert pages[(users[0].pk, "en")] != pages[(users[0].pk, "zh-hans")]  # reason texts are translated


def test_prepared_feed_is_served_without_the_rows_and_in_one_query(make_user, catalog, django_assert_max_num_queries):
    ann = make_user("ann")
    version = publish([(ann, v, 0.9 - 0.05 * i, catalog[0]) for i, v in enumerate(catalog[1:9])])
    drop_rows(version)
    api = token_client(ann)
    assert api.get("/api/recommendations/").status_code == 200
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        active_version_cache_clear()  # not read: the feed's query reads the active version too
    # One query: the token, its user, the active version, the prepared row and the finished ids
    # (elsewhere: the token, the row, the finished ids).
    with django_assert_max_num_queries(1 if postgresql else 3):
        body = api.get("/api/recommendations/?limit=20").json()
    assert body["model_version"]["id"] == version.pk and body["model_version"]["objective"] == "expected_completion"
    assert [r["video"]["id"] for r in body["results"]] == [v.pk for v in catalog[1:9]]
    assert body["source"] == "model" and body["cold_start"] is False
    assert body["results"][0]["reason"] == "Because you watched “Video 0”"
    assert body["results"][0]["match"] == round(0.3 + 0.6 * 0.9, 4)


def test_a_video_finished_after_publishing_leaves_the_next_response(client, make_user, catalog):
    ann = make_user("ann")
    version = publish([(ann, v, 0.9 - 0.05 * i, None) for i, v in enumerate(catalog[1:6])])
    drop_rows(version)
    assert [r["video"]["id"] for r in api_feed(ann)["results"]] == [v.pk for v in catalog[1:6]]
    WatchEvent.objects.create(user=ann, video=catalog[2], completion=0.95)
    WatchEvent.objects.create(user=ann, video=catalog[4], completion=0.3)  # not finished: stays
    body = api_feed(ann)
    assert [r["video"]["id"] for r in body["results"]] == [catalog[1].pk, catalog[3].pk, catalog[4].pk, catalog[5].pk]
    assert [r["rank"] for r in body["results"]] == [1, 2, 3, 4]
    assert [r["video"]["id"] for r in api_feed(ann, query="limit=2&offset=1")["results"]] == [
        catalog[3].pk,
        catalog[4].pk,
    ]
    client.force_login(ann)
    for name, key in (("recommended", "feed"), ("home", "recommendations")):
        listed = [item.video.pk for item in client.get(reverse(name)).context[key]]
        assert catalog[2].pk not in listed and listed[:2] == [catalog[1].pk, catalog[3].pk]
    # Everything finished: the popular fallback, as from the rows.
    for video in (catalog[1], catalog[3], catalog[4], catalog[5]):
        WatchEvent.objects.create(user=ann, video=video, completion=1.0)
    body = api_feed(ann)
    assert body["cold_start"] is True and body["source"] == "popular"
    assert not {catalog[i].pk for i in (1, 2, 3, 4, 5)} & {r["video"]["id"] for r in body["results"]}


def test_pages_show_the_prepared_feed_in_the_viewers_language(client, make_user, catalog):
    ann = make_user("ann")
    WatchEvent.objects.create(user=ann, video=catalog[0], completion=1.0)
    version = publish([(ann, v, 0.5, catalog[0]) for v in catalog[1:5]])
    drop_rows(version)
    client.force_login(ann)
    page = client.get(reverse("recommended"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert [item.video.pk for item in page.context["feed"]] == [v.pk for v in catalog[1:5]]
    assert "科学" in page.text and "Video 0" in page.text
    home = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert [item.video.pk for item in home.context["recommendations"]][:4] == [v.pk for v in catalog[1:5]]
    assert catalog[1].get_absolute_url() in home.text


def test_a_viewer_without_a_prepared_row_gets_the_live_feed(make_user, catalog):
    ann, bob = make_user("ann"), make_user("bob")
    version = publish([(ann, catalog[1], 0.5, None)])
    # Bob's rows came without a prepared feed (he joined after the preparation, or it failed).
    Recommendation.objects.create(version=version, user=bob, video=catalog[3], score=0.7, rank=1)
    Recommendation.objects.create(version=version, user=bob, video=catalog[4], score=0.6, rank=2)
    assert not PreparedFeed.objects.filter(user=bob).exists()
    body = api_feed(bob)
    assert body["source"] == "model" and [r["video"]["id"] for r in body["results"]] == [catalog[3].pk, catalog[4].pk]
    # A version published before prepared feeds existed is served from its rows too.
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.RETIRED)
    old = publish([(ann, catalog[7], 0.5, None)], prepare=False)
    assert [r["video"]["id"] for r in api_feed(ann)["results"]] == [catalog[7].pk]
    call_command("prepare_feeds", str(old.pk), stdout=open("/dev/null", "w"))
    active_version_cache_clear()
    drop_rows(old)
    assert [r["video"]["id"] for r in api_feed(ann)["results"]] == [catalog[7].pk]


def test_pruning_removes_the_prepared_feeds_of_pruned_versions(make_user, catalog):
    ann = make_user("ann")
    older = publish([(ann, catalog[1], 0.5, None)], status=ModelVersion.Status.RETIRED)
    newer = publish([(ann, catalog[2], 0.5, None)], status=ModelVersion.Status.RETIRED)
    active = publish([(ann, catalog[3], 0.5, None)])
    assert PreparedFeed.objects.count() == 3 * len(LANGUAGES)
    assert publishing.recommendations_prune(keep=1) == 1
    assert not PreparedFeed.objects.filter(version=older).exists()
    assert PreparedFeed.objects.filter(version=newer).count() == len(LANGUAGES)
    assert PreparedFeed.objects.filter(version=active).count() == len(LANGUAGES)


def test_only_the_newest_inactive_versions_keep_their_prepared_feeds(make_user, catalog, settings):
    settings.PREPARED_FEED_VERSIONS_KEPT = 1
    ann = make_user("ann")
    older = publish([(ann, catalog[1], 0.5, None)], status=ModelVersion.Status.RETIRED)
    newer = publish([(ann, catalog[2], 0.5, None)], status=ModelVersion.Status.RETIRED)
    active = publish([(ann, catalog[3], 0.5, None)])
    assert publishing.recommendations_prune(keep=5) == 0  # every version keeps its rows ...
    # ... but only the active version and the newest inactive one keep their prepared feeds
    assert set(PreparedFeed.objects.values_list("version_id", flat=True)) == {newer.pk, active.pk}
    assert Recommendation.objects.filter(version=older).exists()
    # serving the older version again (as a rollback does) reads it from its rows
    ModelVersion.objects.filter(pk=active.pk).update(status=ModelVersion.Status.RETIRED)
    ModelVersion.objects.filter(pk=older.pk).update(status=ModelVersion.Status.ACTIVE)
    active_version_cache_clear()
    assert [r["video"]["id"] for r in api_feed(ann)["results"]] == [catalog[1].pk]


def test_editing_a_video_or_category_drops_the_feeds_that_show_it(make_user, catalog):
    ann, bob = make_user("ann"), make_user("bob")
    publish([(ann, catalog[1], 0.5, None), (bob, catalog[2], 0.5, None)])
    catalog[1].title = "Renamed"
    catalog[1].save()
    assert not PreparedFeed.objects.filter(user=ann).exists() and PreparedFeed.objects.filter(user=bob).exists()
    assert api_feed(ann)["results"][0]["video"]["title"] == "Renamed"  # from the rows
    music = Category.objects.get(slug="music")  # catalog[2]'s category
    music.name = "Musik"
    music.save()
    assert not PreparedFeed.objects.filter(user=bob).exists()
    assert api_feed(bob)["results"][0]["video"]["category"]["name"] == "Musik"


def test_rows_of_an_older_payload_format_are_not_read(make_user, catalog):
    """A version prepared by an older release (another payload layout) is served from its rows."""
    ann = make_user("ann")
    version = publish([(ann, catalog[1], 0.5, None), (ann, catalog[2], 0.4, None)])
    metrics = dict(version.metrics)
    metrics[PREPARED_KEY] = {**metrics[PREPARED_KEY], "format": 1}
    ModelVersion.objects.filter(pk=version.pk).update(metrics=metrics)
    PreparedFeed.objects.filter(version=version).update(payload='{"items":[],"category_names":{}}')
    active_version_cache_clear()
    assert [r["video"]["id"] for r in api_feed(ann)["results"]] == [catalog[1].pk, catalog[2].pk]


def test_the_api_body_is_valid_json_with_line_separators_escaped(make_user, catalog):
    ann = make_user("ann")
    catalog[1].title = "Line\u2028separator"
    catalog[1].save()
    publish([(ann, catalog[1], 0.5, None)])
    response = token_client(ann).get("/api/recommendations/")
    assert response["Content-Type"] == "application/json"
    assert "\u2028".encode() not in response.content and b"\\u2028" in response.content
    assert response.json()["results"][0]["video"]["title"] == "Line\u2028separator"


def test_the_token_query_reads_the_feed_in_the_requests_language(make_user, catalog, django_assert_max_num_queries):
    ann = make_user("ann")
    WatchEvent.objects.create(user=ann, video=catalog[0], completion=1.0)
    version = publish([(ann, v, 0.5, catalog[0]) for v in catalog[1:4]])
    drop_rows(version)
    api = token_client(ann)
    with django_assert_max_num_queries(1 if connection.vendor == "postgresql" else 4):  # + the version
        body = api.get("/api/recommendations/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert body["language"] == "zh-hans" and body["results"][0]["reason"] == "因为你看过“Video 0”"
    assert body["model_version"]["id"] == version.pk
    # Someone else's token reads their own (empty) feed: the popular fallback, never ann's picks.
    bob = make_user("bob")
    other = token_client(bob).get("/api/recommendations/").json()
    assert other["cold_start"] is True and other["model_version"]["id"] == version.pk
    # No active version: the token query's feed columns are empty, the answer says so.
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.RETIRED)
    active_version_cache_clear()
    body = api.get("/api/recommendations/").json()
    assert body["cold_start"] is True and body["model_version"] is None and body["source"] == "popular"


@pytest.mark.django_db
def test_rows_go_with_their_viewer_and_video_without_database_constraints(make_user, catalog):
    """The viewer and video links of the rows carry no foreign-key constraint (bulk writes): Django's
    deletes still take the rows along, and rows left behind by a raw delete are skipped when the
    feeds are prepared."""
    ann, bob = make_user("ann"), make_user("bob")
    version = publish(
        [(ann, catalog[0], 0.9, catalog[1]), (ann, catalog[2], 0.8, None), (bob, catalog[0], 0.7, None)],
        prepare=False,
    )
    catalog[1].delete()  # cited as a reason only: the row stays, without its reason
    assert Recommendation.objects.get(version=version, user=ann, video=catalog[0]).reason_video is None
    bob.delete()
    assert not Recommendation.objects.filter(user_id=bob.pk).exists()
    catalog[2].delete()
    assert list(Recommendation.objects.filter(version=version).values_list("video_id", flat=True)) == [catalog[0].pk]

    # A video deleted behind Django's back (raw SQL) leaves its rows; the prepared feed leaves it out.
    Recommendation.objects.create(version=version, user=ann, video=catalog[3], score=0.5, rank=3)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Video._meta.db_table} WHERE id = %s", [catalog[3].pk])
    assert feeds_prepare(version=version) == len(LANGUAGES)
    payload = PreparedFeed.objects.get(version=version, user=ann, language="en").payload
    assert [line.split(" ", 1)[0] for line in payload.splitlines()[1:]] == [str(catalog[0].pk)]


def test_the_page_reads_its_picks_and_the_progress_on_them_with_the_prepared_row(
    client, make_user, catalog, django_assert_num_queries
):
    """``/recommended/`` from a prepared feed: the row and the viewer's progress since the version in one
    query (PostgreSQL: session, user, that query, continue watching); a pick started since publishing
    shows how far, a finished one is gone, and a video watched before the version changes nothing."""
    ann, bob = make_user("ann"), make_user("bob")
    before = WatchEvent.objects.create(user=ann, video=catalog[0], completion=0.3)
    version = publish([(ann, v, 0.9 - 0.05 * i, None) for i, v in enumerate(catalog[1:6])], last_event_id=before.pk)
    drop_rows(version)
    WatchEvent.objects.create(user=ann, video=catalog[2], completion=0.2)
    WatchEvent.objects.create(user=ann, video=catalog[2], completion=0.45)
    WatchEvent.objects.create(user=ann, video=catalog[3], completion=1.0)
    WatchEvent.objects.create(user=bob, video=catalog[4], completion=0.7)  # someone else's progress
    client.force_login(ann)
    assert client.get(reverse("recommended")).status_code == 200  # the active-version cache
    with django_assert_num_queries(4 if connection.vendor == "postgresql" else 6):
        page = client.get(reverse("recommended"))
    listed = {item.video.pk: item.video.completion for item in page.context["feed"]}
    assert listed == {catalog[1].pk: None, catalog[2].pk: 0.45, catalog[4].pk: None, catalog[5].pk: None}
    assert "45 % watched" in page.text and "Finished" not in page.text
