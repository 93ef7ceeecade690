"""One feed for the three surfaces: the Recommended page, the home shelf and the API; reasons,
the calibrated figure, finished-since filtering and the number of queries."""

from __future__ import annotations

import pytest
from api_support import _api_test_settings, token_client  # noqa: F401
from django.db import connection
from django.urls import reverse

from recommender.calibration import calibration_fit, match_of
from recommender.feed import REASON_MIN_SECONDS, recommendation_feed
from recommender.models import ModelVersion, Recommendation
from recommender.views import feed_rows
from videos.models import Category, Video, WatchEvent

CALIBRATION = {"x": [0.0, 1.0], "y": [0.3, 0.9], "n": 100}


@pytest.fixture
def catalog(db):
    science = Category.objects.create(name="Science", slug="science")
    music = Category.objects.create(name="Music", slug="music")
    videos = [
        Video.objects.create(title=f"Video {i}", category=science if i % 2 else music, duration_seconds=600)
        for i in range(10)
    ]
    return videos


def publish(rows, *, last_event_id=None, status=ModelVersion.Status.ACTIVE):
    version = ModelVersion.objects.create(
        status=status,
        objective="expected_completion",
        last_event_id=last_event_id,
        metrics={"calibration": CALIBRATION},
    )
    Recommendation.objects.bulk_create(
        Recommendation(version=version, user=u, video=v, score=s, rank=i + 1, reason_video=r)
        for i, (u, v, s, r) in enumerate(rows)
    )
    return version


def surfaces(client, user, n):
    """The video ids each surface lists for ``user``, first ``n``."""
    client.force_login(user)
    page = [item.video.pk for item in client.get(reverse("recommended")).context["feed"]][:n]
    home = [item.video.pk for item in client.get(reverse("home")).context["recommendations"]][:n]
    api = [r["video"]["id"] for r in token_client(user).get(f"/api/recommendations/?limit={n}").json()["results"]]
    return page, home, api


def test_page_home_and_api_list_the_same_feed(client, make_user, catalog):
    ann = make_user("ann")
    WatchEvent.objects.create(user=ann, video=catalog[0], completion=1.0)
    publish([(ann, v, 0.9 - 0.05 * i, catalog[0]) for i, v in enumerate(catalog[1:9])], last_event_id=0)
    # Finished after the version was published: gone from all three.
    WatchEvent.objects.create(user=ann, video=catalog[3], completion=0.95)
    page, home, api = surfaces(client, ann, 8)
    expected = [v.pk for v in catalog[1:9] if v != catalog[3]]
    assert page == expected[: len(page)] and len(page) == 7
    assert home == expected[:7] and api == expected[:7]


def test_cold_start_is_the_same_on_every_surface_and_drops_finished_videos(client, make_user, catalog):
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    for video in catalog[:5]:
        WatchEvent.objects.create(user=bob, video=video, completion=0.5)
    for video in catalog[:2]:
        WatchEvent.objects.create(user=cat, video=video, completion=0.5)
    publish([(bob, catalog[6], 0.5, None)])
    WatchEvent.objects.create(user=ann, video=catalog[0], completion=1.0)  # ann finished the most popular
    page, home, api = surfaces(client, ann, 8)
    assert catalog[0].pk not in api
    assert page == home == api == [catalog[1].pk, catalog[2].pk, catalog[3].pk, catalog[4].pk]
    body = token_client(ann).get("/api/recommendations/").json()
    assert body["cold_start"] is True
    assert body["results"][0]["reason_detail"]["kind"] == "trending_in_category"
    assert body["results"][0]["match"] is None and body["results"][0]["score"] is None


def test_reason_is_data_and_text_in_the_requests_language(make_user, catalog):
    ann = make_user("ann")
    WatchEvent.objects.create(user=ann, video=catalog[0], completion=1.0)
    publish([(ann, catalog[1], 0.5, catalog[0]), (ann, catalog[2], 0.4, None)])
    api = token_client(ann)
    en = api.get("/api/recommendations/", HTTP_ACCEPT_LANGUAGE="en").json()
    first, second = en["results"]
    assert first["reason_detail"] == {"kind": "because_you_watched", "video": {"id": catalog[0].pk, "title": "Video 0"}}
    assert first["reason"] == "Because you watched “Video 0”"
    assert second["reason_detail"] == {"kind": "viewers_like_you"}
    assert second["reason"] == "Popular with viewers like you"
    zh = api.get("/api/recommendations/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert zh["language"] == "zh-hans"
    assert zh["results"][0]["reason_detail"] == first["reason_detail"]
    assert zh["results"][1]["reason"] != second["reason"]  # translated


def test_short_clips_never_explain_a_pick(make_user, catalog):
    ann = make_user("ann")
    clip = Video.objects.create(title="Test pattern", duration_seconds=REASON_MIN_SECONDS - 1)
    WatchEvent.objects.create(user=ann, video=clip, completion=1.0)
    publish([(ann, catalog[1], 0.5, clip)])
    (item,) = recommendation_feed(user=ann, limit=5).items
    assert item.reason["kind"] == "viewers_like_you" and item.reason_video is None


def test_match_is_the_calibrated_figure_and_score_stays_raw(make_user, catalog):
    ann = make_user("ann")
    publish([(ann, catalog[1], 0.5, None)])
    (row,) = token_client(ann).get("/api/recommendations/").json()["results"]
    assert row["score"] == 0.5 and row["match"] == pytest.approx(0.6)


def test_calibration_is_monotone_and_follows_observed_completion():
    rng = __import__("numpy").random.default_rng(0)
    scores = rng.uniform(0, 0.2, 5000)
    completion = (scores / 0.2 * 0.6 + 0.2 + rng.normal(0, 0.1, 5000)).clip(0, 1)
    calibration = calibration_fit(scores, completion)
    assert calibration is not None
    figures = [match_of(calibration, s) for s in (0.01, 0.05, 0.1, 0.15, 0.19)]
    assert figures == sorted(figures)
    assert figures[0] == pytest.approx(0.23, abs=0.05) and figures[-1] == pytest.approx(0.77, abs=0.05)
    assert calibration_fit(scores[:10], completion[:10]) is None  # too few pairs: no figure
    assert match_of(None, 0.1) is None


def test_rows_group_picks_by_the_watched_video_that_explains_them(make_user, catalog):
    ann = make_user("ann")
    rows = [(ann, catalog[i], 1 - i / 10, catalog[0] if i in (2, 4) else None) for i in range(1, 7)]
    publish(rows)
    grouped = feed_rows(recommendation_feed(user=ann, limit=10).items)
    assert [row["id"] for row in grouped] == ["top-picks", f"because-{catalog[0].pk}"]
    assert [i.video for i in grouped[1]["items"]] == [catalog[2], catalog[4]]
    assert sum(len(row["items"]) for row in grouped) == 6


def test_rows_html_is_the_markup_of_the_template_loop(client, make_user, catalog):
    """The page writes its rows in Python (``rows_html``); the markup is the template loop's."""
    import re

    from django.template import Context, Template
    from django.utils import translation

    ann = make_user("ann")
    catalog[2].title = 'Fish & "Chips" <live>'
    catalog[2].save()
    publish([(ann, catalog[i], 1 - i / 10, catalog[0] if i in (2, 4) else None) for i in range(1, 7)])
    client.force_login(ann)
    page = client.get("/recommended/")
    loop = Template(
        "{% load site_extras %}{% for row in rows %}"
        '<section aria-labelledby="row-{{ row.id }}" class="feed-row">'
        '<div class="shelf-head"><h2 id="row-{{ row.id }}">{{ row.title }}</h2></div>'
        '<div class="grid recommendations"{% if forloop.first %} id="top-picks-grid"{% endif %}>'
        "{% for rec in row.items %}{% video_card rec.video rec %}{% endfor %}</div></section>{% endfor %}"
    )
    with translation.override("en"):
        expected = loop.render(Context({"rows": page.context["rows"]}))

    def tight(html: str) -> str:
        return re.sub(r">\s+<", "><", html.strip())

    assert tight(str(page.context["rows_html"])) == tight(expected)
    assert tight(expected) in tight(page.text)
    assert "Fish &amp; &quot;Chips&quot; &lt;live&gt;" in page.text and 'id="top-picks-grid"' in page.text


def test_a_new_active_version_or_a_rollback_changes_the_feed_at_once(make_user, catalog):
    """The feed is keyed by the active version; activation (and so rollback) clears the cached one."""
    from recommender.selectors import active_version_cache_clear

    ann = make_user("ann")
    old = publish([(ann, catalog[1], 0.5, None)], status=ModelVersion.Status.RETIRED)
    new = publish([(ann, catalog[2], 0.5, None)])
    assert [i.video for i in recommendation_feed(user=ann, limit=5).items] == [catalog[2]]
    # A rollback as version_activate does it: statuses swap, the cached active version is dropped.
    ModelVersion.objects.filter(pk=new.pk).update(status=ModelVersion.Status.RETIRED)
    ModelVersion.objects.filter(pk=old.pk).update(status=ModelVersion.Status.ACTIVE)
    active_version_cache_clear()
    assert [i.video for i in recommendation_feed(user=ann, limit=5).items] == [catalog[1]]


def test_video_page_repeats_the_reason_when_the_viewer_came_from_a_pick(client, make_user, catalog):
    ann = make_user("ann")
    WatchEvent.objects.create(user=ann, video=catalog[0], completion=1.0)
    publish([(ann, catalog[1], 0.5, catalog[0])])
    client.force_login(ann)
    page = client.get(catalog[1].get_absolute_url() + "?from=rec")
    assert page.context["pick"].reason["kind"] == "because_you_watched"
    assert 'id="pick-reason"' in page.text and "Because you watched “Video 0”" in page.text
    assert 'id="pick-reason"' not in client.get(catalog[1].get_absolute_url()).text


def test_api_feed_from_rows_costs_two_queries(make_user, catalog, django_assert_num_queries):
    ann = make_user("ann")
    publish([(ann, v, 0.5, catalog[0]) for v in catalog[1:]])
    api = token_client(ann)
    assert api.get("/api/recommendations/").status_code == 200  # fills the active-version cache
    # The token (with its user; on PostgreSQL also the active version and the viewer's prepared feed,
    # none here), then the rows (finished: a subquery); elsewhere the version comes from the cache.
    with django_assert_num_queries(2):
        assert len(api.get("/api/recommendations/?limit=20").json()["results"]) == 9


@pytest.mark.parametrize(("page", "queries"), [("recommended", 5), ("home", 5)])
def test_feed_pages_cost_a_fixed_number_of_queries(client, make_user, catalog, page, queries):
    """Pinned: session, user, the feed's rows (one query), continue watching (one query), progress (home's
    catalog shelves come from the cache, three queries when it is cold). The count does not grow with
    the number of picks or videos."""
    from django.test.utils import CaptureQueriesContext

    ann = make_user("ann")
    WatchEvent.objects.create(user=ann, video=catalog[0], completion=0.5)
    publish([(ann, v, 0.5, catalog[0]) for v in catalog[1:]])
    client.force_login(ann)
    assert client.get(reverse(page)).status_code == 200  # fills the active-version and shelf caches
    with CaptureQueriesContext(connection) as first:
        client.get(reverse(page))
    for video in catalog[:3]:
        Video.objects.create(title=f"More {video.pk}", category=video.category, duration_seconds=300)
    with CaptureQueriesContext(connection) as cold:
        listed = client.get(reverse(page)).text
    with CaptureQueriesContext(connection) as second:
        client.get(reverse(page))
    assert len(first) == len(second) == queries, [q["sql"][:80] for q in second.captured_queries]
    if page == "home":
        # A new video empties the cached shelves at once: the next page reads them again and shows it.
        assert len(cold) == queries + 3 and f"More {catalog[0].pk}" in listed
