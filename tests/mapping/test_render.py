"""Tests of mapping.render: maps that load nothing from the internet, and escape user text."""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from branca.element import JavascriptLink
from shapely.geometry import Point, box

from mapping import schema
from mapping.config import PROJECT_ROOT
from mapping.errors import CRSError, MappingError, ValidationError
from mapping.render import (
    DROPPED_ASSETS,
    OWNERSHIP_COLOURS,
    VENDOR_DIRS,
    VENDOR_FILES,
    VENDOR_REFERENCED_FILES,
    asset_map,
    is_vendor_file,
    localise_assets,
)

NODE_MODULES = PROJECT_ROOT / "node_modules"
EVIL = "<img src=x onerror=alert(1)>"
# How json.dumps + the <, >, &, ' escapes of mapping.render._js write EVIL into the script.
EVIL_AS_JSON = "\\u003cimg src=x onerror=alert(1)\\u003e"
LABELS = {"homecare": "Homecare (domiciliary)", "memory_cafe": "Memory café"}


def node_modules() -> Path:
    if not (NODE_MODULES / "leaflet").is_dir():
        pytest.fail(
            f"the front-end files are not installed in {NODE_MODULES}: run `npm ci` in "
            f"{PROJECT_ROOT} (it installs package.json from the npm registry)"
        )
    return NODE_MODULES


@pytest.fixture
def areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            schema.AREA_CODE: ["E05000001", "E05000002"],
            schema.AREA_NAME: ["<b>North</b> ward", "South ward"],
        },
        geometry=[box(0.0, 51.52, 0.05, 51.56), box(0.0, 51.48, 0.05, 51.52)],
        crs=schema.STORAGE_CRS,
    )


@pytest.fixture
def patches() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {schema.PATCH: ["Forest Gate & <i>Upton</i>"]},
        geometry=[box(0.0, 51.48, 0.05, 51.56)],
        crs=schema.STORAGE_CRS,
    )


@pytest.fixture
def assets() -> gpd.GeoDataFrame:
    """Three assets given in British National Grid metres, to be reprojected."""
    return gpd.GeoDataFrame(
        {
            "id": [7, 8, 9],
            schema.EXTERNAL_ID: ["A-1", "A-2", "A 3"],
            schema.NAME: [EVIL, "Stratford Library", "Café Co-op"],
            schema.CATEGORY: ["homecare", "memory_cafe", "not_in_table"],
            schema.OWNERSHIP_CLASS: ["generative", "extractive", None],
        },
        geometry=[Point(538_500, 184_300), Point(539_000, 184_800), Point(540_200, 183_900)],
        crs=schema.METRIC_CRS,
    )


def render(m: folium.Map) -> str:
    return m.get_root().render()


def linked_urls(page: str) -> list[str]:
    """Give every <script src> and <link href> of a page."""
    scripts = re.findall(r"<script[^>]*\ssrc=[\"']([^\"']*)", page)
    links = re.findall(r"<link[^>]*\shref=[\"']([^\"']*)", page)
    return scripts + links


def payload(page: str) -> dict[str, object]:
    found = re.search(r"var p = (\{.*?\});\n", page)
    assert found, "the asset payload is not in the page"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def test_rendered_page_links_nothing_remote(areas, patches, assets) -> None:
    page = render(asset_map(areas, assets, patches=patches, category_labels=LABELS))
    urls = linked_urls(page)
    assert "/vendor/leaflet/dist/leaflet.js" in urls
    assert "/vendor/leaflet.markercluster/dist/leaflet.markercluster.js" in urls
    remote = [u for u in urls if u.lower().startswith(("http:", "https:", "//"))]
    assert remote == []
    # With no tile server there is no web address anywhere in the page.
    assert "http://" not in page and "https://" not in page


def test_every_vendor_url_is_installed(areas, patches, assets) -> None:
    folder = node_modules()
    page = render(asset_map(areas, assets, patches=patches, category_labels=LABELS))
    urls = linked_urls(page)
    assert urls
    for url in urls:
        assert url.startswith("/vendor/"), url
        relative = url.removeprefix("/vendor/")
        assert is_vendor_file(relative), url
        assert (folder / relative).is_file(), f"{url} is not in node_modules: run `npm ci`"


def test_allow_list_and_the_files_its_css_loads_are_installed() -> None:
    folder = node_modules()
    for relative in [*VENDOR_FILES.values(), *VENDOR_REFERENCED_FILES]:
        assert (folder / relative).is_file(), relative
    for prefix in VENDOR_DIRS:
        assert (folder / prefix).is_dir(), prefix
    css_files = [v for v in VENDOR_FILES.values() if v.endswith(".css")]
    checked = 0
    for relative in css_files:
        text = (folder / relative).read_text(encoding="utf-8")
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", text):
            if ref.startswith(("data:", "#")):
                continue
            assert not ref.startswith(("http:", "https:", "//")), f"{relative} loads {ref}"
            target = PurePosixPath(relative).parent / ref.split("?")[0].split("#")[0]
            resolved = PurePosixPath(*_normalised(target.parts))
            assert is_vendor_file(str(resolved)), f"{relative} needs {resolved}"
            assert (folder / resolved).is_file(), f"{relative} needs {resolved}"
            checked += 1
    assert checked > 10  # Leaflet images, Font Awesome and glyphicon fonts, marker sprites


def _normalised(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            out.pop()
        elif part != ".":
            out.append(part)
    return out


@pytest.mark.parametrize(
    "element",
    [
        folium.Map,
        folium.plugins.MarkerCluster,
        folium.plugins.FastMarkerCluster,
        folium.plugins.Fullscreen,
        folium.plugins.Search,
    ],
)
def test_every_cdn_url_of_the_folium_elements_we_use_is_known(element: type) -> None:
    urls = [url for _name, url in [*element.default_js, *element.default_css]]
    assert urls
    unknown = [u for u in urls if u not in VENDOR_FILES and u not in DROPPED_ASSETS]
    assert unknown == []


def test_malicious_asset_name_is_only_json_text(areas, patches, assets) -> None:
    page = render(asset_map(areas, assets, patches=patches, category_labels=LABELS))
    assert EVIL not in page
    assert EVIL_AS_JSON in page
    assert payload(page)["name"][0] == EVIL  # type: ignore[index]
    # the popup puts it into the page as a text node, never as markup
    assert "title.textContent = p.name[i]" in page
    assert "innerHTML" not in page.split("var p = ", 1)[1].split("})();", 1)[0]


def test_area_and_patch_names_are_html_escaped(areas, patches, assets) -> None:
    page = render(asset_map(areas, assets, patches=patches, category_labels=LABELS))
    assert "<b>North</b>" not in page and "<i>Upton</i>" not in page
    assert "\\u0026lt;b\\u0026gt;North\\u0026lt;/b\\u0026gt; ward" in page
    assert "Forest Gate \\u0026amp; \\u0026lt;i\\u0026gt;Upton" in page


def test_payload_has_classes_labels_and_links(areas, assets) -> None:
    page = render(
        asset_map(areas, assets, category_labels=LABELS, detail_url="/register/{id}/view")
    )
    data = payload(page)
    assert data["id"] == [7, 8, 9]
    assert data["link"] == ["/register/", "/view"]
    classes = data["classes"]
    assert [classes[int(c)] for c in data["cls"]] == ["generative", "extractive", "unknown"]
    assert data["colours"] == [OWNERSHIP_COLOURS[c] for c in schema.OWNERSHIP_CLASSES]
    labels = [data["cats"][i] for i in data["cat"]]
    assert labels == ["Homecare (domiciliary)", "Memory café", "not_in_table"]
    # reprojected from EPSG:27700: (538500, 184300) is (51.540613, -0.004275) by pyproj
    lat = (data["lat0"] + data["xy"][0]) / data["scale"]
    lon = (data["lon0"] + data["xy"][1]) / data["scale"]
    assert (lat, lon) == pytest.approx((51.54061, -0.00427), abs=1e-5)


def test_detail_link_falls_back_to_external_id(assets) -> None:
    page = render(asset_map(None, assets.drop(columns="id"), category_labels=LABELS))
    assert payload(page)["id"] == ["A-1", "A-2", "A 3"]


def test_no_tiles_sets_max_zoom_and_background(assets) -> None:
    page = render(asset_map(None, assets, category_labels=LABELS))
    assert '"maxZoom": 19' in page
    assert "L.tileLayer" not in page
    assert "background: #f2efe9" in page


def test_tile_layer_with_attribution(assets) -> None:
    url = "/tiles/{z}/{x}/{y}.png"
    page = render(
        asset_map(None, assets, tile_url=url, tile_attribution="Tiles: our council",
                  category_labels=LABELS)
    )
    assert "L.tileLayer" in page
    assert url in page and "Tiles: our council" in page
    assert all(not u.startswith("http") for u in linked_urls(page))


def test_tile_layer_needs_attribution(assets) -> None:
    with pytest.raises(ValidationError, match="attribution"):
        asset_map(None, assets, tile_url="/tiles/{z}/{x}/{y}.png", category_labels=LABELS)


def test_synthetic_10k_assets_make_a_small_page(areas) -> None:
    """SYNTHETIC data: 10,000 random points with made-up names, for size only."""
    n = 10_000
    rng = np.random.default_rng(20)
    synthetic = gpd.GeoDataFrame(
        {
            "id": np.arange(1, n + 1),
            schema.NAME: [f"Synthetic asset {i:05d}" for i in range(n)],
            schema.CATEGORY: rng.choice(["homecare", "memory_cafe", "nursing"], n),
            schema.OWNERSHIP_CLASS: rng.choice(list(schema.OWNERSHIP_CLASSES), n),
        },
        geometry=gpd.points_from_xy(rng.uniform(-0.02, 0.09, n), rng.uniform(51.5, 51.56, n)),
        crs=schema.STORAGE_CRS,
    )
    page = render(asset_map(areas, synthetic, category_labels=LABELS))
    assert len(payload(page)["name"]) == n  # type: ignore[arg-type]
    assert len(page.encode("utf-8")) < 500_000


@pytest.mark.parametrize("which", ["areas", "assets", "patches"])
def test_missing_crs_raises(areas, patches, assets, which) -> None:
    frames = {"areas": areas, "assets": assets, "patches": patches}
    frames[which] = frames[which].set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=which):
        asset_map(frames["areas"], frames["assets"], patches=frames["patches"],
                  category_labels=LABELS)


def test_inputs_are_not_changed(areas, patches, assets) -> None:
    before = [areas.copy(), patches.copy(), assets.copy()]
    asset_map(areas, assets, patches=patches, category_labels=LABELS)
    for old, new in zip(before, [areas, patches, assets], strict=True):
        pd.testing.assert_frame_equal(old, new)
        assert old.crs == new.crs
    assert assets.crs == schema.METRIC_CRS


def test_unknown_remote_url_makes_localise_assets_raise() -> None:
    class Widget(folium.MacroElement):
        default_js = [("widget", "https://cdn.example.org/widget.js")]

    m = folium.Map(tiles=None)
    Widget().add_to(m)
    with pytest.raises(MappingError, match=re.escape("https://cdn.example.org/widget.js")):
        localise_assets(m, vendor_url="/vendor")


def test_a_plugin_outside_the_allow_list_makes_localise_assets_raise() -> None:
    m = folium.Map(tiles=None)
    folium.plugins.Draw().add_to(m)
    with pytest.raises(MappingError, match="leaflet.draw"):
        localise_assets(m, vendor_url="/vendor")


def test_links_added_while_rendering_are_checked_too() -> None:
    m = localise_assets(folium.Map(tiles=None), vendor_url="/vendor")
    m.get_root().header.add_child(JavascriptLink("https://cdn.example.org/late.js"), name="late")
    with pytest.raises(MappingError, match="late.js"):
        render(m)


def test_choropleth_legend_and_search_are_localised(areas) -> None:
    m = folium.Map(tiles=None)
    values = pd.DataFrame({"code": ["E05000001", "E05000002"], "value": [1.0, 2.0]})
    folium.Choropleth(
        areas.to_json(), data=values, columns=["code", "value"], key_on="feature.properties.code",
        legend_name="Value",
    ).add_to(m)
    layer = folium.GeoJson(areas.to_json()).add_to(m)
    folium.plugins.Search(layer, search_label=schema.AREA_NAME).add_to(m)
    page = render(localise_assets(m, vendor_url="/static/vendor/"))
    urls = linked_urls(page)
    assert "/static/vendor/d3/d3.min.js" in urls  # added by branca only while rendering
    assert "/static/vendor/leaflet-search/dist/leaflet-search.min.js" in urls
    assert all(u.startswith("/static/vendor/") for u in urls)
    assert not any("awesome.rotate" in u for u in urls)


def test_localise_assets_leaves_folium_class_lists_alone() -> None:
    localise_assets(folium.Map(tiles=None), vendor_url="/vendor")
    assert all(url.startswith("https://") for _n, url in folium.Map.default_js)
    page = render(folium.Map(tiles=None))
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in page


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("leaflet/dist/leaflet.js", True),
        ("leaflet/dist/leaflet.js.map", True),
        ("leaflet/dist/images/marker-icon.png", True),
        ("@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2", True),
        ("leaflet.fullscreen/icon-fullscreen.svg", True),
        ("leaflet/package.json", False),
        ("leaflet-search/examples/search.php", False),
        ("leaflet/dist/images/../../package.json", False),
        ("leaflet/dist/images/./x.png", False),
        ("/etc/passwd", False),
        ("leaflet\\dist\\leaflet.js", False),
        ("", False),
    ],
)
def test_is_vendor_file(path: str, allowed: bool) -> None:
    assert is_vendor_file(path) is allowed
