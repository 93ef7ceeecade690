"""What the browser tests (tests/e2e) share: Debian's headless Chromium, and logging a user into it.

Needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver); the tests
are skipped locally without them and fail under CI, which must run them. Selenium Manager is kept
offline: no browser or driver is ever downloaded.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
PAGE_LOAD_S = 30

BASE_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1280,900",
)


def require_browser() -> None:
    """Skip (locally) or fail (under CI) when Debian's Chromium or its driver is missing."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = f"{CHROMIUM} and {CHROMEDRIVER} are needed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests: {message}")
    pytest.skip(message)


@pytest.fixture
def chromium_driver(tmp_path, monkeypatch) -> Iterator:
    """A headless Chromium with an English Accept-Language and the browser console log recorded."""
    require_browser()
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*BASE_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-GB,en"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_LOAD_S)
    yield driver
    driver.quit()


def browser_log_in(driver, base_url: str, user, *, landing: str = "/healthz") -> None:
    """Give the browser a session for ``user`` without going through the login form.

    The cookies are dropped *before* leaving the current page: a page that reports on ``pagehide``
    (the player sends its last progress with ``keepalive``) would otherwise send the old session, and
    the response, arriving after the new cookie is set, would delete it (Django drops the cookie of a
    session that no longer exists). The new cookie is then checked to have stuck.
    """
    client = Client()
    client.force_login(user)
    session_key = client.cookies["sessionid"].value
    if driver.current_url.startswith(base_url):
        driver.delete_all_cookies()
    driver.get(base_url + landing)
    driver.delete_all_cookies()
    driver.add_cookie({"name": "sessionid", "value": session_key, "path": "/"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.2)
        cookie = driver.get_cookie("sessionid")
        if cookie and cookie["value"] == session_key:
            return
        driver.add_cookie({"name": "sessionid", "value": session_key, "path": "/"})
    raise AssertionError(f"the browser did not keep the session cookie for {user}")


class BrowserPage:
    """Small helpers over a WebDriver shared by the browser tests: open a path, find by CSS, wait,
    take a full-page screenshot at 1280 px into ``test-output/screenshots``."""

    WAIT_S = 30

    def __init__(self, driver, base_url: str):
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.base_url = base_url
        self.wait = WebDriverWait(driver, self.WAIT_S)

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        height = min(math.ceil(metrics["cssContentSize"]["height"]), 8000)
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        try:
            self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
