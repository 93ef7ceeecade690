"""End to end in a real headless Chromium against a live server.

Sign up -> watch videos through the real pages (the JavaScript player and the "watched N %"
control) -> retrain -> "Recommended for you" lists unwatched videos with reasons. Screenshots of
the main pages go to test-output/screenshots/ for a person to look at.

Needs Debian's chromium and chromium-driver (``.ci/run`` installs them). Without them the test is
skipped locally, but fails under CI (``CI`` set): there it must run.
"""

from __future__ import annotations

import re

import pytest
from browser_support import BrowserPage
from django.contrib.auth import get_user_model

from recommender.services import retrain
from videos.demo import CLIP_TITLE, demo_seed
from videos.models import Video, WatchEvent

USERNAME = "e2e-viewer"
PASSWORD = "slow-trains-and-tea-7"


@pytest.fixture
def browser(chromium_driver):
    return chromium_driver


class Site(BrowserPage):
    """Small helpers over the driver: open pages, wait, fill forms, take full-page screenshots."""

    def text(self, css: str = "main") -> str:
        return self.find(css).text

    def submit(self, form_css: str) -> None:
        """Click the form's submit button and wait for the next page."""
        from selenium.common.exceptions import WebDriverException

        old = self.find("html")
        self.find(f"{form_css} button[type=submit]").click()

        def page_replaced(_driver) -> bool:
            # Chromium reports a detached node either as stale or as "does not belong to the
            # document", depending on timing; both mean the next page has loaded.
            try:
                old.is_enabled()
            except WebDriverException:
                return True
            return False

        self.wait.until(page_replaced)

    def wait_for_text(self, css: str, pattern: str) -> str:
        regex = re.compile(pattern)
        self.wait.until(lambda d: regex.search(self.find(css).text))
        return self.find(css).text

    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.base_url)


def _record_with_the_percent_control(site: Site, video: Video, percent: int) -> None:
    """Use the accessible slider with the keyboard, as a person would, then submit."""
    from selenium.webdriver.common.keys import Keys

    site.open(video.get_absolute_url())
    slider = site.find("input[type=range][name=percent]")
    slider.send_keys(Keys.HOME)
    for _ in range(percent // 5):
        slider.send_keys(Keys.ARROW_RIGHT)
    assert site.find("#percent-output").text == f"{percent} %"
    assert slider.get_attribute("aria-valuetext") == f"{percent} %"
    site.submit(".watch-form")
    assert site.path() == video.get_absolute_url()
    assert f"Saved: you watched {percent} %." in site.text(".messages")
    assert f"You have watched {percent} % of this video." in site.text("[data-my-progress]")


def _watch_with_the_player(site: Site, clip: Video) -> None:
    """Play the clip in the HTML5 player: a pause and the end are reported by player.js."""
    site.open(clip.get_absolute_url())
    site.wait.until(lambda d: d.execute_script("return document.querySelector('#player').readyState >= 1"))
    site.driver.execute_script("document.querySelector('#player').play()")
    site.wait.until(lambda d: d.execute_script("return document.querySelector('#player').currentTime >= 2"))
    site.driver.execute_script("document.querySelector('#player').pause()")
    saved = site.wait_for_text("#player-status", r"Progress saved: \d+ % watched\.")
    paused_at = int(re.search(r"(\d+) %", saved).group(1))
    assert 20 <= paused_at < 100

    site.driver.execute_script("document.querySelector('#player').play()")
    site.wait_for_text("#player-status", r"Progress saved: 100 % watched\.")
    assert "You have watched 100 % of this video." in site.text("[data-my-progress]")
    assert not site.find("[data-not-watched]").is_displayed()


@pytest.mark.django_db(transaction=True)
def test_sign_up_watch_retrain_and_get_recommendations(live_server, browser, fast_config, settings):
    settings.RECOMMENDATIONS_TOP_N = 50
    demo_seed(media_base_url=live_server.url)  # 8 categories of demo videos, viewers with tastes
    clip = Video.objects.get(title=CLIP_TITLE)
    assert clip.media_url.startswith(live_server.url)
    science = list(Video.objects.filter(category__name="Science").order_by("title"))
    nature = Video.objects.filter(category__name="Nature").order_by("title").first()
    retrain(config=fast_config, triggered_by="e2e")  # the site already serves a model

    site = Site(browser, live_server.url)
    site.open("/")
    assert "Find the videos you will actually finish." in site.text()
    site.screenshot("01-home-anonymous")

    # Sign up: a weak password is refused by Django's validators, then a good one logs in.
    site.find(".nav a.button").click()
    site.wait.until(lambda d: site.path() == "/accounts/signup/")
    site.find("#id_username").send_keys(USERNAME)
    site.find("#id_password1").send_keys("12345")
    site.find("#id_password2").send_keys("12345")
    site.submit("form[action='/accounts/signup/']")
    assert "This password is too short." in site.text()
    site.screenshot("02-signup-error")
    site.find("#id_password1").send_keys(PASSWORD)
    site.find("#id_password2").send_keys(PASSWORD)
    site.submit("form[action='/accounts/signup/']")
    assert site.path() == "/recommended/"
    assert f"Welcome, {USERNAME}!" in site.text(".messages")
    assert "We do not know your taste yet" in site.text("#fallback-note")
    user = get_user_model().objects.get(username=USERNAME)

    # Watch: the JavaScript player reports completion; the slider records videos without media.
    _watch_with_the_player(site, clip)
    site.screenshot("03-video-player")
    for video in science[:4]:
        _record_with_the_percent_control(site, video, 100)
    _record_with_the_percent_control(site, science[4], 40)
    _record_with_the_percent_control(site, nature, 10)
    site.screenshot("04-video-page")

    events = WatchEvent.objects.filter(user=user)
    assert set(events.values_list("source", flat=True)) == {"web"}
    assert events.filter(video=clip, completion=1.0).exists()
    assert events.filter(video=clip, completion__gt=0.2, completion__lt=1.0).exists()  # the pause
    best = {v: c for v, c in events.order_by("completion").values_list("video__title", "completion")}
    assert best[science[4].title] == 0.4 and best[nature.title] == 0.1
    finished = {clip.title, *(v.title for v in science[:4])}

    # Retrain in-process with a small model; the page then reads the published rows.
    version = retrain(config=fast_config, triggered_by="e2e")
    assert version.status == "active"

    site.open("/recommended/")
    assert "Top picks" in site.text()
    assert f"by model version {version.pk}" in site.text(".page-head")
    site.screenshot("05-recommended")
    # Rows: "Top picks for you" first, then "Because you watched X" rows; every pick in one row.
    top = site.find_all("#top-picks-grid .video-card")
    assert top, "the Top picks row is empty"
    cards = site.find_all(".recommendations .video-card")
    assert len(cards) >= 40
    titles = [card.find_element("css selector", ".card-title a").text for card in cards]
    assert len(set(titles)) == len(titles), "a pick appears in two rows"
    assert not finished & set(titles), "a finished video was recommended"
    watched_titles = set(best)
    for card in cards:
        reason = card.find_element("css selector", ".reason").text
        if reason.startswith("Because you watched "):
            assert reason.removeprefix("Because you watched ") in watched_titles
        else:
            assert reason == "Popular with viewers like you"
    scores = site.find_all(".recommendations .score strong")
    assert all(re.fullmatch(r"\d+ %", s.text) for s in scores)
    continuing = [a.text for a in site.find_all("[aria-labelledby=shelf-continue] h3 a")]
    assert science[4].title in continuing and nature.title in continuing

    # Finishing a recommended video removes it from the list at once (read-time filter).
    first = Video.objects.get(title=titles[0])
    _record_with_the_percent_control(site, first, 100)
    site.open("/recommended/")
    titles_after = [a.text for a in site.find_all(".recommendations .video-card .card-title a")]
    assert first.title not in titles_after and set(titles) - {first.title} >= set(titles_after)

    site.open("/")
    assert "Recommended for you" in site.text("#shelf-recommended")
    site.screenshot("06-home")
    site.open("/videos/?sort=popular")
    site.screenshot("07-catalog")

    # History: remove an entry.
    site.open("/history/")
    assert nature.title in site.text(".history-list")
    site.screenshot("08-history")
    site.submit(f"#event-{events.get(video=nature).pk} form")
    assert f"Removed “{nature.title}” (10 %) from your history." in site.text(".messages")
    assert nature.title not in site.text(".history-list")
    assert not WatchEvent.objects.filter(user=user, video=nature).exists()

    # The footer switcher turns the site Chinese.
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select

    site.open("/recommended/")
    old = site.find("html")
    Select(site.find("#language")).select_by_value("zh-hans")  # submits itself (site.js)
    site.wait.until(ec.staleness_of(old))
    assert site.path() == "/recommended/"
    assert site.find("html").get_attribute("lang") == "zh-hans"
    assert "为你推荐" in site.text("h1") and "因为你看过" in site.text(".recommendations")
    site.screenshot("09-recommended-zh-hans")

    # Log out, then log in again: back to "Recommended for you".
    site.find(".usermenu summary").click()
    site.submit(".usermenu-panel form")
    site.open("/accounts/login/")
    site.find("#id_username").send_keys(USERNAME)
    site.find("#id_password").send_keys(PASSWORD)
    site.submit("form[action='/accounts/login/']")
    assert site.path() == "/recommended/"
