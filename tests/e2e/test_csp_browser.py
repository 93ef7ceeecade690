"""The Content-Security-Policy in a real headless Chromium: the site's pages, the admin, Swagger UI
and ReDoc render and run their scripts without a single violation.

Needs Debian's chromium and chromium-driver; skipped locally without them, a failure under CI.
Screenshots go to test-output/screenshots/csp-*.png.
"""

from __future__ import annotations

import time

import pytest
from browser_support import SCREENSHOTS, browser_log_in
from django.utils import timezone

from recommender.models import ModelVersion, Recommendation
from videos.models import Category, Video, WatchEvent

WAIT_S = 20

# Installed before any script of a page runs: collects every violation the browser reports.
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var where = e.sourceFile + ":" + e.lineNumber;
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + where);
});
"""


@pytest.fixture
def chromium(chromium_driver):
    chromium_driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COLLECT_VIOLATIONS})
    return chromium_driver


class Pages:
    def __init__(self, driver, base_url: str):
        self.driver = driver
        self.base_url = base_url
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def visit(self, name: str, path: str, *, ready_css: str, click_css: str = "") -> list[str]:
        """Open ``path`` (and click ``click_css``), wait until ``ready_css`` shows (the page's scripts
        ran), return its violations."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver.get_log("browser")  # forget earlier pages' messages
        self.driver.get(self.base_url + path)
        if click_css:
            WebDriverWait(self.driver, WAIT_S).until(
                expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, click_css))
            ).click()
        WebDriverWait(self.driver, WAIT_S).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ready_css))
        )
        time.sleep(0.5)  # late style insertions and workers
        self.driver.save_screenshot(str(SCREENSHOTS / f"csp-{name}.png"))
        return self.violations()

    def violations(self) -> list[str]:
        found = list(self.driver.execute_script("return window.__cspViolations || []"))
        found += [e["message"] for e in self.driver.get_log("browser") if "Content Security Policy" in e["message"]]
        return found

    def log_in(self, client, user) -> None:
        browser_log_in(self.driver, self.base_url, user)


@pytest.fixture
def site(db, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="a-long-password-123")
    staff = django_user_model.objects.create_superuser("operator", password="a-long-password-123")
    travel = Category.objects.create(name="Travel")
    videos = [Video.objects.create(title=f"Trip {i}", category=travel, duration_seconds=75) for i in range(4)]
    WatchEvent.objects.create(user=viewer, video=videos[0], completion=0.4)
    version = ModelVersion.objects.create(
        objective="completion",
        status=ModelVersion.Status.ACTIVE,
        finished_at=timezone.now(),
        activated_at=timezone.now(),
    )
    for rank, video in enumerate(videos[1:], start=1):
        Recommendation.objects.create(version=version, user=viewer, video=video, score=0.9 - rank / 10, rank=rank)
    return viewer, staff, videos


def test_pages_run_without_csp_violations(chromium, live_server, site, client):
    viewer, staff, videos = site
    pages = Pages(chromium, live_server.url)
    problems: dict[str, list[str]] = {}

    def check(name: str, path: str, ready_css: str, click_css: str = "") -> None:
        found = pages.visit(name, path, ready_css=ready_css, click_css=click_css)
        if found:
            problems[name] = found

    # html.js is set by static/js/early.js: proof that the site's own scripts ran.
    check("home", "/", "html.js .thumb")
    check("not-found", "/no/such/page/", "html.js .error-page")
    # The documentation pages load their consoles when the reader opens them.
    check("swagger", "/api/docs/", ".swagger-ui .opblock-tag", click_css=".api-console-bar.ready .api-console-open")
    check(
        "redoc",
        "/api/redoc/",
        "#redoc-container [role=search], #redoc-container .menu-content",
        click_css=".api-console-bar.ready .api-console-open",
    )
    pages.log_in(client, viewer)
    check("history", "/history/", "html.js .pct-40")
    check("recommended", "/recommended/", "html.js .thumb")
    check("video", f"/videos/{videos[0].pk}/", "html.js [data-my-progress]")
    pages.log_in(client, staff)
    check("admin", "/admin/", "#content-main")
    check("admin-periodic-task", "/admin/django_celery_beat/periodictask/add/", "#id_crontab")

    assert problems == {}
