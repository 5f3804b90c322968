"""The lots page: design, chart, profiles, exports, saving by officers only, bad input."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete

from mapping import schema as S
from mapping.lots.design import LotSettings, design_lots
from mapping.lots.store import design_inputs, lot_design_info, save_lot_design
from mapping.places.areas import patches_from_lookup
from mapping.places.store import (
    add_area_attributes,
    list_patch_sets,
    load_area_layer,
    save_area_layer,
    save_patch_set,
)
from mapping.store.database import Store
from mapping.store.models import AreaLayer
from tests.web.conftest import form_data, page_token
from web.lots import CACHE_SIZE, design_cache_info


def test_page_designs_eight_balanced_lots_with_chart_and_profiles(client: FlaskClient) -> None:
    response = client.get("/lots")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="balance-chart"' in html and "<svg" in html
    flat = " ".join(html.split())
    assert re.search(r'largest deviation <span id="imbalance">\d\.\d%</span> — within ±10%',
                     flat)
    assert flat.count('<rect x=') == 9  # the tolerance band and one bar per lot
    assert "Lot 8" in html and 'id="profile-table"' in html
    assert "School: people in gap areas" in html  # headings in words, not column names
    assert "ReCom" in html and "not published" in html
    assert "Electoral wards (Dec 2023)</option>" in html and ">wards_2023<" not in html
    assert not re.search(r'(src|href)="https?://', html)  # nothing from the internet


def test_bad_options_are_a_422_naming_each_field(client: FlaskClient) -> None:
    response = client.get("/lots?k=abc&tolerance=99&layer=nope")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    for field in ("k", "tolerance", "layer"):
        assert f"field “{field}”" in text


def test_exports_are_the_same_design_as_the_page(client: FlaskClient) -> None:
    lookup = client.get("/lots.csv?layer=wards_2023&k=8&seed=0")
    assert lookup.status_code == 200
    rows = lookup.get_data(as_text=True).strip().splitlines()
    assert rows[0] == "code,lot" and len(rows) == 25
    geo = json.loads(client.get("/lots.geojson?layer=wards_2023&k=8&seed=0").get_data())
    assert len(geo["features"]) == 8 and "ReCom" in geo["method"]
    codes = sorted(c for f in geo["features"] for c in f["properties"]["area_codes"])
    assert codes == sorted(r.split(",")[0] for r in rows[1:])


def test_saving_needs_an_officer_and_a_csrf_token(client: FlaskClient, client_as,  # type: ignore[no-untyped-def]
                                                  demo_store: Store) -> None:
    token = page_token(client)
    anonymous = client.post("/lots/save", data={"name": "x", "csrf_token": token})
    assert anonymous.status_code in (302, 401, 403) and "/login" in anonymous.location
    officer = client_as("officer")
    page = officer.get("/lots?k=8&seed=2").get_data(as_text=True)
    data = form_data(page, "/lots/save")
    data["name"] = "Designed <eight>"
    response = officer.post("/lots/save", data=data)
    assert response.status_code == 302
    with demo_store.transaction() as session:
        assert "Designed <eight>" in list_patch_sets(session)
        info = lot_design_info(session, "Designed <eight>")
    assert info is not None and info["k"] == 8 and info["seed"] == 2 and info["imbalance"] <= 0.1
    shown = officer.get("/lots?set=Designed+%3Ceight%3E&compare=Designed+%3Ceight%3E")
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "Designed &lt;eight&gt;" in html
    assert "<eight>" not in html and 'id="compare-table"' in html
    bad = dict(data, csrf_token="forged")
    assert officer.post("/lots/save", data=bad).status_code in (400, 422)


def import_set(store: Store, name: str, lots: int, layer: str = "wards_2023") -> None:
    """Store a set as `import-lots` would (no design record): areas dealt into `lots` lots."""
    with store.transaction() as session:
        areas = load_area_layer(session, layer)
        codes = sorted(areas[S.AREA_CODE])
        lookup = pd.DataFrame({S.AREA_CODE: codes,
                               S.PATCH: [f"Lot {i % lots + 1}" for i in range(len(codes))]})
        save_patch_set(session, name, layer, patches_from_lookup(areas, lookup), source="test")


def save_design(store: Store, name: str, measure: str = S.POPULATION) -> None:
    with store.transaction() as session:
        wards, _groups, _start = design_inputs(session, "wards_2023")
        design = design_lots(wards, k=4, measure=measure, tolerance=0.2, seed=0,
                             settings=LotSettings(bursts=5, attempts=1))
        save_lot_design(session, name, "wards_2023", design, created_by="test")


def test_saving_never_overwrites_an_imported_set_and_replaces_a_design_only_when_ticked(
        client_as, demo_store: Store) -> None:  # type: ignore[no-untyped-def]
    import_set(demo_store, "Council lookup", 8)
    officer = client_as("officer")
    data = form_data(officer.get("/lots?k=8&seed=2").get_data(as_text=True), "/lots/save")
    refused = officer.post("/lots/save", data=dict(data, name="Council lookup", replace="y"))
    assert refused.status_code == 422
    assert "imported patch set" in refused.get_data(as_text=True)
    with demo_store.transaction() as session:
        assert lot_design_info(session, "Council lookup") is None  # still the council's
    assert officer.post("/lots/save", data=dict(data, name="Mine")).status_code == 302
    again = officer.post("/lots/save", data=dict(data, name="Mine"))
    assert again.status_code == 422 and "tick “replace”" in again.get_data(as_text=True)
    other = form_data(officer.get("/lots?k=6&seed=2").get_data(as_text=True), "/lots/save")
    replaced = officer.post("/lots/save", data=dict(other, name="Mine", replace="y"))
    assert replaced.status_code == 302
    with demo_store.transaction() as session:
        info = lot_design_info(session, "Mine")
    assert info is not None and info["k"] == 6


def test_a_page_and_its_downloads_share_one_design_run(client: FlaskClient) -> None:
    query = "layer=wards_2023&k=5&seed=7"
    before = design_cache_info()
    assert client.get(f"/lots?{query}").status_code == 200
    for download in ("/lots.csv", "/lots.geojson", "/lots/profile.csv"):
        assert client.get(f"{download}?{query}").status_code == 200
    after = design_cache_info()
    assert after["misses"] - before["misses"] == 1 and after["hits"] - before["hits"] == 3
    assert after["size"] <= CACHE_SIZE


def test_a_layer_written_again_is_designed_afresh_not_served_from_the_cache(
        client: FlaskClient, demo_store: Store) -> None:
    query = "layer=wards_2023&k=4&seed=3&measure=population"
    first = _lot_people(client, query)
    with demo_store.transaction() as session:
        lsoas = load_area_layer(session, "lsoa_2021")
        # TEST values, not the census: every LSOA's population (the wards' sums) doubled.
        doubled = pd.DataFrame({"code": lsoas[S.AREA_CODE],
                                S.POPULATION: lsoas[S.POPULATION] * 2})
        add_area_attributes(session, "lsoa_2021", doubled, code_column="code")
    before = design_cache_info()

    second = _lot_people(client, query)

    assert design_cache_info()["misses"] == before["misses"] + 1
    assert second == pytest.approx(2 * first)
    with demo_store.transaction() as session:
        save_area_layer(session, "wards_2023", load_area_layer(session, "wards_2023"))
    assert _lot_people(client, query) == pytest.approx(second)
    assert design_cache_info()["misses"] == before["misses"] + 2


def _lot_people(client: FlaskClient, query: str) -> float:
    """Give the people in all the lots, as the design balanced them (the layer's attribute)."""
    lots = json.loads(client.get(f"/lots.geojson?{query}").get_data())
    return sum(f["properties"]["population"] for f in lots["features"])


def test_saved_sets_give_their_method_lot_order_and_recomputed_balance(
        client: FlaskClient, demo_store: Store) -> None:
    save_design(demo_store, "Demand four", measure="demand_estimate")
    import_set(demo_store, "Twelve", 12)
    designed = json.loads(client.get("/lots.geojson?set=Demand+four").get_data())
    assert "ReCom" in designed["method"]
    imported = json.loads(client.get("/lots.geojson?set=Twelve").get_data())
    assert imported["method"] == "imported lookup"
    names = [f["properties"]["lot"] for f in imported["features"]]
    assert names == [f"Lot {i}" for i in range(1, 13)]  # not Lot 1, Lot 10, Lot 11, Lot 2
    html = client.get("/lots?set=Twelve").get_data(as_text=True)
    rows = re.findall(r'aria-hidden="true"></span> (Lot \d+)</th>', html)
    assert rows == names
    chart = html[html.index('id="balance-chart"'):]
    assert "no tolerance" in chart and "band:" not in chart  # no invented ±10%
    assert re.findall(r"<title>(Lot \d+):", chart) == names
    page = client.get("/lots?set=Demand+four").get_data(as_text=True)
    assert 'id="balance-chart"' in page and "balanced on the demand estimate" in page
    assert "demand_estimate" not in page.split('id="lots-form"')[1].split("</form>")[1]
    assert "band: ±20%" in page


def test_a_measure_the_layer_does_not_offer_is_a_422(client: FlaskClient) -> None:
    response = client.get("/lots?layer=wards_2023&k=4&measure=imd_decile")
    assert response.status_code == 422
    assert "field “measure”" in response.get_data(as_text=True)


def test_k_is_capped_by_the_layer_and_the_starting_set(client: FlaskClient,
                                                       demo_store: Store) -> None:
    too_many = client.get("/lots?layer=wards_2023&k=13")
    assert too_many.status_code == 422 and "give at most 12" in too_many.get_data(as_text=True)
    import_set(demo_store, "Thirteen", 13)
    started = client.get("/lots?layer=wards_2023&k=4&start=Thirteen")
    text = started.get_data(as_text=True)
    assert started.status_code == 422 and "field “start”" in text and "13 lots" in text


def test_a_saved_lsoa_set_shows_without_the_ward_layer(client: FlaskClient,
                                                       demo_store: Store) -> None:
    import_set(demo_store, "LSOA eight", 8, layer="lsoa_2021")
    with demo_store.transaction() as session:
        session.execute(delete(AreaLayer).where(AreaLayer.name == "wards_2023"))
    response = client.get("/lots?set=LSOA+eight")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert 'id="balance-chart"' in response.get_data(as_text=True)
