"""A social worker's journey through the directory, by clicking and typing, offline.

She searches near a person's postcode (E15 4BQ) for a category, reads the distances and
pages on; a search for day opportunities finds nothing, says why and offers related
categories, and one of them finds places; she shortlists two by clicking, opens the
shortlist and prints it: distances from the postcode, today's date and a static map.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from mapping.store.database import Store
from tests.browser.conftest import VIEWPORTS, look_at, text_problems

pytestmark = pytest.mark.browser

POSTCODE = "E15 4BQ"
DISTANCE = re.compile(r"\b\d+(?:\.\d)? km\b|under 0\.1 km")


def no_sideways_scroll(page) -> bool:  # type: ignore[no-untyped-def]
    """Say whether the page fits a phone's width (no horizontal scrolling)."""
    page.set_viewport_size(VIEWPORTS["phone"])
    page.wait_for_timeout(150)
    fits = bool(page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))
    page.set_viewport_size(VIEWPORTS["desktop"])
    return fits


def search(page, category: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Near postcode").fill(POSTCODE)
    page.get_by_label("Category").select_option(label=category)
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_load_state("networkidle")


def test_social_worker_finds_shortlists_and_prints(live_server, browser_page,  # type: ignore[no-untyped-def]
                                                  demo_store: Store) -> None:
    page, problems = browser_page
    page.goto(live_server + "/directory/")
    look_at(page, "directory-start")

    # A postcode search for schools: nearest first, each with its distance, 25 a page.
    search(page, "School")
    text = look_at(page, "directory-results")
    assert "Showing 1–25 of 115 results, nearest to E15 4BQ first" in text
    cards = page.locator(".directory-card")
    assert cards.count() == 25
    assert all(DISTANCE.search(cards.nth(i).inner_text()) for i in range(cards.count()))
    assert page.locator(".directory-map .leaflet-container").count() == 1
    assert no_sideways_scroll(page)

    page.get_by_role("link", name=re.compile("Next 25")).click()
    page.wait_for_load_state("networkidle")
    text = look_at(page, "directory-results-page-2")
    assert "Showing 26–50 of 115 results" in text
    assert "postcode=E15+4BQ" in page.url and "category=school" in page.url
    assert page.get_by_label("Near postcode").input_value() == POSTCODE
    first_distance = float(DISTANCE.search(cards.first.inner_text()).group(0).split()[0])
    assert first_distance > 0
    page.get_by_role("link", name=re.compile("Previous 25")).click()
    page.wait_for_load_state("networkidle")
    assert "Showing 1–25 of 115" in page.locator("main").inner_text()

    # Nothing for day opportunities: the page says why and offers searches that find some.
    search(page, "Day opportunities")
    text = look_at(page, "directory-empty")
    assert "0 results" in text and "no day opportunities recorded" in text
    suggestion = page.get_by_role("link", name="Residential care instead")
    assert suggestion.count() == 1
    suggestion.click()
    page.wait_for_load_state("networkidle")
    text = look_at(page, "directory-suggestion")
    assert re.search(r"\d+ results, nearest to E15 4BQ first", text)
    assert page.get_by_label("Category").input_value() == "residential"
    assert no_sideways_scroll(page)

    # Two places onto the shortlist, by their buttons.
    names = [page.locator(".directory-card h2").nth(i).inner_text() for i in (0, 1)]
    for name in names:
        page.get_by_role("button", name=f"Add to shortlist: {name}").click()
        page.wait_for_load_state("networkidle")
    text = look_at(page, "directory-shortlisted")
    assert "Your shortlist (2)" in text and text.count("On your shortlist") == 2

    page.get_by_role("link", name="Your shortlist (2)").click()
    page.wait_for_load_state("networkidle")
    text = look_at(page, "directory-shortlist")
    assert all(name in text for name in names)
    assert len(re.findall(r"km from E15 4BQ", text)) == 2
    assert no_sideways_scroll(page)

    # The printed view: distances, today's date and a static map, and nothing missing.
    page.emulate_media(media="print")
    text = look_at(page, "directory-shortlist-print")
    today = date.today()
    assert f"Made on {today.day} {today:%B %Y}, for someone near E15 4BQ" in text
    assert len(re.findall(r"km from E15 4BQ", text)) == 2
    static_map = page.locator("figure.shortlist-map svg")
    assert static_map.count() == 1 and static_map.is_visible()
    assert static_map.locator("circle").count() == 2
    assert static_map.locator("text").all_text_contents()[-2:] == ["2", "1"]
    assert "E15 4BQ" in static_map.locator("text").all_text_contents()
    assert not page.get_by_role("navigation", name="Main").is_visible()
    assert not page.get_by_role("button", name="Print").is_visible()
    assert text_problems(text) == []
    assert problems == [], "\n".join(problems)
