"""Area layers and patches, on 1 km squares in EPSG:27700 whose answers can be worked out by hand."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from mapping import schema as S
from mapping.errors import CRSError, ValidationError
from mapping.places.areas import (
    adjacency_graph,
    area_km2,
    areas_from_frame,
    guess_code_and_name,
    join_attributes,
    patches_from_lookup,
    repaired_rows,
    require_crs,
)
from mapping.tables import read_table

# Near Stratford, on whole kilometres of the National Grid.
X0, Y0 = 539_000, 184_000
KM = 1_000


def square(col: int, row: int) -> shapely.Polygon:
    return box(X0 + col * KM, Y0 + row * KM, X0 + (col + 1) * KM, Y0 + (row + 1) * KM)


@pytest.fixture
def grid() -> gpd.GeoDataFrame:
    """A 2 x 2 grid of 1 km squares: SW, SE on the bottom row, NW, NE on the top."""
    return gpd.GeoDataFrame(
        {S.AREA_CODE: ["E05000001", "E05000002", "E05000003", "E05000004"],
         S.AREA_NAME: ["SW", "SE", "NW", "NE"]},
        geometry=[square(0, 0), square(1, 0), square(0, 1), square(1, 1)], crs=S.METRIC_CRS)


def layer(geometries: list[object], codes: list[str | None] | None = None) -> gpd.GeoDataFrame:
    codes = codes or [f"E0599990{i + 1}" for i in range(len(geometries))]
    return gpd.GeoDataFrame({"WD23CD": codes, "WD23NM": [f"Area {i + 1}" for i in range(len(codes))]},
                            geometry=geometries, crs=S.METRIC_CRS)


def reasons(problems: list) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.field, p.reason) for p in problems]


# --- reading layers ------------------------------------------------------------------

def test_a_layer_in_british_national_grid_is_reprojected_to_lon_lat() -> None:
    # A 1 km square whose south-west corner is the OS Code-Point Open point of E15 4EH:
    # 539595, 184619 in EPSG:27700, which is 0.011631, 51.543210 in EPSG:4326.
    corner = (539_595, 184_619)
    areas, problems = areas_from_frame(layer([box(*corner, corner[0] + KM, corner[1] + KM)]),
                                       file="bng")
    assert problems == []
    assert areas.crs == S.STORAGE_CRS
    assert list(areas.columns) == [S.AREA_CODE, S.AREA_NAME, "geometry"]
    assert areas.iloc[0][[S.AREA_CODE, S.AREA_NAME]].tolist() == ["E05999901", "Area 1"]
    lon, lat = shapely.get_coordinates(areas.geometry.iloc[0]).T
    nearest = ((lon - 0.011631) ** 2 + (lat - 51.54321) ** 2).argmin()
    assert (lon[nearest], lat[nearest]) == pytest.approx((0.011631, 51.54321), abs=2e-5)
    # 1 km is about 0.0144 degrees of longitude and 0.009 of latitude at 51.5 N.
    minx, miny, maxx, maxy = areas.total_bounds
    assert (maxx - minx, maxy - miny) == pytest.approx((0.0144, 0.009), abs=1e-3)
    assert area_km2(areas).iloc[0] == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".geojson"])
def test_layers_in_any_format_and_crs_come_back_in_lon_lat(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"layer{suffix}"
    layer([square(0, 0), square(1, 0)]).to_file(path, engine="pyogrio")
    areas, problems = areas_from_frame(read_table(path), file=path.name)
    assert problems == []
    assert areas.crs == S.STORAGE_CRS
    assert areas[S.AREA_CODE].tolist() == ["E05999901", "E05999902"]
    assert area_km2(areas).tolist() == pytest.approx([1.0, 1.0], rel=1e-6)


def test_a_layer_without_a_crs_is_refused() -> None:
    frame = layer([square(0, 0)]).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no coordinate reference system"):
        areas_from_frame(frame)
    with pytest.raises(TypeError, match="got DataFrame"):
        require_crs(pd.DataFrame({"a": [1]}))


def test_the_input_layer_is_not_changed() -> None:
    frame = layer([square(0, 0)])
    copy = frame.copy()
    areas_from_frame(frame)
    pd.testing.assert_frame_equal(pd.DataFrame(frame), pd.DataFrame(copy))
    assert frame.crs == S.METRIC_CRS


def test_guess_code_and_name_on_the_real_ward_and_borough_files(data_dir: Path) -> None:
    wards = gpd.read_file(data_dir / "newham/boundaries/wards_2023.geojson")
    assert guess_code_and_name(wards) == ("WD23CD", "WD23NM")
    # The borough file lists the name before the code.
    borough = gpd.read_file(data_dir / "newham/boundaries/lad_2022.geojson")
    assert list(borough.columns)[:2] == ["LAD22NM", "LAD22CD"]
    assert guess_code_and_name(borough) == ("LAD22CD", "LAD22NM")
    areas, problems = areas_from_frame(wards, file="wards_2023.geojson")
    assert problems == [] and len(areas) == 24
    assert areas.set_index(S.AREA_CODE).loc["E05013924", S.AREA_NAME] == "Stratford"


def test_guess_code_needs_nine_in_ten_values_to_be_gss_codes() -> None:
    frame = pd.DataFrame({"other": ["E05000001"] * 18 + ["x", "y"],  # 90%: not enough
                          "ref": ["E05000001"] * 19 + ["x"],  # 95%
                          "label": ["a"] * 20})
    assert guess_code_and_name(frame) == ("ref", None)
    assert guess_code_and_name(frame.rename(columns={"label": "WD23NM"})) == ("ref", "WD23NM")


def test_explicit_fields_that_do_not_exist_are_named() -> None:
    with pytest.raises(ValidationError) as caught:
        areas_from_frame(layer([square(0, 0)]), code_field="CODE", file="x.gpkg")
    assert [(p.field, p.reason.split(";")[0]) for p in caught.value.problems] == [
        ("code", "no code column named 'CODE'")]


# --- repair and rejection ------------------------------------------------------------

def test_a_bowtie_is_repaired_into_its_two_triangles() -> None:
    # A 1 km bow-tie: two triangles of 0.25 km² that meet at the centre.
    bowtie = shapely.Polygon([(X0, Y0), (X0 + KM, Y0 + KM), (X0 + KM, Y0), (X0, Y0 + KM)])
    frame = layer([square(0, 2), bowtie])
    assert repaired_rows(frame) == [2]
    assert "Self-intersection" in shapely.is_valid_reason(bowtie)
    areas, problems = areas_from_frame(frame)
    assert problems == []
    assert areas.is_valid.all()
    assert areas.geometry.iloc[1].geom_type == "MultiPolygon"
    assert area_km2(areas).tolist() == pytest.approx([1.0, 0.5], rel=1e-6)


def test_each_kind_of_bad_area_is_rejected_with_its_row_and_reason() -> None:
    # A ring that goes out and back along the same line: it encloses nothing.
    flat = shapely.Polygon([(X0, Y0), (X0 + KM, Y0), (X0 + 2 * KM, Y0), (X0 + KM, Y0)])
    frame = layer(
        [square(0, 0), shapely.LineString([(X0, Y0), (X0 + KM, Y0)]), flat, None, square(1, 0),
         square(0, 1)],
        codes=["E05999901", "E05999902", "E05999903", "E05999904", "E05999901", " "])
    areas, problems = areas_from_frame(frame, code_field="WD23CD", file="bad.gpkg")
    got = reasons(problems)
    assert (2, "geometry", "geometry is a LineString; areas must be polygons") in got
    assert any(r[:2] == (3, "geometry") and r[2].startswith(
        "invalid geometry that cannot be repaired (") for r in got)
    assert (4, "geometry", "geometry is empty") in got
    assert (5, "WD23CD", "area code 'E05999901' appears more than once") in got
    assert (6, "WD23CD", "area code is empty") in got
    assert {r[0] for r in got} == {2, 3, 4, 5, 6}
    assert all(p.file == "bad.gpkg" for p in problems)
    assert len(areas) == 6  # rows stay in place so the numbers above stay true


def test_a_polygon_with_no_area_in_its_own_crs_is_rejected() -> None:
    # Three points on one straight line of the National Grid enclose no area. Reprojected to
    # lon/lat first, the line bends very slightly and becomes a valid sliver polygon, so the
    # check has to look at the geometry in the CRS it came in (or at its area in metres).
    flat = shapely.Polygon([(X0, Y0), (X0 + 500, Y0 + 500), (X0 + KM, Y0 + KM)])
    assert not flat.is_valid and flat.area == 0
    areas, problems = areas_from_frame(layer([square(0, 0), flat]), file="flat.gpkg")
    assert [(p.row, p.field) for p in problems] == [(2, "geometry")]


# --- attributes and area -------------------------------------------------------------

def test_join_attributes_reports_table_codes_not_in_the_layer(grid: gpd.GeoDataFrame) -> None:
    table = pd.DataFrame({"code": ["E05000001", "E05000002", "E05999999", "E05000001"],
                          S.POPULATION: [100, 200, 300, 999], S.AREA_NAME: ["x", "y", "z", "w"]})
    joined, unmatched = join_attributes(grid, table, code_column="code")
    assert unmatched == ["E05999999"]
    assert joined[S.POPULATION].tolist()[:2] == [100, 200]  # the first of a repeated code
    assert joined[S.POPULATION].iloc[2:].isna().all()
    assert joined[S.AREA_NAME].tolist() == ["SW", "SE", "NW", "NE"]  # the layer's names win
    assert S.POPULATION not in grid.columns
    with pytest.raises(ValidationError, match="no column 'lsoa'"):
        join_attributes(grid, table, code_column="lsoa")


def test_area_km2_of_a_1_km_square_is_1(grid: gpd.GeoDataFrame) -> None:
    assert area_km2(grid).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert area_km2(grid.to_crs(S.STORAGE_CRS)).tolist() == pytest.approx([1.0] * 4, rel=1e-6)


# --- patches -------------------------------------------------------------------------

def test_patches_dissolve_their_areas(grid: gpd.GeoDataFrame) -> None:
    lookup = pd.DataFrame({"code": ["E05000001", "E05000002", "E05000003", "E05000004"],
                           "patch": ["South", "South", "North", "North"]})
    patches = patches_from_lookup(grid, lookup).set_index(S.PATCH)
    assert sorted(patches.index) == ["North", "South"]
    assert sorted(patches.loc["South", "area_codes"]) == ["E05000001", "E05000002"]
    south = box(X0, Y0, X0 + 2 * KM, Y0 + KM)
    north = box(X0, Y0 + KM, X0 + 2 * KM, Y0 + 2 * KM)
    assert patches.geometry["South"].equals(south)
    assert patches.geometry["North"].equals(north)
    assert patches.crs == grid.crs


def test_an_l_shaped_patch_and_a_single_square(grid: gpd.GeoDataFrame) -> None:
    lookup = pd.DataFrame({"code": ["E05000001", "E05000002", "E05000003", "E05000004"],
                           "patch": ["L", "L", "L", "Corner"]})
    patches = patches_from_lookup(grid, lookup).set_index(S.PATCH)
    assert patches.geometry["L"].area == 3 * KM * KM
    assert patches.geometry["Corner"].equals(square(1, 1))
    assert patches.geometry["L"].union(patches.geometry["Corner"]).equals(
        box(X0, Y0, X0 + 2 * KM, Y0 + 2 * KM))


def test_every_lookup_problem_is_reported_together(grid: gpd.GeoDataFrame) -> None:
    lookup = pd.DataFrame({"code": ["E05000001", "E05000009", "E05000001", "E05000002"],
                           "patch": ["A", "A", "B", " "]})
    with pytest.raises(ValidationError) as caught:
        patches_from_lookup(grid, lookup, file="lots.csv")
    assert sorted(reasons(caught.value.problems), key=str) == sorted([
        (2, "code", "area 'E05000009' is not in the layer"),
        (3, "code", "area 'E05000001' is already in a patch on row 1"),
        (4, "patch", "patch name is empty"),
        (None, "code", "area 'E05000003' is in no patch"),
        (None, "code", "area 'E05000004' is in no patch"),
    ], key=str)


def test_an_incomplete_lookup_is_allowed_when_asked(grid: gpd.GeoDataFrame) -> None:
    lookup = pd.DataFrame({"ward": ["E05000001", "E05000003"], "lot": ["West", "West"]})
    patches = patches_from_lookup(grid, lookup, code_column="ward", patch_column="lot",
                                  require_complete=False)
    assert patches[S.PATCH].tolist() == ["West"]
    assert patches.geometry.iloc[0].equals(box(X0, Y0, X0 + KM, Y0 + 2 * KM))
    with pytest.raises(ValidationError, match="column 'patch' is missing"):
        patches_from_lookup(grid, lookup, code_column="ward")


def test_an_area_beside_two_stacked_areas_neighbours_both_without_shared_vertices() -> None:
    # West is one tall box; East-low and East-high meet it mid-edge, where West has no
    # vertex (PySAL's Rook saw no neighbours here). Stored in lon/lat, as layers are.
    west = box(X0, Y0, X0 + KM, Y0 + 2 * KM)
    areas = gpd.GeoDataFrame(
        {S.AREA_CODE: ["W", "EL", "EH", "FAR"]},
        geometry=[west, square(1, 0), square(1, 1), square(2, 2)], crs=S.METRIC_CRS,
    ).to_crs(S.STORAGE_CRS)
    graph = adjacency_graph(areas)
    assert graph.has_edge("W", "EL") and graph.has_edge("W", "EH") and graph.has_edge("EL", "EH")
    assert not graph.has_edge("EH", "FAR")  # a corner only
    assert graph.degree("FAR") == 0
    lookup = pd.DataFrame({S.AREA_CODE: ["W", "EL", "EH"], S.PATCH: ["Lot", "Lot", "Lot"]})
    lots = patches_from_lookup(areas[areas[S.AREA_CODE] != "FAR"], lookup,
                               require_contiguous=True)
    assert lots[S.PATCH].tolist() == ["Lot"]
