"""The gaps page in a real browser, offline: shaded areas, legend, method label."""

import pytest
from flask import Flask

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _analysis_registered(app: Flask) -> None:
    """Register the blueprint when create_app does not (yet) do it."""
    if "analysis" not in app.blueprints:
        from web.analysis import bp

        app.register_blueprint(bp)


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
