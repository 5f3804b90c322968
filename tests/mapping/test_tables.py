"""Reading files and converting text columns, with values small enough to check by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mapping import schema as S
from mapping.errors import ValidationError
from mapping.tables import (
    blank,
    clean_text,
    column_aliases,
    map_columns,
    parse_datetimes,
    parse_flags,
    parse_numbers,
    read_table,
    rows_where,
)

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


def only_problem(caught: pytest.ExceptionInfo[ValidationError]) -> tuple[int | None, str]:
    [problem] = caught.value.problems
    return problem.row, problem.reason


# --- read_table ----------------------------------------------------------------------

def test_a_utf8_bom_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffid,name\n1,Café\n".encode())
    frame = read_table(path)
    assert list(frame.columns) == ["id", "name"]
    assert frame.loc[0, "name"] == "Café"


def test_cp1252_is_refused_as_utf8_but_read_with_the_encoding_given() -> None:
    path = BAD / "assets_cp1252.csv"
    with pytest.raises(ValidationError) as caught:
        read_table(path)
    row, reason = only_problem(caught)
    assert row == 2
    assert "line 3 is not valid utf-8 text (byte 0xe9)" in reason
    assert "--encoding cp1252" in reason
    frame = read_table(path, encoding="cp1252")
    assert frame["name"].tolist()[1] == "East Ham Memory Café"


def test_text_stays_text_so_leading_zeros_survive(tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text("company_number,capacity,flag\n01234567,007,NA\n", encoding="utf-8")
    frame = read_table(path)
    assert frame.iloc[0].tolist() == ["01234567", "007", "NA"]  # "NA" is not turned into NaN


def test_tsv_and_txt_files(tmp_path: Path) -> None:
    tsv = tmp_path / "a.tsv"
    tsv.write_text("id\tname\n1\tHall, Stratford\n", encoding="utf-8")
    assert read_table(tsv).iloc[0].tolist() == ["1", "Hall, Stratford"]
    txt = tmp_path / "a.txt"
    txt.write_text('id,name\n1,"Hall, Stratford"\n', encoding="utf-8")
    assert read_table(txt).iloc[0].tolist() == ["1", "Hall, Stratford"]


def test_quoted_commas_and_line_breaks_are_one_row(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text('id,address\n1,"1 High St,\nStratford"\n2,"2 Romford Rd"\n', encoding="utf-8")
    frame = read_table(path)
    assert frame["address"].tolist() == ["1 High St,\nStratford", "2 Romford Rd"]


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "the file is empty"),
    (b"  \r\n\n", "the file is empty"),
    (b"id,name\n", "the file has a header but no data rows"),
    (b"\xef\xbb\xbf", "the file has no header row"),
])
def test_files_with_nothing_to_read(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(ValidationError) as caught:
        read_table(path)
    assert only_problem(caught) == (None, reason)
    assert caught.value.problems[0].file == "x.csv"


def test_unsupported_and_missing_files(tmp_path: Path) -> None:
    sheet = tmp_path / "assets.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    with pytest.raises(ValidationError, match="unsupported file type '.xlsx'"):
        read_table(sheet)
    with pytest.raises(ValidationError, match="file not found"):
        read_table(tmp_path / "nowhere.csv")


def test_every_malformed_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("a,b,c\n1,2,3\n1,2,3,4\n1,2,3\n1,2,3,4,5\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        read_table(path)
    assert [(p.row, p.reason.split(" (")[0]) for p in caught.value.problems] == [
        (2, "expected 3 fields, found 4"), (4, "expected 3 fields, found 5")]
    assert "malformed CSV" in str(caught.value)


def test_a_geojson_in_british_national_grid_is_returned_in_lon_lat(tmp_path: Path) -> None:
    path = tmp_path / "bng.geojson"
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
        "features": [{"type": "Feature", "properties": {"code": "E05999901"},
                      "geometry": {"type": "Point", "coordinates": [539595, 184619]}}],
    }), encoding="utf-8")
    frame = read_table(path)
    assert frame.crs == S.STORAGE_CRS
    # E15 4EH: OS Code-Point Open gives 539595, 184619 = 0.011631, 51.543210.
    assert (frame.geometry.x.iloc[0], frame.geometry.y.iloc[0]) == pytest.approx(
        (0.011631, 51.54321), abs=2e-5)


# --- converting columns --------------------------------------------------------------

def test_blank_and_clean_text() -> None:
    values = pd.Series([" Hall ", "", "   ", None, "0"])
    assert blank(values).tolist() == [False, True, True, True, False]
    assert clean_text(values).tolist() == ["Hall", None, None, None, "0"]


def test_rows_where_treats_missing_as_false() -> None:
    assert rows_where(pd.Series([True, None, False, True], dtype="boolean")) == [0, 3]


def test_parse_numbers() -> None:
    values, problems = parse_numbers(
        pd.Series(["12", " 3.5 ", "", "1,234", "twelve", "-2", None]),
        field="capacity", file="f.csv", minimum=0)
    assert values.tolist()[:2] == [12.0, 3.5]
    assert values.tolist()[3] == 1234.0  # thousands separator
    assert values.isna().tolist() == [False, False, True, False, True, False, True]
    assert [(p.row, p.field, p.reason) for p in problems] == [
        (5, "capacity", "'twelve' is not a number"),
        (6, "capacity", "-2 is below the minimum 0"),
    ]
    assert all(p.file == "f.csv" for p in problems)


def test_parse_numbers_without_a_minimum_accepts_negatives() -> None:
    values, problems = parse_numbers(pd.Series(["-0.5", "1e3"]), field="x", file=None)
    assert values.tolist() == [-0.5, 1000.0] and problems == []


def test_parse_flags() -> None:
    values, problems = parse_flags(
        pd.Series(["Yes", "n", "TRUE", "0", "", " y ", "maybe", None]), field="living_wage",
        file=None)
    assert values.tolist()[:4] == [True, False, True, False]
    assert values.iloc[5] is True
    assert values.iloc[[4, 6, 7]].isna().all()
    assert [(p.row, p.field, p.reason) for p in problems] == [
        (7, "living_wage", "'maybe' is not yes/no")]


def test_parse_datetimes() -> None:
    values, problems = parse_datetimes(
        pd.Series(["2024-03-01", "01/03/2024", "2024-03-01T10:00:00+01:00", "", "31/02/2024",
                   "13/12/2024"]), field="verified_at", file=None)
    utc = pd.Timestamp
    assert values.iloc[0] == utc("2024-03-01", tz="UTC")
    assert values.iloc[1] == utc("2024-03-01", tz="UTC")  # day first, as in the UK
    assert values.iloc[2] == utc("2024-03-01 09:00", tz="UTC")  # converted to UTC
    assert values.iloc[5] == utc("2024-12-13", tz="UTC")
    assert values.iloc[[3, 4]].isna().all()
    assert [(p.row, p.reason) for p in problems] == [
        (5, "'31/02/2024' is not a date (use YYYY-MM-DD)")]


# --- map_columns ---------------------------------------------------------------------

def test_aliases_map_common_spellings() -> None:
    frame = pd.DataFrame(columns=["Site name", "Post Code", "Latitude", "Longitude", "OSEAST1M",
                                  "Charity No.", "Other", "geometry"])
    assert list(map_columns(frame).columns) == [
        "name", "postcode", "lat", "lon", "easting", "charity_number", "Other", "geometry"]
    assert column_aliases()["post_code"] == "postcode"


def test_map_columns_gives_a_copy() -> None:
    frame = pd.DataFrame({"Site name": ["Hall"]})
    mapped = map_columns(frame)
    assert list(frame.columns) == ["Site name"] and list(mapped.columns) == ["name"]


def test_an_explicit_mapping_wins_over_the_aliases() -> None:
    frame = pd.DataFrame(columns=["Site name", "Title"])
    mapped = map_columns(frame, mapping={"title": "name", "SITE NAME": "address"})
    assert list(mapped.columns) == ["address", "name"]


def test_two_headers_for_one_column_are_reported_together() -> None:
    frame = pd.DataFrame(columns=["postcode", "Post Code", "zip", "name"])
    with pytest.raises(ValidationError) as caught:
        map_columns(frame, file="a.csv")
    assert [(p.row, p.field, p.file) for p in caught.value.problems] == [
        (None, "Post Code", "a.csv"), (None, "zip", "a.csv")]
    assert "columns 'postcode' and 'Post Code' both mean 'postcode'" in \
        caught.value.problems[0].reason
    assert "a.csv: ambiguous columns" in str(caught.value)


def test_parse_numbers_reads_thousands_separators_but_not_decimal_commas_or_infinity() -> None:
    values, problems = parse_numbers(pd.Series(["1,250", "1,5", "inf", "", "-1,000.5"]),
                                     field="capacity", file="f.csv")
    assert values.iloc[0] == 1250 and values.iloc[4] == -1000.5
    assert values.iloc[1:4].isna().all()
    assert [(p.row, p.field) for p in problems] == [(2, "capacity"), (3, "capacity")]


def test_parse_numbers_reports_values_above_the_maximum() -> None:
    values, problems = parse_numbers(pd.Series(["10", "1e308"]), field="capacity",
                                     file="f.csv", minimum=0, maximum=100_000)
    assert [str(p) for p in problems] == [
        "f.csv, row 2, field 'capacity': 1e+308 is above the maximum 100000"]


def test_phone_and_email_both_go_to_contact_joined() -> None:
    from mapping.tables import map_columns

    frame = pd.DataFrame({"Name": ["a", "b", "c"], "Phone": ["020 7946 0000", "", ""],
                          "Email": ["a@example.org", "b@example.org", ""]})
    got = map_columns(frame)
    assert list(got.columns) == ["name", "contact"]
    assert got["contact"].tolist() == ["020 7946 0000; a@example.org", "b@example.org", ""]


def test_rows_matching_keeps_rows_where_every_filter_holds() -> None:
    from mapping.tables import rows_matching

    frame = pd.DataFrame({"Status Code": ["A", "A", "C"], "setting": ["4", "0", "4"]})
    assert rows_matching(frame, [("status_code", "A"), ("Setting", "4")]).index.tolist() == [0]
    with pytest.raises(ValidationError, match="cannot filter"):
        rows_matching(frame, [("status", "A")], file="f.csv")


def test_a_joined_column_keeps_its_canonical_header_too() -> None:
    from mapping.tables import map_columns

    frame = pd.DataFrame({"name": ["a"], "Street Address": ["1 High St"], "address": ["E15"]})
    got = map_columns(frame)
    assert list(got.columns) == ["name", "address"] and got["address"].tolist() == ["1 High St, E15"]
