"""The gap and plan maps' parts: area tooltips name the patch and whose people, patch names
lie small and under the site markers."""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import pytest
from branca.element import Figure
from shapely.geometry import box

from mapping.maps import gaps as G

# Two 1 km squares side by side (EPSG:27700, in Newham), and one patch over each.
WEST, EAST = box(538000, 183000, 539000, 184000), box(539000, 183000, 540000, 184000)


def _areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "code": ["A1", "A2"], "area_name": ["West & Co", "East"], "people": [1200.0, 800.0],
        "normalised": [0.4, 1.5], "nearest_minutes": [12.0, 4.0], "gap": [True, False],
        "below_half_mean": [True, False], "bottom_quintile": [False, False],
        "none_within_cutoff": [False, False],
    }, geometry=[WEST, EAST], crs="EPSG:27700").to_crs("EPSG:4326")


def _patches() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"patch": ["Westside", "Eastside"]},
                            geometry=[WEST.buffer(10), EAST.buffer(10)],
                            crs="EPSG:27700").to_crs("EPSG:4326")


def _lines(payload: str) -> dict[str, list[object]]:
    return {line["label"]: line["values"] for line in json.loads(payload)["lines"]}


@pytest.mark.parametrize(("measure", "words"), [
    ("population", "people"), ("population_65_plus", "people aged 65+")])
def test_people_are_named_by_the_demand_measure(measure: str, words: str) -> None:
    assert G.people_words(measure) == words
    lines = _lines(G._access_payload(_areas(), people=words)[0])
    assert lines[words.capitalize()] == ["800", "1,200"]  # gap areas are drawn last


def test_each_area_tooltip_names_its_patch_escaped() -> None:
    patches = _patches().assign(patch=["West <b>side</b>", "Eastside"])
    lines = _lines(G._access_payload(_areas(), patches=patches)[0])
    # Gap areas are drawn last, so the order is East, then West.
    assert lines["Patch"] == ["Eastside", "West &lt;b&gt;side&lt;/b&gt;"]
    assert "Patch" not in _lines(G._access_payload(_areas())[0])


def test_an_area_outside_every_patch_has_no_patch_line_value() -> None:
    lines = _lines(G._access_payload(_areas(), patches=_patches().iloc[[0]])[0])
    assert lines["Patch"] == [None, "Westside"]


def test_patch_names_are_small_and_lie_under_the_site_markers() -> None:
    m = folium.Map(location=[51.5, 0.0], tiles=None)
    G._add_patches(m, _patches(), {"Westside"})
    root = m.get_root()
    assert isinstance(root, Figure)
    html = root.render()
    assert re.search(rf'createPane\(\s*"{G.LABEL_PANE}"', html)
    assert "style.zIndex = 450" in html  # above the areas (400), under the markers (600)
    assert html.count(f'"pane": "{G.LABEL_PANE}"') == 2
    assert r'class=\"patch-label gap-patch-label patch-label-focus\"\u003eWestside' in html
    assert r'class=\"patch-label gap-patch-label\"\u003eEastside' in html
    assert ".gap-patch-label { font: bold 11px" in html
