"""The gaps page in a real browser, offline: shaded areas, legend, method label."""

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_gaps_page_renders_areas_legend_and_sites_offline(live_server, browser_page) -> None:
    page, problems = browser_page
    page.goto(live_server + "/gaps")
    page.wait_for_selector(".area-legend", timeout=15_000)
    assert page.locator("path.leaflet-interactive").count() >= 185 + 24
    legend = page.locator(".area-legend").inner_text()
    for words in ("below 0.5", "no site within the cut-off", "gap area", "straight line × 1.3"):
        assert words in legend
    assert page.locator(".asset-marker, .asset-cluster").count() > 0
    assert "not walking routes" in page.locator("#method-label").inner_text()
    page.locator(".map-wrap").scroll_into_view_if_needed()
    page.mouse.wheel(0, 330)
    page.wait_for_timeout(300)
    shot = screenshot(page, "gaps")
    assert shot.stat().st_size > 10_000
    assert problems == []


#: The boxes of the patch names a person can see, and whether each lies in the labels pane.
SHOWN_LABELS = """() => Array.from(document.querySelectorAll('.map-wrap .patch-label'))
  .filter(e => getComputedStyle(e).visibility !== 'hidden' && e.getBoundingClientRect().width)
  .map(e => { const r = e.getBoundingClientRect();
              return [r.left, r.top, r.right, r.bottom, !!e.closest('.leaflet-patch-labels-pane')]; })"""


def test_ward_names_on_the_gap_map_never_overlap_and_lie_under_the_sites(live_server,
                                                                         browser_page) -> None:
    page, problems = browser_page
    page.goto(live_server + "/gaps")
    page.wait_for_selector(".area-legend", timeout=15_000)
    page.wait_for_timeout(300)
    for zoom in ("start", "in"):
        boxes = page.evaluate(SHOWN_LABELS)
        assert len(boxes) >= 10, zoom  # most wards are named at borough zoom
        assert all(b[4] for b in boxes)  # the pane under the markers
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (zoom, a, b)
        page.locator(".leaflet-control-zoom-in").first.click()
        page.wait_for_timeout(600)
    assert page.evaluate("getComputedStyle(document.querySelector('.leaflet-patch-labels-pane'))"
                         ".zIndex") == "450"
    assert problems == []


def test_clicking_the_map_proposes_sites_and_shows_before_and_after(live_server, browser_page) -> None:
    page, problems = browser_page
    page.goto(live_server + "/gaps?category=community_space")
    page.wait_for_selector(".area-legend", timeout=15_000)
    box = page.locator(".map-wrap .leaflet-container").first.bounding_box()
    assert box is not None
    # Two clicks near the middle of the borough: two boxes filled, the second one added.
    for dx in (-40, 40):
        page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2)
    fields = page.locator('#gap-form input[name="add"]')
    assert fields.count() == 2
    values = [fields.nth(i).input_value() for i in range(2)]
    for value in values:
        lon, lat = (float(v) for v in value.split(","))
        assert -0.1 < lon < 0.15 and 51.45 < lat < 51.6  # a point in or near Newham
    assert values[0] != values[1]
    assert page.locator("path.proposed-pending").count() == 2
    page.locator("#gap-form button[type=submit]").click()
    page.wait_for_selector("#what-if", timeout=30_000)
    assert page.locator("#gap-areas-before").inner_text().strip().isdigit()
    assert page.locator('#gap-form input[name="add"]').count() == 3  # the two sites, and a blank
    assert problems == []


def test_the_plan_is_made_by_clicking_with_the_default_grant(live_server, browser_page) -> None:
    page, problems = browser_page
    page.goto(live_server + "/gaps/plan?category=community_space")
    page.wait_for_selector("#plan-form", timeout=15_000)
    assert page.locator("#grant").input_value() == "500"
    page.locator("#budget").fill("2000")
    page.locator("#plan-form button[type=submit]").click()
    page.wait_for_url("**budget=2000**", timeout=30_000)
    # The browser accepted the round figures (a step of 50 from 1 refused £500 before).
    assert page.evaluate("document.querySelector('#grant').validity.valid")
    assert page.locator("#budget").input_value() == "2000"
    text = page.locator("main").inner_text()
    assert "nan" not in text.split() and "None" not in text.split()
    # Community spaces are the hosts, and here every one is a site of the category itself.
    assert "No host sites can be suggested for community space gaps" in page.locator(
        "#host-sites").inner_text()
    assert problems == []
