"""The lots page in a real browser, offline: lots on the map, legend, balance chart."""

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_lots_page_designs_and_draws_lots_offline(live_server, browser_page) -> None:
    page, problems = browser_page
    page.goto(live_server + "/lots")
    page.wait_for_selector("path.leaflet-interactive", timeout=20_000)
    page.fill("#k", "8")
    page.click("#design-button")
    page.wait_for_selector("#balance-chart svg", timeout=30_000)
    page.wait_for_selector("path.leaflet-interactive", timeout=20_000)
    assert page.locator("path.leaflet-interactive").count() >= 8
    assert page.locator(".patch-label").count() == 8
    assert "within" in page.locator("#lots-summary").inner_text()
    assert page.locator("#balance-chart svg rect").count() >= 9
    shot = screenshot(page, "lots")
    assert shot.stat().st_size > 10_000
    assert problems == []
