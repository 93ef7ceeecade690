"""The API documentation pages in headless Chromium: the reference shows at once, the interactive console
loads when opened, is remembered on the next visit, and gives the plain reference back when closed;
a Swagger UI deep link opens the console by itself. Screenshots: test-output/screenshots/api-docs-*.png."""

from __future__ import annotations

import pytest
from browser_support import SCREENSHOTS

WAIT_S = 20
CONSOLES = {
    "swagger": ("/api/docs/", ".swagger-ui .opblock-tag"),
    "redoc": ("/api/redoc/", "#redoc-container .menu-content"),
}


def wait_for(driver, css: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    visible = expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css))
    return WebDriverWait(driver, WAIT_S).until(visible)


def loaded_bundles(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.scripts).map(s => s.src)"
        ".filter(s => /swagger-ui-bundle|redoc\\.standalone/.test(s))"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("console", sorted(CONSOLES))
def test_console_opens_on_demand_and_is_remembered(chromium_driver, live_server, console):
    path, ready_css = CONSOLES[console]
    driver = chromium_driver
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    driver.get(live_server.url + path)
    wait_for(driver, "#api-reference .api-op")
    assert loaded_bundles(driver) == []  # nothing heavy with the page
    driver.save_screenshot(str(SCREENSHOTS / f"api-docs-{console}-reference.png"))

    wait_for(driver, ".api-console-bar.ready .api-console-open").click()
    wait_for(driver, ready_css)
    assert driver.execute_script("return document.getElementById('api-reference').hidden") is True
    assert len(loaded_bundles(driver)) == 1
    driver.save_screenshot(str(SCREENSHOTS / f"api-docs-{console}-console.png"))

    driver.get(live_server.url + path)  # the choice is remembered
    wait_for(driver, ready_css)
    wait_for(driver, ".api-console-close").click()
    wait_for(driver, "#api-reference .api-op")
    driver.get(live_server.url + path)  # and so is going back
    wait_for(driver, "#api-reference .api-op")
    assert loaded_bundles(driver) == []


@pytest.mark.django_db(transaction=True)
def test_swagger_deep_link_opens_the_console(chromium_driver, live_server):
    chromium_driver.get(live_server.url + "/api/docs/#/recommendations/recommendations_retrieve")
    wait_for(chromium_driver, ".swagger-ui .opblock-tag")
