"""The Open Referral UK feed, checked the way the official validator checks a feed.

As ``../shared/standards/oruk-3.0/PROVENANCE.md`` describes OpenReferralUK/oruk-validator:
GET ``/`` and read ``version``; call every collection endpoint at page 1, a middle page and
the last page (here: every page), keep the ids, call each ``/{id}``; validate every body
against the standard's JSON Schemas (the compiled ones in ``schema/compiled/``, and
``schema/taxonomy*.json``), with their published ``https://raw.githubusercontent.com/...``
references resolved to the local copies, formats (uuid, uri, email, date-time) asserted.
Zero errors, and no warning either (an empty collection is the validator's warning).

The standard's OpenAPI document names ``compiled/service.json`` for
``/service_at_locations/{id}``, yet its own example (``service_at_location_full.json``) and
the validator's mock answer are service_at_location objects, which that schema refuses
(no ``name``, no ``status``): that endpoint is validated against
``compiled/service_at_location.json``, the schema the standard publishes for it.

Served over real HTTP from a live test server, over the real Newham demo: 566 assets, of
which 410 active (and so published).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import text

from mapping.api.openreferral import SCHEMA_BASE
from mapping.config import PROJECT_ROOT, Settings
from mapping.openreferral import ids
from mapping.openreferral import taxonomy as T
from mapping.register.records import organisation_ids, upsert_records
from mapping.store.database import Store
from tests.conftest import serving
from web import create_app

STANDARD = PROJECT_ROOT.parent / "shared" / "standards" / "oruk-3.0"
ACTIVE = 410
FEED = "/openreferral"
COLLECTIONS = {  # endpoint: (schema of each item, schema of /{id})
    "/services": ("compiled/service_list.json", "compiled/service.json"),
    "/service_at_locations": ("compiled/service_at_location_list.json",
                              "compiled/service_at_location.json"),
    "/taxonomies": ("taxonomy.json", "taxonomy.json"),
    "/taxonomy_terms": ("taxonomy_term.json", "taxonomy_term.json"),
}


def _registry() -> Registry:
    resources = []
    for path in sorted((STANDARD / "schema").rglob("*.json")):
        uri = SCHEMA_BASE + path.relative_to(STANDARD / "schema").as_posix()
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((uri, Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


REGISTRY = _registry()
SPEC = json.loads((STANDARD / "schema" / "openapi.json").read_text(encoding="utf-8"))


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """Give a validator for ``schema`` that resolves the standard's URLs offline, formats on."""
    return Draft202012Validator(schema, registry=REGISTRY,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def page_validator(item_schema: str) -> Draft202012Validator:
    """The spec's own list response: ``Page`` (components) with ``contents`` of the items."""
    page = SPEC["components"]["schemas"]["Page"]
    return validator({"allOf": [page], "required": [*page["properties"], "contents"],
                      "properties": {"contents": {"type": "array",
                                                  "items": {"$ref": SCHEMA_BASE + item_schema}}}})


ROOT_VALIDATOR = validator(
    {**SPEC["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
     "required": ["version", "profile", "openapi_url"]})
PAGE_VALIDATORS = {path: page_validator(item) for path, (item, _) in COLLECTIONS.items()}
ONE_VALIDATORS = {path: validator({"$ref": SCHEMA_BASE + one})
                  for path, (_, one) in COLLECTIONS.items()}


def errors(check: Draft202012Validator, body: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in check.iter_errors(body)]


@pytest.fixture
def feed_app(settings: Settings) -> Flask:
    return create_app({"TESTING": True, "MAPPING_SETTINGS": settings, "RATELIMIT_ENABLED": False})


@pytest.fixture
def feed(feed_app: Flask) -> FlaskClient:
    return feed_app.test_client()


@pytest.fixture
def live_feed(feed_app: Flask) -> Iterator[str]:
    """The feed served over real HTTP, as the official validator calls it."""
    with serving(feed_app) as url:
        yield url + FEED


def http_get(url: str) -> Any:
    """GET over HTTP as the validator does: a 200, JSON, open to any site."""
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback)
        assert response.status == 200, url
        assert response.headers.get_content_type() == "application/json"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        return json.loads(response.read())


def get(client: FlaskClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.get_json()


# --- the validator's run ---------------------------------------------------------------------


def test_the_feed_passes_the_validator_s_checks_with_no_error_and_no_warning(live_feed: str) -> None:
    root = http_get(live_feed + "/")
    assert errors(ROOT_VALIDATOR, root) == []
    assert root["version"] == "HSDS-UK-3.0"
    found: dict[str, list[str]] = {}
    for path, check in PAGE_VALIDATORS.items():
        first = http_get(f"{live_feed}{path}?page=1&per_page=50")
        pages = first["total_pages"]
        seen: list[str] = []
        for page in range(1, pages + 1):  # page 1, the middle pages and the last
            body = http_get(f"{live_feed}{path}?page={page}&per_page=50")
            assert errors(check, body) == [], (path, page, errors(check, body)[:5])
            assert body["page_number"] == page and body["size"] == len(body["contents"])
            assert body["first_page"] is (page == 1) and body["last_page"] is (page == pages)
            assert body["empty"] is False  # an empty list is the validator's warning
            seen += [item["id"] for item in body["contents"]]
        assert len(seen) == len(set(seen)) == first["total_items"], path  # pages never overlap
        found[path] = seen
    assert len(found["/services"]) == len(found["/service_at_locations"]) == ACTIVE
    for path, item_ids in found.items():
        check = ONE_VALIDATORS[path]
        for item_id in item_ids:
            body = http_get(f"{live_feed}{path}/{item_id}")
            assert errors(check, body) == [], (path, item_id, errors(check, body)[:5])
            assert body["id"] == item_id


def test_every_term_an_attribute_links_to_is_published(feed: FlaskClient) -> None:
    published = {t["id"]: t for t in get(feed, f"{FEED}/taxonomy_terms?per_page=1000")["contents"]}
    taxonomies = {t["id"] for t in get(feed, f"{FEED}/taxonomies")["contents"]}
    page = get(feed, f"{FEED}/services?per_page=1000")["contents"]
    linked = 0
    for item in page:
        service = get(feed, f"{FEED}/services/{item['id']}")
        for attribute in service["attributes"] + service.get("organization", {}).get("attributes", []):
            assert published[attribute["taxonomy_term_id"]] == attribute["taxonomy_term"]
            assert attribute["taxonomy_term"]["taxonomy_id"] in taxonomies
            linked += 1
    assert linked > 4 * ACTIVE  # category, ownership, licence and source at least, each
    for term in published.values():
        assert "parent_id" not in term or term["parent_id"] in published


def test_the_standard_s_own_examples_pass_the_same_schemas() -> None:
    # A check that the validation above can fail, and fails for the right reasons.
    examples = STANDARD / "examples"
    for name, schema in (("service_full", "compiled/service.json"),
                         ("service_at_location_full", "compiled/service_at_location.json"),
                         ("taxonomy", "taxonomy.json"), ("taxonomy_term", "taxonomy_term.json")):
        body = json.loads((examples / f"{name}.json").read_text(encoding="utf-8"))
        assert errors(validator({"$ref": SCHEMA_BASE + schema}), body) == [], name
    broken = json.loads((examples / "service_full.json").read_text(encoding="utf-8"))
    broken |= {"id": "not-a-uuid", "url": "not a uri", "status": "open"}
    del broken["name"]
    found = errors(validator({"$ref": SCHEMA_BASE + "compiled/service.json"}), broken)
    assert len(found) == 4, found


# --- what is published -------------------------------------------------------------------------


def test_only_active_public_records_are_published(feed: FlaskClient, demo_store: Store) -> None:
    with demo_store.transaction() as session:
        upsert_records(session, "asset", pd.DataFrame([
            {"external_id": "test:proposed", "name": "A proposed hall (test)", "category": "community_space",
             "lon": 0.0, "lat": 51.54, "status": "proposed"}]), changed_by="test")
        closed = session.execute(text(
            "select external_id from assets where status = 'closed' limit 1")).scalar_one()
    body = get(feed, f"{FEED}/services?per_page=1000")
    assert body["total_items"] == ACTIVE
    assert {s["status"] for s in body["contents"]} == {"active"}
    for external_id in ("test:proposed", closed):
        get(feed, f"{FEED}/services/{ids.service_id(external_id)}", 404)
        get(feed, f"{FEED}/service_at_locations/{ids.service_at_location_id(external_id)}", 404)
    assert get(feed, f"{FEED}/services?search=proposed hall")["total_items"] == 0


def test_ids_are_stable_uuids_derived_from_the_register(feed: FlaskClient, feed_app: Flask,
                                                        settings: Settings) -> None:
    one = get(feed, f"{FEED}/services?per_page=5")["contents"]
    again = create_app({"TESTING": True, "MAPPING_SETTINGS": settings}).test_client()
    assert get(again, f"{FEED}/services?per_page=5")["contents"] == one
    service = get(feed, f"{FEED}/services/{one[0]['id']}")
    location = service["service_at_locations"][0]["location"]
    assert location["external_identifier_type"] == ids.REGISTER_ID_TYPE
    assert ids.service_id(location["external_identifier"]) == one[0]["id"]
    assert get(feed, f"{FEED}/services/{one[0]['id'].upper()}")["id"] == one[0]["id"]


def test_root_names_the_standard_and_attributes_it(feed: FlaskClient) -> None:
    root = get(feed, FEED + "/")
    assert root["profile"].startswith("https://") and root["openapi_url"].endswith("openapi.json")
    assert root["publisher"] == "London Borough of Newham"
    credit = root["standard_attribution"]
    assert "an Open Referral resource" in credit["specification"] and "CC BY-SA 4.0" in credit["licence"]


def test_ownership_class_and_legal_form_are_attributes_a_platform_can_filter_on(feed: FlaskClient) -> None:
    generative = T.term_id(T.OWNERSHIP, "generative")
    body = get(feed, f"{FEED}/services?taxonomy_term_id={generative}&per_page=1000")
    assert body["total_items"] == 18  # 15 co-operatives, 2 food banks, 1 CQC service (test_api)
    for item in body["contents"][:5]:
        service = get(feed, f"{FEED}/services/{item['id']}")
        terms = {a["taxonomy_term"]["term"] for a in service["attributes"]}
        assert "generative" in terms
        org_terms = {a["taxonomy_term"]["taxonomy"]: a["taxonomy_term"]["term"]
                     for a in service["organization"]["attributes"]}
        assert org_terms["Ownership class (CLES)"] == "generative"
        assert org_terms["Legal form"]
    schools = get(feed, f"{FEED}/services?taxonomy_term_id={T.term_id(T.CATEGORY, 'school')}")
    assert schools["total_items"] == 115
    group = T.term_id(T.CATEGORY, "group:care subsector")
    assert get(feed, f"{FEED}/services?taxonomy_term_id={group}")["total_items"] == 117
    every = get(feed, f"{FEED}/services?taxonomy_id={T.taxonomy_id(T.OWNERSHIP)}")
    assert every["total_items"] == ACTIVE


def test_each_record_carries_its_licence_and_attribution(feed: FlaskClient) -> None:
    item = get(feed, f"{FEED}/services?search=school&per_page=1")["contents"][0]
    service = get(feed, f"{FEED}/services/{item['id']}")
    licence = next(a["taxonomy_term"] for a in service["attributes"]
                   if a["taxonomy_term"]["taxonomy"] == "Data licence")
    assert licence["name"] == "OGL v3" and "Get Information About Schools" in licence["description"]


def test_organisation_numbers_become_org_id_identifiers(feed: FlaskClient, demo_store: Store) -> None:
    with demo_store.transaction() as session:
        upsert_records(session, "organisation", pd.DataFrame([
            {"external_id": "test:scottish", "name": "A Scottish charity (test)",
             "charity_number": "SC012345", "company_number": "SC123456"}]), changed_by="test")
        org = organisation_ids(session, ["test:scottish"])["test:scottish"]
        upsert_records(session, "asset", pd.DataFrame([
            {"external_id": "test:site", "name": "Test site", "category": "community_space",
             "organisation_id": org, "lon": 0.0, "lat": 51.54,
             "opening_times": "Mon to Fri 9am - 5pm", "contact": "020 7946 0000; hello@example.org"}]),
            changed_by="test")
    service = get(feed, f"{FEED}/services/{ids.service_id('test:site')}")
    assert errors(ONE_VALIDATORS["/services"], service) == []
    identifiers = {(i.get("identifier_scheme"), i["identifier"])
                   for i in service["organization"]["organization_identifiers"]}
    assert {("GB-SC", "SC012345"), ("GB-COH", "SC123456"), (None, "test:scottish")} <= identifiers
    coops = get(feed, f"{FEED}/services?search=letterbox library")["contents"][0]
    org = get(feed, f"{FEED}/services/{coops['id']}")["organization"]
    assert ("GB-COH", "01754656") in {(i.get("identifier_scheme"), i["identifier"])
                                      for i in org["organization_identifiers"]}
    assert service["email"] == "hello@example.org"
    assert service["contacts"][0]["phones"][0]["number"] == "020 7946 0000"
    [schedule] = service["schedules"]
    assert (schedule["freq"], schedule["byday"], schedule["opens_at"], schedule["closes_at"]) == (
        "WEEKLY", "MO,TU,WE,TH,FR", "09:00:00", "17:00:00")


def test_opening_times_that_do_not_parse_stay_text(feed: FlaskClient) -> None:
    with_text = [s for s in (get(feed, f"{FEED}/services/{i['id']}") for i in get(
        feed, f"{FEED}/services?per_page=1000")["contents"]) if s["schedules"]]
    assert len(with_text) == 3  # the demo's three active sites with opening times
    parsed = [s for s in with_text if "byday" in s["schedules"][0]]
    assert len(parsed) == 2
    [text_only] = [s for s in with_text if "byday" not in s["schedules"][0]]
    assert set(text_only["schedules"][0]) == {"id", "service_id", "description"}


# --- the query parameters ------------------------------------------------------------------------


def test_postcode_and_proximity_give_the_nearest_within_the_distance(feed: FlaskClient) -> None:
    body = get(feed, f"{FEED}/service_at_locations?postcode=E15 4EH&proximity=500&per_page=1000")
    assert 0 < body["total_items"] < ACTIVE
    assert body["contents"][0]["location"]["name"] == "Highway Vineyard Church food bank"
    everything = get(feed, f"{FEED}/service_at_locations?postcode=e154eh&per_page=1000")
    assert everything["total_items"] == ACTIVE
    assert everything["contents"][:body["total_items"]] == body["contents"]
    assert errors(PAGE_VALIDATORS["/service_at_locations"], body) == []


@pytest.mark.parametrize(("query", "count"), [
    ("search=SCHOOL", None), ("day=MO", 2), ("day=sunday", 0), ("day=WE&start_time=08:30", 1),
    ("end_time=17:00", 1), ("minimum_age=18", 0), ("maximum_age=65", 0),
    ("modified_after=2000-01-01", ACTIVE), ("modified_after=2999-01-01T00:00:00Z", 0),
    (f"taxonomy_term_id={T.term_id(T.CATEGORY, 'nope')}", 0),
])
def test_service_filters(feed: FlaskClient, query: str, count: int | None) -> None:
    for path in ("/services", "/service_at_locations"):
        body = get(feed, f"{FEED}{path}?{query}&per_page=1000")
        assert body["total_items"] == (count if count is not None else body["total_items"])
        assert errors(PAGE_VALIDATORS[path], body) == []
    if count is None:
        assert get(feed, f"{FEED}/services?{query}")["total_items"] >= 115


# --- paging and errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["per_page=0", "per_page=-1", "page=0", "page=-3", "page=x",
                                   "per_page=1.5", "page=1&page=2"])
def test_bad_paging_is_a_400_naming_the_parameter(feed: FlaskClient, query: str) -> None:
    for path in COLLECTIONS:
        body = get(feed, f"{FEED}{path}?{query}", 400)
        assert body["error"]["status"] == 400
        assert {p["field"] for p in body["error"]["problems"]} == {query.split("=")[0]}


def test_a_huge_per_page_is_capped_and_a_page_past_the_end_is_empty(feed: FlaskClient) -> None:
    body = get(feed, f"{FEED}/services?per_page=99999999999999999999")
    assert (body["size"], body["total_pages"], body["last_page"]) == (ACTIVE, 1, True)
    past = get(feed, f"{FEED}/services?page=99&per_page=50")
    assert past == {"total_items": ACTIVE, "total_pages": 9, "page_number": 99, "size": 0,
                    "first_page": False, "last_page": True, "empty": True, "contents": []}
    last = get(feed, f"{FEED}/services?page=9&per_page=50")
    assert last["size"] == ACTIVE - 8 * 50 and last["last_page"]


@pytest.mark.parametrize(("url", "status", "field"), [
    ("/services?taxonomy_term_id=school", 400, "taxonomy_term_id"),
    ("/services?day=someday", 400, "day"), ("/services?start_time=9am", 400, "start_time"),
    ("/services?modified_after=soon", 400, "modified_after"),
    ("/services?postcode=E15 4EH", 400, "postcode"),  # /services takes no postcode
    ("/service_at_locations?proximity=100", 400, "proximity"),
    ("/service_at_locations?postcode=ZZ9 9ZZ", 400, "postcode"),
    ("/service_at_locations?postcode=E15 4EH&proximity=-1", 400, "proximity"),
    ("/taxonomies?search=x", 400, "search"), ("/services/1?page=1", 400, "page"),
])
def test_bad_parameters_are_400s_in_the_one_error_shape(feed: FlaskClient, url: str, status: int,
                                                        field: str) -> None:
    body = get(feed, FEED + url, status)
    assert set(body["error"]) == {"status", "title", "message", "problems"}
    assert field in {p["field"] for p in body["error"]["problems"]}


@pytest.mark.parametrize("path", ["/services/not-a-uuid", f"/services/{ids.hsds_id('x', 'y')}",
                                  f"/service_at_locations/{ids.hsds_id('x', 'y')}",
                                  f"/taxonomies/{ids.hsds_id('x', 'y')}",
                                  f"/taxonomy_terms/{ids.hsds_id('x', 'y')}", "/organizations",
                                  "/services/1/2"])
def test_unknown_ids_and_paths_are_json_404s(feed: FlaskClient, path: str) -> None:
    assert get(feed, FEED + path, 404)["error"]["status"] == 404


def test_the_feed_is_get_only_and_cors_open_everywhere(feed: FlaskClient) -> None:
    for method in ("post", "put", "delete", "patch"):
        response = getattr(feed, method)(f"{FEED}/services")
        assert response.status_code == 405 and response.get_json()["error"]["status"] == 405
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    preflight = feed.options(f"{FEED}/services", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "GET"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert feed.head(f"{FEED}/services").status_code == 200
    assert "Access-Control-Allow-Origin" not in feed.get("/sources").headers


def test_the_feed_is_rate_limited_with_a_json_429(settings: Settings) -> None:
    app = create_app({"TESTING": True, "MAPPING_SETTINGS": settings,
                      "OPENREFERRAL_RATE_LIMIT": "2 per minute"})
    client = app.test_client()
    assert [client.get(f"{FEED}/taxonomies").status_code for _ in range(3)] == [200, 200, 429]
    body = get(client, f"{FEED}/taxonomies", 429)
    assert body["error"]["status"] == 429


def test_an_empty_store_answers_503_json_but_the_root_still_says_what_it_is(tmp_path: Path,
                                                                            data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, instance_dir=tmp_path / "instance",
                        database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}", secret_key="x")
    client = create_app({"TESTING": True, "MAPPING_SETTINGS": settings}).test_client()
    assert get(client, f"{FEED}/services", 503)["error"]["status"] == 503
    assert get(client, FEED + "/")["version"] == "HSDS-UK-3.0"


# --- the OpenAPI document, and fuzzing every parameter it documents --------------------------

NONSENSE = ["<script>", "99999999999999999999", "nan", "-1", "1,2", "", " ", "x" * 300,
            "2024-13-45T99:99", "00000000-0000-0000-0000-000000000000", "E15 4EH", "MO", "25:61"]


def test_the_feed_is_in_the_openapi_document_under_its_own_tag(feed: FlaskClient) -> None:
    doc = get(feed, "/api/openapi.json")
    paths = {p: item["get"] for p, item in doc["paths"].items() if p.startswith(FEED)}
    assert len(paths) == 9 and {"openreferral"} == {t for op in paths.values() for t in op["tags"]}
    assert "openreferral" in {t["name"] for t in doc["tags"]}
    spec = {p: {x["$ref"].rsplit("/", 1)[-1] for x in item["get"].get("parameters", [])}
            for p, item in SPEC["paths"].items()}
    for path, names in spec.items():  # every parameter the standard defines for the path
        if names:
            ours = {p["name"] for p in paths[FEED + path]["parameters"] if p["in"] == "query"}
            assert names <= ours, (path, names - ours)
    for schema in doc["components"]["schemas"].values():
        for ref in [schema.get("$ref", "")] + [schema.get("properties", {}).get("contents", {})
                                               .get("items", {}).get("$ref", "")]:
            if ref.startswith(SCHEMA_BASE):
                assert (STANDARD / "schema" / ref.removeprefix(SCHEMA_BASE)).is_file(), ref


def test_every_documented_feed_parameter_survives_nonsense(feed: FlaskClient) -> None:
    doc = get(feed, "/api/openapi.json")
    tried = 0
    for path, item in doc["paths"].items():
        if not path.startswith(FEED) or "{" in path:
            continue
        for param in item["get"]["parameters"]:
            for value in NONSENSE:
                response = feed.get(path, query_string={param["name"]: value})
                assert response.status_code in (200, 400), (path, param["name"], value)
                assert response.headers["Access-Control-Allow-Origin"] == "*"
                assert response.get_json() is not None
                tried += 1
    assert tried > 300


def test_another_council_s_feed_imports_from_its_url(live_feed: str, store: Store) -> None:
    from mapping.cli.openreferral import get_json
    from mapping.openreferral.importer import fetch_feed, import_feed

    # This app's feed, over real HTTP, stands in for the other council's.
    records = fetch_feed(live_feed, get_json, per_page=100)
    assert len(records) == ACTIVE
    report = import_feed(store, records, file="feed")
    assert report.assets.inserted == ACTIVE
    assert import_feed(store, records, file="feed").assets.unchanged == ACTIVE
