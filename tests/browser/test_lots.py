"""The lots page in a real browser, offline: lots on the map, legend, balance chart."""

import re

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_lots_page_designs_and_draws_lots_offline(live_server, browser_page) -> None:
    page, problems = browser_page
    page.goto(live_server + "/lots")
    page.wait_for_selector("path.leaflet-interactive", timeout=20_000)
    page.fill("#k", "8")
    page.fill("#seed", "5")
    # The Design button runs the search as a job, then opens the page of the design it made.
    with page.expect_navigation(url=re.compile(r"/lots\?.*seed=5"), timeout=60_000):
        page.click("#design-button")
    page.wait_for_selector("#balance-chart svg", timeout=30_000)
    page.wait_for_selector("path.leaflet-interactive", timeout=20_000)
    assert page.locator("path.leaflet-interactive").count() >= 8
    assert page.locator(".patch-label").count() == 8
    assert "within" in page.locator("#lots-summary").inner_text()
    assert "seed 5" in page.locator("#lots-summary").inner_text()
    assert page.locator("#balance-chart svg rect").count() >= 9
    shot = screenshot(page, "lots")
    assert shot.stat().st_size > 10_000
    assert problems == []


def test_profile_columns_are_chosen_without_reloading(live_server, browser_page) -> None:
    page, problems = browser_page
    page.goto(live_server + "/lots")
    page.wait_for_selector("#profile-table", timeout=30_000)
    header = page.locator('#profile-table th[data-col="imd_q5"]')
    assert header.is_hidden()
    page.locator("#column-choice summary").click()
    page.get_by_label("In the least deprived fifth (people)").check()
    assert header.is_visible()
    assert page.locator('#profile-table td[data-col="imd_q5"]:visible').count() == 8
    assert problems == []
