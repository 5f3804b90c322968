"""The lots page: design, chart, profiles, exports, saving by officers only, bad input."""

from __future__ import annotations

import json
import re

from flask.testing import FlaskClient

from mapping.area_store import list_patch_sets
from mapping.lot_store import lot_design_info
from mapping.store import Store
from tests.web.conftest import form_data, page_token


def test_page_designs_eight_balanced_lots_with_chart_and_profiles(client: FlaskClient) -> None:
    response = client.get("/lots")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="balance-chart"' in html and "<svg" in html
    flat = " ".join(html.split())
    assert re.search(r'largest deviation <span id="imbalance">\d\.\d%</span> — within ±10%',
                     flat)
    assert flat.count('<rect x=') == 9  # the tolerance band and one bar per lot
    assert "Lot 8" in html and 'id="profile-table"' in html and "gap people school" in html
    assert "ReCom" in html and "not published" in html
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
