"""Tests for mapping/register/cqc.py: CQC location files read into assets and organisations.

The HSCA fixture and the API records written here are SYNTHETIC (tests/data/cqc/README.md); the
Newham files are the real CQC data in the shared data folder.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mapping import schema as S
from mapping.errors import ValidationError
from mapping.register.cqc import (
    ASSET_EXTRA_COLUMNS,
    ORGANISATION_EXTRA_COLUMNS,
    cqc_locations,
    load_service_types,
    provider_legal_forms,
    service_categories,
)
from mapping.register.importers import prepare_assets, prepare_organisations
from mapping.register.taxonomy import load_categories

FIXTURE = Path(__file__).resolve().parents[2] / "data" / "cqc" / "hsca_active_locations_SYNTHETIC.csv"
NEWHAM = "newham/care_providers/cqc_api_newham_2026-08-22"


def _by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index(S.EXTERNAL_ID)


def _rows(path: Path = FIXTURE) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def _mutated(tmp_path: Path, row: int, column: str, value: str) -> Path:
    """Give a copy of the fixture with one cell changed; ``row`` is the data row (1 = first)."""
    rows = _rows()
    rows[1 + row][rows[1].index(column)] = value  # line 0 is the preamble, line 1 the header
    return _write(tmp_path / "changed.csv", rows)


# --- the synthetic HSCA fixture ---------------------------------------------------------------

def test_the_fixture_says_it_is_synthetic_and_every_name_is() -> None:
    assert _rows()[0][0].startswith("SYNTHETIC TEST DATA")
    result = cqc_locations(FIXTURE)
    assert result.assets[S.NAME].str.contains("SYNTHETIC").all()
    assert result.organisations[S.NAME].str.contains("SYNTHETIC").all()


def test_every_mapped_column_of_an_hsca_row() -> None:
    result = cqc_locations(FIXTURE)
    assert result.layout == "hsca" and result.file == FIXTURE.name and result.problems == []
    assert list(result.assets.columns) == [
        S.EXTERNAL_ID, S.NAME, S.DESCRIPTION, S.CATEGORY, S.ORGANISATION_ID, S.ADDRESS, S.POSTCODE,
        S.LON, S.LAT, S.CAPACITY, S.CONTACT, S.WEBSITE, S.STATUS, S.SOURCE, S.LICENCE, S.ATTRIBUTION,
        *ASSET_EXTRA_COLUMNS]
    home = _by_id(result.assets).loc["cqc:1-SYN0001"]
    assert home[S.NAME] == "SYNTHETIC Oak House Nursing Home"
    assert home[S.CATEGORY] == "nursing"
    assert home[S.ORGANISATION_ID] == "cqc-provider:1-SYNP01"
    assert home[S.ADDRESS] == "1 Synthetic Road, Forest Gate, London"
    assert home[S.POSTCODE] == "E7 0AA"
    assert (home[S.LON], home[S.LAT]) == (0.026, 51.549)
    assert home[S.CAPACITY] == 42
    assert home[S.CONTACT] == "02000000001"
    assert home[S.WEBSITE] == "www.oak-house.synthetic.invalid"
    assert (home[S.STATUS], home[S.SOURCE], home[S.LICENCE]) == ("active", "import", "OGL v3")
    assert home[S.ATTRIBUTION].startswith("Care Quality Commission")
    assert home["cqc_location_id"] == "1-SYN0001"
    assert home["cqc_service_types"] == "Care home service with nursing; Care home service without nursing"
    assert (home["cqc_rating"], home["cqc_rating_date"]) == ("Good", "2024-03-14")
    assert (home["registered_on"], home["deregistered_on"]) == ("2011-04-01", None)
    assert home["cqc_local_authority"] == "Newham"
    assert "Registered with the CQC on 1 April 2011." in home[S.DESCRIPTION]
    assert "CQC overall rating: Good (report of 14 March 2024)." in home[S.DESCRIPTION]
    unrated = _by_id(result.assets).loc["cqc:1-SYN0003"]
    assert (unrated["cqc_rating"], unrated["cqc_rating_date"]) == (None, None)
    assert "No CQC rating in the file." in unrated[S.DESCRIPTION]
    assert "dormant" in _by_id(result.assets).loc["cqc:1-SYN0008", S.DESCRIPTION]


def test_the_preamble_line_is_skipped(tmp_path: Path) -> None:
    with_preamble = cqc_locations(FIXTURE)
    without = cqc_locations(_write(tmp_path / FIXTURE.name, _rows()[1:]))
    assert len(with_preamble.assets) == 8
    assert with_preamble.assets[S.EXTERNAL_ID].iloc[0] == "cqc:1-SYN0001"
    pd.testing.assert_frame_equal(with_preamble.assets, without.assets)


def test_y_flags_give_the_service_types_and_precedence_picks_the_category() -> None:
    assets = _by_id(cqc_locations(FIXTURE).assets)
    assert assets[S.CATEGORY].to_dict() == {
        "cqc:1-SYN0001": "nursing",  # with and without nursing: nursing wins
        "cqc:1-SYN0002": "supported_living",  # domiciliary + supported living
        "cqc:1-SYN0003": "homecare",
        "cqc:1-SYN0004": "shared_lives",
        "cqc:1-SYN0005": "extra_care",  # domiciliary + extra care housing
        "cqc:1-SYN0006": "reablement",
        "cqc:1-SYN0007": "residential",
        "cqc:1-SYN0008": "gp_practice",
    }
    assert assets.loc["cqc:1-SYN0005", "cqc_service_types"] == (
        "Domiciliary care service; Extra Care housing services")
    assert not assets["cqc_service_types"].str.contains("Older People").any()  # a user band, not a type


def test_beds_become_capacity_only_above_zero() -> None:
    capacity = _by_id(cqc_locations(FIXTURE).assets)[S.CAPACITY]
    assert capacity["cqc:1-SYN0001"] == 42 and capacity["cqc:1-SYN0007"] == 12
    assert math.isnan(capacity["cqc:1-SYN0002"])  # "0" on a homecare agency
    assert math.isnan(capacity["cqc:1-SYN0004"])  # blank


def test_a_location_with_an_end_date_is_closed_with_that_date() -> None:
    assets = _by_id(cqc_locations(FIXTURE).assets)
    assert assets[S.STATUS].to_dict() == {i: "closed" if i == "cqc:1-SYN0007" else "active"
                                          for i in assets.index}
    assert assets.loc["cqc:1-SYN0007", "deregistered_on"] == "2024-06-30"
    assert "Deregistered on 30 June 2024." in assets.loc["cqc:1-SYN0007", S.DESCRIPTION]


def test_providers_get_numbers_legal_forms_and_classes() -> None:
    orgs = _by_id(cqc_locations(FIXTURE).organisations)
    assert len(orgs) == 6  # 8 locations; two providers run two each
    got = orgs[[S.LEGAL_FORM, S.OWNERSHIP_CLASS, S.COMPANY_NUMBER, S.CHARITY_NUMBER]]
    assert got.to_dict("index") == {
        "cqc-provider:1-SYNP01": {S.LEGAL_FORM: "Private Limited Company", S.OWNERSHIP_CLASS: "extractive",
                                  S.COMPANY_NUMBER: "01234567", S.CHARITY_NUMBER: None},
        "cqc-provider:1-SYNP02": {S.LEGAL_FORM: "Community Interest Company",
                                  S.OWNERSHIP_CLASS: "generative", S.COMPANY_NUMBER: "12345678",
                                  S.CHARITY_NUMBER: None},
        "cqc-provider:1-SYNP03": {S.LEGAL_FORM: "Local authority", S.OWNERSHIP_CLASS: "in-house",
                                  S.COMPANY_NUMBER: None, S.CHARITY_NUMBER: None},
        "cqc-provider:1-SYNP04": {S.LEGAL_FORM: "Registered charity", S.OWNERSHIP_CLASS: "generative",
                                  S.COMPANY_NUMBER: None, S.CHARITY_NUMBER: "1098765"},
        "cqc-provider:1-SYNP05": {S.LEGAL_FORM: "Partnership", S.OWNERSHIP_CLASS: "extractive",
                                  S.COMPANY_NUMBER: None, S.CHARITY_NUMBER: None},
        "cqc-provider:1-SYNP06": {S.LEGAL_FORM: "Sole trader", S.OWNERSHIP_CLASS: "unknown",
                                  S.COMPANY_NUMBER: None, S.CHARITY_NUMBER: None},
    }
    home_office = orgs.loc["cqc-provider:1-SYNP01"]
    assert (home_office[S.NAME], home_office[S.CQC_PROVIDER_ID]) == ("SYNTHETIC Care Homes Ltd", "1-SYNP01")
    assert (home_office[S.ADDRESS], home_office[S.POSTCODE]) == ("9 Synthetic Way, London", "E15 1AA")
    assert home_office[S.WEBSITE] == "www.synthetic-care-homes.invalid"
    assert home_office["cqc_ownership_type"] == "Organisation"
    assert home_office["legal_form_evidence"].startswith("'Ltd' in the name")
    assert orgs.loc["cqc-provider:1-SYNP03", "legal_form_evidence"] == "CQC ownership type 'Local Authority'"


def test_the_frames_go_straight_to_the_importers() -> None:
    result = cqc_locations(FIXTURE)
    assets, problems = prepare_assets(result.assets, file=result.file)
    assert problems == [] and len(assets) == 8
    assert list(assets[S.CATEGORY]) == list(result.assets[S.CATEGORY])
    stored = {S.CQC_LOCATION_ID, S.CQC_RATING, *S.CARE_SITE_DATES}  # the store keeps these
    assert set(ASSET_EXTRA_COLUMNS) & set(assets.columns) == stored
    assert assets[S.CQC_LOCATION_ID].tolist() == result.assets[S.CQC_LOCATION_ID].tolist()
    registered = [None if not v else v for v in result.assets[S.REGISTERED_ON]]
    assert [None if d is None else d.isoformat() for d in assets[S.REGISTERED_ON]] == registered
    orgs, problems = prepare_organisations(result.organisations, file=result.file)
    assert problems == [] and len(orgs) == 6
    assert list(orgs[S.OWNERSHIP_CLASS]) == list(result.organisations[S.OWNERSHIP_CLASS])
    assert list(result.organisations.columns[-3:]) == list(ORGANISATION_EXTRA_COLUMNS)


def test_a_local_authority_keeps_only_its_locations() -> None:
    assert len(cqc_locations(FIXTURE, local_authority="newham").assets) == 8
    with pytest.raises(ValidationError, match="no location in local authority 'Hackney'"):
        cqc_locations(FIXTURE, local_authority="Hackney")


# --- bad input: file, row, field and reason; nothing partial -----------------------------------

@pytest.mark.parametrize(("column", "row", "value", "field", "reason"), [
    ("Location ID", 3, "", "Location ID", "the CQC location id is blank"),
    ("Location ID", 2, "1-SYN0001", "Location ID", "location id '1-SYN0001' is already on row 1"),
    ("Location Name", 4, " ", "Location Name", "the location name is blank"),
    ("Location Latitude", 2, "48.85", "Location Latitude/Location Longitude", "outside the UK"),
    ("Location Longitude", 5, "", "Location Latitude/Location Longitude", "lon is missing"),
    ("Location HSCA start date", 5, "31/02/2020", "Location HSCA start date", "is not a date"),
    ("Care homes beds", 1, "lots", "Care homes beds", "'lots' is not a number"),
    ("Service type - Shared Lives", 6, "X", "Service type - Shared Lives", "'X' is not Y or blank"),
])
def test_a_bad_cell_names_file_row_field_and_reason(tmp_path: Path, column: str, row: int, value: str,
                                                     field: str, reason: str) -> None:
    path = _mutated(tmp_path, row, column, value)
    with pytest.raises(ValidationError) as raised:
        cqc_locations(path)
    [problem] = raised.value.problems
    assert (problem.file, problem.row, problem.field) == ("changed.csv", row, field)
    assert reason in problem.reason
    kept = cqc_locations(path, skip_invalid=True)
    assert len(kept.assets) == 7 and kept.problems == [problem]


def test_a_missing_id_column_is_a_file_problem(tmp_path: Path) -> None:
    rows = _rows()
    at = rows[1].index("Location ID")
    trimmed = [[c for i, c in enumerate(r) if i != at] for r in rows[1:]]
    path = _write(tmp_path / "no_id.csv", [rows[0], *trimmed])
    with pytest.raises(ValidationError) as raised:
        cqc_locations(path)
    [problem] = raised.value.problems
    assert (problem.file, problem.row, problem.field) == ("no_id.csv", None, "Location ID")
    assert "required column 'Location ID' is missing" in problem.reason


@pytest.mark.parametrize(("name", "text"), [
    ("register.csv", "name,postcode\nA hall,E15 1AA\n"),
    ("register.json", '[{"name": "A hall", "postcode": "E15 1AA"}]'),
    ("empty.json", "[]"),
])
def test_an_unknown_layout_is_refused(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as raised:
        cqc_locations(tmp_path / name)
    [problem] = raised.value.problems
    assert problem.file == name and "not a CQC layout" in problem.reason


def test_malformed_csv_rows_are_refused(tmp_path: Path) -> None:
    rows = _rows()
    rows[3] = rows[3][:5]
    with pytest.raises(ValidationError, match="expected 43 fields, found 5") as raised:
        cqc_locations(_write(tmp_path / "short.csv", rows))
    assert raised.value.problems[0].row == 2


# --- CQC API location JSON (synthetic records) --------------------------------------------------

def _api_location(**over: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "locationId": "1-SYNAPI1", "providerId": "1-SYNAPIP1", "providerName": "SYNTHETIC Api Homes Ltd",
        "organisationType": "Location", "type": "Social Care Org", "name": "SYNTHETIC Api Nursing Home",
        "registrationStatus": "Registered", "registrationDate": "2016-05-03", "numberOfBeds": 30,
        "postalAddressLine1": "10 Synthetic Street", "postalAddressLine2": "Stratford",
        "postalAddressTownCity": "London", "postalCode": "E15 4ZZ", "onspdLatitude": 51.541,
        "onspdLongitude": 0.001, "mainPhoneNumber": "02000000010", "website": "www.api.synthetic.invalid",
        "localAuthority": "Newham", "careHome": "Y",
        "gacServiceTypes": [
            {"name": "Nursing homes", "description": "Care home service with nursing"},
            {"name": "Residential homes", "description": "Care home service without nursing"}],
        "regulatedActivities": [{"name": "Accommodation for persons who require nursing or personal care",
                                 "code": "RA2"}],
        "specialisms": [{"name": "Dementia"}],
        "currentRatings": {"overall": {"rating": "Requires improvement", "reportDate": "2023-07-01"},
                           "reportDate": "2023-07-01"},
    }
    return {**record, **over}


API_RECORDS = [
    _api_location(),
    _api_location(locationId="1-SYNAPI2", providerId="1-SYNAPIP2", providerName=None,
                  name="SYNTHETIC Api Homecare", registrationStatus="Deregistered",
                  deregistrationDate="2022-01-31", numberOfBeds=0, currentRatings={},
                  gacServiceTypes=[{"name": "Homecare agencies", "description": "Domiciliary care service"}]),
    # a public name this table does not know, with a description it does
    _api_location(locationId="1-SYNAPI3", name="SYNTHETIC Api Third Home", currentRatings={},
                  gacServiceTypes=[{"name": "With nursing",
                                    "description": "Care home service with nursing"}]),
]


def test_api_location_json_is_read(tmp_path: Path) -> None:
    path = tmp_path / "locations.json"
    path.write_text(json.dumps(API_RECORDS), encoding="utf-8")
    result = cqc_locations(path)
    assert result.layout == "api" and result.problems == []
    assets = _by_id(result.assets)
    first, second, third = (assets.loc[f"cqc:1-SYNAPI{i}"] for i in (1, 2, 3))
    assert (first[S.CATEGORY], second[S.CATEGORY], third[S.CATEGORY]) == ("nursing", "homecare", "nursing")
    assert first["cqc_service_types"] == "Nursing homes; Residential homes"
    assert third["cqc_service_types"] == "Care home service with nursing"
    assert first[S.ADDRESS] == "10 Synthetic Street, Stratford, London"
    assert (first[S.POSTCODE], first[S.LON], first[S.LAT]) == ("E15 4ZZ", 0.001, 51.541)
    assert (first[S.CAPACITY], first[S.CONTACT]) == (30, "02000000010")
    assert (first["cqc_rating"], first["cqc_rating_date"]) == ("Requires improvement", "2023-07-01")
    assert "CQC overall rating: Requires improvement (report of 1 July 2023)." in first[S.DESCRIPTION]
    assert (first[S.STATUS], first["registered_on"]) == ("active", "2016-05-03")
    assert first["deregistered_on"] is None
    assert (second[S.STATUS], second["deregistered_on"]) == ("closed", "2022-01-31")
    assert "Deregistered on 31 January 2022." in second[S.DESCRIPTION]
    assert math.isnan(second[S.CAPACITY]) and second["cqc_rating"] is None
    orgs = _by_id(result.organisations)
    assert orgs.loc["cqc-provider:1-SYNAPIP1", S.OWNERSHIP_CLASS] == "extractive"
    assert orgs.loc["cqc-provider:1-SYNAPIP2", S.NAME] == "CQC provider 1-SYNAPIP2 (no name given)"


def test_one_api_object_and_ndjson_read_like_a_list(tmp_path: Path) -> None:
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(API_RECORDS), encoding="utf-8")
    ndjson = tmp_path / "lines.ndjson"
    ndjson.write_text("\n".join(json.dumps(r) for r in API_RECORDS) + "\n", encoding="utf-8")
    one = tmp_path / "one.json"
    one.write_text(json.dumps(API_RECORDS[0]), encoding="utf-8")
    pd.testing.assert_frame_equal(cqc_locations(listed).assets, cqc_locations(ndjson).assets)
    pd.testing.assert_frame_equal(cqc_locations(one).assets, cqc_locations(listed).assets.iloc[:1])


def test_an_unknown_service_type_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps([API_RECORDS[1], _api_location(
        gacServiceTypes=[{"name": "Teleportation", "description": "Teleport service"}])]), encoding="utf-8")
    with pytest.raises(ValidationError) as raised:
        cqc_locations(path)
    [problem] = raised.value.problems
    assert (problem.row, problem.field) == (2, "gacServiceTypes")
    assert "service type 'Teleportation' is not in data/cqc_service_types.csv" in problem.reason


def test_a_bad_api_value_names_its_record(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    madrid = _api_location(locationId="1-SYNAPI9", onspdLatitude=40.4, onspdLongitude=-3.7)
    path.write_text(json.dumps([_api_location(registrationStatus="Suspended"), madrid]), encoding="utf-8")
    with pytest.raises(ValidationError) as raised:
        cqc_locations(path)
    got = [(p.row, p.field) for p in raised.value.problems]
    assert got == [(1, "registrationStatus"), (2, "onspdLatitude/onspdLongitude")]


# --- the service type table and the legal forms --------------------------------------------------

def test_the_service_type_table_maps_to_category_codes() -> None:
    table = load_service_types()
    assert set(table["category"]) <= set(load_categories().index)
    for spelling in ("Homecare agencies", "Domiciliary care service", "Supported living",
                     "Supported living service", "Residential homes", "Care home service without nursing",
                     "Nursing homes", "Care home service with nursing", "Extra Care housing services",
                     "Shared Lives", "Rehabilitation services", "Doctors/Gps", "Dentist"):
        assert spelling.casefold() in set(table["key"]), spelling


def test_a_bad_service_type_table_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "types.csv"
    bad.write_text("service_type,category,precedence\nHomecare agencies,home_help,60\n"
                   "Supported living,supported_living,first\n", encoding="utf-8")
    with pytest.raises(ValidationError) as raised:
        load_service_types(bad)
    assert [(p.row, p.field) for p in raised.value.problems] == [(1, "category"), (2, "precedence")]


def test_precedence_picks_one_category() -> None:
    types = pd.Series([["Homecare agencies", "Supported living"],
                       ["Hospital", "Rehabilitation (illness/injury)"], ["Rehabilitation services"],
                       ["Doctors/Gps", "Dentist"], [], ["Nope"]])
    chosen = service_categories(types)
    assert list(chosen[S.CATEGORY]) == ["supported_living", "other", "reablement", "gp_practice", "other",
                                        None]
    assert list(chosen["unknown"]) == [[], [], [], [], [], ["Nope"]]


def test_legal_form_evidence_order_and_rules_the_register_lacks() -> None:
    names = pd.Series(["SYNTHETIC Borough Trust", "SYNTHETIC Council Care", "SYNTHETIC Friends Ltd",
                       "Mrs A SYNTHETIC", "SYNTHETIC Health NHS Trust"])
    forms = provider_legal_forms(names, pd.Series(["Organisation", "Local Authority", "Organisation",
                                                   "Individual", "NHS Body"]),
                                 pd.Series(["", "1234567", "1234567", "", ""]))
    assert list(forms[S.LEGAL_FORM]) == ["trust", "Local authority", "Registered charity", "Sole trader",
                                         "NHS body"]
    assert list(forms[S.OWNERSHIP_CLASS]) == ["unknown", "in-house", "generative", "unknown", "unknown"]
    assert "data/legal_forms.csv has no rule for 'trust'" in forms["legal_form_evidence"].iloc[0]


# --- the real Newham file ----------------------------------------------------------------------

def _types(record: dict[str, Any]) -> set[str]:
    return set(record["gacServiceTypes"])


def test_newham_real_file(data_dir: Path) -> None:
    raw = json.loads((data_dir / f"{NEWHAM}.json").read_text(encoding="utf-8"))
    result = cqc_locations(data_dir / f"{NEWHAM}.json", local_authority="Newham")
    assets = _by_id(result.assets)
    assert result.layout == "cache" and result.problems == []
    assert len(assets) == len(raw) == 441
    assert (assets[S.STATUS] == "active").sum() == 195
    assert (assets[S.STATUS] == "active").sum() == sum(r["registrationStatus"] == "Registered" for r in raw)
    # counted from the file with the documented precedence: care homes and extra care first, then
    # supported living, then shared lives, then homecare
    housing = {"Nursing homes", "Residential homes", "Supported housing"}
    expected = {
        "supported_living": {f"cqc:{r['locationId']}" for r in raw
                             if "Supported living" in _types(r) and not _types(r) & housing},
        "homecare": {f"cqc:{r['locationId']}" for r in raw if "Homecare agencies" in _types(r)
                     and not _types(r) & (housing | {"Supported living", "Shared lives"})},
    }
    for category, ids in expected.items():
        assert set(assets.index[assets[S.CATEGORY] == category]) == ids
        active = {f"cqc:{r['locationId']}" for r in raw if r["registrationStatus"] == "Registered"}
        assert len(ids & active) > 20, category  # real, current sites
    assert assets[S.CAPACITY].isna().all()  # the cache has no bed counts
    rated = assets[assets["cqc_rating"].notna()]
    assert len(rated) == sum(bool(r["currentRating"]) for r in raw)
    assert rated[S.DESCRIPTION].str.contains(r"\(the file gives no date\)").all()


def test_newham_csv_twin_reads_the_same(data_dir: Path) -> None:
    from_json = cqc_locations(data_dir / f"{NEWHAM}.json")
    from_csv = cqc_locations(data_dir / f"{NEWHAM}.csv")
    assert from_csv.layout == "cache"
    pd.testing.assert_frame_equal(from_json.assets, from_csv.assets)
    pd.testing.assert_frame_equal(from_json.organisations, from_csv.organisations)


def test_newham_providers(data_dir: Path) -> None:
    raw = json.loads((data_dir / f"{NEWHAM}.json").read_text(encoding="utf-8"))
    orgs = cqc_locations(data_dir / f"{NEWHAM}.json").organisations.set_index(S.NAME)
    assert len(orgs) == len({r["providerId"] for r in raw}) == 345
    assert orgs.loc["London Borough of Newham", S.OWNERSHIP_CLASS] == "in-house"  # by its name
    kinds = {r["providerName"]: r["ownershipType"] for r in raw}
    partnerships = [n for n, k in kinds.items() if k == "Partnership"]
    assert set(orgs.loc[partnerships, S.OWNERSHIP_CLASS]) == {"extractive"}
    assert orgs[S.COMPANY_NUMBER].isna().all() and orgs[S.CHARITY_NUMBER].isna().all()  # not in the cache


def test_every_london_service_type_is_in_the_table(data_dir: Path, tmp_path: Path) -> None:
    # the untouched London cache (16,015 locations), keyed by location id
    text = gzip.decompress((data_dir / "newham/care_providers/GP-Directory_cqc_london_cache.json.gz")
                           .read_bytes()).decode("utf-8")
    (tmp_path / "london.json").write_text(text, encoding="utf-8")
    result = cqc_locations(tmp_path / "london.json")
    assert len(result.assets) == len(json.loads(text)) == 16015 and result.problems == []
