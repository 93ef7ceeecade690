"""The operator's console in a real headless Chromium: the dashboard and a model version page draw
their charts under the site's Content-Security-Policy, the version list fits 1280 px, a queued
retrain is followed live by the page's script, and a CSV is imported from the browser.

Screenshots go to test-output/screenshots/ (``make screenshots`` copies two of them into docs/img/).
Needs Debian's chromium and chromium-driver; skipped without them locally, required under CI.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from browser_support import BrowserPage, browser_log_in
from conftest import SEED_MATRIX
from django.contrib.auth import get_user_model
from django.utils import timezone

from recommender.models import ModelVersion
from recommender.services import retrain
from videos.models import WatchEvent
from videos.watch_csv import watch_csv_import


@pytest.fixture
def driver(chromium_driver):
    return chromium_driver


class Console(BrowserPage):
    def drawn(self, css: str) -> list[dict]:
        """Rendered boxes of the matching elements (a chart that drew has marks with a size)."""
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => {"
            "const r = e.getBoundingClientRect(); return {w: r.width, h: r.height}; });",
            css,
        )

    def csp_violations(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if "Content Security Policy" in e["message"]]


def _log_in(console: Console, user) -> None:
    browser_log_in(console.driver, console.base_url, user, landing="/admin/login/")


@pytest.mark.django_db(transaction=True)
def test_dashboard_and_version_pages_draw_their_charts(live_server, driver, fast_config, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    watch_csv_import(data=SEED_MATRIX.read_bytes(), format="wide")
    now = timezone.now()
    for i, event in enumerate(WatchEvent.objects.order_by("pk")):  # spread over the last four weeks
        WatchEvent.objects.filter(pk=event.pk).update(watched_at=now - timedelta(days=(i * 5) % 27, hours=i % 7))
    first = retrain(config=fast_config, triggered_by="e2e")
    WatchEvent.objects.create(user=WatchEvent.objects.first().user, video=WatchEvent.objects.last().video, completion=1)
    retrain(config=fast_config.replace(epochs=6), triggered_by="e2e", force=True)
    second = retrain(config=fast_config.replace(epochs=8, embedding_dim=16), triggered_by="e2e", force=True)
    admin_user = get_user_model().objects.create_superuser("operator", password="operators-long-password-1")
    console = Console(driver, live_server.url)
    _log_in(console, admin_user)

    # The admin index links the dashboard.
    console.open("/admin/")
    assert "Video Recommender" in console.driver.title
    console.find("#console-links a").click()
    console.wait.until(lambda d: "/dashboard/" in d.current_url)

    charts = console.drawn("svg[data-chart]")
    assert len(charts) == 4 and all(c["w"] > 300 and c["h"] > 100 for c in charts)
    assert len(console.drawn("svg[data-chart=line] path[data-series]")) >= 3  # loss curves, HR@10, NDCG@10 …
    assert all(b["w"] > 0 for b in console.drawn("svg[data-chart=bar] rect[data-bar]"))
    assert len(console.drawn("svg[data-chart=bar] rect[data-bar]")) == 30 + 10
    assert console.find('[data-figure="watches"]').text == "30"
    console.screenshot("admin-01-dashboard")

    # A version page: verdict, tables, training curve.
    console.open(f"/admin/recommender/modelversion/{first.pk}/change/")
    assert console.find("#verdict").text
    for table in ("#metrics-table", "#gate-table", "#durations-table", "#hyperparameters-table"):
        assert console.find(table).is_displayed()
    curve = console.drawn('svg[data-chart=line] path[data-series="training loss"]')
    assert len(curve) == 1 and curve[0]["w"] > 100
    console.screenshot("admin-02-version")

    # Compare with the active version, then the heat maps of this small catalog.
    console.find("#compare-active").click()
    console.wait.until(lambda d: "/compare/" in d.current_url)
    assert f"V{second.pk}" in console.find("#compare-table").text.upper()
    console.screenshot("admin-03-compare")
    console.open(f"/admin/recommender/modelversion/{second.pk}/matrix/")
    assert len(console.drawn("svg[data-chart=heatmap]")) == 2
    assert len(console.drawn("rect[data-cell]")) == 2 * 9 * 6
    console.screenshot("admin-04-heatmaps")

    # The version list shows its key columns without a horizontal scrollbar at 1280 px.
    console.open("/admin/recommender/modelversion/")
    results = console.find("#changelist .results")
    assert driver.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", results)
    headers = console.find("#result_list thead").text.upper()
    for header in ("HR@10", "NDCG@10", "RMSE", "PROMOTION GATE", "CREATED"):
        assert header in headers
    console.screenshot("admin-05-version-list")

    assert console.csp_violations() == []


@pytest.mark.django_db(transaction=True)
def test_a_queued_retrain_is_followed_live(live_server, driver, settings, tmp_path):
    watch_csv_import(data=SEED_MATRIX.read_bytes(), format="wide")
    queued = ModelVersion.objects.create(
        status=ModelVersion.Status.QUEUED, stage=ModelVersion.Stage.QUEUED, objective="expected_completion"
    )
    admin_user = get_user_model().objects.create_superuser("operator", password="operators-long-password-1")
    console = Console(driver, live_server.url)
    _log_in(console, admin_user)
    console.open(f"/admin/recommender/modelversion/{queued.pk}/change/")
    console.wait.until(lambda d: console.find("[data-progress-stage]").text.endswith("(queued)"))

    ModelVersion.objects.filter(pk=queued.pk).update(
        status=ModelVersion.Status.RUNNING,
        stage=ModelVersion.Stage.TRAINING,
        epoch=3,
        epochs_total=20,
        history=[{"epoch": e, "loss": 0.5 / e} for e in (1, 2, 3)],
    )
    console.wait.until(lambda d: console.find("[data-progress-epoch]").text == "3/20")
    assert console.find("[data-progress-loss]").text == "0.1667"
    console.screenshot("admin-06-progress")

    ModelVersion.objects.filter(pk=queued.pk).update(
        status=ModelVersion.Status.FAILED, stage=ModelVersion.Stage.DONE, error="RuntimeError: stopped"
    )
    console.wait.until(lambda d: not console.find_all("#retrain-progress"))  # reloaded once finished
    assert "Training failed" in console.find("#verdict").text
    assert console.csp_violations() == []


@pytest.mark.django_db(transaction=True)
def test_import_a_csv_from_the_browser(live_server, driver, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    admin_user = get_user_model().objects.create_superuser("operator", password="operators-long-password-1")
    console = Console(driver, live_server.url)
    _log_in(console, admin_user)

    bad = tmp_path / "bad.csv"
    bad.write_text("user,A,B\nann,5,11\n")
    console.open("/admin/videos/watchevent/import/")
    console.find("#id_file").send_keys(str(bad))
    console.find("#import-check").click()
    console.wait.until(lambda d: console.find_all("#import-refused"))
    assert "Row 2 (ann), column 3 (B): 11 is outside 0..10." in console.find("#import-problems").text
    assert not console.find_all("#import-commit")
    console.screenshot("admin-07-import-refused")

    console.find("#id_file").send_keys(str(SEED_MATRIX))
    console.find("#import-check").click()
    console.wait.until(lambda d: console.find_all("#import-ready"))
    assert WatchEvent.objects.count() == 0
    console.screenshot("admin-08-import-preview")
    console.find("#import-commit").click()
    console.wait.until(lambda d: "/admin/videos/watchevent/" in d.current_url and console.find_all(".messagelist"))
    assert "Imported 29 watch events" in console.find(".messagelist").text
    assert WatchEvent.objects.count() == 29
    assert "100 %" in console.find("#result_list").text
    assert console.csp_violations() == []
