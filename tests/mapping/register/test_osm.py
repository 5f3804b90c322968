"""Tests for mapping.register.osm: OSM features to community assets.

Offline only: an autouse fixture makes any socket connection fail, and the
online wrapper is tested with osmnx's two network calls replaced.
"""

from __future__ import annotations

import csv
import gzip
import os
import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import geopandas as gpd
import osmnx as ox
import pandas as pd
import pytest
from osmnx._errors import InsufficientResponseError
from shapely.geometry import MultiPolygon, Point, Polygon, box

from mapping.config import REFERENCE_DIR
from mapping.errors import (
    CRSError,
    DataMissingError,
    MappingError,
    NotFoundError,
    ValidationError,
)
from mapping.register import osm, osm_tags
from mapping.schema import ASSET_COLUMNS, METRIC_CRS, STORAGE_CRS

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = Path(os.environ.get("MAPPING_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data"))
WOOD_GREEN = DATA_DIR / "osm_fixtures" / "north_london_overpass_2026-07-26.osm"

HAND_WRITTEN = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="written by hand for tests">
  <node id="1" lat="51.6000000" lon="-0.1100000">
    <tag k="amenity" v="place_of_worship"/>
    <tag k="religion" v="christian"/>
    <tag k="name" v="St Test's Church"/>
    <tag k="addr:housenumber" v="12"/>
    <tag k="addr:street" v="High Road"/>
    <tag k="addr:city" v="London"/>
    <tag k="addr:postcode" v="n22  6ab"/>
    <tag k="phone" v="+44 20 7946 0000"/>
    <tag k="website" v="https://example.org/"/>
    <tag k="opening_hours" v="Su 09:00-12:00"/>
    <tag k="wheelchair" v="yes"/>
  </node>
  <node id="2" lat="51.6020000" lon="-0.1050000">
    <tag k="amenity" v="social_facility"/>
    <tag k="social_facility" v="day_care"/>
  </node>
  <node id="3" lat="51.6000000" lon="-0.1000000"/>
  <node id="4" lat="51.6000000" lon="-0.0990000"/>
  <node id="5" lat="51.6010000" lon="-0.0990000"/>
  <node id="6" lat="51.6010000" lon="-0.1000000"/>
  <way id="10">
    <nd ref="3"/><nd ref="4"/><nd ref="5"/><nd ref="6"/><nd ref="3"/>
    <tag k="amenity" v="library"/>
    <tag k="name" v="Test Library"/>
  </way>
</osm>
"""

NOTHING_MATCHES = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" lat="51.6" lon="-0.1"><tag k="amenity" v="bench"/></node>
  <node id="2" lat="51.601" lon="-0.1"><tag k="highway" v="crossing"/></node>
</osm>
"""

# A test-only table for the real Wood Green extract, which is a routing extract with
# no community assets: it exercises nodes, lines, polygons and a "*" row on real data.
FIXTURE_TABLE = """key,value,category,note
highway,steps,other,test only: real lines
railway,*,community_space,test only: any railway value
amenity,bench,other,test only: the one amenity in the file
area,yes,community_space,test only: real closed ways that are polygons
"""


@pytest.fixture
def hand_written(tmp_path: Path) -> Path:
    path = tmp_path / "hand_written.osm"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    return path


@pytest.fixture
def fixture_table(tmp_path: Path) -> Path:
    path = tmp_path / "fixture_tags.csv"
    path.write_text(FIXTURE_TABLE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def wood_green() -> Path:
    if not WOOD_GREEN.is_file():
        pytest.skip(f"real OSM extract not found at {WOOD_GREEN} (set MAPPING_DATA_DIR)")
    return WOOD_GREEN


def category_codes() -> set[str]:
    with (REFERENCE_DIR / "categories.csv").open(newline="", encoding="utf-8") as file:
        return {row["code"] for row in csv.DictReader(file)}


def write_table(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def assert_asset_frame(assets: gpd.GeoDataFrame) -> None:
    assert list(assets.columns) == [*ASSET_COLUMNS, "geometry"]
    assert assets.crs == STORAGE_CRS
    assert isinstance(assets, gpd.GeoDataFrame)
    assert assets.geometry.name == "geometry"
    assert (assets.geom_type == "Point").all()


# --- the tag table --------------------------------------------------------------------


def test_project_tag_table_uses_only_category_codes() -> None:
    with (REFERENCE_DIR / "osm_tags.csv").open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        assert reader.fieldnames == ["key", "value", "category", "note"]
        rows = list(reader)
    assert rows
    assert {row["category"] for row in rows} <= category_codes()


def test_osm_tags_builds_the_osmnx_query_in_file_order() -> None:
    tags = osm_tags.osm_tags()
    assert tags["social_facility"] == [
        "food_bank",
        "day_care",
        "group_home",
        "assisted_living",
        "nursing_home",
    ]
    amenity = tags["amenity"]
    assert isinstance(amenity, list)
    for value in ("community_centre", "library", "place_of_worship", "school", "doctors"):
        assert value in amenity
    assert tags["leisure"] == ["sports_centre"]


def test_osm_tags_any_value_row_becomes_true(tmp_path: Path) -> None:
    table = write_table(
        tmp_path / "t.csv",
        "key,value,category,note\namenity,library,community_space,\nleisure,*,other,\n",
    )
    assert osm_tags.osm_tags(tag_table=table) == {"amenity": ["library"], "leisure": True}


def test_bad_tag_table_reports_every_problem_at_once(tmp_path: Path) -> None:
    table = write_table(
        tmp_path / "bad.csv",
        "key,value,category,note\n"
        "amenity,library,community_space,\n"
        "amenity,pub,beer,\n"  # row 2: not a category code
        ",school,school,\n"  # row 3: empty key
        "amenity,library,other,\n"  # row 4: shadowed by row 1
        "leisure,*,other,\n"
        "leisure,park,community_space,\n",  # row 6: shadowed by the * in row 5
    )
    with pytest.raises(ValidationError) as caught:
        osm_tags.osm_tags(tag_table=table)
    found = {(p.row, p.field) for p in caught.value.problems}
    assert found == {(2, "category"), (3, "key"), (4, "value"), (6, "value")}
    assert str(table) in str(caught.value)


def test_tag_table_without_its_columns_is_rejected(tmp_path: Path) -> None:
    table = write_table(tmp_path / "t.csv", "tag,category\namenity=library,community_space\n")
    with pytest.raises(ValidationError, match="missing column"):
        osm_tags.osm_tags(tag_table=table)


def test_missing_tag_table_raises_data_missing(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match="nope.csv"):
        osm_tags.osm_tags(tag_table=tmp_path / "nope.csv")


# --- the offline wrapper on a hand-written file ------------------------------------------


def test_hand_written_file_gives_hand_checked_assets(hand_written: Path) -> None:
    assets = osm.assets_from_osm_xml(hand_written)

    assert_asset_frame(assets)
    assert list(assets["external_id"]) == ["osm:node/1", "osm:node/2", "osm:way/10"]
    assert list(assets["category"]) == ["place_of_worship", "day_opportunities", "community_space"]
    # social_facility=day_care comes before amenity=social_facility (other) in the table.
    assert list(assets["name"]) == ["St Test's Church", "Unnamed day opportunities", "Test Library"]

    church = assets.iloc[0]
    assert church["address"] == "12 High Road, London"
    assert church["postcode"] == "N22 6AB"
    assert church["contact"] == "+44 20 7946 0000"
    assert church["website"] == "https://example.org/"
    assert church["opening_times"] == "Su 09:00-12:00"
    assert church["accessibility"] == "wheelchair: yes"
    assert (church["lon"], church["lat"]) == (-0.11, 51.6)  # a node keeps its exact position
    assert pd.isna(assets.iloc[1]["address"])
    assert pd.isna(assets.iloc[1]["contact"])

    assert set(assets["source"]) == {"osm"}
    assert set(assets["licence"]) == {"ODbL 1.0"}
    assert set(assets["attribution"]) == {"© OpenStreetMap contributors"}
    assert set(assets["status"]) == {"active"}
    assert assets[["organisation_external_id", "capacity", "verified_by"]].isna().all().all()
    assert (assets.geometry.x == assets["lon"]).all()
    assert (assets.geometry.y == assets["lat"]).all()


def test_closed_way_becomes_a_point_inside_it(hand_written: Path) -> None:
    library = osm.assets_from_osm_xml(hand_written).iloc[2]
    square = box(-0.1000, 51.6000, -0.0990, 51.6010)
    point = Point(library["lon"], library["lat"])
    assert square.contains(point)
    # The square is (almost) a parallelogram on the British National Grid, so its
    # representative point is its centre, to well under a metre.
    both = gpd.GeoSeries([point, Point(-0.0995, 51.6005)], crs=STORAGE_CRS).to_crs(METRIC_CRS)
    assert both.iloc[0].distance(both.iloc[1]) < 1.0


def test_polygon_keeps_only_features_inside_it(hand_written: Path) -> None:
    around_church = box(-0.111, 51.599, -0.109, 51.601)
    assets = osm.assets_from_osm_xml(hand_written, polygon=around_church)
    assert list(assets["external_id"]) == ["osm:node/1"]


def test_polygon_may_be_a_projected_geodataframe(hand_written: Path) -> None:
    area = gpd.GeoDataFrame(geometry=[box(-0.111, 51.599, -0.109, 51.601)], crs=STORAGE_CRS)
    assets = osm.assets_from_osm_xml(hand_written, polygon=area.to_crs(METRIC_CRS))
    assert list(assets["external_id"]) == ["osm:node/1"]


def test_polygon_of_the_wrong_kind_is_refused(hand_written: Path) -> None:
    with pytest.raises(TypeError, match="Point"):
        osm.assets_from_osm_xml(hand_written, polygon=Point(0, 51))  # type: ignore[arg-type]
    with pytest.raises(CRSError, match="lon/lat"):
        osm.assets_from_osm_xml(hand_written, polygon=box(530000, 190000, 531000, 191000))
    with pytest.raises(CRSError, match="no CRS"):
        osm.assets_from_osm_xml(hand_written, polygon=gpd.GeoSeries([box(0, 51, 1, 52)]))


def test_gzipped_file_reads_the_same(hand_written: Path, tmp_path: Path) -> None:
    packed = tmp_path / "hand_written.osm.gz"
    packed.write_bytes(gzip.compress(hand_written.read_bytes()))
    pd.testing.assert_frame_equal(
        osm.assets_from_osm_xml(packed), osm.assets_from_osm_xml(hand_written)
    )


def test_file_with_no_matching_features_gives_an_empty_frame(
    tmp_path: Path, hand_written: Path
) -> None:
    path = tmp_path / "benches.osm"
    path.write_text(NOTHING_MATCHES, encoding="utf-8")
    empty = osm.assets_from_osm_xml(path)
    assert len(empty) == 0
    assert_asset_frame(empty)
    full = osm.assets_from_osm_xml(hand_written)
    assert dict(empty.dtypes) == dict(full.dtypes)


def test_file_with_no_elements_gives_an_empty_frame(tmp_path: Path) -> None:
    path = write_table(tmp_path / "empty.osm", '<?xml version="1.0"?><osm version="0.6"/>')
    assert len(osm.assets_from_osm_xml(path)) == 0


def test_missing_file_raises_data_missing(tmp_path: Path) -> None:
    missing = tmp_path / "not_here.osm"
    with pytest.raises(DataMissingError, match="not_here.osm") as caught:
        osm.assets_from_osm_xml(missing)
    assert isinstance(caught.value, FileNotFoundError)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('<osm version="0.6"><node id="1" lat="51" lon="0"></osm>', "mismatched tag"),
        ("this is not xml at all", "syntax error"),
        ("", "no element found"),
        ('<osm><node id="1" lon="0"><tag k="amenity" v="library"/></node></osm>', "not valid"),
        ("<gpx><trk><name>walk</name></trk></gpx>", "not <osm>"),
    ],
    ids=["malformed", "not-xml", "empty-file", "node-without-lat", "not-osm"],
)
def test_unreadable_file_raises_a_clear_error(tmp_path: Path, text: str, reason: str) -> None:
    path = write_table(tmp_path / "broken.osm", text)
    with pytest.raises(ValidationError) as caught:
        osm.assets_from_osm_xml(path)
    message = str(caught.value)
    assert isinstance(caught.value, MappingError)
    assert str(path) in message
    assert reason in message
    assert message.startswith("Cannot read OSM XML file")


def test_binary_file_raises_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "extract.osm"
    path.write_bytes(b"\x89PBF\xff\xfe\x00\x01not xml")
    with pytest.raises(ValidationError, match="extract.osm"):
        osm.assets_from_osm_xml(path)


# --- the core, on frames built by hand -----------------------------------------------


def osmnx_like(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)
    return frame.set_index(["element", "id"])


def test_core_maps_precedence_lists_relations_and_drops_the_rest() -> None:
    blob = MultiPolygon([box(-0.10, 51.50, -0.09, 51.51), box(-0.08, 51.50, -0.07, 51.51)])
    features = osmnx_like(
        [
            {"element": "node", "id": 7, "geometry": Point(0.01, 51.5), "amenity": "bench"},
            {
                "element": "node",
                "id": 8,
                "geometry": Point(0.02, 51.5),
                "amenity": "place_of_worship",
                "social_facility": "food_bank",
                "name": "  ",
            },
            {
                "element": "node",
                "id": 9,
                "geometry": Point(0.03, 51.5),
                "amenity": "community_centre;library",
                "name": "Hub",
            },
            {
                "element": "relation",
                "id": 5,
                "geometry": blob,
                "amenity": "doctors",
                "name": "Two Sites Surgery",
                "contact:phone": "020 7946 0001",
                "addr:housename": "Health Centre",
                "addr:place": "The Green",
            },
        ]
    )
    before = features.copy()
    assets = osm.assets_from_osm_features(features)

    pd.testing.assert_frame_equal(features, before)
    assert list(assets["external_id"]) == ["osm:node/8", "osm:node/9", "osm:relation/5"]
    # food bank rows come before place_of_worship; a blank name counts as none.
    assert list(assets["category"]) == ["food_bank", "community_space", "gp_practice"]
    assert list(assets["name"]) == ["Unnamed food bank", "Hub", "Two Sites Surgery"]
    surgery = assets.iloc[2]
    assert surgery["contact"] == "020 7946 0001"
    assert surgery["address"] == "Health Centre, The Green"
    assert blob.contains(Point(surgery["lon"], surgery["lat"]))


def test_core_with_an_acronym_label_keeps_it() -> None:
    features = osmnx_like(
        [{"element": "node", "id": 1, "geometry": Point(0, 51.5), "healthcare": "doctor"}]
    )
    assert list(osm.assets_from_osm_features(features)["name"]) == ["Unnamed GP practice"]


def test_core_returns_empty_frame_when_nothing_matches() -> None:
    features = osmnx_like(
        [{"element": "node", "id": 1, "geometry": Point(0, 51.5), "shop": "bakery"}]
    )
    empty = osm.assets_from_osm_features(features)
    assert len(empty) == 0
    assert_asset_frame(empty)


def test_core_checks_its_input() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        osm.assets_from_osm_features(pd.DataFrame({"a": [1]}))  # type: ignore[arg-type]
    no_crs = osmnx_like([{"element": "node", "id": 1, "geometry": Point(0, 51.5)}])
    with pytest.raises(CRSError):
        osm.assets_from_osm_features(no_crs.set_crs(None, allow_override=True))
    flat = gpd.GeoDataFrame({"amenity": ["library"]}, geometry=[Point(0, 51.5)], crs=STORAGE_CRS)
    with pytest.raises(ValidationError, match="element, id"):
        osm.assets_from_osm_features(flat)


# --- the online wrapper, with osmnx's network calls replaced ------------------------------


def test_assets_from_place_geocodes_then_queries_with_the_table_tags(
    monkeypatch: pytest.MonkeyPatch, hand_written: Path
) -> None:
    seen: dict[str, Any] = {}

    def geocode(query: str) -> gpd.GeoDataFrame:
        seen["query"] = query
        return gpd.GeoDataFrame(geometry=[box(-0.2, 51.5, 0.0, 51.7)], crs=STORAGE_CRS)

    def features(polygon: Polygon, tags: dict[str, Any]) -> gpd.GeoDataFrame:
        seen["polygon"], seen["tags"] = polygon, tags
        return ox.features_from_xml(hand_written, tags=tags)

    monkeypatch.setattr(ox, "geocode_to_gdf", geocode)
    monkeypatch.setattr(ox, "features_from_polygon", features)
    assets = osm.assets_from_place("Wood Green, London")

    assert seen["query"] == "Wood Green, London"
    assert seen["polygon"].equals(box(-0.2, 51.5, 0.0, 51.7))
    assert seen["tags"] == osm_tags.osm_tags()
    pd.testing.assert_frame_equal(assets, osm.assets_from_osm_xml(hand_written))


def test_assets_from_place_unknown_place_raises_not_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def geocode(query: str) -> gpd.GeoDataFrame:
        raise InsufficientResponseError("Nominatim geocoder returned 0 results")

    monkeypatch.setattr(ox, "geocode_to_gdf", geocode)
    with pytest.raises(NotFoundError, match="Nowhere-on-Sea"):
        osm.assets_from_place("Nowhere-on-Sea")


def test_assets_from_place_with_no_features_gives_an_empty_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def geocode(query: str) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(geometry=[box(-0.2, 51.5, 0.0, 51.7)], crs=STORAGE_CRS)

    def features(polygon: Polygon, tags: dict[str, Any]) -> gpd.GeoDataFrame:
        raise InsufficientResponseError("No matching features")

    monkeypatch.setattr(ox, "geocode_to_gdf", geocode)
    monkeypatch.setattr(ox, "features_from_polygon", features)
    empty = osm.assets_from_place("Wood Green, London")
    assert len(empty) == 0
    assert_asset_frame(empty)


def test_assets_from_place_refuses_a_blank_place() -> None:
    with pytest.raises(ValueError, match="empty"):
        osm.assets_from_place("  ")


# --- the real Wood Green extract (ODbL, © OpenStreetMap contributors) -----------------------


def matching_elements(path: Path, table: Path) -> tuple[int, tuple[float, float, float, float]]:
    """Count node/way elements with a tag in ``table``, and the file's node bbox, by ElementTree.

    An independent reading of the file, so the counts do not come from osmnx.
    """
    with table.open(newline="", encoding="utf-8") as file:
        rules = [(row["key"], row["value"]) for row in csv.DictReader(file)]
    count = 0
    lons: list[float] = []
    lats: list[float] = []
    for element in ET.parse(path).getroot():
        if element.tag == "node":
            lons.append(float(element.attrib["lon"]))
            lats.append(float(element.attrib["lat"]))
        if element.tag not in {"node", "way"}:
            continue
        tags = {tag.attrib["k"]: tag.attrib["v"] for tag in element.iter("tag")}
        if any(key in tags and value in {"*", tags[key]} for key, value in rules):
            count += 1
    return count, (min(lons), min(lats), max(lons), max(lats))


def test_real_extract_has_no_community_assets(wood_green: Path) -> None:
    # The Wood Green file is a routing extract (highways); its only amenity is one
    # bench. So the honest count of every category is zero, and ElementTree agrees.
    independent, _ = matching_elements(wood_green, REFERENCE_DIR / "osm_tags.csv")
    assert independent == 0
    assets = osm.assets_from_osm_xml(wood_green)
    assert len(assets) == 0
    assert_asset_frame(assets)


def test_real_extract_with_a_test_table_gives_real_counts(
    wood_green: Path, fixture_table: Path
) -> None:
    started = time.perf_counter()
    first = osm.assets_from_osm_xml(wood_green, tag_table=fixture_table)
    seconds = time.perf_counter() - started
    second = osm.assets_from_osm_xml(wood_green, tag_table=fixture_table)
    independent, (west, south, east, north) = matching_elements(wood_green, fixture_table)

    assert_asset_frame(first)
    # 97 highway=steps ways, 27 area=yes ways, 11 railway=* nodes, 1 bench node.
    assert len(first) == independent == 136
    kinds = first["external_id"].str.extract(r"^osm:(node|way)/\d+$")[0]
    assert kinds.value_counts().to_dict() == {"way": 124, "node": 12}
    assert first["category"].value_counts().to_dict() == {"other": 98, "community_space": 38}
    assert set(first["category"]) <= category_codes()
    assert first["external_id"].is_unique
    pd.testing.assert_frame_equal(first, second)
    assert first["lon"].between(west, east).all()
    assert first["lat"].between(south, north).all()
    assert set(first.loc[first["external_id"] == "osm:node/1802592716", "name"]) == {"Bounds Green"}
    assert set(first["licence"]) == {"ODbL 1.0"}
    assert set(first["attribution"]) == {"© OpenStreetMap contributors"}
    assert seconds < 10, f"reading the 2.3 MB extract took {seconds:.1f} s"


def test_real_extract_points_lie_on_their_lines_and_in_their_polygons(
    wood_green: Path, fixture_table: Path
) -> None:
    assets = osm.assets_from_osm_xml(wood_green, tag_table=fixture_table)
    tags: dict[str, bool | str | list[str]] = dict(osm_tags.osm_tags(tag_table=fixture_table))
    raw = ox.features_from_xml(wood_green, tags=tags)
    raw = raw.reset_index()
    raw.index = "osm:" + raw["element"] + "/" + raw["id"].astype(str)
    shapes = raw.geometry.loc[assets["external_id"]].to_crs(METRIC_CRS).reset_index(drop=True)
    points = assets.geometry.to_crs(METRIC_CRS)

    assert set(shapes.geom_type) == {"Point", "LineString", "Polygon"}
    assert (shapes.geom_type == "Polygon").sum() == 27
    # On the line or inside the polygon, up to the round-off of going to EPSG:27700 and
    # back (pyproj's default WGS84<->OSGB36 Helmert step is not exactly invertible: ~1 mm).
    assert (shapes.distance(points) < 0.01).all()
    polygons = shapes.geom_type == "Polygon"
    assert shapes[polygons].contains(points[polygons]).all()


def test_reading_writes_no_files_and_leaves_osmnx_settings_alone(
    wood_green: Path, hand_written: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # osmnx's cache and log folders are relative to the cwd
    names = ("use_cache", "cache_folder", "log_file", "log_console", "logs_folder", "default_crs")
    before = {name: getattr(ox.settings, name) for name in names}

    osm.assets_from_osm_xml(wood_green)
    osm.assets_from_osm_xml(hand_written)

    assert list(work.iterdir()) == []
    assert {name: getattr(ox.settings, name) for name in names} == before


def test_the_network_guard_works() -> None:
    with socket.socket() as sock, pytest.raises(AssertionError, match="network"):
        sock.connect(("127.0.0.1", 9))
