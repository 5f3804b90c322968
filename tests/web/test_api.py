"""The read-only API against a copy of the real Newham demo: every endpoint and filter with
exact counts, the one error shape, CORS, and the OpenAPI document agreeing with the app.

Counts come from the demo's real files (DESIGN.md, "Data"): 410 active assets, of which
115 schools, 103 places of worship, 46 GP practices, 15 co-operatives, 12 community
spaces, 2 food banks and 117 registered CQC care services (156 deregistered ones are closed);
the 17 co-operative and food-bank organisations and one CQC provider are generative.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np
import pandas as pd
import pyproj
import pytest
from flask import Flask
from flask.testing import FlaskClient

from mapping.api.parameters import MAX_LIMIT
from mapping.api.shapes import ASSET_FIELDS, DISTANCE_FIELDS, ORGANISATION_FIELDS
from mapping.config import Settings
from mapping.places.areas import patches_from_lookup
from mapping.places.store import load_area_layer, save_patch_set
from mapping.register.records import upsert_records
from mapping.store.database import Store
from web import create_app

ERROR_KEYS = {"status", "title", "message", "problems"}
CATEGORY_COUNTS = {"school": 115, "place_of_worship": 103, "gp_practice": 46,
                   "cooperative": 15, "community_space": 12, "food_bank": 2,
                   # registered CQC care services
                   "homecare": 62, "supported_living": 33, "residential": 15, "nursing": 1,
                   "extra_care": 5, "shared_lives": 1}
# E15 4EH in OS Code-Point Open (the Highway Vineyard Church food bank is at it).
E15_4EH_EN = (539_595.0, 184_619.0)
STRATFORD_BBOX = (-0.01, 51.535, 0.01, 51.55)
# A synthetic patch set for tests only, NOT Newham's community neighbourhoods (whose ward
# list is not published): four wards around Stratford, and the rest of the borough.
TEST_PATCH_SET = "test-synthetic"
STRATFORD_WARDS = {"E05013924": 36, "E05013925": 5, "E05013927": 14, "E05013917": 30}
STRATFORD_PATCH = "Stratford and West Ham (synthetic)"
REST_PATCH = "Rest of borough (synthetic)"


def get(client: FlaskClient, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, dict)
    return body


def assert_error(client: FlaskClient, url: str, status: int, *fields: str) -> dict:
    """Check the one error shape, with every named parameter in ``problems``."""
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS
    assert body["error"]["status"] == status
    named = [p["field"] for p in body["error"]["problems"]]
    assert sorted(set(named)) == sorted(fields), body
    return body["error"]


def ids(body: dict) -> list[int]:
    return [f["id"] for f in body["features"]]


def add_assets(store: Store, rows: list[dict]) -> None:
    with store.transaction() as session:
        upsert_records(session, "asset", pd.DataFrame(rows), changed_by="test")


@pytest.fixture
def patch_set(demo_store: Store) -> str:
    """Load the synthetic two-patch set over the 2023 wards into the demo copy."""
    with demo_store.transaction() as session:
        wards = load_area_layer(session, "wards_2023")
        lookup = pd.DataFrame({"code": wards["code"]})
        lookup["patch"] = np.where(lookup["code"].isin(list(STRATFORD_WARDS)), STRATFORD_PATCH,
                                   REST_PATCH)
        patches = patches_from_lookup(wards, lookup)
        save_patch_set(session, TEST_PATCH_SET, "wards_2023", patches,
                       source="synthetic test fixture")
    return TEST_PATCH_SET


# --- /api/assets ----------------------------------------------------------------------


def test_assets_are_a_geojson_feature_collection_of_active_assets(client: FlaskClient) -> None:
    response = client.get("/api/assets")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == body["numberReturned"] == len(body["features"]) == 410
    assert ids(body) == sorted(ids(body))
    feature = body["features"][0]
    assert set(feature) == {"type", "id", "geometry", "properties"}
    assert feature["type"] == "Feature" and feature["id"] == feature["properties"]["id"]
    assert list(feature["properties"]) == [f.name for f in ASSET_FIELDS]
    for f in body["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert f["geometry"]["type"] == "Point"
        assert -0.02 < lon < 0.09 and 51.49 < lat < 51.56  # lon first, in Newham
        assert round(lon, 6) == lon and round(lat, 6) == lat
        assert f["properties"]["status"] == "active"
        assert f["properties"]["licence"] and f["properties"]["attribution"]


def test_an_asset_s_properties_are_filled_in(client: FlaskClient) -> None:
    body = get(client, "/api/assets?q=Highway Vineyard")
    (food_bank,) = body["features"]
    props = food_bank["properties"]
    assert props["category"] == "food_bank" and props["category_label"] == "Food bank"
    assert props["ownership_class"] == "generative"
    assert props["organisation_name"] == "Highway Vineyard Church food bank"
    assert props["organisation_external_id"] == "givefood:highway-vineyard-church"
    assert props["postcode"] == "E15 4EH"
    assert props["licence"] == "Public domain (Unlicense)"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", props["updated_at"])
    assert props["verified_at"] is None
    assert food_bank["geometry"]["coordinates"] == [0.011631, 51.54321]


@pytest.mark.parametrize(("category", "count"), CATEGORY_COUNTS.items())
def test_category_filter_gives_each_demo_count(client: FlaskClient, category: str,
                                               count: int) -> None:
    body = get(client, f"/api/assets?category={category}")
    assert body["numberMatched"] == count
    assert {f["properties"]["category"] for f in body["features"]} == {category}


def test_categories_may_be_repeated_or_comma_separated(client: FlaskClient) -> None:
    both = 115 + 46
    assert get(client, "/api/assets?category=school,gp_practice")["numberMatched"] == both
    assert get(client, "/api/assets?category=school&category=gp_practice")["numberMatched"] == both
    assert get(client, "/api/assets?category=school,,school")["numberMatched"] == 115


@pytest.mark.parametrize(("ownership", "count"), [
    ("generative", 18), ("unknown", 278), ("generative,unknown", 296), ("extractive", 114),
    ("in-house", 0)])
def test_ownership_filter(client: FlaskClient, ownership: str, count: int) -> None:
    body = get(client, f"/api/assets?ownership={ownership}")
    assert body["numberMatched"] == count
    assert {f["properties"]["ownership_class"] for f in body["features"]} <= set(
        ownership.split(","))


def test_generative_assets_are_the_co_operatives_and_food_banks(client: FlaskClient) -> None:
    body = get(client, "/api/assets?ownership=generative")
    categories = pd.Series([f["properties"]["category"] for f in body["features"]])
    assert categories.value_counts().to_dict() == {"cooperative": 15, "food_bank": 2,
                                                    "supported_living": 1}  # a CQC site


def test_status_defaults_to_active_and_all_gives_every_status(client: FlaskClient,
                                                              viewer_client: FlaskClient,
                                                              demo_store: Store) -> None:
    add_assets(demo_store, [{"external_id": "test:closed", "name": "Closed test hall",
                             "category": "community_space", "lon": 0.0, "lat": 51.54,
                             "status": "closed"}])
    client_anonymous = client
    # Anonymous callers see active assets only, whatever they ask for.
    assert get(client, "/api/assets?status=all")["numberMatched"] == 410
    refused = client.get("/api/assets?status=closed")
    assert refused.status_code == 422
    assert refused.get_json()["error"]["problems"][0]["field"] == "status"
    client = viewer_client
    assert get(client, "/api/assets")["numberMatched"] == 410
    closed = get(client, "/api/assets?status=closed")
    closed_names = [f["properties"]["name"] for f in closed["features"]]
    assert "Closed test hall" in closed_names and len(closed_names) == 1 + 156  # deregistered CQC
    assert get(client, "/api/assets?status=all")["numberMatched"] == 410 + 157
    assert get(client, "/api/assets?status=active,closed")["numberMatched"] == 410 + 157
    assert get(client, "/api/assets?status=proposed")["numberMatched"] == 0
    # A direct link keeps working after an asset closes, for staff; others get a 404.
    closed_id = closed["features"][0]["id"]
    assert get(client, f"/api/assets/{closed_id}")["properties"]["status"] == "closed"
    assert client_anonymous.get(f"/api/assets/{closed_id}").status_code == 404


def test_bbox_returns_exactly_the_assets_inside_it(client: FlaskClient) -> None:
    bbox = ",".join(map(str, STRATFORD_BBOX))
    inside = get(client, f"/api/assets?bbox={bbox}")
    assert inside["numberMatched"] == 62
    everything = get(client, "/api/assets")["features"]
    min_lon, min_lat, max_lon, max_lat = STRATFORD_BBOX
    expected = [f["id"] for f in everything
                if min_lon <= f["geometry"]["coordinates"][0] <= max_lon
                and min_lat <= f["geometry"]["coordinates"][1] <= max_lat]
    assert ids(inside) == expected
    with_school = get(client, f"/api/assets?bbox={bbox}&category=school")
    assert with_school["numberMatched"] == 15


@pytest.mark.parametrize(("q", "count"), [("library", 7), ("LIBRARY", 7), ("mosque", 3),
                                          ("no such words here", 0)])
def test_text_search(client: FlaskClient, q: str, count: int) -> None:
    body = get(client, f"/api/assets?q={q}")
    assert body["numberMatched"] == count
    for f in body["features"]:
        text = f"{f['properties']['name']} {f['properties']['description'] or ''}".casefold()
        assert q.casefold() in text


def test_near_a_postcode_gives_straight_line_distances_nearest_first(client: FlaskClient) -> None:
    body = get(client, "/api/assets?near=E15 4EH&within_m=500")
    assert body["numberMatched"] == 23
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert distances == sorted(distances) and max(distances) <= 500
    first = body["features"][0]["properties"]
    assert first["name"] == "Highway Vineyard Church food bank" and first["distance_m"] == 0
    assert {f["properties"]["distance_method"] for f in body["features"]} == {"straight line"}
    assert list(first) == [f.name for f in ASSET_FIELDS + DISTANCE_FIELDS]
    # Check each distance independently, in British National Grid metres.
    to_bng = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    everything = get(client, "/api/assets?near=e154eh")  # every asset, any spelling
    assert everything["numberMatched"] == 410
    for f in everything["features"]:
        e, n = to_bng.transform(*f["geometry"]["coordinates"])
        by_hand = float(np.hypot(e - E15_4EH_EN[0], n - E15_4EH_EN[1]))
        assert f["properties"]["distance_m"] == pytest.approx(by_hand, abs=0.5)
        assert (f["id"] in ids(body)) == (f["properties"]["distance_m"] <= 500)


def test_paging_links_walk_through_every_asset(client: FlaskClient) -> None:
    seen: list[int] = []
    every = ",".join(CATEGORY_COUNTS)
    url: str | None = f"/api/assets?limit=100&category={every}"
    pages = 0
    while url:
        body = get(client, url)
        pages += 1
        assert body["numberMatched"] == 410
        assert body["numberReturned"] == len(body["features"]) == min(100, 410 - len(seen))
        links = {link["rel"]: link for link in body["links"]}
        assert links["self"]["type"] == "application/geo+json"
        assert ("prev" in links) == (len(seen) > 0)
        seen += ids(body)
        url = links["next"]["href"] if "next" in links else None
        if url:
            query = parse_qs(urlsplit(url).query)
            assert query["offset"] == [str(len(seen))] and query["limit"] == ["100"]
            assert query["category"] == [every]  # other parameters are kept
    assert pages == 5 and len(seen) == len(set(seen)) == 410
    assert seen == sorted(seen)


def test_prev_link_and_offset_past_the_end(client: FlaskClient) -> None:
    body = get(client, "/api/assets?limit=50&offset=120")
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert parse_qs(urlsplit(links["prev"]).query)["offset"] == ["70"]
    assert parse_qs(urlsplit(links["next"]).query)["offset"] == ["170"]
    assert parse_qs(urlsplit(links["self"]).query)["offset"] == ["120"]
    beyond = get(client, "/api/assets?offset=1000")
    assert beyond["numberMatched"] == 410 and beyond["features"] == []
    assert {link["rel"] for link in beyond["links"]} == {"self", "prev"}


def test_limit_zero_counts_and_a_huge_limit_is_capped(client: FlaskClient) -> None:
    count = get(client, "/api/assets?limit=0")
    assert count["numberMatched"] == 410 and count["numberReturned"] == 0
    assert [link["rel"] for link in count["links"]] == ["self"]
    capped = get(client, "/api/assets?limit=99999999")
    assert capped["numberReturned"] == 410
    assert parse_qs(urlsplit(capped["links"][0]["href"]).query)["limit"] == [str(MAX_LIMIT)]
    assert get(client, "/api/assets?limit=")["numberReturned"] == 410  # blank = not given


def test_patch_filter_uses_the_patch_outline(client: FlaskClient, patch_set: str) -> None:
    name = STRATFORD_PATCH.replace(" ", "+")
    stratford = get(client, f"/api/assets?patch={name}")
    assert stratford["numberMatched"] == sum(STRATFORD_WARDS.values()) == 85
    rest = get(client, f"/api/assets?patch={REST_PATCH}&patch_set={patch_set}")
    assert rest["numberMatched"] == 410 - 85
    assert not set(ids(stratford)) & set(ids(rest))
    both = get(client, f"/api/assets?patch={name}&category=school")
    assert 0 < both["numberMatched"] < 64


def test_unknown_patch_or_patch_set_is_a_422_naming_it(client: FlaskClient,
                                                       patch_set: str) -> None:
    error = assert_error(client, "/api/assets?patch=Atlantis", 422, "patch")
    assert STRATFORD_PATCH in error["problems"][0]["reason"]  # says which patches there are
    assert_error(client, "/api/assets?patch=Atlantis&patch_set=nope", 422, "patch_set")


def test_patch_filter_without_any_patch_set_says_so(client: FlaskClient) -> None:
    error = assert_error(client, "/api/assets?patch=Stratford", 422, "patch")
    assert "no patch set is loaded" in error["problems"][0]["reason"]


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "fields"), [
    ("bbox=1,2,3", ["bbox"]),
    ("bbox=a,b,c,d", ["bbox"]),
    ("bbox=0.1,51.5,0.0,51.6", ["bbox"]),  # min > max
    ("bbox=0,91,1,92", ["bbox"]),
    ("bbox=0,51,nan,52", ["bbox"]),
    ("category=nope", ["category"]),
    ("category=school,nope", ["category"]),
    ("ownership=community", ["ownership"]),
    ("status=open", ["status"]),
    ("limit=-1", ["limit"]),
    ("limit=ten", ["limit"]),
    ("limit=1.5", ["limit"]),
    ("limit=1&limit=2", ["limit"]),
    ("offset=-5", ["offset"]),
    ("near=E15 4EH&within_m=-1", ["within_m"]),
    ("near=E15 4EH&within_m=inf", ["within_m"]),
    ("within_m=500", ["within_m"]),
    ("patch_set=anything", ["patch_set"]),
    ("near=ZZ1 1ZZ", ["near"]),
    ("near=not a postcode", ["near"]),
    ("q=" + "x" * 201, ["q"]),
    ("colour=red", ["colour"]),
    ("bbox=1&category=nope&limit=-1&foo=1", ["bbox", "category", "limit", "foo"]),
])
def test_invalid_asset_parameters_are_422_naming_each_one(client: FlaskClient, query: str,
                                                          fields: list[str]) -> None:
    error = assert_error(client, f"/api/assets?{query}", 422, *fields)
    assert error["title"] == "Invalid input"
    assert all(p["reason"] for p in error["problems"])


def test_unknown_parameter_lists_what_the_endpoint_takes(client: FlaskClient) -> None:
    error = assert_error(client, "/api/assets?categroy=school", 422, "categroy")
    assert "category" in error["problems"][0]["reason"]
    assert_error(client, "/api/layers?x=1", 422, "x")


def test_missing_records_and_layers_are_404(client: FlaskClient) -> None:
    assert_error(client, "/api/assets/999999", 404)
    assert_error(client, "/api/organisations/999999", 404)
    assert_error(client, "/api/assets/not-a-number", 404)
    error = assert_error(client, "/api/areas/parishes", 404, "layer")
    for layer in ("borough", "lsoa_2011", "lsoa_2021", "wards_2023"):
        assert layer in error["message"] and layer in error["problems"][0]["reason"]


def test_writing_is_not_allowed(client: FlaskClient) -> None:
    response = client.post("/api/assets", json={})
    assert response.status_code == 405
    assert set(response.get_json()["error"]) == ERROR_KEYS


def test_an_empty_store_gives_503_json(tmp_path: Path, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, instance_dir=tmp_path, secret_key="x",
                        database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    client = create_app({"MAPPING_SETTINGS": settings}).test_client()
    for url in ("/api/assets", "/api/assets/1", "/api/organisations", "/api/layers",
                "/api/areas/wards_2023", "/api/patches"):
        error = assert_error(client, url, 503)
        assert "mapping migrate" in error["message"]
    assert client.get("/api/openapi.json").status_code == 200  # needs no store


# --- single asset, organisations ------------------------------------------------------


def test_one_asset_is_the_same_feature_as_in_the_collection(client: FlaskClient) -> None:
    listed = get(client, "/api/assets?category=food_bank")["features"][0]
    response = client.get(f"/api/assets/{listed['id']}")
    assert response.mimetype == "application/geo+json"
    assert response.get_json() == listed


def test_organisations_are_paged_with_ownership_and_flags(client: FlaskClient) -> None:
    body = get(client, "/api/organisations")
    assert body["numberMatched"] == body["numberReturned"] == len(body["items"]) == 226
    names = [o["name"] for o in body["items"]]
    assert names == sorted(names)
    org = body["items"][0]
    assert list(org) == [f.name for f in ORGANISATION_FIELDS]
    classes = pd.Series([o["ownership_class"] for o in body["items"]]).value_counts().to_dict()
    assert classes == {"extractive": 189, "generative": 19, "unknown": 17, "in-house": 1}
    org_ids = {o["name"]: o["org_id"] for o in body["items"] if o["org_id"]}
    assert org_ids == {"Charlton Triangle Kids Club": "GB-COH-04733715",
                       "Letterbox Library": "GB-COH-01754656",
                       "Newham food bank": "GB-CHC-1178551",
                       "People's Welfare Co-operative Society": "GB-COH-07812837"}
    assert {type(o["office_in_borough"]) for o in body["items"]} <= {bool, type(None)}
    paged = get(client, "/api/organisations?limit=5&offset=15")
    assert [o["name"] for o in paged["items"]] == names[15:20]
    assert {link["rel"] for link in paged["links"]} == {"self", "prev", "next"}
    assert get(client, "/api/organisations?ownership=extractive")["numberMatched"] == 189
    assert get(client, "/api/organisations?q=FOOD BANK")["numberMatched"] == 2


def test_one_organisation(client: FlaskClient) -> None:
    listed = get(client, "/api/organisations?q=Highway Vineyard")["items"][0]
    assert get(client, f"/api/organisations/{listed['id']}") == listed


def test_organisation_parameters_are_checked(client: FlaskClient) -> None:
    assert_error(client, "/api/organisations?ownership=nice&limit=x&bbox=1,2,3,4", 422,
                 "ownership", "limit", "bbox")


# --- layers, areas, patches -----------------------------------------------------------


def test_layers_list_each_with_its_licence(client: FlaskClient) -> None:
    layers = get(client, "/api/layers")["layers"]
    assert {layer["name"]: layer["areas"] for layer in layers} == {
        "borough": 1, "lsoa_2011": 164, "lsoa_2021": 185, "wards_2023": 24}
    assert all(layer["licence"].startswith("OGL v3") for layer in layers)
    assert all("Crown copyright" in layer["attribution"] for layer in layers)


def test_an_area_layer_is_geojson_with_its_attributes(client: FlaskClient) -> None:
    response = client.get("/api/areas/lsoa_2021")
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert body["layer"]["name"] == "lsoa_2021" and body["layer"]["licence"] == "OGL v3"
    assert len(body["features"]) == 185
    props = [f["properties"] for f in body["features"]]
    assert sum(p["population"] for p in props) == 351_005  # Census 2021 usual residents
    assert all(1 <= p["imd_decile"] <= 10 for p in props)
    assert {f["id"] for f in body["features"]} == {p["code"] for p in props}
    first = body["features"][0]
    assert first["id"] == "E01003479" and first["properties"]["area_name"] == "Newham 035A"
    assert first["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    ring = np.asarray(first["geometry"]["coordinates"][0], dtype=float)
    if first["geometry"]["type"] == "MultiPolygon":
        ring = np.asarray(first["geometry"]["coordinates"][0][0], dtype=float)
    assert np.all(np.round(ring, 6) == ring) and 51.4 < ring[:, 1].min() < 51.6


def test_wards_have_codes_and_names(client: FlaskClient) -> None:
    body = get(client, "/api/areas/wards_2023")
    assert len(body["features"]) == 24
    names = {f["properties"]["area_name"] for f in body["features"]}
    assert {"Stratford", "Beckton", "Plashet"} <= names


def test_no_patch_set_gives_an_empty_collection_with_a_message(client: FlaskClient) -> None:
    body = get(client, "/api/patches")
    assert body["type"] == "FeatureCollection" and body["features"] == []
    assert body["patch_sets"] == [] and body["patch_set"] is None
    assert "No patch set is loaded" in body["message"]
    assert "import-patches" in body["message"]


def test_patches_of_a_loaded_set(client: FlaskClient, patch_set: str) -> None:
    body = get(client, "/api/patches")
    assert body["patch_set"] == patch_set and body["patch_sets"] == [patch_set]
    assert "message" not in body
    patches = {f["id"]: f["properties"] for f in body["features"]}
    assert set(patches) == {STRATFORD_PATCH, REST_PATCH}
    assert sorted(patches[STRATFORD_PATCH]["area_codes"]) == sorted(STRATFORD_WARDS)
    assert len(patches[REST_PATCH]["area_codes"]) == 20
    assert patches[REST_PATCH]["patch_set"] == patch_set
    assert get(client, f"/api/patches?set={patch_set}") == body
    assert_error(client, "/api/patches?set=lots-2019", 422, "set")


# --- CORS -----------------------------------------------------------------------------


def test_cors_is_open_for_api_reads_only(client: FlaskClient) -> None:
    origin = {"Origin": "https://example.org"}
    for url in ("/api/assets?limit=1", "/api/layers", "/api/openapi.json", "/api/assets?limit=-1"):
        assert client.get(url).headers["Access-Control-Allow-Origin"] == "*"
        # With an Origin header flask-cors echoes it (and says Vary: Origin) unless
        # send_wildcard is set; either way any site may read the answer.
        cross = client.get(url, headers=origin).headers
        assert cross["Access-Control-Allow-Origin"] in {"*", "https://example.org"}
        if cross["Access-Control-Allow-Origin"] != "*":
            assert "Origin" in cross.get("Vary", "")
    preflight = client.options("/api/assets", headers={
        **origin, "Access-Control-Request-Method": "GET"})
    assert preflight.headers["Access-Control-Allow-Origin"] in {"*", "https://example.org"}
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    for url in ("/health", "/sources"):
        assert "Access-Control-Allow-Origin" not in client.get(url, headers=origin).headers


# --- the OpenAPI document -------------------------------------------------------------


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_openapi_documents_every_api_route_and_no_other(app: Flask, client: FlaskClient) -> None:
    doc = get(client, "/api/openapi.json")
    assert doc["openapi"].startswith("3.1")
    # The Open Referral feed is documented too, all but its JSON 404/405 for any other path.
    documented = [r for r in app.url_map.iter_rules() if r.rule.startswith(("/api/", "/openreferral/"))
                  and r.endpoint != "openreferral.elsewhere"]
    routes = {openapi_path(r.rule) for r in documented}
    assert routes == set(doc["paths"])
    assert {"/openreferral/services", "/openreferral/services/{service_id}"} <= routes
    for rule in documented:
        if rule.rule.startswith(("/api/", "/openreferral/")):
            methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
            assert methods == set(doc["paths"][openapi_path(rule.rule)])


def test_openapi_parameters_are_described_and_path_parameters_match(client: FlaskClient) -> None:
    doc = get(client, "/api/openapi.json")
    for path, item in doc["paths"].items():
        op = item["get"]
        assert op["summary"] and op["description"] and op["operationId"]
        in_path = {p["name"] for p in op["parameters"] if p["in"] == "path"}
        assert in_path == set(re.findall(r"{([^}]+)}", path))
        for p in op["parameters"]:
            assert p["description"].strip() and p["schema"], (path, p["name"])
        assert op["responses"]["200"]["content"]
        for status, response in op["responses"].items():
            if status != "200":
                ref = response["$ref"].split("/")[-1]
                content = doc["components"]["responses"][ref]["content"]
                assert content["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"


# Values for the parameters whose valid values depend on the store, not on the document.
STORE_VALUES = {"patch": STRATFORD_PATCH, "patch_set": TEST_PATCH_SET, "set": TEST_PATCH_SET}


def encode(param: dict, value: object) -> list[tuple[str, str]]:
    """Give a parameter's value as query pairs, the way the document says (style form)."""
    if not isinstance(value, list):
        return [(param["name"], str(value))]
    if param.get("explode", True):
        return [(param["name"], str(v)) for v in value]
    return [(param["name"], ",".join(map(str, value)))]


def test_every_documented_query_parameter_is_accepted(client: FlaskClient, patch_set: str) -> None:
    doc = get(client, "/api/openapi.json")
    tried = 0
    for path, item in doc["paths"].items():
        if "{" in path:
            continue
        params = {p["name"]: p for p in item["get"]["parameters"] if p["in"] == "query"}
        for name, p in params.items():
            value = STORE_VALUES.get(name, p.get("example"))
            assert value is not None, f"{path}: give '{name}' an example or a STORE_VALUES entry"
            query = encode(p, value)
            needs = re.search(r"Only together with `(\w+)`", p["description"])
            if needs:
                other = params[needs.group(1)]
                query += encode(other, STORE_VALUES.get(other["name"], other.get("example")))
            response = client.get(path + "?" + urlencode(query))
            assert response.status_code == 200, (path, query, response.get_json())
            tried += 1
    assert tried >= 15
    # And the document's path-parameter endpoints take no query parameters at all.
    assert_error(client, "/api/assets/1?limit=1", 422, "limit")


def test_openapi_schemas_match_real_answers(client: FlaskClient) -> None:
    schemas = get(client, "/api/openapi.json")["components"]["schemas"]
    error = assert_error(client, "/api/assets?limit=-1", 422, "limit")
    assert set(schemas["Error"]["properties"]["error"]["required"]) == set(error) == ERROR_KEYS
    assert set(schemas["Problem"]["properties"]) == set(error["problems"][0])
    feature = get(client, "/api/assets?near=E15 4EH&limit=1")["features"][0]
    asset_props = schemas["AssetFeature"]["properties"]["properties"]["properties"]
    assert set(asset_props) == set(feature["properties"])
    org = get(client, "/api/organisations?limit=1")["items"][0]
    assert set(schemas["Organisation"]["properties"]) == set(org)
    layer = get(client, "/api/layers")["layers"][0]
    assert set(schemas["Layer"]["properties"]) == set(layer)
    categories = schemas["AssetCollection"]  # the document names real categories
    assert categories["properties"]["features"]["items"]["$ref"].endswith("AssetFeature")
    doc = get(client, "/api/openapi.json")
    category = next(p for p in doc["paths"]["/api/assets"]["get"]["parameters"]
                    if p["name"] == "category")
    assert set(CATEGORY_COUNTS) <= set(category["schema"]["items"]["enum"])


# --- size ------------------------------------------------------------------------------
# Speed is measured by scripts/bench_map.py, not asserted here.


def test_ten_thousand_synthetic_assets_page_at_the_maximum_limit(client: FlaskClient,
                                                                 demo_store: Store) -> None:
    """10,000 SYNTHETIC assets (random points in Newham, labelled so) on top of the demo."""
    rng = np.random.default_rng(7)
    n = 10_000
    add_assets(demo_store, [
        {"external_id": f"synthetic:{i}", "name": f"Synthetic asset {i}",
         "description": "SYNTHETIC test record, not a real asset", "category": "peer_group",
         "lon": lon, "lat": lat, "capacity": float(i % 40), "status": "active",
         "licence": "synthetic", "attribution": "synthetic test data"}
        for i, (lon, lat) in enumerate(zip(rng.uniform(-0.01, 0.08, n),
                                           rng.uniform(51.50, 51.555, n), strict=True))])
    response = client.get(f"/api/assets?limit={MAX_LIMIT}")
    body = response.get_json()
    assert body["numberMatched"] == 10_410 and body["numberReturned"] == MAX_LIMIT
    assert body["features"][-1]["properties"]["name"].startswith("Synthetic asset")
    assert len(body["features"]) == MAX_LIMIT and body["links"][-1]["rel"] == "next"
