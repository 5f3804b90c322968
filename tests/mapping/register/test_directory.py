"""Tests for mapping.register.directory: filters, patches and straight-line distance from a postcode.

Every expected value can be worked out by hand: points sit on a line or a small grid,
and distances are whole metres along an easting in EPSG:27700.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from mapping import schema as S
from mapping.errors import CRSError, ValidationError
from mapping.places.postcodes import PostcodeIndex
from mapping.register.directory import (
    DISTANCE_M,
    DISTANCE_METHOD,
    STRAIGHT_LINE,
    DirectoryQuery,
    assets_near,
    display_names,
    distance_words,
    empty_result_help,
    filter_assets,
    page_of,
    point_for_postcode,
    search_assets,
    shortlist_svg,
)

# Three assets 0.01° of longitude apart on latitude 51.5, in EPSG:4326.
GRID = {
    "a": (0.00, 51.50),
    "b": (0.01, 51.50),
    "c": (0.02, 51.50),
}


@pytest.fixture
def assets() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            S.EXTERNAL_ID: list(GRID),
            S.NAME: ["Memory Café", "Food bank", "Church hall"],
            S.DESCRIPTION: ["Tuesdays", None, "Hosts a MEMORY café on Fridays"],
            S.CATEGORY: ["memory_cafe", "food_bank", "community_space"],
            S.OWNERSHIP_CLASS: ["generative", "unknown", "extractive"],
            S.STATUS: ["active", "active", "closed"],
        },
        geometry=[Point(xy) for xy in GRID.values()],
        crs=S.STORAGE_CRS,
    )


def ids(frame: pd.DataFrame) -> list[str]:
    return list(frame[S.EXTERNAL_ID])


# --- filter_assets --------------------------------------------------------------------


def test_no_filter_gives_every_asset_as_a_new_frame(assets: gpd.GeoDataFrame) -> None:
    out = filter_assets(assets)
    assert ids(out) == ["a", "b", "c"]
    out.loc[out.index[0], S.NAME] = "changed"
    assert assets[S.NAME].iloc[0] == "Memory Café"


def test_category_ownership_and_status_match_any_value_given(assets: gpd.GeoDataFrame) -> None:
    assert ids(filter_assets(assets, category=["food_bank", "memory_cafe"])) == ["a", "b"]
    assert ids(filter_assets(assets, ownership_class=["extractive"])) == ["c"]
    assert ids(filter_assets(assets, status=["active"])) == ["a", "b"]
    assert ids(filter_assets(assets, category=["nursing"])) == []


def test_filters_combine_with_and(assets: gpd.GeoDataFrame) -> None:
    out = filter_assets(assets, category=["memory_cafe", "community_space"], status=["active"])
    assert ids(out) == ["a"]


def test_text_matches_name_or_description_in_any_case(assets: gpd.GeoDataFrame) -> None:
    # "a" by name, "c" by description; "b" has no description and must not break the search.
    assert ids(filter_assets(assets, text="  memory CAFÉ ")) == ["a", "c"]
    assert ids(filter_assets(assets, text="bank")) == ["b"]
    assert ids(filter_assets(assets, text="swimming")) == []


def test_bbox_keeps_points_inside_and_on_its_edge(assets: gpd.GeoDataFrame) -> None:
    # b (0.01) is on the west edge, c (0.02) inside, a (0.00) outside.
    assert ids(filter_assets(assets, bbox=(0.01, 51.4, 0.03, 51.6))) == ["b", "c"]
    assert ids(filter_assets(assets, bbox=(0.001, 51.4, 0.009, 51.6))) == []


def test_within_a_patch_outline_includes_its_boundary(assets: gpd.GeoDataFrame) -> None:
    patch = box(-0.005, 51.49, 0.01, 51.51)  # a inside, b on the east edge
    assert ids(filter_assets(assets, within=patch)) == ["a", "b"]


def test_spatial_filters_work_on_a_frame_in_british_national_grid(
    assets: gpd.GeoDataFrame,
) -> None:
    metric = assets.to_crs(S.METRIC_CRS)
    out = filter_assets(metric, bbox=(0.015, 51.4, 0.03, 51.6))
    assert ids(out) == ["c"]
    assert out.crs == S.METRIC_CRS  # the input's CRS is kept


def test_filter_needs_a_geodataframe_with_a_crs(assets: gpd.GeoDataFrame) -> None:
    with pytest.raises(CRSError):
        filter_assets(gpd.GeoDataFrame(assets.drop(columns="geometry"),
                                       geometry=list(assets.geometry)))
    with pytest.raises(TypeError, match="DataFrame"):
        filter_assets(pd.DataFrame(assets))


def test_an_empty_register_gives_an_empty_frame(assets: gpd.GeoDataFrame) -> None:
    empty = assets.iloc[0:0]
    assert filter_assets(empty, text="café", bbox=(0, 51, 1, 52)).empty
    assert assets_near(empty, Point(0, 51.5), radius_m=100).empty


# --- assets_near ------------------------------------------------------------------------

# Three assets on one line of northing 180000 m, at eastings 530000, 530300 and 530400.
ORIGIN_EN = (530_000.0, 180_000.0)


@pytest.fixture
def on_a_line() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {S.NAME: ["far", "here", "near"], S.EXTERNAL_ID: ["x400", "x0", "x300"]},
        geometry=[Point(530_400, 180_000), Point(530_000, 180_000), Point(530_300, 180_000)],
        crs=S.METRIC_CRS,
    )


@pytest.fixture
def origin() -> Point:
    """The point at ORIGIN_EN, as lon/lat (assets_near takes EPSG:4326)."""
    lonlat = gpd.GeoSeries([Point(ORIGIN_EN)], crs=S.METRIC_CRS).to_crs(S.STORAGE_CRS).iloc[0]
    assert isinstance(lonlat, Point)
    return lonlat


def test_distances_are_straight_line_metres_nearest_first(
    on_a_line: gpd.GeoDataFrame, origin: Point
) -> None:
    out = assets_near(on_a_line, origin)
    assert ids(out) == ["x0", "x300", "x400"]
    np.testing.assert_allclose(out[DISTANCE_M], [0.0, 300.0, 400.0], atol=0.1)
    assert set(out[DISTANCE_METHOD]) == {STRAIGHT_LINE} == {"straight line"}
    assert DISTANCE_M not in on_a_line.columns  # the input is unchanged


def test_radius_keeps_assets_at_most_that_far(on_a_line: gpd.GeoDataFrame, origin: Point) -> None:
    assert ids(assets_near(on_a_line, origin, radius_m=300)) == ["x0", "x300"]
    assert ids(assets_near(on_a_line, origin, radius_m=299)) == ["x0"]
    assert ids(assets_near(on_a_line, origin, radius_m=0)) == ["x0"]


def test_lon_lat_assets_give_the_same_distances(on_a_line: gpd.GeoDataFrame, origin: Point) -> None:
    out = assets_near(on_a_line.to_crs(S.STORAGE_CRS), origin)
    np.testing.assert_allclose(out[DISTANCE_M], [0.0, 300.0, 400.0], atol=0.1)
    assert out.crs == S.STORAGE_CRS


def test_equal_distances_are_ordered_by_name(origin: Point) -> None:
    twins = gpd.GeoDataFrame({S.NAME: ["west", "east"], S.EXTERNAL_ID: ["w", "e"]},
                             geometry=[Point(529_900, 180_000), Point(530_100, 180_000)],
                             crs=S.METRIC_CRS)
    out = assets_near(twins, origin)
    assert list(out[S.NAME]) == ["east", "west"]
    np.testing.assert_allclose(out[DISTANCE_M], [100.0, 100.0], atol=0.1)


def test_a_negative_radius_is_refused(on_a_line: gpd.GeoDataFrame, origin: Point) -> None:
    with pytest.raises(ValidationError) as caught:
        assets_near(on_a_line, origin, radius_m=-1)
    assert [p.field for p in caught.value.problems] == ["radius_m"]


# --- point_for_postcode -----------------------------------------------------------------


@pytest.fixture
def tiny_index(tmp_path: Path) -> PostcodeIndex:
    """An 'e' area with E15 4EH (real Code-Point Open row) and one postcode with no point."""
    with gzip.open(tmp_path / "e.csv.gz", "wt") as f:
        f.write("E15 4EH,10,539595,184619\nE15 9ZZ,90,0,0\n")
    return PostcodeIndex(tmp_path)


def test_a_postcode_gives_its_point_in_lon_lat(tiny_index: PostcodeIndex) -> None:
    point = point_for_postcode("e154eh", index=tiny_index)
    en = gpd.GeoSeries([point], crs=S.STORAGE_CRS).to_crs(S.METRIC_CRS).iloc[0]
    assert (round(en.x), round(en.y)) == (539_595, 184_619)
    assert (round(point.x, 6), round(point.y, 6)) == (0.011631, 51.54321)


@pytest.mark.parametrize(
    ("postcode", "reason"),
    [
        ("E15 1AA", "not in OS Code-Point Open"),  # area file exists, postcode does not
        ("E15 9ZZ", "has no coordinates"),  # PQI 90
        ("not a postcode", "not a valid UK postcode"),
        ("BT1 1AA", "Great Britain only"),  # Northern Ireland
    ],
)
def test_a_postcode_without_a_point_is_a_validation_error(
    tiny_index: PostcodeIndex, postcode: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        point_for_postcode(postcode, index=tiny_index)
    (problem,) = caught.value.problems
    assert problem.field == S.POSTCODE
    assert reason in problem.reason


# --- search_assets and empty_result_help ------------------------------------------------

# A hand-made taxonomy: two care categories and one community asset.
CATEGORIES = pd.DataFrame({"code": ["homecare", "respite", "food_bank"],
                           "label": ["Homecare", "Respite", "Food bank"],
                           "group": ["care subsector", "care subsector", "community asset"]})


@pytest.fixture
def register(origin: Point) -> gpd.GeoDataFrame:
    """Homecare 300 m east of the origin (generative), respite 2.5 km east (extractive), a
    food bank 400 m east run by a generative organisation that operates nationally."""
    return gpd.GeoDataFrame(
        {S.NAME: ["Home help", "Short breaks", "Big food bank"], S.EXTERNAL_ID: ["h", "r", "f"],
         S.DESCRIPTION: ["", "", ""], S.CATEGORY: ["homecare", "respite", "food_bank"],
         S.OWNERSHIP_CLASS: ["generative", "extractive", "generative"],
         "national_footprint": [False, None, True]},
        geometry=[Point(530_300, 180_000), Point(532_500, 180_000), Point(530_400, 180_000)],
        crs=S.METRIC_CRS,
    ).to_crs(S.STORAGE_CRS)


def test_a_query_gives_its_query_string_back() -> None:
    query = DirectoryQuery(text="café", categories=("respite",), postcode="E15 4BQ",
                           within_km=1.5, local_only=True)
    assert query.params() == [("q", "café"), ("category", "respite"), ("postcode", "E15 4BQ"),
                              ("within_km", "1.5"), ("local", "1")]
    assert DirectoryQuery().params() == []


def test_local_only_leaves_out_national_organisations(register: gpd.GeoDataFrame) -> None:
    assert ids(search_assets(register, DirectoryQuery(local_only=True))) == ["h"]
    # Without a postcode, by name.
    assert ids(search_assets(register, DirectoryQuery())) == ["f", "h", "r"]


def test_search_near_a_postcode_is_nearest_first_within_the_radius(
    register: gpd.GeoDataFrame, origin: Point
) -> None:
    found = search_assets(register, DirectoryQuery(within_km=1), origin=origin)
    assert ids(found) == ["h", "f"]


def test_nothing_within_the_distance_offers_a_wider_one_and_any_distance(
    register: gpd.GeoDataFrame, origin: Point
) -> None:
    query = DirectoryQuery(categories=("respite",), postcode="E15 4BQ", within_km=0.5)
    assert search_assets(register, query, origin=origin).empty
    why, offered = empty_result_help(register, query, origin=origin, categories=CATEGORIES)
    assert why == "Nothing that matches is within 0.5 km of E15 4BQ."
    # Respite is 2.5 km away: 1 and 2 km find nothing, 5 km finds it; homecare is related.
    assert [(a.words, a.found) for a in offered] == [
        ("Within 5 km of E15 4BQ", 1), ("Homecare instead", 1)]
    assert offered[0].query == DirectoryQuery(categories=("respite",), postcode="E15 4BQ",
                                              within_km=5.0)
    assert offered[1].query.categories == ("homecare",)


def test_a_category_with_nothing_offers_its_group_and_says_so(register: gpd.GeoDataFrame) -> None:
    empty = register[register[S.CATEGORY] != "respite"]
    why, offered = empty_result_help(empty, DirectoryQuery(categories=("respite",)),
                                     categories=CATEGORIES)
    assert why == "The directory has no respite recorded yet."
    # The food bank is in another group, so it is not offered.
    assert [(a.words, a.found) for a in offered] == [("Homecare instead", 1)]


def test_local_only_text_and_patch_are_offered_without(register: gpd.GeoDataFrame) -> None:
    query = DirectoryQuery(text="breaks", local_only=True)
    why, offered = empty_result_help(register, query, categories=CATEGORIES)
    assert why == "Nothing that matches is run by a local generative organisation or the council."
    assert [(a.words, a.found) for a in offered] == [
        ("Including providers that are not local generative", 1),
        ("Without the words “breaks”", 1)]
    why, offered = empty_result_help(register, DirectoryQuery(text="swimming"),
                                     categories=CATEGORIES)
    assert why == "Nothing that matches has “swimming” in its name or description."
    assert [a.found for a in offered] == [3]
    patch = box(-1, 0, -0.9, 1)  # far from every asset
    why, offered = empty_result_help(register, DirectoryQuery(patch="West"),
                                     patch_outline=patch, categories=CATEGORIES)
    assert why == "Nothing that matches is in the patch West."
    assert [(a.words, a.found) for a in offered] == [("In any patch, not only West", 3)]


# --- pages and words --------------------------------------------------------------------


@pytest.mark.parametrize(("total", "asked", "number", "start", "stop", "pages"), [
    (295, "2", 2, 25, 50, 12),
    (295, 12, 12, 275, 295, 12),
    (295, "99", 12, 275, 295, 12),  # past the end: the last page
    (295, "two", 1, 0, 25, 12),
    (295, "-3", 1, 0, 25, 12),
    (0, None, 1, 0, 0, 1),
])
def test_page_of(total: int, asked: str | int | None, number: int, start: int, stop: int,
                 pages: int) -> None:
    page = page_of(total, asked)
    assert (page.number, page.start, page.stop, page.pages) == (number, start, stop, pages)


@pytest.mark.parametrize(("metres", "words"), [
    (0, "under 0.1 km"), (49.9, "under 0.1 km"), (420, "0.4 km"), (9_940, "9.9 km"),
    (12_400, "12 km")])
def test_distance_words(metres: float, words: str) -> None:
    assert distance_words(metres) == words


def test_osm_codes_in_names_become_words() -> None:
    names = pd.Series(["Unnamed place of worship (OSM way_or_relation 4962595)",
                       "Unnamed school (OpenStreetMap node 1)", "St Mark's", None])
    assert list(display_names(names)) == [
        "Unnamed place of worship (OpenStreetMap way or relation 4962595)",
        "Unnamed school (OpenStreetMap node 1)", "St Mark's", ""]


# --- shortlist_svg ----------------------------------------------------------------------


def test_the_static_map_numbers_places_in_order_and_marks_the_postcode(
    on_a_line: gpd.GeoDataFrame, origin: Point
) -> None:
    area = gpd.GeoDataFrame({S.AREA_NAME: ["Stratford & New Town"]},
                            geometry=[box(529_000, 179_000, 531_000, 181_000)], crs=S.METRIC_CRS)
    svg = shortlist_svg(on_a_line, origin=origin, origin_label="E15 <4BQ>", areas=area)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<circle") == 3
    assert [f">{n}</text>" in svg for n in (1, 2, 3)] == [True] * 3
    assert "E15 &lt;4BQ&gt;" in svg and "<4BQ>" not in svg
    assert "Stratford &amp; New Town" in svg
    assert 'aria-label="Map of the 3 shortlisted places, numbered as in the list' in svg
    assert "m</text>" in svg  # the scale bar


def test_the_static_map_is_empty_without_points(on_a_line: gpd.GeoDataFrame) -> None:
    assert shortlist_svg(on_a_line.iloc[0:0]) == ""
