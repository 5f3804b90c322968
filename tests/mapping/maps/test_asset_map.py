"""Tests of mapping.maps.asset_map: maps that load nothing from the internet, and escape user text."""

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
from shapely.geometry import Point, Polygon, box

from mapping import schema
from mapping.config import PROJECT_ROOT
from mapping.errors import CRSError, MappingError, ValidationError
from mapping.maps._vendor import (
    DROPPED_ASSETS,
    VENDOR_DIRS,
    VENDOR_FILES,
    VENDOR_REFERENCED_FILES,
    is_vendor_file,
    localise_assets,
)
from mapping.maps.asset_map import asset_map
from mapping.maps.legend import (
    MEASURES,
    OWNERSHIP_COLOURS,
    available_measures,
    category_glyphs,
    choropleth_classes,
)
from mapping.register.taxonomy import load_categories

NODE_MODULES = PROJECT_ROOT / "node_modules"
EVIL = "<img src=x onerror=alert(1)>"
# How json.dumps + the <, >, &, ' escapes of mapping.maps.asset_map._js write EVIL into the script.
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


def payload(page: str, element: str = "asset_cluster") -> dict[str, object]:
    """Give the JSON payload of the (first) map element of this kind."""
    found = re.search(element + r"_\w+_data = (\{.*?\});\n", page)
    assert found, f"the {element} payload is not in the page"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def cluster_script(page: str) -> str:
    """Give the asset layer's script: its payload and the function that reads it."""
    start = re.search(r"var asset_cluster_\w+_data = ", page)
    assert start, "no asset layer in the page"
    return page[start.start():].split("})();", 1)[0]


def decoded_ids(data: dict[str, object]) -> list[object]:
    """Give the asset ids of a payload: ``id`` as they are, or ``idd`` as differences."""
    if data.get("idd") is not None:
        return np.cumsum(data["idd"]).tolist()  # type: ignore[arg-type]
    return data["id"]  # type: ignore[return-value]


def decoded_categories(data: dict[str, object]) -> list[int]:
    """Give each asset's index into ``cats``: one base-36 character each, or a list."""
    cat = data["cat"]
    return [int(c, 36) for c in cat] if isinstance(cat, str) else cat  # type: ignore[return-value]


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
    assert "title.textContent = p.name[i]" in cluster_script(page)
    assert "innerHTML" not in cluster_script(page)


def test_area_and_patch_names_are_html_escaped(areas, patches, assets) -> None:
    page = render(asset_map(areas, assets, patches=patches, category_labels=LABELS))
    assert "<b>North</b>" not in page and "<i>Upton</i>" not in page
    assert "\\u0026lt;b\\u0026gt;North\\u0026lt;/b\\u0026gt; ward" in page
    assert "Forest Gate \\u0026amp; \\u0026lt;i\\u0026gt;Upton" in page


def test_layer_title_is_escaped_in_the_layer_control_and_text_in_the_legend(lsoas, assets) -> None:
    page = render(asset_map(lsoas, assets, measure="population", areas_title=EVIL,
                            category_labels=LABELS))
    assert EVIL not in page
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;: Population" in page  # layer control
    legend = json.loads(re.search(r"var spec = (\{.*?\});\n", page).group(1))  # type: ignore[union-attr]
    assert legend["areas"][0]["note"].startswith(EVIL)  # shown with textContent


def test_payload_has_classes_labels_and_links(areas, assets) -> None:
    page = render(
        asset_map(areas, assets, category_labels=LABELS, detail_url="/register/{id}/view")
    )
    data = payload(page)
    assert decoded_ids(data) == [7, 8, 9]
    assert data["idd"] == [7, 1, 1]  # differences: sorted register ids cost a digit or two
    assert data["link"] == ["/register/", "/view"]
    classes = data["classes"]
    assert [classes[int(c)] for c in data["cls"]] == ["generative", "extractive", "unknown"]
    assert data["colours"] == [OWNERSHIP_COLOURS[c] for c in schema.OWNERSHIP_CLASSES]
    labels = [data["cats"][i] for i in decoded_categories(data)]
    assert labels == ["Homecare (domiciliary)", "Memory café", "not_in_table"]
    # reprojected from EPSG:27700: (538500, 184300) is (51.540613, -0.004275) by pyproj
    lat = (data["lat0"] + data["xy"][0]) / data["scale"]
    lon = (data["lon0"] + data["xy"][1]) / data["scale"]
    assert (lat, lon) == pytest.approx((51.54061, -0.00427), abs=1e-5)


def test_detail_link_falls_back_to_external_id(assets) -> None:
    page = render(asset_map(None, assets.drop(columns="id"), category_labels=LABELS))
    assert payload(page)["id"] == ["A-1", "A-2", "A 3"]
    assert "idd" not in payload(page)


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


# --- choropleth classes --------------------------------------------------------------------


def test_quantile_classes_of_one_to_ten() -> None:
    # numpy's quantiles of 1..10 at 0, .2, .4, .6, .8, 1 are 1, 2.8, 4.6, 6.4, 8.2, 10;
    # rounded: 1, 3, 5, 6, 8, 10.
    classes = choropleth_classes(pd.Series(range(1, 11)), "population")
    assert [(c.lower, c.upper) for c in classes] == [(1, 3), (4, 5), (6, 6), (7, 8), (9, 10)]
    assert [c.label for c in classes] == ["1–3", "4–5", "6", "7–8", "9–10"]
    colours = [c.colour for c in classes]
    assert len(set(colours)) == 5
    assert _lightness(colours[0]) > _lightness(colours[-1])  # more people, darker


def test_quantile_classes_merge_equal_breaks_and_skip_missing_values() -> None:
    values = pd.Series([1200.0, None, 1200.0, 1200.0, 1500.0, float("nan")])
    classes = choropleth_classes(values, MEASURES["population_65_plus"])
    # numpy's quantiles of 1200, 1200, 1200, 1500: 1200 up to the 0.6 one, then 1320, 1500
    assert [(c.lower, c.upper, c.label) for c in classes] == [(1200, 1320, "1,200–1,320"),
                                                             (1321, 1500, "1,321–1,500")]
    assert choropleth_classes(pd.Series([None, None]), "population") == []


def test_imd_deciles_are_ten_classes_with_the_most_deprived_darkest() -> None:
    classes = choropleth_classes(pd.Series([3, 4]), "imd_decile")
    assert [c.upper for c in classes] == list(range(1, 11))
    assert classes[0].label == "1 most deprived" and classes[-1].label == "10 least deprived"
    lightness = [_lightness(c.colour) for c in classes]
    assert lightness == sorted(lightness)  # 1 darkest, 10 lightest


def test_unknown_measure_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown measure"):
        choropleth_classes(pd.Series([1]), "income")


def _lightness(colour: str) -> int:
    return sum(int(colour[i:i + 2], 16) for i in (1, 3, 5))


@pytest.fixture
def lsoas(areas) -> gpd.GeoDataFrame:
    """The two test areas as LSOAs with figures; the second has no IMD."""
    return areas.assign(**{
        schema.POPULATION: [1500, 1800],
        schema.POPULATION_65_PLUS: [100, 90],
        schema.IMD_DECILE: [2, None],
        schema.IMD_METHOD: ["largest overlap with <i>E01000001</i>", None],
    })


def test_available_measures(areas, lsoas) -> None:
    assert available_measures(None) == []
    assert available_measures(areas) == []
    assert available_measures(lsoas) == ["population", "population_65_plus", "imd_decile"]
    assert available_measures(lsoas.assign(**{schema.IMD_DECILE: None})) == [
        "population", "population_65_plus"]


def test_choropleth_payload_legend_and_tooltips(lsoas, assets) -> None:
    page = render(asset_map(lsoas, assets, measure="imd_decile", areas_title="Test LSOAs",
                            category_labels=LABELS))
    data = payload(page, "area_layer")
    classes = choropleth_classes(lsoas[schema.IMD_DECILE], "imd_decile")
    # decile 2 is the second class; no value is the extra "no data" style after the ten
    assert data["k"] == [1, 10]
    styles = data["styles"]
    assert styles[1]["fillColor"] == classes[1].colour  # type: ignore[index]
    assert len(styles) == 11  # type: ignore[arg-type]
    label, method = data["lines"]  # type: ignore[misc]
    assert label == {"label": "IMD 2019 decile", "values": ["2 (1 = most deprived)", None]}
    assert method["label"] == "How IMD was mapped"
    assert method["values"] == ["largest overlap with &lt;i&gt;E01000001&lt;/i&gt;", None]
    legend = json.loads(re.search(r"var spec = (\{.*?\});\n", page).group(1))  # type: ignore[union-attr]
    area_legend = legend["areas"][0]
    assert area_legend["title"] == "IMD 2019 decile"
    assert area_legend["note"].startswith("Test LSOAs. ")
    assert [r[0] for r in area_legend["rows"]][-2:] == ["10 least deprived", "no data"]


def test_outlines_only_without_a_measure(lsoas, assets) -> None:
    for measure in (None, "none"):
        page = render(asset_map(lsoas, assets, measure=measure, category_labels=LABELS))
        data = payload(page, "area_layer")
        assert data["k"] is None and data["lines"] == [] and len(data["styles"]) == 1  # type: ignore[arg-type]
        assert json.loads(re.search(r"var spec = (\{.*?\});\n", page).group(1))["areas"] == []  # type: ignore[union-attr]


def test_a_measure_the_areas_lack_is_refused(areas, assets) -> None:
    with pytest.raises(ValidationError, match="no values for 'population'"):
        asset_map(areas, assets, measure="population", category_labels=LABELS)


def _rings(data: dict[str, object]) -> list[list[list[tuple[int, int]]]]:
    """Decode an area payload's rings into (lat, lon) in 1e-5 degree."""
    out = []
    for polygons in data["g"]:  # type: ignore[attr-defined]
        for rings in polygons:
            decoded = []
            for flat in rings:
                lat, lon, points = data["lat0"], data["lon0"], []
                for i in range(0, len(flat), 2):
                    lat += flat[i]  # type: ignore[operator]
                    lon += flat[i + 1]  # type: ignore[operator]
                    points.append((lat, lon))
                decoded.append(points)
            out.append(decoded)
    return out  # type: ignore[return-value]


def test_area_rings_decode_to_their_corners(areas, assets) -> None:
    data = payload(render(asset_map(areas, assets, category_labels=LABELS)), "area_layer")
    north, south = _rings(data)
    # box(0.0, 51.52, 0.05, 51.56): four corners, closing point dropped, in (lat, lon)
    assert sorted(north[0]) == [(5152000, 0), (5152000, 5000), (5156000, 0), (5156000, 5000)]
    assert sorted(south[0]) == [(5148000, 0), (5148000, 5000), (5152000, 0), (5152000, 5000)]


def test_neighbours_are_simplified_together_and_keep_their_shared_edge(assets) -> None:
    # Two 100 m squares whose shared edge zigzags 1 m either way every 10 m: most of the
    # zigzag goes (Visvalingam-Whyatt drops triangles under 5 m × 5 m), and what is left of
    # the edge is the same in both, so there is no gap or overlap between them.
    x0, y0 = 538_000, 184_000
    zigzag = [(x0 + 100 + (1 if i % 2 else -1), y0 + 10 * i) for i in range(1, 10)]
    west = Polygon([(x0, y0), (x0 + 100, y0), *zigzag, (x0 + 100, y0 + 100), (x0, y0 + 100)])
    east = Polygon([(x0 + 100, y0), (x0 + 200, y0), (x0 + 200, y0 + 100), (x0 + 100, y0 + 100),
                    *reversed(zigzag)])
    squares = gpd.GeoDataFrame({schema.AREA_CODE: ["W", "E"]}, geometry=[west, east],
                               crs=schema.METRIC_CRS)
    data = payload(render(asset_map(squares, assets, category_labels=LABELS)), "area_layer")
    (west_ring,), (east_ring,) = _rings(data)
    assert len(west_ring) < 8 and len(east_ring) < 8  # of 13 each
    shared = set(west_ring) & set(east_ring)
    assert len(set(west_ring) - shared) == len(set(east_ring) - shared) == 2  # outer corners


# --- category symbols -------------------------------------------------------------------------


def test_category_glyphs_of_the_taxonomy() -> None:
    codes = list(load_categories()["code"])
    glyphs = category_glyphs(codes)
    assert list(glyphs) == codes
    assert len({g.casefold() for g in glyphs.values()}) == len(codes)  # all different
    assert all(1 <= len(g) <= 3 and g.isalnum() for g in glyphs.values())
    assert glyphs["place_of_worship"] == "PW"  # initials of the first two words
    assert glyphs["gp_practice"] == "GP"
    assert glyphs["music_for_the_mind"] == "MM"  # "for", "the" skipped
    assert glyphs["school"] == "Sc"  # one word: its first two letters
    assert glyphs["supported_living"] == "SL" and glyphs["shared_lives"] == "Sh"  # first come
    assert glyphs["residential"] == "Re" and glyphs["respite"] == "Rs"


def test_chosen_symbols_win_and_are_never_repeated() -> None:
    glyphs = category_glyphs(["gp_practice", "school", "other"],
                             symbols={"school": "GP", "other": "  ", "unknown": "X"})
    assert glyphs == {"gp_practice": "Gr", "school": "GP", "other": "Ot"}  # blank is ignored
    assert category_glyphs(["", "a_b", "b"]) == {"": "?", "a_b": "B", "b": "B2"}


def test_markers_carry_their_category_symbol(assets) -> None:
    page = render(asset_map(None, assets, category_labels=LABELS,
                            category_symbols={"memory_cafe": "<b>"}))
    data = payload(page)
    glyphs = [data["glyphs"][i] for i in decoded_categories(data)]  # type: ignore[index]
    # homecare is derived; a chosen symbol is escaped, as it goes into the marker's HTML
    assert glyphs == ["Ho", "&lt;b&gt;", "NT"]  # not_in_table: "in" is skipped
    assert "<b>" not in page
    legend = json.loads(re.search(r"var spec = (\{.*?\});\n", page).group(1))  # type: ignore[union-attr]
    symbols = legend["assets"][1]
    assert symbols["title"] == "Category symbols"
    assert [r[0] for r in symbols["rows"]] == ["Homecare (domiciliary)", "Memory café",
                                               "not_in_table"]
    assert [r[2] for r in symbols["rows"]] == ["Ho", "<b>", "NT"]  # legend text is DOM text


def test_categories_travel_as_one_character_each_up_to_36(assets) -> None:
    many = pd.concat([assets] * 14, ignore_index=True)
    many[schema.CATEGORY] = [f"code_{i:02d}" for i in range(len(many))]  # 42 categories
    data = payload(render(asset_map(None, many, category_labels={})))
    assert data["cat"] == list(range(42))
    assert isinstance(payload(render(asset_map(None, assets, category_labels=LABELS)))["cat"], str)
