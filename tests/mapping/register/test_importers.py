"""Importing and exporting assets and organisations, driven by the bad-input corpus.

Every committed file in ``tests/data/bad`` has one defect and a row in ``CASES``.
Each import must fail with a :class:`ValidationError` that names the row, the field and the
reason. The database must also be unchanged afterwards. That is checked, not assumed: every
table of a real Newham demo store is read in full before and after the import and compared.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from sqlalchemy import func, inspect, select, text

from mapping import schema as S
from mapping.cli.main import main
from mapping.errors import Problem, ValidationError
from mapping.places.areas import areas_from_frame, patches_from_lookup
from mapping.places.postcodes import PostcodeIndex
from mapping.places.store import load_area_layer, save_area_layer, save_patch_set
from mapping.register.importers import (
    export_assets,
    import_assets,
    import_organisations,
    prepare_assets,
)
from mapping.register.records import assets_frame, history, organisations_frame, update_record
from mapping.store.database import Store
from mapping.store.models import Asset, Base, RecordHistory
from mapping.tables import read_table

BAD = Path(__file__).resolve().parents[2] / "data" / "bad"
NEWHAM_POSTCODES = "newham/postcodes/codepoint_open_E6_E7_E12_E13_E15_E16_E20.csv"

# Three valid rows with real Newham postcodes (the points are OS Code-Point Open's).
GOOD_CSV = (
    "id,name,category,postcode,capacity,status\n"
    "good:1,Stratford Community Hall,community_space,E15 4EH,40,active\n"
    "good:2,East Ham Memory Cafe,memory_cafe,E6 5YA,15,active\n"
    "good:3,Plaistow Peer Group,peer_group,E13 9PJ,,proposed\n"
)


@pytest.fixture(scope="module")
def index() -> PostcodeIndex:
    return PostcodeIndex()


def write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def snapshot(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Give the full contents of every table in the database, in a stable order."""
    with store.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        assert set(Base.metadata.tables) <= set(names)
        return {name: [tuple(row) for row in conn.execute(text(f'SELECT * FROM "{name}" ORDER BY 1'))]
                for name in names}


def count(store: Store, model: type[Base]) -> int:
    with store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def borough(store: Store) -> gpd.GeoDataFrame:
    with store.transaction() as session:
        return load_area_layer(session, "borough")


# --- how each kind of file is imported -----------------------------------------------

def _assets(store: Store, path: Path, index: PostcodeIndex) -> object:
    return import_assets(store, path, index=index, boundary=borough(store))


def _organisations(store: Store, path: Path, index: PostcodeIndex) -> object:
    return import_organisations(store, path)


def _area_layer(store: Store, path: Path, index: PostcodeIndex) -> object:
    """What ``mapping import-areas --layer wards_2023`` does (replacing the real wards)."""
    raw = read_table(path)
    areas, problems = areas_from_frame(raw, file=path.name)
    if problems:
        raise ValidationError(problems, summary=f"{path.name}: nothing imported")
    with store.transaction() as session:
        return save_area_layer(session, "wards_2023", areas, source=path.name)


def _patches(store: Store, path: Path, index: PostcodeIndex) -> object:
    """What ``mapping import-patches --layer wards_2023`` does."""
    lookup = read_table(path)
    with store.transaction() as session:
        areas = load_area_layer(session, "wards_2023")
        patches = patches_from_lookup(areas, lookup, file=path.name)
        return save_patch_set(session, "test-lots", "wards_2023", patches, source=path.name)


Importer = Callable[[Store, Path, PostcodeIndex], object]
Expected = tuple[int | None, str | None, str]


@dataclass(frozen=True)
class Case:
    file: str
    importer: Importer
    expected: tuple[Expected, ...]

    def __str__(self) -> str:
        return self.file


CASES = [
    # malformed CSV
    Case("assets_wrong_field_count.csv", _assets, (
        (2, None, "expected 5 fields, found 6"), (4, None, "expected 5 fields, found 7"),
        (5, None, "expected 5 fields, found 6"))),
    Case("assets_extra_field_first_row.csv", _assets, ((1, None, "expected 4 fields, found 5"),)),
    Case("assets_short_row.csv", _assets, ((2, None, "expected 5 fields, found 4"),)),
    Case("assets_unterminated_quote.csv", _assets, ((2, None, "missing quote"),)),
    Case("assets_semicolon_separated.csv", _assets,
         ((None, "name", "required column 'name' is missing"),)),
    Case("assets_two_postcode_columns.csv", _assets, ((None, "Post Code", "both mean 'postcode'"),)),
    # locations
    Case("assets_unknown_postcode.csv", _assets,
         ((2, "postcode", "'E15 9ZZ' is not in OS Code-Point Open"),)),
    Case("assets_malformed_postcode.csv", _assets,
         ((2, "postcode", "'E15 ABC' is not a valid UK postcode"),)),
    Case("assets_swapped_lonlat.csv", _assets, ((2, "lon/lat", "look swapped"),)),
    Case("assets_outside_uk_paris.csv", _assets, ((2, "lon/lat", "outside the UK"),)),
    Case("assets_null_island.csv", _assets, ((2, "lon/lat", "null island"),)),
    Case("assets_lon_not_a_number.csv", _assets, ((2, "lon/lat", "'east-ish' is not a number"),)),
    Case("assets_eastings_outside_gb.csv", _assets,
         ((2, "easting/northing", "outside Great Britain"),)),
    # values
    Case("assets_capacity_not_a_number.csv", _assets, ((2, "capacity", "'twenty' is not a number"),)),
    Case("assets_negative_capacity.csv", _assets, ((2, "capacity", "-5 is below the minimum 0"),)),
    Case("assets_bad_status.csv", _assets,
         ((2, "status", "'open' is not one of active, proposed, closed"),)),
    Case("assets_unknown_category.csv", _assets, ((2, "category", "unknown category 'bingo hall'"),)),
    Case("assets_bad_verified_at.csv", _assets, (
        (2, "verified_at", "'next tuesday' is not a date"),
        (3, "verified_at", "'31/02/2024' is not a date"))),
    Case("assets_duplicate_ids.csv", _assets,
         ((3, "external_id", "id 'bad-test:1' already used on row 1"),)),
    Case("assets_missing_name_column.csv", _assets,
         ((None, "name", "required column 'name' is missing"),)),
    Case("assets_empty_name.csv", _assets, ((2, "name", "is required but empty"),)),
    Case("assets_unknown_organisation.csv", _assets,
         ((2, S.ORGANISATION_ID, "'bad-test-org:not-registered' is not in the register"),)),
    # whole file
    Case("assets_empty.csv", _assets, ((None, None, "the file is empty"),)),
    Case("assets_header_only.csv", _assets, ((None, None, "header but no data rows"),)),
    Case("assets_cp1252.csv", _assets, ((2, None, "not valid utf-8 text (byte 0xe9)"),)),
    # vector assets
    Case("assets_polygon.geojson", _assets,
         ((2, "geometry", "geometry is Polygon; assets must be points"),)),
    Case("assets_null_geometry.geojson", _assets,
         ((2, "geometry", "geometry is empty; assets must be points"),)),
    # organisations
    Case("organisations_bad_company_number.csv", _organisations,
         ((2, "company_number", "'123456789' is not a Companies House number"),)),
    Case("organisations_bad_charity_number.csv", _organisations,
         ((2, "charity_number", "'12345' is not a charity number"),)),
    Case("organisations_bad_flag.csv", _organisations,
         ((2, "living_wage", "'sometimes' is not yes/no"),)),
    Case("organisations_unknown_ownership_model.csv", _organisations,
         ((2, "ownership_model", "'employee owned' is not one of"),)),
    Case("organisations_unknown_cqc_rating.csv", _organisations,
         ((2, "cqc_rating", "'Excellent' is not a CQC rating"),)),
    # area layers
    Case("areas_linestring.geojson", _area_layer,
         ((2, "geometry", "geometry is a LineString; areas must be polygons"),)),
    Case("areas_duplicate_codes.geojson", _area_layer,
         ((3, "WD23CD", "area code 'E05999901' appears more than once"),)),
    Case("areas_no_code_column.geojson", _area_layer, ((None, "code", "no code column found"),)),
    Case("areas_truncated.geojson", _area_layer,
         ((None, None, "could not read the file as .geojson"),)),
    # patch lookups
    Case("patches_unknown_code.csv", _patches,
         ((25, "code", "area 'E05999999' is not in the layer"),)),
    Case("patches_area_in_two_patches.csv", _patches,
         ((25, "code", "area 'E05013904' is already in a patch on row 1"),)),
    Case("patches_areas_left_out.csv", _patches, (
        (None, "code", "area 'E05013926' is in no patch"),
        (None, "code", "area 'E05013927' is in no patch"))),
]
# Accepted on purpose: its one defect is repaired (see test_bowtie_area_is_repaired_and_reported).
REPAIRED = {"areas_bowtie.geojson"}


def assert_problems(problems: list[Problem], expected: tuple[Expected, ...], file: str) -> None:
    """Every expected (row, field, reason) is there, no other row is blamed, and each names the file."""
    shown = "\n".join(f"  {p.row!r}, {p.field!r}: {p.reason}" for p in problems)
    for row, field, fragment in expected:
        assert any(p.row == row and p.field == field and fragment in p.reason for p in problems), (
            f"expected row {row}, field {field!r}, '{fragment}'; got:\n{shown}")
    assert {p.row for p in problems} <= {row for row, _, _ in expected}, shown
    assert all(p.file == file for p in problems), shown


def test_the_corpus_has_at_least_20_files_and_each_is_tested_and_documented() -> None:
    files = {p.name for p in BAD.iterdir() if p.name != "README.md"}
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    assert len(files) >= 20
    assert files == {c.file for c in CASES} | REPAIRED
    assert [f for f in sorted(files) if f"`{f}`" not in readme] == []
    assert (BAD / "assets_empty.csv").stat().st_size == 0
    raw = (BAD / "assets_cp1252.csv").read_bytes()
    assert "Café".encode("cp1252") in raw and "Café".encode() not in raw


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_file_is_rejected_by_row_and_the_database_is_unchanged(
    case: Case, demo_store: Store, index: PostcodeIndex
) -> None:
    before = snapshot(demo_store)
    assert len(before["assets"]) > 250 and len(before["areas"]) > 200  # a real register
    with pytest.raises(ValidationError) as caught:
        case.importer(demo_store, BAD / case.file, index)
    assert_problems(caught.value.problems, case.expected, case.file)
    assert snapshot(demo_store) == before


def test_shapefile_without_prj_is_rejected_for_its_missing_crs(
    demo_store: Store, tmp_path: Path, index: PostcodeIndex
) -> None:
    square = shapely.box(539000, 184000, 540000, 185000)
    layer = gpd.GeoDataFrame({"WD23CD": ["E05999901"], "WD23NM": ["Test area A"]},
                             geometry=[square], crs=S.METRIC_CRS)
    path = tmp_path / "no_prj.shp"
    layer.to_file(path, engine="pyogrio")
    path.with_suffix(".prj").unlink()  # as when only .shp/.shx/.dbf are emailed
    before = snapshot(demo_store)
    with pytest.raises(ValidationError) as caught:
        _area_layer(demo_store, path, index)
    assert_problems(caught.value.problems, ((None, None, "no coordinate reference system"),),
                    "no_prj.shp")
    assert snapshot(demo_store) == before


def test_bowtie_area_is_repaired_and_reported(demo_store: Store, runner: CliRunner,
                                              tmp_path: Path) -> None:
    path = BAD / "areas_bowtie.geojson"
    raw = read_table(path)
    assert not raw.geometry.iloc[1].is_valid
    areas, problems = areas_from_frame(raw, file=path.name)
    assert problems == []
    assert areas.geometry.is_valid.all()
    # The bow-tie 0.01° x 0.01° square becomes its two triangles: half the square's area.
    assert areas.geometry.iloc[1].geom_type == "MultiPolygon"
    assert len(shapely.get_parts(areas.geometry.iloc[1])) == 2
    assert areas.geometry.iloc[1].area == pytest.approx(0.5 * 0.01 * 0.01)
    result = runner.invoke(main, ["--database-url", demo_store.url, "import-areas", str(path),
                                  "--layer", "test_bowtie"])
    assert result.exit_code == 0, result.output
    assert "2 areas" in result.output
    assert "invalid geometry repaired on rows 2" in result.output
    # "repaired or rejected with a reason": the repair should say why the geometry was invalid.
    assert "Self-intersection" in result.output


def test_cli_import_areas_writes_the_same_problems_to_its_report(
    demo_store: Store, runner: CliRunner, tmp_path: Path
) -> None:
    path = BAD / "areas_linestring.geojson"
    report = tmp_path / "problems.csv"
    before = snapshot(demo_store)
    result = runner.invoke(main, ["--database-url", demo_store.url, "import-areas", str(path),
                                  "--layer", "wards_2023", "--report", str(report)])
    assert result.exit_code == 1
    assert "row 2, field 'geometry': geometry is a LineString" in result.output
    assert "Traceback" not in result.output
    with report.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows == [{"file": path.name, "row": "2", "field": "geometry",
                     "reason": "geometry is a LineString; areas must be polygons"}]
    assert snapshot(demo_store) == before


def test_cli_import_assets_lists_every_bad_row_and_says_how_to_skip(
    demo_store: Store, runner: CliRunner
) -> None:
    before = snapshot(demo_store)
    path = BAD / "assets_wrong_field_count.csv"
    result = runner.invoke(main, ["--database-url", demo_store.url, "import-assets", str(path)])
    assert result.exit_code == 1
    for row in (2, 4, 5):
        assert f"{path.name}, row {row}: expected 5 fields" in result.output
    assert "malformed CSV" in result.output
    result = runner.invoke(main, ["--database-url", demo_store.url, "import-assets",
                                  str(BAD / "assets_unknown_postcode.csv")])
    assert result.exit_code == 1
    assert "nothing imported" in result.output and "--skip-invalid" in result.output
    assert snapshot(demo_store) == before


def test_cli_import_patches_rejects_an_unknown_ward(demo_store: Store, runner: CliRunner) -> None:
    before = snapshot(demo_store)
    result = runner.invoke(main, ["--database-url", demo_store.url, "import-patches",
                                  str(BAD / "patches_unknown_code.csv"), "--layer", "wards_2023",
                                  "--name", "test-lots"])
    assert result.exit_code == 1
    assert "row 25, field 'code': area 'E05999999' is not in the layer" in result.output
    assert snapshot(demo_store) == before


# --- skip_invalid ---------------------------------------------------------------------

@pytest.mark.parametrize("file", ["assets_unknown_postcode.csv", "assets_unknown_organisation.csv",
                                  "assets_capacity_not_a_number.csv"])
def test_skip_invalid_writes_exactly_the_valid_rows_and_reports_the_rest(
    file: str, demo_store: Store, index: PostcodeIndex
) -> None:
    before = snapshot(demo_store)
    report = import_assets(demo_store, BAD / file, skip_invalid=True, index=index,
                           boundary=borough(demo_store))
    assert (report.rows, report.skipped_rows) == (3, 1)
    assert (report.counts.inserted, report.counts.updated, report.counts.unchanged) == (2, 0, 0)
    assert {p.row for p in report.problems} == {2}
    assert "2 added" in report.summary() and "1 invalid rows skipped" in report.summary()
    with demo_store.transaction() as session:
        frame = assets_frame(session)
        new = frame[frame[S.EXTERNAL_ID].str.startswith("bad-test:")]
    assert sorted(new[S.EXTERNAL_ID]) == ["bad-test:1", "bad-test:3"]
    assert new[S.IN_BOROUGH].tolist() == [True, True]
    after = snapshot(demo_store)
    assert len(after["assets"]) == len(before["assets"]) + 2
    assert len(after["record_history"]) == len(before["record_history"]) + 2
    assert {k: v for k, v in after.items() if k not in ("assets", "record_history")} == {
        k: v for k, v in before.items() if k not in ("assets", "record_history")}


def test_skip_invalid_still_refuses_a_file_level_problem(demo_store: Store,
                                                         index: PostcodeIndex) -> None:
    before = snapshot(demo_store)
    with pytest.raises(ValidationError, match="required column 'name' is missing"):
        import_assets(demo_store, BAD / "assets_missing_name_column.csv", skip_invalid=True,
                      index=index)
    assert snapshot(demo_store) == before


# --- re-importing --------------------------------------------------------------------

def test_reimporting_the_same_file_changes_nothing(store: Store, tmp_path: Path,
                                                   index: PostcodeIndex) -> None:
    path = write(tmp_path / "assets.csv", GOOD_CSV)
    first = import_assets(store, path, index=index)
    assert (first.counts.inserted, first.counts.updated, first.counts.unchanged) == (3, 0, 0)
    before = snapshot(store)
    again = import_assets(store, path, index=index)
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 3)
    assert snapshot(store) == before


def test_changing_one_field_updates_one_record_with_its_history(store: Store, tmp_path: Path,
                                                                index: PostcodeIndex) -> None:
    path = write(tmp_path / "assets.csv", GOOD_CSV)
    import_assets(store, path, index=index)
    write(path, GOOD_CSV.replace("E15 4EH,40,active", "E15 4EH,45,active"))
    report = import_assets(store, path, index=index, changed_by="officer@newham")
    assert (report.counts.inserted, report.counts.updated, report.counts.unchanged) == (0, 1, 2)
    assert count(store, Asset) == 3
    with store.transaction() as session:
        frame = assets_frame(session).set_index(S.EXTERNAL_ID)
        assert frame.loc["good:1", S.CAPACITY] == 45
        assert frame.loc["good:1", "version"] == 2 and frame.loc["good:2", "version"] == 1
        past = history(session, "asset", int(frame.loc["good:1", "id"]))
    assert past["version"].tolist() == [2, 1]
    assert past["action"].tolist() == ["import", "create"]
    assert past["changed_by"].iloc[0] == "officer@newham"
    assert past["changes"].iloc[0] == {S.CAPACITY: [40.0, 45.0]}


def test_a_file_without_ids_imported_twice_does_not_duplicate(store: Store, tmp_path: Path,
                                                              index: PostcodeIndex) -> None:
    body = "\n".join(line.split(",", 1)[1] for line in GOOD_CSV.splitlines()) + "\n"
    assert body.startswith("name,category,postcode")
    path = write(tmp_path / "no_ids.csv", body)
    first = import_assets(store, path, index=index)
    with store.transaction() as session:
        ids = sorted(assets_frame(session)[S.EXTERNAL_ID])
    again = import_assets(store, path, index=index)
    assert first.counts.inserted == 3
    assert (again.counts.inserted, again.counts.unchanged) == (0, 3)
    assert count(store, Asset) == 3
    assert all(i.startswith("asset:") for i in ids) and len(set(ids)) == 3
    with store.transaction() as session:
        assert sorted(assets_frame(session)[S.EXTERNAL_ID]) == ids


def test_reimporting_organisations_changes_nothing(store: Store) -> None:
    path = BAD / "organisations_bad_flag.csv"  # its rows 1 and 3 are valid
    report = import_organisations(store, path, skip_invalid=True)
    assert (report.counts.inserted, report.skipped_rows) == (2, 1)
    before = snapshot(store)
    again = import_organisations(store, path, skip_invalid=True)
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 2)
    assert snapshot(store) == before
    with store.transaction() as session:
        orgs = organisations_frame(session).set_index(S.EXTERNAL_ID)
    assert orgs.loc["bad-test-org:1", S.OWNERSHIP_CLASS] == "generative"
    assert orgs.loc["bad-test-org:3", S.CHARITY_NUMBER] == "1234567"


# --- export and import round trip ----------------------------------------------------

_VOLATILE = ["id", "organisation_id", "created_at", "updated_at", "version", "geometry"]


def _edited_demo_assets(demo_store: Store) -> gpd.GeoDataFrame:
    """Give the demo's assets after giving a few of them every optional kind of value."""
    with demo_store.transaction() as session:
        ids = assets_frame(session)["id"].head(4).tolist()
        for n, record_id in enumerate(ids):
            update_record(session, "asset", int(record_id), {
                S.CAPACITY: 12.5 + n, S.STATUS: ["closed", "proposed", "active", "closed"][n],
                S.VERIFIED_BY: "officer@newham",
                S.VERIFIED_AT: datetime(2024, 5, 1, 10, 30, n, tzinfo=UTC),
                S.DESCRIPTION: 'Hall, with "quotes",\na line break and café',
            }, expected_version=1, changed_by="test")
    with demo_store.transaction() as session:
        return assets_frame(session)


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame.drop(columns=_VOLATILE)).sort_values(S.EXTERNAL_ID)
    out[S.VERIFIED_AT] = pd.to_datetime(out[S.VERIFIED_AT], utc=True)
    return out.reset_index(drop=True).astype(object).where(lambda f: f.notna(), None)


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".gpkg"])
def test_export_then_import_into_a_fresh_store_gives_the_same_assets(
    suffix: str, demo_store: Store, store: Store, tmp_path: Path, index: PostcodeIndex
) -> None:
    assets = _edited_demo_assets(demo_store)
    boundary = borough(demo_store)
    with demo_store.transaction() as session:
        organisations = organisations_frame(session)
    orgs_csv = tmp_path / "organisations.csv"
    organisations[[c for c in S.ORGANISATION_COLUMNS if c in organisations]].to_csv(
        orgs_csv, index=False)
    path = tmp_path / f"assets{suffix}"
    assert export_assets(assets, path) == len(assets)

    assert import_organisations(store, orgs_csv).counts.inserted == len(organisations)
    report = import_assets(store, path, index=index, boundary=boundary)
    assert report.counts.inserted == len(assets) and report.problems == []
    with store.transaction() as session:
        again = assets_frame(session)
    pd.testing.assert_frame_equal(_comparable(again), _comparable(assets))
    assert again.geometry.geom_equals_exact(  # same points, matched by external id
        assets.set_index(S.EXTERNAL_ID).loc[again[S.EXTERNAL_ID]].geometry.set_axis(again.index),
        tolerance=1e-12).all()


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".gpkg"])
def test_importing_an_export_back_into_its_store_changes_nothing(
    suffix: str, demo_store: Store, tmp_path: Path, index: PostcodeIndex
) -> None:
    assets = _edited_demo_assets(demo_store)
    path = tmp_path / f"assets{suffix}"
    export_assets(assets, path)
    before = snapshot(demo_store)
    report = import_assets(demo_store, path, index=index, boundary=borough(demo_store))
    assert (report.counts.inserted, report.counts.updated, report.counts.unchanged) == (
        0, 0, len(assets))
    assert snapshot(demo_store) == before


# --- columns -------------------------------------------------------------------------

def test_column_aliases_map_to_our_columns(store: Store, tmp_path: Path,
                                           index: PostcodeIndex) -> None:
    path = write(tmp_path / "aliases.csv",
                 "Ref,Site name,Type,Post Code,Places,Opening hours,Telephone\n"
                 "a1,Memory café at St Marks,Memory café,e6 5ya,12,Tue 10-12,020 7000 0000\n")
    lonlat = write(tmp_path / "lonlat.csv",
                   "Asset ID,Site Name,Service type,Latitude,Longitude\n"
                   "a2,Stratford Community Hall,community_space,51.54321,0.011631\n")
    assert import_assets(store, path, index=index).counts.inserted == 1
    assert import_assets(store, lonlat, index=index).counts.inserted == 1
    with store.transaction() as session:
        got = assets_frame(session).set_index(S.EXTERNAL_ID)
    assert got.loc["a1", [S.NAME, S.CATEGORY, S.POSTCODE, S.CAPACITY, S.OPENING_TIMES,
                          S.CONTACT]].tolist() == [
        "Memory café at St Marks", "memory_cafe", "E6 5YA", 12.0, "Tue 10-12", "020 7000 0000"]
    assert (got.loc["a1", S.LON], got.loc["a1", S.LAT]) == pytest.approx((0.053738, 51.515889),
                                                                           abs=1e-5)
    assert got.loc["a2", [S.NAME, S.CATEGORY]].tolist() == ["Stratford Community Hall",
                                                             "community_space"]
    assert (got.loc["a2", S.LON], got.loc["a2", S.LAT]) == (0.011631, 51.54321)


def test_an_explicit_mapping_wins_over_the_aliases(store: Store, tmp_path: Path,
                                                   index: PostcodeIndex) -> None:
    path = write(tmp_path / "mapped.csv",
                 "ref,Title,Site name,category,postcode\n"
                 "a1,Forest Gate Hall,Upper room,community_space,E7 9AB\n")
    import_assets(store, path, index=index, mapping={"Title": "name", "Site name": "address"})
    with store.transaction() as session:
        got = assets_frame(session).iloc[0]
    assert (got[S.NAME], got[S.ADDRESS], got[S.POSTCODE]) == ("Forest Gate Hall", "Upper room",
                                                              "E7 9AB")


def test_two_headers_for_one_column_is_an_error_until_mapped(store: Store, tmp_path: Path,
                                                             index: PostcodeIndex) -> None:
    path = write(tmp_path / "two_names.csv",
                 "id,name,Site name,category,postcode\n"
                 "a1,Hall,Stratford Community Hall,community_space,E15 4EH\n")
    with pytest.raises(ValidationError) as caught:
        import_assets(store, path, index=index)
    assert [(p.row, p.field) for p in caught.value.problems] == [(None, "Site name")]
    assert "columns 'name' and 'Site name' both mean 'name'" in caught.value.problems[0].reason
    assert count(store, Asset) == 0
    import_assets(store, path, index=index, mapping={"Site name": "description"})
    with store.transaction() as session:
        got = assets_frame(session).iloc[0]
    assert (got[S.NAME], got[S.DESCRIPTION]) == ("Hall", "Stratford Community Hall")


def test_a_cp1252_file_imports_with_the_encoding_given(store: Store, index: PostcodeIndex) -> None:
    report = import_assets(store, BAD / "assets_cp1252.csv", encoding="cp1252", index=index)
    assert report.counts.inserted == 3
    with store.transaction() as session:
        names = set(assets_frame(session)[S.NAME])
    assert "East Ham Memory Café" in names


# --- row numbers and geometry edge cases ----------------------------------------------

def test_row_numbers_count_a_blank_line_as_a_spreadsheet_does(store: Store, tmp_path: Path,
                                                              index: PostcodeIndex) -> None:
    # Excel shows the blank line as data row 2, so the unknown postcode is on data row 3,
    # which is also what the malformed-CSV path reports for the same line.
    body = ("id,name,category,postcode\n"
            "a1,Hall,community_space,E15 4EH\n"
            "\n"
            "a2,Cafe,memory_cafe,{}\n")
    with pytest.raises(ValidationError) as broken:
        import_assets(store, write(tmp_path / "a.csv", body.format("E15 4EH,extra")), index=index)
    assert [p.row for p in broken.value.problems] == [3]
    with pytest.raises(ValidationError) as unknown:
        import_assets(store, write(tmp_path / "b.csv", body.format("E15 9ZZ")), index=index)
    assert [p.row for p in unknown.value.problems if "'E15 9ZZ'" in p.reason] == [3]
    assert count(store, Asset) == 0


def test_an_empty_point_is_reported_not_a_warning() -> None:
    frame = gpd.GeoDataFrame(
        {"id": ["a1", "a2"], "name": ["Hall", "Cafe"], "category": ["other", "other"]},
        geometry=[shapely.Point(0.011631, 51.54321), shapely.Point()], crs=S.STORAGE_CRS)
    prepared, problems = prepare_assets(frame, file="points.gpkg")
    assert prepared[S.LON].iloc[0] == pytest.approx(0.011631)
    assert ("geometry", "geometry is empty; assets must be points") in {
        (p.field, p.reason) for p in problems if p.row == 2}
    assert {p.row for p in problems} == {2}


# --- a 50 MB file ----------------------------------------------------------------------

def test_a_50_mb_file_with_bad_rows_deep_inside_is_rejected_naming_them(
    demo_store: Store, tmp_path: Path, data_dir: Path, index: PostcodeIndex
) -> None:
    started = time.perf_counter()
    postcodes = pd.read_csv(data_dir / NEWHAM_POSTCODES, dtype=str)["postcode"].to_numpy()
    rows = 360_000
    rng = np.random.default_rng(2024)
    numbers = np.arange(1, rows + 1).astype(str)
    frame = pd.DataFrame({
        "id": np.char.add("synthetic:", numbers),
        "name": np.char.add("SYNTHETIC test asset ", numbers),
        "category": rng.choice(["community_space", "peer_group", "memory_cafe", "homecare"], rows),
        "postcode": rng.choice(postcodes, rows),
        "capacity": rng.integers(1, 60, rows).astype(str),
        "status": "active",
        "description": "SYNTHETIC row made by tests/mapping/register/test_importers.py: not a real asset",
    })
    frame.loc[300_000 - 1, "postcode"] = "E15 9ZZ"
    frame.loc[313_131 - 1, "capacity"] = "-3"
    frame.loc[339_999 - 1, "category"] = "bingo hall"
    path = tmp_path / "synthetic_assets.csv"
    frame.to_csv(path, index=False)
    assert path.stat().st_size >= 50_000_000
    before = snapshot(demo_store)
    with pytest.raises(ValidationError) as caught:
        import_assets(demo_store, path, index=index, boundary=borough(demo_store))
    assert_problems(caught.value.problems, (
        (300_000, "postcode", "'E15 9ZZ' is not in OS Code-Point Open"),
        (313_131, "capacity", "-3 is below the minimum 0"),
        (339_999, "category", "unknown category 'bingo hall'"),
    ), path.name)
    assert len(caught.value.problems) == 3
    assert snapshot(demo_store) == before
    assert count(demo_store, RecordHistory) == len(before["record_history"])
    assert time.perf_counter() - started < 60
