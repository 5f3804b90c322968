"""The lots page's design jobs (progress, Cancel), the default grouping, and its columns."""

from __future__ import annotations

import re
import time
from typing import Any

from flask.testing import FlaskClient

from mapping.places.store import default_patch_set
from mapping.store.database import Store
from tests.web.conftest import form_data, page_token
from web.lots import design_cache_info


def _poll(client: FlaskClient, body: dict[str, Any], seconds: float = 60) -> dict[str, Any]:
    end = time.monotonic() + seconds
    seen = [body]
    while body["state"] == "running" and time.monotonic() < end:
        time.sleep(0.1)
        body = client.get(f"/lots/jobs/{body['job']}", headers={"Accept": "application/json"}).json
        seen.append(body)
    return {**body, "seen": seen}


def _start(client: FlaskClient, **form: str) -> Any:
    token = page_token(client)
    return client.post("/lots/jobs", data=form, headers={"X-CSRFToken": token,
                                                          "Accept": "application/json"})


def test_a_design_job_reports_progress_and_the_page_reuses_its_design(
        client: FlaskClient) -> None:
    started = _start(client, layer="lsoa_2021", k="8", tolerance="10", seed="11")
    assert started.status_code == 202, started.get_data(as_text=True)
    body = _poll(client, started.json)
    assert body["state"] == "done", body
    running = [b for b in body["seen"] if b["state"] == "running"]
    assert running and all(0 <= b["percent"] <= 100 for b in running)
    assert body["percent"] == 100 and body["deviation"] <= 0.10
    assert body["query"] == {"layer": "lsoa_2021", "k": 8, "measure": "population",
                             "tolerance": "10", "seed": 11}
    assert body["max_seconds"] == 20
    before = design_cache_info()
    page = client.get("/lots?layer=lsoa_2021&k=8&tolerance=10&seed=11")
    assert page.status_code == 200 and design_cache_info()["hits"] == before["hits"] + 1
    again = _start(client, layer="lsoa_2021", k="8", tolerance="10", seed="11")
    assert again.status_code == 200 and again.json["state"] == "done"  # made lately: at once


def test_a_design_job_can_be_cancelled_by_its_own_browser_only(client: FlaskClient,
                                                               app) -> None:  # type: ignore[no-untyped-def]
    # A tight tolerance on 185 areas: the search runs long enough to be cancelled.
    started = _start(client, layer="lsoa_2021", k="12", tolerance="0.5", seed="4")
    assert started.status_code == 202
    job = started.json["job"]
    other = app.test_client()
    token = page_token(other)
    assert other.get(f"/lots/jobs/{job}", headers={"Accept": "application/json"}
                     ).status_code == 404
    assert other.post(f"/lots/jobs/{job}/cancel", headers={"X-CSRFToken": token,
                                                           "Accept": "application/json"}
                      ).status_code == 404
    no_token = client.post(f"/lots/jobs/{job}/cancel", headers={"Accept": "application/json"})
    assert no_token.status_code == 400 and "error" in no_token.json
    cancel = client.post(f"/lots/jobs/{job}/cancel", headers={
        "X-CSRFToken": page_token(client), "Accept": "application/json"})
    assert cancel.status_code == 200
    body = _poll(client, cancel.json, seconds=10)
    assert body["state"] == "cancelled" and body["message"] == "Cancelled: no design was made."


def test_bad_design_options_are_a_clear_422_and_need_a_csrf_token(client: FlaskClient) -> None:
    bad = _start(client, layer="nope", k="abc", tolerance="99")
    assert bad.status_code == 422
    fields = {p["field"] for p in bad.json["error"]["problems"]}
    assert fields == {"layer", "k", "tolerance"}
    assert "Electoral wards (Dec 2023)" in str(bad.json)  # layers by their titles
    assert "Traceback" not in bad.get_data(as_text=True)
    forged = client.post("/lots/jobs", data={"k": "8"}, headers={"Accept": "application/json"})
    assert forged.status_code == 400


def _save(officer: FlaskClient, name: str, query: str = "k=8&seed=2") -> None:
    data = form_data(officer.get(f"/lots?{query}").get_data(as_text=True), "/lots/save")
    assert officer.post("/lots/save", data=dict(data, name=name)).status_code == 302


def test_only_an_officer_makes_a_saved_design_the_default_grouping(
        client: FlaskClient, client_as, demo_store: Store) -> None:  # type: ignore[no-untyped-def]
    officer = client_as("officer")
    _save(officer, "Eight lots")
    page = officer.get("/lots?set=Eight+lots").get_data(as_text=True)
    assert "is not the default grouping" in page and "Use as the default grouping" in page
    assert 'href="/gaps?patches=Eight+lots"' in page
    assert "Patches: wards (" in client.get("/gaps").get_data(as_text=True)
    data = form_data(page, "/lots/default")
    assert data["name"] == "Eight lots" and data["use"] == "1"
    assert client.post("/lots/default", data=data).status_code in (302, 400)  # anonymous
    with demo_store.transaction() as session:
        assert default_patch_set(session) is None
    assert officer.post("/lots/default", data=dict(data, csrf_token="forged")).status_code == 400
    assert officer.post("/lots/default", data=data).status_code == 302
    with demo_store.transaction() as session:
        assert default_patch_set(session) == "Eight lots"
    gaps = client.get("/gaps").get_data(as_text=True)
    assert "made the default grouping by an officer" in gaps
    people = [int(v.replace(",", "")) for v in re.findall(
        r'<th scope="row">Lot \d+</th><td>\d+</td><td>([\d,]+)</td>', gaps)]
    assert len(people) == 8 and all(people)
    plan = client.get("/gaps/plan").get_data(as_text=True)
    assert "No gaps to fund" not in plan and "made the default grouping by an officer" in plan
    page = officer.get("/lots?set=Eight+lots").get_data(as_text=True)
    stop = form_data(page, "/lots/default")
    assert stop["use"] == "0" and officer.post("/lots/default", data=stop).status_code == 302
    with demo_store.transaction() as session:
        assert default_patch_set(session) is None


def test_profile_columns_are_in_words_a_few_by_default_others_on_request(
        client: FlaskClient) -> None:
    html = client.get("/lots?k=8&seed=0").get_data(as_text=True)
    shown = re.findall(r'<th scope="col" data-col="([^"]+)" >', html)
    hidden = re.findall(r'<th scope="col" data-col="([^"]+)" hidden>', html)
    assert shown == ["areas", "area_km2", "population", "population_65_plus", "share_65_plus",
                     "imd_q1", "imd_mean_decile", "generative_share", "providers_with_office"]
    assert len(hidden) > 20 and "Residents (people)" in html and "Land area (km²)" in html
    picked = client.get("/lots?k=8&seed=0&col=imd_q5&col=gap_people_school").get_data(
        as_text=True)
    assert re.findall(r'<th scope="col" data-col="([^"]+)" >', picked) == [
        "imd_q5", "gap_people_school"]
    unknown = client.get("/lots?k=8&seed=0&col=nope")
    assert unknown.status_code == 422 and "field “col”" in unknown.get_data(as_text=True)
