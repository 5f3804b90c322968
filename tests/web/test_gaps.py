"""The gaps and micro-fund plan pages on the real Newham demo: page, exports, errors."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pyproj import Transformer

from mapping import schema as S
from mapping.access.analysis import GapOptions, analyse_gaps, inputs_from_store
from mapping.access.network import prepare_network
from mapping.access.walk_graph import walking_graph_from_xml
from mapping.config import Settings
from mapping.places.areas import patches_from_lookup
from mapping.places.store import load_area_layer, save_patch_set
from mapping.schema import METRIC_CRS, STORAGE_CRS
from mapping.store.database import Store
from tests.synthetic_streets import grid_over_west_half
from tests.web.conftest import form_data, signed_in
from web import create_app

METHOD = "straight line × 1.3"
EXTERNAL = re.compile(r"<(?:script|link|img)[^>]+(?:src|href)=\"(?:https?:)?//", re.IGNORECASE)


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


def test_method_2sfca_changes_the_measure_and_is_labelled(client: FlaskClient) -> None:
    e2 = _rows(client.get("/gaps.csv"))
    two = _rows(client.get("/gaps.csv?method=2sfca"))
    assert {r["measure"] for r in e2} == {"E2SFCA (Luo & Qi 2009)"}
    assert {r["measure"] for r in two} == {"2SFCA (Luo & Wang 2003)"}
    assert [r["access"] for r in e2] != [r["access"] for r in two]
    page = _page(client, "/gaps?method=2sfca")
    assert '<label for="method">Access measure</label>' in page
    assert '<option value="2sfca" selected>' in page
    assert '<span id="measure">2SFCA (Luo &amp; Wang 2003)</span>' in page
    assert "method=2sfca" in page  # the export links keep the measure
    patches = _rows(client.get("/gaps/patches.csv?method=2sfca"))
    assert {r["measure"] for r in patches} == {"2SFCA (Luo & Wang 2003)"}


def _worst_gap_site(client: FlaskClient) -> str:
    """Give 'lon,lat' of the centroid of the lowest-access gap LSOA for GP practices."""
    rows = [r for r in _rows(client.get("/gaps.csv")) if r["gap"] == "True"]
    worst = min(rows, key=lambda r: (float(r["normalised"]), -float(r["people"])))
    geo = json.loads(client.get("/gaps.geojson").get_data(as_text=True))
    shape = next(f for f in geo["features"] if f["properties"][S.AREA_CODE] == worst[S.AREA_CODE])
    area = gpd.GeoDataFrame.from_features([shape], crs=4326)
    centre = area.to_crs(27700).centroid.to_crs(4326).iloc[0]
    return f"{centre.x:.6f},{centre.y:.6f}"


def test_a_proposed_site_in_the_worst_gap_shows_before_and_after(client: FlaskClient) -> None:
    site = _worst_gap_site(client)
    before = _rows(client.get("/gaps.csv"))
    rows = _rows(client.get(f"/gaps.csv?add={site}"))
    gaps_before = sum(r["gap"] == "True" for r in before)
    people_before = round(sum(float(r["people"]) for r in before if r["gap"] == "True"))
    gaps_after = sum(r["gap"] == "True" for r in rows)
    people_after = round(sum(float(r["people"]) for r in rows if r["gap"] == "True"))
    assert gaps_after < gaps_before or people_after < people_before
    assert sum(r["gap_before"] == "True" for r in rows) == gaps_before
    assert max(float(r["change"]) for r in rows) > 0
    page = _page(client, f"/gaps?add={site}")
    assert _summary_number(page, "gap-areas-after") == gaps_after
    assert _summary_number(page, "gap-areas-before") == gaps_before
    assert _summary_number(page, "gap-people-after") == people_after
    assert _summary_number(page, "gap-people-before") == people_before
    assert "With the proposed site:" in page
    assert "Proposed site proposed&#45;1" in page and "#00e5ff" in page  # the map's marker
    assert f'value="{site}"' in page and "add=" in page  # kept in the form and the links
    assert "Add a proposed site (longitude, latitude)" in page
    geo = json.loads(client.get(f"/gaps.geojson?add={site}").get_data(as_text=True))
    assert f"(was {gaps_before})" in geo["what_if"]
    assert "id=\"what-if\"" not in _page(client, "/gaps")


@pytest.mark.parametrize("query", ["add=abc", "add=0.03", "add=40,51.5", "add=0.03,nan",
                                   "&".join(["add=0.03,51.53"] * 11)])
def test_bad_proposed_sites_are_a_422_naming_add(client: FlaskClient, query: str) -> None:
    for url in ("/gaps", "/gaps.csv"):
        assert client.get(f"{url}?{query}").status_code == 422, (url, query)
    api = client.get(f"/gaps.csv?{query}", headers={"Accept": "application/json"})
    assert api.status_code == 422
    assert "add" in json.dumps(api.get_json())


@pytest.fixture
def strict_analysis_app(settings: Settings) -> Flask:
    limited = dataclasses.replace(settings, analysis_rate_limit="2 per minute")
    return create_app({"TESTING": True, "MAPPING_SETTINGS": limited})


def test_analysis_pages_share_a_rate_limit_for_visitors_not_staff(
        strict_analysis_app: Flask, demo_store: Store) -> None:
    client = strict_analysis_app.test_client()
    assert client.get("/gaps.csv").status_code == 200
    assert client.get("/lots.csv").status_code == 200  # one count across the analysis pages
    refused = client.get("/gaps/plan")
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert "Wait a minute and try again, or sign in" in html and "Traceback" not in html
    assert client.get("/directory/").status_code == 200  # other pages are not limited
    signed_in(client, demo_store, "viewer")
    assert client.get("/gaps.csv").status_code == 200  # staff are exempt


# --- with a walking network configured (a SYNTHETIC street grid over the demo areas) ---------


def _client_with_network(settings: Settings, network: str) -> FlaskClient:
    app = create_app({"TESTING": True,
                      "MAPPING_SETTINGS": dataclasses.replace(settings, walking_network=network)})
    return app.test_client()


def test_the_walking_network_is_read_in_the_background_at_start(settings: Settings,
                                                                demo_store: Store,
                                                                tmp_path: Path) -> None:
    grid, _ = grid_over_west_half(demo_store, tmp_path)
    app = create_app({"TESTING": True,
                      "MAPPING_SETTINGS": dataclasses.replace(settings, walking_network=str(grid))})

    app.extensions["walking_network_reader"].join()

    read = app.extensions["walking_network"]
    assert read["note"] is None and len(read["network"].node_ids) > 500  # before any request
    assert list((settings.instance_dir / "cache").glob("*.graphml"))
    assert "walking_network_reader" not in create_app({"TESTING": True,
                                                       "MAPPING_SETTINGS": settings}).extensions


def test_gaps_and_plan_pages_walk_the_configured_network(settings: Settings, demo_store: Store,
                                                         tmp_path: Path) -> None:
    grid, stop = grid_over_west_half(demo_store, tmp_path)
    client = _client_with_network(settings, str(grid))

    page = _page(client, "/gaps")

    assert "Distances are walking routes on the street network." in page and METHOD not in page
    assert "areas are more than 250 m from the walking network and are left out" in page
    rows = _rows(client.get("/gaps.csv"))
    assert {r["method"] for r in rows} == {"network"}
    off = [r for r in rows if r["snapped"] == "False"]
    assert 40 < len(off) < 185 and {r["gap"] for r in off} == {"False"}
    with demo_store.transaction() as session:
        inputs = inputs_from_store(session)
    graph = prepare_network(walking_graph_from_xml(grid, cache_dir=tmp_path / "check"))
    expected = analyse_gaps(inputs.areas, inputs.assets, options=GapOptions("gp_practice"),
                            patches=inputs.patches, patch_source=inputs.patch_source, graph=graph)
    assert _summary_number(page, "gap-areas") == expected.gap_totals()[0]
    assert sorted(r["code"] for r in off) == sorted(
        expected.areas.loc[~expected.areas["snapped"].astype(bool), S.AREA_CODE])
    plan = _rows(client.get("/gaps/plan.csv?budget=2000"))
    assert {r["travel_cost_method"] for r in plan} == {"network"}
    plan_page = _page(client, "/gaps/plan?budget=2000")
    assert "walking routes on the street network" in plan_page
    assert "areas are more than 250 m from the walking network" in plan_page
    assert "community spaces are more than 250 m from the walking network, so they are not " \
           "suggested as hosts" in plan_page
    # A proposed site in the east, where the grid has no streets, changes nothing and says so.
    lon, lat = Transformer.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True).transform(
        stop + 2000, float(inputs.areas.to_crs(METRIC_CRS).representative_point().y.median()))
    east = _page(client, f"/gaps?add={lon:.6f},{lat:.6f}")
    assert "1 proposed site(s) are more than 250 m from the walking network" in east
    assert _summary_number(east, "gap-areas-after") == _summary_number(east, "gap-areas-before")
    sources = _page(client, "/sources")
    assert "<code>grid.osm</code>" in sources and "ODbL" in sources


def test_an_unreadable_walking_network_leaves_the_labelled_fallback(
        settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = tmp_path / "secret-folder" / "broken.osm"
    broken.parent.mkdir()
    broken.write_text("<osm><node id='1'", encoding="utf-8")
    client = _client_with_network(settings, str(broken))

    page = _page(client, "/gaps")

    assert METHOD in page and "not walking routes" in page
    assert "The walking network file &#39;broken.osm&#39; could not be read" in page
    assert "secret-folder" not in page  # the server's folders are not shown to visitors
    assert "broken.osm" in caplog.text  # the reason is in the log
    assert {r["method"] for r in _rows(client.get("/gaps.csv"))} == {METHOD}
    missing = _client_with_network(settings, "no_such_extract.osm")
    assert "&#39;no_such_extract.osm&#39; could not be read" in _page(missing, "/gaps")


def test_the_gaps_page_rolls_up_to_the_patch_set_chosen(client: FlaskClient,
                                                        demo_store: Store) -> None:
    with demo_store.transaction() as session:
        wards = load_area_layer(session, "wards_2023")
        codes = sorted(wards[S.AREA_CODE])
        for name, parts in (("TEST halves", 2), ("TEST thirds", 3)):  # synthetic, not Newham's
            lookup = pd.DataFrame({S.AREA_CODE: codes,
                                   S.PATCH: [f"TEST part {i * parts // len(codes) + 1}"
                                             for i in range(len(codes))]})
            save_patch_set(session, name, "wards_2023", patches_from_lookup(wards, lookup))

    default = _page(client, "/gaps")
    chosen = _page(client, "/gaps?patches=TEST+thirds")

    assert default.count('<th scope="row">') == 2 and "patch set &#39;TEST halves&#39;" in default
    assert chosen.count('<th scope="row">') == 3 and "patch set &#39;TEST thirds&#39;" in chosen
    assert '<option value="TEST thirds" selected>' in chosen
    assert "patches=TEST+thirds" in chosen  # the downloads and the plan link keep the choice
    assert len(_rows(client.get("/gaps/patches.csv?patches=TEST+thirds"))) == 3
    assert form_data(_page(client, "/gaps/plan?patches=TEST+thirds"), "/gaps/plan")["patches"] == (
        "TEST thirds")
    unknown = client.get("/gaps?patches=Lots+2019")
    assert unknown.status_code == 422
    assert "there is no patch set &#39;Lots 2019&#39;" in unknown.get_data(as_text=True)


def test_the_plan_form_keeps_each_proposed_site(client: FlaskClient) -> None:
    page = _page(client, "/gaps/plan?add=0.0352,51.5290&budget=1000")
    assert '<input type="hidden" name="add" value="0.035200,51.529000">' in page

    fields = form_data(page, "/gaps/plan")
    again = client.get("/gaps/plan", query_string={**fields, "budget": "1500"})

    assert again.status_code == 200, again.get_data(as_text=True)[:300]
    assert '<input type="hidden" name="add" value="0.035200,51.529000">' in again.get_data(
        as_text=True)


# --- plain words on the pages ---------------------------------------------------------------


def _words(page: str) -> str:
    """Give the text a person reads: no scripts, styles, tags or the map's data."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'<div class="map-wrap">.*?</div>\s*(?=<section)', " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_the_plan_page_names_the_category_explains_its_methods_and_suggests_hosts(
        client: FlaskClient) -> None:
    text = _words(_page(client, "/gaps/plan"))
    assert "for GP practice gaps" in text and "gp_practice" not in text
    assert "How this is worked out" in text
    for words in ("E2SFCA, the enhanced two-step floating catchment area",
                  "MCLP, the maximal covering location problem", "PuLP with CBC",
                  "Luo, W. and Qi, Y. (2009)", "Church, R. and ReVelle, C. (1974)"):
        assert words in text, words
    hosts = re.search(r"Suggested host sites: (\d+) of 10 grants", text)
    assert hosts and int(hosts.group(1)) > 0, text[:2000]
    assert "Host reach (minutes' walk)" in text and "newly within 10 minutes' walk" in text


def test_a_community_space_plan_says_plainly_why_no_host_is_suggested(
        client: FlaskClient) -> None:
    text = _words(_page(client, "/gaps/plan?category=community_space&budget=2000"))
    assert "No host sites can be suggested for community space gaps" in text
    assert "every one of them is itself one of the sites the gaps are measured from" in text
    assert "12 active community spaces" in text
    plan = _rows(client.get("/gaps/plan.csv?category=community_space&budget=2000"))
    funded = [r for r in plan if int(r["grants"]) > 0]
    assert len(funded) == 4 and not any(r["host_site_id"] for r in funded)
    assert {r["note"] for r in funded} == {
        "no host suggested: every candidate community space is already a site of this category"}


def test_65_plus_demand_is_named_wherever_people_are_counted(client: FlaskClient) -> None:
    gaps = _page(client, "/gaps?measure=population_65_plus")
    text = _words(gaps)
    assert "people aged 65+ live in them" in text
    assert "People aged 65+ in gap areas" in text and "People aged 65+ beyond the 15-minute" in text
    assert '"label":"People aged 65+"' in gaps and '"label":"Patch"' in gaps  # tooltips
    plan = _words(_page(client, "/gaps/plan?measure=population_65_plus"))
    assert "demand: people aged 65+" in plan and "People aged 65+ in gap areas" in plan
    everyone = _words(_page(client, "/gaps"))
    assert "65+" not in everyone and "people live in them" in everyone


def test_the_host_reach_is_a_setting_of_the_plan(client: FlaskClient) -> None:
    page = _page(client, "/gaps/plan?reach=20&budget=1000")
    assert 'id="reach" name="reach" type="number" min="1" max="60" step="1" value="20"' in page
    assert "newly within 20 minutes&#39; walk" in page or "newly within 20 minutes' walk" in page
    assert "reach=20" in page  # the downloads keep it
    plan = _rows(client.get("/gaps/plan.csv?reach=20&budget=1000"))
    assert len([r for r in plan if int(r["grants"]) > 0]) == 2
    for bad in ("0", "61", "soon"):
        response = client.get(f"/gaps/plan?reach={bad}")
        assert response.status_code == 422, bad
        assert "reach" in response.get_data(as_text=True)


def test_the_360giving_export_names_categories_by_their_labels(client: FlaskClient) -> None:
    package = json.loads(client.get("/gaps/plan.json?budget=1000").get_data(as_text=True))
    assert all(g["title"].startswith("Micro-grant: new GP practice group in ")
               for g in package["grants"])
    assert "gp_practice" not in json.dumps([{k: v for k, v in g.items() if k != "id"}
                                            for g in package["grants"]], ensure_ascii=False)
