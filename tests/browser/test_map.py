"""The map in a real browser, offline: areas, clusters, legend, escaped popups."""

import pandas as pd
import pytest

from mapping.importers import prepare_assets, write_assets
from mapping.store import Store
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_map_renders_wards_and_asset_clusters_offline(live_server, browser_page) -> None:
    page, problems = browser_page
    page.goto(live_server + "/")
    page.wait_for_selector(".asset-cluster", timeout=15_000)
    wards = page.locator("path.leaflet-interactive").count()
    clusters = page.locator(".asset-cluster").count()
    assert wards >= 24, wards
    assert clusters > 0
    legend_text = page.locator("body").inner_text()
    for cls in ("generative", "extractive", "in-house", "unknown"):
        assert cls in legend_text
    shot = screenshot(page, "map")
    assert shot.stat().st_size > 10_000
    assert problems == []


def test_malicious_asset_name_shows_as_text_in_its_popup(live_server, browser_page,
                                                        demo_store: Store) -> None:
    evil = "<img src=x onerror=alert(1)>"
    frame = pd.DataFrame({"external_id": ["xss"], "name": [evil], "category": ["peer_group"],
                          "lon": ["0.30"], "lat": ["51.70"]})  # alone, so it is not clustered
    prepared, found = prepare_assets(frame)
    write_assets(demo_store, prepared, found, file="t", rows=1, skip_invalid=False,
                 changed_by="test")
    page, problems = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(live_server + "/")
    page.wait_for_selector(".asset-cluster", timeout=15_000)
    page.evaluate("""() => {
        for (const key in window) {
            const m = window[key];
            if (m && m instanceof L.Map) {
                m.eachLayer(l => { if (l.getLatLng && Math.abs(l.getLatLng().lat - 51.70) < 1e-6
                                      && l.openPopup) { m.setView(l.getLatLng(), 15); l.openPopup(); } });
            }
        }
    }""")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    assert evil in popup.inner_text()
    assert page.locator(".leaflet-popup-content img").count() == 0
    assert dialogs == []
    assert problems == []
