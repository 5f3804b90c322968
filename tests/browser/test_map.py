"""The map in a real browser, offline: areas, clusters, legend, escaped popups."""

import pandas as pd
import pytest

from mapping.register.importers import prepare_assets, write_assets
from mapping.store.database import Store
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


# How many assets the map shows: the counts of the clusters plus the single markers, once
# Leaflet.markercluster has finished its animations.
_SHOWN = """() => {
    if (document.querySelector(".leaflet-cluster-anim")) { return -1; }
    let total = document.querySelectorAll(".asset-marker").length;
    for (const c of document.querySelectorAll(".asset-cluster span")) { total += +c.textContent; }
    return total;
}"""


def _summary_count(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator("#map-summary").inner_text().split()[0])


def test_choropleth_paths_and_their_legend(live_server, browser_page) -> None:
    page, problems = browser_page
    page.goto(live_server + "/?measure=imd_decile")
    page.wait_for_selector(".asset-cluster", timeout=15_000)
    legend = page.locator(".area-legend")
    assert "IMD 2019 decile" in legend.inner_text()
    assert "1 most deprived" in legend.inner_text()
    swatches = legend.locator("i.box").evaluate_all(
        "els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert len(swatches) == 10
    fills = page.locator("path.leaflet-interactive").evaluate_all(
        "els => els.map(e => e.getAttribute('fill'))")
    assert len(fills) == 185  # the 2021 LSOAs, each filled by its class
    assert len(set(fills)) >= 5
    page.wait_for_function(f"({_SHOWN})() === 410", timeout=10_000)  # animations done
    shot = screenshot(page, "map_choropleth")
    assert shot.stat().st_size > 10_000

    page.goto(live_server + "/?measure=population")
    page.wait_for_selector(".asset-cluster", timeout=15_000)
    text = page.locator(".area-legend").inner_text()
    assert "Population" in text and "IMD" not in text
    assert problems == []


def test_a_filter_in_the_query_string_changes_the_cluster_total(live_server,
                                                                browser_page) -> None:
    page, problems = browser_page
    totals = {}
    for query in ("/", "/?category=school", "/?ownership=generative"):
        page.goto(live_server + query)
        page.wait_for_selector(".asset-cluster, .asset-marker", timeout=15_000)
        expected = _summary_count(page)
        page.wait_for_function(f"({_SHOWN})() === {expected}", timeout=10_000)
        totals[query] = expected
    assert totals == {"/": 410, "/?category=school": 115, "/?ownership=generative": 18}
    assert problems == []


def test_the_search_box_finds_an_asset_by_name_with_the_keyboard(live_server,
                                                                 browser_page) -> None:
    page, problems = browser_page
    page.goto(live_server + "/")
    page.wait_for_selector(".asset-cluster", timeout=15_000)
    search = page.get_by_label("Search assets by name")
    search.focus()
    page.keyboard.type("custom house lib", delay=20)
    tips = page.locator(".search-tooltip .search-tip")
    tips.first.wait_for(timeout=5_000)
    assert tips.all_inner_texts() == ["Custom House Library"]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10_000)
    assert "Custom House Library" in popup.inner_text()
    assert "Community space" in popup.inner_text()
    link = popup.locator("a")
    assert (link.get_attribute("href") or "").startswith("/assets/")
    # a name that is on the map twice is offered twice, numbered
    search.fill("")
    search.focus()
    page.keyboard.type("Ursuline", delay=20)
    tips.first.wait_for(timeout=5_000)
    assert sorted(tips.all_inner_texts()) == ["St Angela's Ursuline School",
                                              "St Angela's Ursuline School (2)"]
    assert problems == []


def test_a_single_marker_shows_its_symbol_and_opens_its_popup_from_the_keyboard(
        live_server, browser_page) -> None:
    page, problems = browser_page
    page.goto(live_server + "/?category=food_bank")
    marker = page.locator(".asset-marker").first
    marker.wait_for(timeout=15_000)
    assert page.locator(".asset-marker").count() == 2  # Newham's two food banks, apart
    assert marker.inner_text() == "FB"
    assert marker.get_attribute("title")
    marker.focus()
    page.keyboard.press("Enter")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    assert marker.get_attribute("title") in popup.inner_text()
    assert "Food bank" in popup.inner_text()
    other = page.locator(".asset-marker").nth(1)
    other.click()  # and with the mouse
    page.wait_for_function(
        "t => document.querySelector('.leaflet-popup-content').textContent.includes(t)",
        arg=other.get_attribute("title"), timeout=5_000)
    assert problems == []


#: The rectangles of the visible area labels, and how many labels there are.
_LABEL_BOXES = """() => {
    const all = [...document.querySelectorAll('.patch-label')];
    const shown = all.filter(l => getComputedStyle(l).visibility === 'visible')
        .map(l => l.getBoundingClientRect()).filter(r => r.width > 0);
    return {all: all.length, shown: shown.map(r => [r.left, r.top, r.right, r.bottom])};
}"""


def test_area_labels_never_overlap_and_zooming_in_shows_more(live_server, browser_page) -> None:
    page, problems = browser_page
    page.goto(live_server + "/gaps")  # the 24 wards of the roll-up are labelled
    page.wait_for_selector(".patch-label", timeout=20_000)
    page.wait_for_timeout(500)
    boxes = page.evaluate(_LABEL_BOXES)
    shown = boxes["shown"]
    assert boxes["all"] >= 24 and 0 < len(shown) < boxes["all"]  # some hidden: they would overlap
    for i, a in enumerate(shown):
        for b in shown[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    page.locator(".leaflet-control-zoom-in").first.click()
    page.wait_for_timeout(800)
    zoomed = page.evaluate(_LABEL_BOXES)["shown"]
    assert len(zoomed) > len(shown) or len(zoomed) == boxes["all"]
    screenshot(page, "gaps-labels-zoomed")
    assert problems == []
