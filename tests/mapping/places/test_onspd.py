"""Tests for mapping.places.onspd: reading the ONS Postcode Directory, and ONSPD as a source.

Two kinds of input. SYNTHETIC rows, written by the tests below in ONS's published layouts
(to 2024 and from 2025): the postcodes have the real format but the rows are made up,
except that their grid references are copied from real Code-Point Open rows (E6 1AA at
541600, 184048; E15 4EH's 539595, 184619; IG1 1BA at 543710, 186367), so lon/lat can be
checked against that file. And the real Newham cut-down file, via ``data_dir``.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mapping.errors import ValidationError
from mapping.places._transform import lonlat_to_en
from mapping.places.onspd import (
    OnspdPostcodes,
    index_with_onspd,
    onspd_from_frame,
    postcode_source,
    read_onspd,
)
from mapping.places.postcodes import CODEPOINT_LABEL, PostcodeIndex, PostcodeSource, default_index

NEWHAM = "E09000025"
LABEL = "ONSPD (SYNTHETIC)"

# The header of ONSPD to 2024 (e.g. ONSPD_AUG_2022_UK.csv), in full.
FULL_LAYOUT_TO_2024 = (
    "pcd,pcd2,pcds,dointr,doterm,oscty,ced,oslaua,osward,parish,usertype,oseast1m,osnrth1m,"
    "osgrdind,oshlthau,nhser,ctry,rgn,streg,pcon,eer,teclec,ttwa,pct,nuts,statsward,oa01,"
    "casward,park,lsoa01,msoa01,ur01ind,oac01,oa11,lsoa11,msoa11,wz11,ccg,bua11,buasd11,"
    "ru11ind,oac11,lat,long,lep1,lep2,pfa,imd,calncv,stp,oa21,lsoa21,msoa21"
).split(",")
# The header of ONSPD from 2025 (the Nov 2025 edition the Newham copy comes from).
FULL_LAYOUT_2025 = (
    "pcd7,pcd8,pcds,dointr,doterm,usrtypind,east1m,north1m,gridind,oa21cd,cty25cd,ced25cd,"
    "lad25cd,wd25cd,nhser24cd,ctry25cd,rgn25cd,pcon24cd,ttwa15cd,itl25cd,npark16cd,lsoa21cd,"
    "msoa21cd,wz11cd,sicbl24cd,bua24cd,ruc21ind,oac11ind,lat,long,lep21cd1,lep21cd2,pfa23cd,"
    "imd20ind,icb23cd"
).split(",")
_TO_2025 = {"pcd": "pcd7", "pcd2": "pcd8", "usertype": "usrtypind", "oseast1m": "east1m",
            "osnrth1m": "north1m", "osgrdind": "gridind", "oslaua": "lad25cd"}

# SYNTHETIC rows: the fields that matter; every other column is filled with a pseudo code.
SYNTHETIC_ROWS = [
    # live, in Newham
    {"pcds": "E6 1AA", "dointr": "198001", "doterm": "", "oslaua": NEWHAM, "oseast1m": "541600",
     "osnrth1m": "184048", "osgrdind": "1", "lat": "51.537580", "long": "0.040295"},
    # terminated in June 2019
    {"pcds": "E15 9ZZ", "dointr": "198001", "doterm": "201906", "oslaua": NEWHAM,
     "oseast1m": "539595", "osnrth1m": "184619", "osgrdind": "1", "lat": "51.543210",
     "long": "0.011631"},
    # no grid reference: indicator 9, lat 99.999999
    {"pcds": "E20 9ZZ", "dointr": "201201", "doterm": "", "oslaua": NEWHAM, "oseast1m": "",
     "osnrth1m": "", "osgrdind": "9", "lat": "99.999999", "long": "0.000000"},
    # Northern Ireland: easting/northing on the Irish Grid, so lat/long place it
    {"pcds": "BT1 1AA", "dointr": "198001", "doterm": "", "oslaua": "N09000003",
     "oseast1m": "333950", "osnrth1m": "374250", "osgrdind": "1", "lat": "54.597000",
     "long": "-5.930000"},
    # Guernsey: no location in ONSPD
    {"pcds": "GY1 1AA", "dointr": "198001", "doterm": "", "oslaua": "L99999999",
     "oseast1m": "", "osnrth1m": "", "osgrdind": "9", "lat": "99.999999", "long": "0.000000"},
    # another borough (Redbridge)
    {"pcds": "IG1 1BA", "dointr": "198001", "doterm": "", "oslaua": "E09000026",
     "oseast1m": "543710", "osnrth1m": "186367", "osgrdind": "1", "lat": "51.557885",
     "long": "0.071643"},
]


def _pcd7(postcode: str) -> str:
    """ONS's 7-character form: "E6 1AA" -> "E6  1AA", "EC1A 1BB" -> "EC1A1BB"."""
    outward, _, inward = postcode.rpartition(" ")
    return f"{outward:<4}{inward}" if len(outward) < 4 else outward + inward


def write_onspd(path: Path, rows: list[dict[str, str]], *, layout: str = "to 2024") -> Path:
    """Write SYNTHETIC rows as an ONSPD CSV in one of ONS's published layouts."""
    header = FULL_LAYOUT_TO_2024 if layout == "to 2024" else FULL_LAYOUT_2025
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        for row in rows:
            full = {"pcd": _pcd7(row["pcds"]), "pcd2": row["pcds"], "usertype": "0", **row}
            if layout != "to 2024":
                full = {_TO_2025.get(k, k): v for k, v in full.items()}
            writer.writerow([full.get(col, "E99999999") for col in header])
    return path


@pytest.fixture
def synthetic_file(tmp_path: Path) -> Path:
    return write_onspd(tmp_path / "ONSPD_SYNTHETIC_UK.csv", SYNTHETIC_ROWS)


@pytest.fixture
def newham_onspd_path(data_dir: Path) -> Path:
    path = data_dir / "newham/postcodes/onspd_nov2025_newham_postcodes.csv"
    if not path.exists():
        pytest.fail(f"real data file {path} is missing; set MAPPING_DATA_DIR to shared/data")
    return path


@pytest.fixture
def tiny_index(tmp_path: Path) -> PostcodeIndex:
    """A two-row Code-Point Open 'e' area: E6 1AA (real row) and E6 1AB with no point (PQI 90)."""
    folder = tmp_path / "cpo"
    folder.mkdir()
    with gzip.open(folder / "e.csv.gz", "wt") as f:
        f.write("E6 1AA,10,541600,184048\nE6 1AB,90,0,0\n")
    return PostcodeIndex(folder)


def _points(**columns: list[object]) -> pd.DataFrame:
    return pd.DataFrame(columns)


# --- reading the published layouts ---------------------------------------------------------


def test_reads_the_full_layout_to_2024(synthetic_file: Path) -> None:
    read = read_onspd(synthetic_file)

    assert isinstance(read, OnspdPostcodes)
    assert (read.file, read.rows, read.without_location, read.elsewhere) == (
        "ONSPD_SYNTHETIC_UK.csv", 6, 2, 0)
    assert read.has_termination_dates
    points = read.points.set_index("postcode")
    assert list(read.points.columns) == ["postcode", "lon", "lat", "easting", "northing",
                                         "terminated", "local_authority"]
    assert points.index.tolist() == ["E6 1AA", "E15 9ZZ", "BT1 1AA", "IG1 1BA"]
    assert (points.at["E6 1AA", "easting"], points.at["E6 1AA", "northing"]) == (541600, 184048)
    # Code-Point Open's lon/lat for E6 1AA, to the 6 decimals ONSPD gives.
    assert points.at["E6 1AA", "lon"] == pytest.approx(0.040295, abs=1e-6)
    assert points.at["E6 1AA", "lat"] == pytest.approx(51.53758, abs=1e-6)
    assert points.at["E6 1AA", "terminated"] is None
    assert points.at["E15 9ZZ", "terminated"] == dt.date(2019, 6, 1)
    assert points["local_authority"].tolist() == [NEWHAM, NEWHAM, "N09000003", "E09000026"]


def test_reads_the_2025_layout_the_same(synthetic_file: Path, tmp_path: Path) -> None:
    newer = write_onspd(tmp_path / "ONSPD_2025.csv", SYNTHETIC_ROWS, layout="2025")

    assert pd.read_csv(newer, nrows=0).columns[:9].tolist() == [
        "pcd7", "pcd8", "pcds", "dointr", "doterm", "usrtypind", "east1m", "north1m", "gridind"]
    pd.testing.assert_frame_equal(read_onspd(newer).points, read_onspd(synthetic_file).points)


def test_northern_ireland_is_placed_by_lat_long_not_its_irish_grid(synthetic_file: Path) -> None:
    bt = read_onspd(synthetic_file).points.set_index("postcode").loc["BT1 1AA"]

    assert (bt["lon"], bt["lat"]) == (-5.93, 54.597)
    easting, northing = lonlat_to_en(np.array([-5.93]), np.array([54.597]))
    assert (bt["easting"], bt["northing"]) == pytest.approx((easting[0], northing[0]))
    assert bt["easting"] != pytest.approx(333950, abs=1000)  # not the Irish Grid figure


def test_headers_match_case_insensitively_with_aliases(tmp_path: Path) -> None:
    path = tmp_path / "upper.csv"
    path.write_text("PCDS,OSEAST1M,OSNRTH1M,DOTERM,LAUA,LAT,LON\n"
                    "e61aa,541600,184048,,E09000025,51.53758,0.040295\n", encoding="utf-8")

    read = read_onspd(path)

    assert read.points["postcode"].tolist() == ["E6 1AA"]
    assert read.points["local_authority"].tolist() == [NEWHAM]


def test_rows_without_a_location_are_left_out_and_counted(tmp_path: Path) -> None:
    rows = [r for r in SYNTHETIC_ROWS if r["osgrdind"] == "9"]
    # A GB row with no grid indicator column value, blank grid reference and the lat sentinel.
    rows.append({"pcds": "E13 9ZZ", "doterm": "", "oseast1m": "", "osnrth1m": "",
                 "osgrdind": "", "lat": "99.999999", "long": "0.000000"})

    read = read_onspd(write_onspd(tmp_path / "none.csv", rows))

    assert (read.rows, read.without_location, len(read.points)) == (3, 3, 0)


def test_keeps_only_the_local_authorities_asked_for(synthetic_file: Path) -> None:
    read = read_onspd(synthetic_file, local_authorities=["e09000025"])

    assert read.points["postcode"].tolist() == ["E6 1AA", "E15 9ZZ"]
    assert (read.rows, read.without_location, read.elsewhere) == (6, 1, 3)
    assert read.rows == len(read.points) + read.without_location + read.elsewhere


def test_reading_in_chunks_gives_the_same_rows(synthetic_file: Path) -> None:
    whole = read_onspd(synthetic_file)
    chunked = read_onspd(synthetic_file, chunk_rows=2)

    pd.testing.assert_frame_equal(chunked.points, whole.points)
    assert (chunked.rows, chunked.without_location) == (whole.rows, whole.without_location)


def test_a_frame_of_onspd_rows_reads_like_the_file(synthetic_file: Path) -> None:
    raw = pd.read_csv(synthetic_file, dtype=str, keep_default_na=False)

    from_frame = onspd_from_frame(raw, file="ONSPD_SYNTHETIC_UK.csv")

    pd.testing.assert_frame_equal(from_frame.points, read_onspd(synthetic_file).points)
    # numbers as pandas reads them by default ("201906" as a float, blanks as NaN) read the same
    numeric = onspd_from_frame(pd.read_csv(synthetic_file))
    pd.testing.assert_frame_equal(numeric.points, from_frame.points)


# --- what is not ONSPD ---------------------------------------------------------------------


def test_a_file_that_is_not_onspd_is_named_with_the_field_missing(data_dir: Path) -> None:
    path = data_dir / "newham/postcodes/codepoint_open_E6_E7_E12_E13_E15_E16_E20.csv"

    with pytest.raises(ValidationError) as caught:
        read_onspd(path)

    (problem,) = caught.value.problems
    assert problem.file == path.name
    assert problem.row is None  # the whole file
    assert problem.field == "pcds"
    assert "does not look like the ONS Postcode Directory" in problem.reason
    assert str(problem).startswith(f"{path.name}, field 'pcds': no postcode column")


def test_bad_rows_are_each_named_with_file_row_field_and_reason(tmp_path: Path) -> None:
    good = SYNTHETIC_ROWS[0]
    rows = [good, {**good, "pcds": "NOT A PC"}, {**good, "pcds": "E6 1AB", "oseast1m": "abc"},
            {**good, "pcds": "E6 1AD", "doterm": "2019-06"}, good]
    path = write_onspd(tmp_path / "bad.csv", rows)

    for chunk_rows in (250_000, 2):
        with pytest.raises(ValidationError) as caught:
            read_onspd(path, chunk_rows=chunk_rows)
        assert [(p.file, p.row, p.field, p.reason) for p in caught.value.problems] == [
            ("bad.csv", 1, "pcds", "postcode 'E6 1AA' appears more than once"),
            ("bad.csv", 2, "pcds", "'NOT A PC' is not a valid UK postcode"),
            ("bad.csv", 3, "oseast1m/osnrth1m", "easting 'abc' is not a number"),
            ("bad.csv", 4, "doterm", "'2019-06' is not a termination month (yyyymm)"),
            ("bad.csv", 5, "pcds", "postcode 'E6 1AA' appears more than once"),
        ]


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"])
def test_an_empty_or_binary_file_is_not_onspd(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(content)

    with pytest.raises(ValidationError, match="odd.csv: not ONSPD") as caught:
        read_onspd(path)
    assert caught.value.problems[0].file == "odd.csv"


def test_keeping_local_authorities_needs_their_column(tmp_path: Path) -> None:
    path = tmp_path / "no_laua.csv"
    path.write_text("pcds,oseast1m,osnrth1m\nE6 1AA,541600,184048\n", encoding="utf-8")

    with pytest.raises(ValidationError) as caught:
        read_onspd(path, local_authorities=[NEWHAM])
    assert [p.field for p in caught.value.problems] == ["laua"]
    assert read_onspd(path).points["postcode"].tolist() == ["E6 1AA"]  # fine without


# --- the real Newham cut-down file -----------------------------------------------------------


def test_the_real_newham_onspd_file(newham_onspd_path: Path) -> None:
    read = read_onspd(newham_onspd_path)
    raw = pd.read_csv(newham_onspd_path, dtype=str)

    assert (read.rows, len(read.points), read.without_location) == (7617, 7617, 0)
    assert not read.has_termination_dates  # the cut-down copy has no doterm
    assert read.points["terminated"].isna().all()
    assert set(read.points["local_authority"]) == {NEWHAM}
    assert (read.points["postcode"] == raw["pcds"]).all()
    np.testing.assert_array_equal(read.points["easting"], raw["oseast1m"].astype(float))
    # The file's lon/lat were computed with pyproj from the same grid references (6 dp).
    np.testing.assert_allclose(read.points["lon"], raw["lon"].astype(float), rtol=0, atol=1e-6)
    np.testing.assert_allclose(read.points["lat"], raw["lat"].astype(float), rtol=0, atol=1e-6)


def test_newham_postcodes_not_in_code_point_open(newham_onspd_path: Path) -> None:
    read = read_onspd(newham_onspd_path)
    raw = pd.read_csv(newham_onspd_path, dtype={"pcds": str})
    not_in_cpo = raw.loc[~raw["in_codepoint_open"], "pcds"]

    found = default_index().lookup(read.points["postcode"])

    assert len(not_in_cpo) == 3289
    assert set(read.points["postcode"][found["problem"].notna()]) == set(not_in_cpo)


# --- ONSPD rows as a postcode source -------------------------------------------------------


def test_postcode_source_takes_the_rows_read(synthetic_file: Path) -> None:
    read = read_onspd(synthetic_file)

    source = postcode_source(read.points, label=LABEL,
                             has_termination_dates=read.has_termination_dates)

    assert isinstance(source, PostcodeSource)
    assert (source.label, source.has_termination_dates) == (LABEL, True)
    assert source.table.index.tolist() == ["E6 1AA", "E15 9ZZ", "BT1 1AA", "IG1 1BA"]
    assert source.table.at["E15 9ZZ", "terminated"] == dt.date(2019, 6, 1)


def test_postcode_source_takes_rows_back_from_a_store() -> None:
    # As rows come back from a database: other spelling, lon/lat only, dates as text or NaT.
    rows = _points(postcode=["e61aa", "E15 9ZZ"], lon=[0.040295, 0.011631],
                   lat=[51.53758, 51.54321], terminated=[None, "2019-06-01"], ward=["x", "y"])

    table = postcode_source(rows, label=LABEL, has_termination_dates=True).table

    assert table.index.tolist() == ["E6 1AA", "E15 9ZZ"]
    assert table.at["E6 1AA", "easting"] == pytest.approx(541600, abs=1)
    assert table.at["E6 1AA", "northing"] == pytest.approx(184048, abs=1)
    assert table["terminated"].tolist() == [None, dt.date(2019, 6, 1)]


def test_postcode_source_names_every_bad_row() -> None:
    rows = _points(postcode=["E6 1AA", "nonsense", "E6 1AA", "E6 1AB", "E6 1AD", "E6 1AE"],
                   lon=[0.04, 0.04, 0.04, None, 2.35, 0.04], lat=[51.5, 51.5, 51.5, None, 48.86, 51.5],
                   terminated=[None, None, None, None, None, "June 2019"])

    with pytest.raises(ValidationError) as caught:
        postcode_source(rows, label=LABEL, has_termination_dates=True)

    assert [(p.row, p.field, p.reason) for p in caught.value.problems] == [
        (2, "postcode", "'nonsense' is not a valid UK postcode"),
        (1, "postcode", "postcode 'E6 1AA' appears more than once"),
        (3, "postcode", "postcode 'E6 1AA' appears more than once"),
        (4, "lon/lat", "postcode 'E6 1AB' has no usable point"),
        (5, "lon/lat", "postcode 'E6 1AD' is placed outside the UK"),
        (6, "terminated", "postcode 'E6 1AE': terminated is not a date"),
    ]


def test_postcode_source_needs_a_postcode_and_a_point() -> None:
    with pytest.raises(ValidationError) as caught:
        postcode_source(_points(pcds=["E6 1AA"], lon=[0.04]), label=LABEL,
                        has_termination_dates=True)
    assert [p.field for p in caught.value.problems] == ["postcode", "lon/lat"]
    with pytest.raises(TypeError, match="not list"):
        postcode_source([], label=LABEL, has_termination_dates=True)  # type: ignore[arg-type]


# --- looking postcodes up with ONSPD after Code-Point Open -----------------------------------


def _synthetic_source(**overrides: object) -> pd.DataFrame:
    """SYNTHETIC ONSPD-like rows for the index tests."""
    rows = {
        "postcode": ["E6 1AA", "E6 1AB", "E15 9ZZ", "BT1 1AA"],
        "easting": [541601.0, 541700.0, 539595.0, None],  # E6 1AA one metre off Code-Point Open
        "northing": [184048.0, 184100.0, 184619.0, None],
        "lon": [None, None, None, -5.93],
        "lat": [None, None, None, 54.597],
        "terminated": [None, None, dt.date(2019, 6, 1), None],
    }
    rows.update(overrides)  # type: ignore[arg-type]
    return pd.DataFrame(rows)


def test_code_point_open_is_looked_up_first_and_onspd_fills_the_rest(
    tiny_index: PostcodeIndex,
) -> None:
    index = index_with_onspd(_synthetic_source(), label=LABEL, has_termination_dates=True,
                             index=tiny_index)

    found = index.lookup(pd.Series(["E6 1AA", "E6 1AB", "e159zz", "BT1 1AA", "E20 1ZZ"]))

    assert found["source"].tolist() == [CODEPOINT_LABEL, LABEL, LABEL, LABEL, None]
    assert found["easting"].iloc[0] == 541600  # Code-Point Open's point, not ONSPD's
    assert found["pqi"].iloc[0] == 10 and pd.isna(found["pqi"].iloc[1])
    assert found["easting"].iloc[1] == 541700  # PQI 90 in Code-Point Open, a point in ONSPD
    assert (found["lon"].iloc[3], found["lat"].iloc[3]) == (-5.93, 54.597)
    assert found["problem"].iloc[:4].isna().all()
    assert found["problem"].iloc[4] == (
        "postcode 'E20 1ZZ' is not in OS Code-Point Open (it may be new, terminated or "
        f"mistyped); not in {LABEL} either")


def test_a_terminated_postcode_is_placed_with_a_warning(tiny_index: PostcodeIndex) -> None:
    index = index_with_onspd(_synthetic_source(), label=LABEL, has_termination_dates=True,
                             index=tiny_index)

    found = index.lookup(pd.Series(["E15 9ZZ", "E6 1AB"]))

    assert found["terminated"].tolist() == [dt.date(2019, 6, 1), None]
    assert found["warning"].tolist() == [
        f"postcode 'E15 9ZZ' was terminated in 2019-06 ({LABEL}): its last point is used; "
        "check the address for a current postcode",
        None,
    ]


def test_a_termination_onspd_knows_warns_even_where_code_point_open_places_it(
    tiny_index: PostcodeIndex,
) -> None:
    rows = _synthetic_source(terminated=[dt.date(2025, 8, 1), None, None, None])
    index = index_with_onspd(rows, label=LABEL, has_termination_dates=True, index=tiny_index)

    found = index.lookup(pd.Series(["E6 1AA"])).iloc[0]

    assert (found["source"], found["easting"], found["terminated"]) == (
        CODEPOINT_LABEL, 541600, dt.date(2025, 8, 1))
    assert "terminated in 2025-08" in found["warning"]
    assert "though OS Code-Point Open still lists it" in found["warning"]


def test_a_source_without_termination_dates_warns_that_a_postcode_may_be_terminated(
    tiny_index: PostcodeIndex,
) -> None:
    index = index_with_onspd(_synthetic_source(terminated=[None] * 4), label=LABEL,
                             has_termination_dates=False, index=tiny_index)

    found = index.lookup(pd.Series(["E15 9ZZ", "E6 1AA"]))

    assert found["source"].tolist() == [LABEL, CODEPOINT_LABEL]
    assert found["warning"].tolist() == [
        f"postcode 'E15 9ZZ' is not in OS Code-Point Open, which lists live postcodes, and "
        f"{LABEL} gives no termination dates: it may have been terminated; check the address",
        None,  # Code-Point Open lists it: live
    ]


def test_with_source_gives_a_new_index_and_leaves_the_old_one_alone(
    tiny_index: PostcodeIndex,
) -> None:
    first = index_with_onspd(_synthetic_source(), label=LABEL, has_termination_dates=True,
                             index=tiny_index)
    second = index_with_onspd(_synthetic_source(easting=[1.0e5] * 4, northing=[2.0e5] * 4),
                              label="second", has_termination_dates=True, index=first)

    assert tiny_index.sources == ()
    assert [s.label for s in second.sources] == [LABEL, "second"]
    assert tiny_index.lookup(pd.Series(["E15 9ZZ"]))["source"].tolist() == [None]
    # The earlier source wins; the Code-Point Open tables are shared, read once.
    assert second.lookup(pd.Series(["E15 9ZZ"]))["easting"].tolist() == [539595]
    assert tiny_index.loaded_areas == {"e"}
    with pytest.raises(ValueError, match="already has a source labelled"):
        index_with_onspd(_synthetic_source(), label=LABEL, has_termination_dates=True, index=first)
    with pytest.raises(ValueError, match="already has a source labelled"):
        index_with_onspd(_synthetic_source(), label=CODEPOINT_LABEL, has_termination_dates=True,
                         index=tiny_index)


def test_a_postcode_source_built_by_hand_is_checked() -> None:
    with pytest.raises(ValueError, match="build it with mapping.places.onspd.postcode_source"):
        PostcodeSource(LABEL, pd.DataFrame({"lon": [0.0]}), True)
    with pytest.raises(ValueError, match="needs a label"):
        PostcodeSource(" ", pd.DataFrame(), True)


@pytest.mark.parametrize("broken", ['"E6 1AD","too","few"', '"E6 1AD,"unterminated'])
def test_a_broken_line_deep_in_the_file_is_named(synthetic_file: Path, broken: str) -> None:
    text = synthetic_file.read_text(encoding="utf-8")
    synthetic_file.write_text(text + broken + "\n", encoding="utf-8")

    with pytest.raises(ValidationError, match="ONSPD_SYNTHETIC_UK.csv") as caught:
        read_onspd(synthetic_file, chunk_rows=2)
    assert [(p.row, p.field) for p in caught.value.problems] == [(7, "pcds")]
