"""Export of the register as an HSDS-UK 3.0 package and import of feeds: the round trip of
the real Newham demo, re-imports, bad feeds refused whole, and the standard's own examples."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from mapping import schema as S
from mapping.config import PROJECT_ROOT
from mapping.errors import ValidationError
from mapping.openreferral import load_feed
from mapping.openreferral.export import NESTED_FILE, TABLES, export_package
from mapping.openreferral.importer import import_feed, import_feed_file, read_feed
from mapping.openreferral.mapping import web_address
from mapping.register.records import assets_frame, organisations_frame
from mapping.store.database import Store
from tests.mapping.cli.test_main import run

STANDARD = PROJECT_ROOT.parent / "shared" / "standards" / "oruk-3.0"
ASSET_FIELDS = [S.EXTERNAL_ID, S.NAME, S.DESCRIPTION, S.CATEGORY, S.ADDRESS, S.POSTCODE,
                S.OPENING_TIMES, S.CONTACT, S.ACCESSIBILITY, S.STATUS, S.SOURCE, S.LICENCE,
                S.ATTRIBUTION, S.ORGANISATION_ID, S.OWNERSHIP_CLASS]
ORG_FIELDS = [S.EXTERNAL_ID, S.NAME, S.LEGAL_FORM, "legal_form_key", S.OWNERSHIP_MODEL,
              S.OWNERSHIP_CLASS, S.COMPANY_NUMBER, S.CHARITY_NUMBER, S.CQC_PROVIDER_ID,
              S.SOURCE, S.LICENCE, S.ATTRIBUTION]


def _export(store: Store, directory: Path) -> dict[str, int]:
    with store.session() as session:
        data = load_feed(session, region="London")
    return export_package(data, directory, publisher="Newham", feed_url="http://test/openreferral")


def _public(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    with store.session() as session:
        assets = pd.DataFrame(assets_frame(session, status=["active"]).drop(columns="geometry"))
        orgs = organisations_frame(session)
    # The feed's normal forms: 6 decimal places, websites as absolute URIs, and an address
    # split at its last comma into address_1 and city (so ",London" comes back ", London").
    assets = assets.assign(lon=assets[S.LON].round(6), lat=assets[S.LAT].round(6),
                           website=assets[S.WEBSITE].map(web_address),
                           address=assets[S.ADDRESS].str.replace(r"\s*,\s*", ", ", regex=True))
    orgs = orgs[orgs[S.EXTERNAL_ID].isin(assets[S.ORGANISATION_ID])].assign(
        website=orgs[S.WEBSITE].map(web_address))
    keep = [*ASSET_FIELDS, S.LON, S.LAT, S.WEBSITE]
    return (assets[keep].sort_values(S.EXTERNAL_ID).reset_index(drop=True).astype(object),
            orgs[[*ORG_FIELDS, S.WEBSITE]].sort_values(S.EXTERNAL_ID).reset_index(drop=True)
            .astype(object))


def test_the_demo_register_comes_back_the_same_from_its_package(demo_store: Store, store: Store,
                                                                tmp_path: Path) -> None:
    counts = _export(demo_store, tmp_path / "package")
    assert counts["services.csv"] == counts["locations.csv"] == 410
    report = import_feed_file(store, tmp_path / "package" / NESTED_FILE)
    assert (report.assets.inserted, report.organisations.inserted) == (410, counts["organizations.csv"])
    before, after = _public(demo_store), _public(store)
    pd.testing.assert_frame_equal(before[0].where(before[0].notna(), None),
                                  after[0].where(after[0].notna(), None))
    pd.testing.assert_frame_equal(before[1].where(before[1].notna(), None),
                                  after[1].where(after[1].notna(), None))
    with demo_store.session() as one, store.session() as two:
        assert load_feed(one).terms == load_feed(two).terms  # every taxonomy term
    again = import_feed_file(store, tmp_path / "package" / NESTED_FILE)
    assert (again.assets.inserted, again.assets.updated, again.assets.unchanged) == (0, 0, 410)
    assert (again.organisations.inserted, again.organisations.updated) == (0, 0)


def test_the_package_has_the_profile_s_tables_and_a_descriptor(demo_store: Store, tmp_path: Path) -> None:
    _export(demo_store, tmp_path)
    descriptor = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    paths = {r["path"] for r in descriptor["resources"]}
    assert paths == {*TABLES, NESTED_FILE}
    assert {"OGL v3", "ODbL 1.0"} <= {s["licence"] for s in descriptor["sources"]}
    for path, columns in TABLES.items():
        schema = json.loads((STANDARD / "schema" / _schema_file(path)).read_text(encoding="utf-8"))
        assert schema["path"] == path
        flat = [k for k, v in schema["properties"].items()
                if v.get("type") != "array" and "$ref" not in v and "properties" not in v]
        assert list(columns) == flat, path
        with (tmp_path / path).open(encoding="utf-8") as f:
            assert next(csv.reader(f)) == list(columns)
    locations = pd.read_csv(tmp_path / "locations.csv")
    assert locations["longitude"].between(-0.1, 0.2).all()  # numbers, never quoted as text


def _schema_file(path: str) -> str:
    names = {"organizations.csv": "organization", "organization_identifiers.csv": "organization_identifier",
             "services.csv": "service", "locations.csv": "location",
             "service_at_location.csv": "service_at_location", "address.csv": "address",
             "accessibility.csv": "accessibility", "schedule.csv": "schedule",
             "contacts.csv": "contact", "phones.csv": "phone", "attribute.csv": "attribute",
             "taxonomies.csv": "taxonomy", "taxonomy_terms.csv": "taxonomy_term"}
    return names[path] + ".json"


def _service(**changes: object) -> dict:
    body = json.loads((STANDARD / "examples" / "service_full.json").read_text(encoding="utf-8"))
    location = body["service_at_locations"][0]["location"]
    location |= {"latitude": 51.54, "longitude": 0.0}  # the example's 100, 101 are not on Earth
    return {**body, **changes}


def test_a_feed_service_becomes_an_asset_and_its_organisation(store: Store) -> None:
    report = import_feed(store, [(1, _service())], file="feed.json")
    assert (report.assets.inserted, report.organisations.inserted) == (1, 1)
    with store.session() as session:
        asset = assets_frame(session).iloc[0]
        org = organisations_frame(session).iloc[0]
    assert asset[S.NAME] == "Community Counselling" and asset[S.CATEGORY] == "other"
    assert asset[S.EXTERNAL_ID] == "oruk:e94c9f38-1e8f-4564-91d4-d53501ab1765"
    assert asset[S.ADDRESS] == "1-30 Main Street, MyCity" and asset[S.POSTCODE] == "ABC 1234"
    assert org[S.COMPANY_NUMBER] == "01234567"  # padded to Companies House's eight digits
    assert org[S.EXTERNAL_ID].startswith("oruk:")
    assert import_feed(store, [(1, _service())], file="feed.json").assets.unchanged == 1


@pytest.mark.parametrize(("record", "field"), [
    (_service(name=None), "name"),
    (_service(id="42"), "id"),
    (_service(organization_id="6b2e8f5e-0000-4000-8000-000000000000"), "organization_id"),
    ({**_service(), "service_at_locations": [{"id": "e94c9f38-1e8f-4564-91d4-d53501ab1765",
                                              "location_id": "0d0c4a8e-0000-4000-8000-000000000000"}]},
     "location_id"),
    ({**_service(), "service_at_locations": [{"id": "e94c9f38-1e8f-4564-91d4-d53501ab1765",
                                              "location": {"id": "0d0c4a8e-0000-4000-8000-000000000000",
                                                           "location_type": "physical",
                                                           "addresses": [{"address_1": "1 High St"}]}}]},
     "location"),
])
def test_bad_records_are_refused_whole_with_their_row(store: Store, record: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        import_feed(store, [(1, _service()), (2, record)], file="feed.ndjson")
    assert {(p.row, p.field) for p in caught.value.problems} >= {(2, field)}
    with store.session() as session:
        assert assets_frame(session).empty and organisations_frame(session).empty


def test_a_service_with_no_physical_place_is_named_not_added_and_its_organisation_is(
        store: Store) -> None:
    helpline = {**_service(), "id": "0b6f4e0e-1111-4000-8000-000000000001", "name": "Helpline",
                "service_at_locations": []}
    website = {**_service(), "id": "0b6f4e0e-1111-4000-8000-000000000002", "name": "Web chat"}
    website["service_at_locations"] = [{**website["service_at_locations"][0], "location": {
        **website["service_at_locations"][0]["location"], "location_type": "virtual",
        "latitude": None, "longitude": None}}]
    report = import_feed(store, [(1, helpline), (2, website)], file="feed.ndjson")
    assert report.unplaced == ["Helpline", "Web chat"]
    assert (report.assets.inserted, report.organisations.inserted) == (0, 1)


def test_a_location_with_only_a_postcode_is_placed_by_it(demo_store: Store) -> None:
    from mapping.places.postcode_store import stored_index
    with demo_store.session() as session:
        index = stored_index(session)
    record = _service()
    location = record["service_at_locations"][0]["location"]
    location |= {"latitude": None, "longitude": None}
    location["addresses"] = [{**location["addresses"][0], "postal_code": "E15 4BQ"}]
    report = import_feed(demo_store, [(1, record)], file="feed.json", index=index)
    assert report.assets.inserted == 1
    with demo_store.session() as session:
        frame = assets_frame(session)
    placed = frame[frame[S.EXTERNAL_ID] == "oruk:e94c9f38-1e8f-4564-91d4-d53501ab1765"].iloc[0]
    assert 51.5 < placed[S.LAT] < 51.6 and -0.05 < placed[S.LON] < 0.1


def test_coordinates_outside_the_uk_and_a_wrong_version_are_refused(store: Store) -> None:
    paris = _service()
    paris["service_at_locations"][0]["location"] |= {"latitude": 48.86, "longitude": 2.35}
    with pytest.raises(ValidationError) as caught:
        import_feed(store, [(1, paris)], file="feed.json")
    assert [p.row for p in caught.value.problems] == [1]
    assert "UK" in caught.value.problems[0].reason
    records, problems = read_feed(json.dumps({"version": "HSDS-2.0", "services": [_service()]}))
    assert [(p.field, p.row) for p in problems] == [("version", None)]
    lines, problems = read_feed(json.dumps(_service()) + "\n{not json\n")
    assert lines == [] and [p.row for p in problems] == [2]


def test_the_standard_s_examples_are_read_and_refused_only_for_their_coordinates(store: Store) -> None:
    for path in sorted((STANDARD / "examples").glob("*.json")):
        records, problems = read_feed(path.read_text(encoding="utf-8"), file=path.name)
        assert problems == [], path.name
        off_earth = '"latitude": 100' in path.read_text(encoding="utf-8")
        try:
            import_feed(store, records, file=path.name)
            assert not off_earth, path.name
        except ValidationError as exc:  # only for latitude 100 / longitude 101
            assert off_earth and {p.field for p in exc.problems} == {"lon/lat"}, (path.name, exc)
        # Put on Earth (the examples' latitude 100, longitude 101 are not), they import.
        text = re.sub(r'"latitude": *100', '"latitude": 51.54', path.read_text(encoding="utf-8"))
        text = re.sub(r'"longitude": *101', '"longitude": 0.01', text)
        report = import_feed(store, read_feed(text, file=path.name)[0], file=path.name)
        if "service_list" in path.name:  # list services carry no location: named, not added
            assert report.unplaced and report.assets.inserted == 0
    with store.session() as session:
        assert len(assets_frame(session)) == 1  # the examples' one service, at one location
        assert len(organisations_frame(session)) == 1


def test_export_and_import_commands(runner: CliRunner, demo_store: Store, store: Store,
                                    tmp_path: Path) -> None:
    result = run(runner, demo_store, "export-openreferral", str(tmp_path / "pkg"))
    assert result.exit_code == 0, result.output
    assert "410 services.csv" in result.output
    result = run(runner, store, "import-openreferral", str(tmp_path / "pkg" / NESTED_FILE))
    assert result.exit_code == 0, result.output
    assert "assets 410 added" in result.output
    bad = tmp_path / "bad.ndjson"
    bad.write_text(json.dumps(_service(name="")) + "\n", encoding="utf-8")
    result = run(runner, store, "import-openreferral", str(bad), "--report", str(tmp_path / "p.csv"))
    assert result.exit_code == 1 and "name" in result.output
    assert "required field 'name'" in (tmp_path / "p.csv").read_text(encoding="utf-8")
