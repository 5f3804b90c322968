"""The gaps and micro-fund plan pages on the real Newham demo: page, exports, errors."""

from __future__ import annotations

import csv
import io
import json
import math
import re

import geopandas as gpd
import pytest
from flask import Flask
from flask.testing import FlaskClient

from mapping import schema as S
from mapping.area_store import load_area_layer, save_patch_set
from mapping.store import Store

METHOD = "straight line × 1.3"
EXTERNAL = re.compile(r"<(?:script|link|img)[^>]+(?:src|href)=\"(?:https?:)?//", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _analysis_registered(app: Flask) -> None:
    """Register the blueprint when create_app does not (yet) do it."""
    if "analysis" not in app.blueprints:
        from web.analysis import bp

        app.register_blueprint(bp)


def _rows(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def _summary_number(page: str, span: str) -> float:
    found = re.search(rf'<span id="{span}">([\d,]+)</span>', page)
    assert found is not None, span
    return float(found.group(1).replace(",", ""))


def test_gaps_page_csv_and_geojson_agree_and_carry_the_method(client: FlaskClient) -> None:
    page = _page(client, "/gaps")
    assert METHOD in page and "not walking routes: no street network is loaded" in page
    assert "Computed in" in page
    rows = _rows(client.get("/gaps.csv"))
    assert len(rows) == 185
    assert {r["method"] for r in rows} == {METHOD}
    gaps = [r for r in rows if r["gap"] == "True"]
    assert 0 < len(gaps) < 185
    assert _summary_number(page, "gap-areas") == len(gaps)
    assert _summary_number(page, "gap-people") == round(sum(float(r["people"]) for r in gaps))
    geo = client.get("/gaps.geojson")
    assert geo.status_code == 200 and geo.mimetype == "application/geo+json"
    collection = json.loads(geo.get_data(as_text=True))
    assert collection["type"] == "FeatureCollection" and "crs" not in collection
    assert collection["method"] == METHOD
    assert len(collection["features"]) == 185
    props = collection["features"][0]["properties"]
    assert props["method"] == METHOD and {"normalised", "gap", "patch"} <= set(props)
    assert sum(f["properties"]["gap"] for f in collection["features"]) == len(gaps)


def test_patch_table_is_the_24_wards_without_a_patch_set(client: FlaskClient) -> None:
    page = _page(client, "/gaps")
    rows = _rows(client.get("/gaps/patches.csv"))
    assert len(rows) == 24
    assert page.count('<th scope="row">') == 24
    assert "no patch set is loaded" in page
    assert sum(int(r["areas"]) for r in rows) == 185
    gap_people = sum(float(r["people_in_gap_areas"]) for r in rows)
    assert round(gap_people) == _summary_number(page, "gap-people")


def test_patch_table_follows_a_stored_test_patch_set(client: FlaskClient,
                                                     demo_store: Store) -> None:
    with demo_store.transaction() as session:
        areas = load_area_layer(session, "lsoa_2021")
        areas = areas.assign(**{S.PATCH: [f"TEST synthetic patch {i % 5 + 1}"
                                          for i in range(len(areas))]})
        patches = areas.dissolve(by=S.PATCH).reset_index()
        codes = areas.groupby(S.PATCH)[S.AREA_CODE].apply(list)
        patches["area_codes"] = patches[S.PATCH].map(codes)
        save_patch_set(session, "TEST synthetic (not a real layout)", "lsoa_2021",
                       gpd.GeoDataFrame(patches, crs=areas.crs), source="test")
    rows = _rows(client.get("/gaps/patches.csv"))
    assert [r["patch"] for r in rows] == [f"TEST synthetic patch {i}" for i in range(1, 6)]
    assert sum(int(r["areas"]) for r in rows) == 185
    page = _page(client, "/gaps")
    assert page.count('<th scope="row">') == 5
    assert "TEST synthetic (not a real layout)" in page


@pytest.mark.parametrize("query", ["category=no_such_thing", "measure=income", "cutoff=abc",
                                   "cutoff=0", "imd=maybe", "cutoff=nan"])
def test_bad_parameters_are_a_422_never_a_500(client: FlaskClient, query: str) -> None:
    for url in ("/gaps", "/gaps.csv", "/gaps.geojson", "/gaps/patches.csv", "/gaps/plan"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 422, (url, query)
    api = client.get(f"/gaps.csv?{query}", headers={"Accept": "application/json"})
    assert api.status_code == 422
    assert api.get_json()["error"]["status"] == 422


def test_bad_budget_is_a_422(client: FlaskClient) -> None:
    assert client.get("/gaps/plan?budget=-5").status_code == 422
    assert client.get("/gaps/plan?grant=0").status_code == 422
    assert client.get("/gaps/plan.json?budget=lots").status_code == 422


def test_generative_only_changes_the_supply(client: FlaskClient) -> None:
    every = _summary_number(_page(client, "/gaps?category=community_space"), "site-count")
    generative = _summary_number(_page(client, "/gaps?category=community_space&generative=1"),
                                 "site-count")
    assert every > generative
    all_rows = _rows(client.get("/gaps.csv?category=community_space"))
    gen_rows = _rows(client.get("/gaps.csv?category=community_space&generative=1"))
    assert [r["access"] for r in all_rows] != [r["access"] for r in gen_rows]


def test_plan_page_grants_and_360giving_export(client: FlaskClient) -> None:
    query = "budget=2600&grant=500"
    page = _page(client, f"/gaps/plan?{query}")
    assert METHOD in page and "not awarded" in page
    plan = _rows(client.get(f"/gaps/plan.csv?{query}"))
    funded = [r for r in plan if int(r["grants"]) > 0]
    assert 0 < len(funded) <= math.floor(2600 / 500)
    assert {r["travel_cost_method"] for r in plan} == {METHOD}
    package = json.loads(client.get(f"/gaps/plan.json?{query}").get_data(as_text=True))
    grants = package["grants"]
    assert len(grants) == len(funded)
    assert sum(g["amountAwarded"] for g in grants) == sum(float(r["amount_gbp"]) for r in funded)
    assert all(g["id"].startswith("360G-example-plan-") for g in grants)
    assert grants[0]["fundingOrganization"] == [{"id": "GB-LAE-NWM",
                                                 "name": "London Borough of Newham"}]
    assert "not awarded" in package["note"]


def test_pages_load_nothing_from_the_internet(client: FlaskClient) -> None:
    for url in ("/gaps", "/gaps/plan", "/gaps?category=school&measure=population_65_plus&imd=1"):
        page = _page(client, url)
        assert EXTERNAL.search(page) is None, EXTERNAL.search(page)
        assert "/vendor/leaflet/dist/leaflet.js" in page
