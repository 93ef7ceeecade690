"""Video cards rendered in Python (videos.cards): escaped, translated, the same links as the models."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import set_script_prefix
from django.utils import translation
from django.utils.safestring import mark_safe

from recommender.feed import FeedItem
from videos.cards import card_html, shelf_html, thumb_html, video_url
from videos.models import Category, Video


@pytest.fixture
def video(db):
    category = Category.objects.create(name="Science", slug="science", name_zh_hans="科学")
    return Video.objects.create(
        title='<b>"Cats" & dogs</b>', category=category, duration_seconds=3725, thumbnail_url='https://x.test/a"b.jpg'
    )


def test_a_card_escapes_every_text_and_links_to_the_video(video):
    html = card_html(video)
    assert "<b>" not in html and "&lt;b&gt;&quot;Cats&quot; &amp; dogs&lt;/b&gt;" in html
    assert 'src="https://x.test/a&quot;b.jpg"' in html
    assert html.count(f'href="{video.get_absolute_url()}"') == 2  # the picture and the title
    assert '<h3 class="card-title">' in html and "1:02:05" in html and "Science" in html
    assert "status-chip" not in html and "thumb-progress" not in html  # not started


def test_a_card_shows_the_viewers_progress(video):
    video.completion = 0.42
    html = card_html(video, heading="h2")
    assert '<h2 class="card-title">' in html and "42 % watched" in html and 'class="pct-42"' in html
    video.completion = 0.97
    assert '<span class="status-chip finished">Finished</span>' in card_html(video)


def test_a_pick_shows_rank_match_and_an_escaped_reason(video):
    watched = Video(id=99, title="Tom & <Jerry>")
    rec = FeedItem(video, 3, 0.2, 0.734, {"kind": "because_you_watched", "video_obj": watched}, "unused")
    html = card_html(video, rec=rec)
    assert '<span class="rank" title="Rank">3</span>' in html
    assert f'href="{video.get_absolute_url()}?from=rec"' in html
    assert "<strong>73 %</strong>" in html and 'aria-label="Match 73 %"' in html
    assert f'Because you watched <a href="{watched.get_absolute_url()}">Tom &amp; &lt;Jerry&gt;</a>' in html
    popular = FeedItem(video, 1, None, None, {"kind": "popular"}, "Trending in <Science>")
    html = card_html(video, rec=popular)
    assert '<p class="reason">Trending in &lt;Science&gt;</p>' in html and 'class="score"' not in html


# The shelf as a template include wrote it before ``shelf_html``: the Python version must match it.
SHELF_TEMPLATE = """{% load i18n site_extras %}<section class="shelf" aria-labelledby="{{ shelf_id }}">
  <div class="shelf-head">
    <h2 id="{{ shelf_id }}">{{ shelf_title }}</h2>
    {% if more_url %}<a href="{{ more_url }}">{% translate "See all" %} →</a>{% endif %}
  </div>
  {% if shelf_sub %}<p class="shelf-sub">{{ shelf_sub }}</p>{% endif %}
  <div class="row">
    {% for video in shelf_videos %}{% video_card video progress_slots=progress_slots %}{% endfor %}
  </div>
</section>
"""


@pytest.mark.parametrize(
    "title, more_url, sub, slots",
    [
        ("Continue <watching>", None, "Pick up & go", False),
        (mark_safe("<em>New</em>"), "/videos/?sort=new&x=1", None, True),
        ("Popular", "/videos/", "", True),
    ],
)
def test_a_shelf_is_the_markup_of_the_template_it_replaced(video, title, more_url, sub, slots):
    video.completion = 0.5
    other = Video.objects.create(title="Second", duration_seconds=30)
    context = {"shelf_id": 'shelf-"x"', "shelf_title": title, "more_url": more_url, "shelf_sub": sub}
    context |= {"shelf_videos": [video, other], "progress_slots": slots}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            expected = Template(SHELF_TEMPLATE).render(Context(context))
            ours = shelf_html('shelf-"x"', title, [video, other], more_url=more_url, sub=sub, progress_slots=slots)
        assert ours == expected


def test_cards_speak_the_active_language(video):
    video.completion = 1.0
    rec = FeedItem(video, 1, 0.2, 0.5, {"kind": "because_you_watched", "video_obj": Video(id=7, title="A")}, "")
    with translation.override("zh-hans"):
        html = card_html(video, rec=rec)
    assert "已看完" in html and "科学" in html and "匹配度" in html and "因为你看过" in html
    assert "Finished" in card_html(video, rec=rec)  # back in English: the texts are kept per language


def test_urls_follow_the_script_prefix_and_headings_are_checked(video):
    assert video_url(video.pk) == video.get_absolute_url()
    set_script_prefix("/site/")
    try:
        assert video_url(video.pk) == video.get_absolute_url() == f"/site/videos/{video.pk}/"
        assert f'href="/site/videos/{video.pk}/"' in thumb_html(video)
    finally:
        set_script_prefix("/")
    with pytest.raises(ValueError, match="heading"):
        card_html(video, heading="script")


def test_home_catalog_is_shared_but_shows_each_viewers_progress(client, make_user, video):
    from django.core.cache import cache

    from videos.cards import CATALOG_KEY
    from videos.models import WatchEvent

    ann, bob = make_user("ann"), make_user("bob")
    WatchEvent.objects.create(user=ann, video=video, completion=0.42)
    WatchEvent.objects.create(user=bob, video=video, completion=1.0)
    client.force_login(ann)
    page = client.get("/").text
    assert cache.get(f"{CATALOG_KEY}:en") is not None  # rendered once, for every viewer
    assert "42 % watched" in page and 'class="pct-42"' in page and "<!--progress" not in page
    client.force_login(bob)
    page = client.get("/").text
    assert '<span class="status-chip finished">Finished</span>' in page and "42 % watched" not in page
    client.logout()
    page = client.get("/").text
    assert "status-chip" not in page and "thumb-progress" not in page and "<!--progress" not in page
    # Each language has its own copy; an edit of a category drops them all.
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").text
    assert "科学" in page and cache.get(f"{CATALOG_KEY}:zh-hans") is not None
    video.category.name_zh_hans = "自然科学"
    video.category.save()
    assert cache.get(f"{CATALOG_KEY}:en") is None and cache.get(f"{CATALOG_KEY}:zh-hans") is None
    assert "自然科学" in client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").text
