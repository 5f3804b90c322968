"""The public 'tell us' form and the officers' moderation queue."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from mapping.config import Settings
from mapping.register.records import assets_frame
from mapping.register.users import create_user
from mapping.store.database import Store
from mapping.store.models import Submission
from web import create_app
from web.extensions import limiter

PASSWORD = "correct horse battery"
FORM = {"kind": "asset", "name": "Forest Gate Memory Café", "description": "Tuesdays at 2pm",
        "postcode": "E7 9AB", "who_runs_it": "St Mark's church", "contact": "jo@example.org"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Flask-Limiter's one module-level limiter counts in memory: start and end each test at zero."""
    yield
    limiter.reset()


def _token(html: str) -> str:
    found = re.search(r'name="[\w-]*csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def _sign_in(client: FlaskClient, store: Store, role: str, username: str | None = None) -> str:
    """Create a user in the store and sign them in through the real login form (with CSRF)."""
    username = username or role
    with store.transaction() as session:
        create_user(session, username, PASSWORD, role=role)
    page = client.get("/login")
    assert page.status_code == 200
    response = client.post("/login", data={"csrf_token": _token(page.get_data(as_text=True)),
                                           "username": username, "password": PASSWORD})
    assert response.status_code == 302, "signing in failed"
    return _token(client.get("/tell-us").get_data(as_text=True))


def _send(client: FlaskClient, **changes: str):  # type: ignore[no-untyped-def]
    token = _token(client.get("/tell-us").get_data(as_text=True))
    return client.post("/tell-us", data={"csrf_token": token, **FORM, **changes})


def _submissions(store: Store) -> list[Submission]:
    with store.transaction() as session:
        return list(session.scalars(select(Submission).order_by(Submission.id)))


def _count(store: Store) -> int:
    with store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Submission)) or 0)


def _asset_names(store: Store) -> set[str]:
    with store.transaction() as session:
        return set(assets_frame(session)["name"])


# --- the public form ------------------------------------------------------------------------


def test_the_form_has_labelled_fields_a_map_and_a_hidden_honeypot(client: FlaskClient) -> None:
    response = client.get("/tell-us")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name in ("name", "description", "category", "postcode", "who_runs_it", "contact"):
        assert f'<label for="{name}">' in html
    assert '<legend>Where is it?</legend>' in html
    assert 'name="lon" type="hidden"' in html and 'name="lat" type="hidden"' in html
    assert 'class="folium-map"' in html and 'map.on("click"' in html
    srcs = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert srcs and not [s for s in srcs if s.startswith(("http:", "https:", "//"))]
    honeypot = re.search(r'<div class="honeypot" aria-hidden="true">(.*?)</div>', html, re.S)
    assert honeypot and 'name="website_url"' in honeypot.group(1)
    assert 'tabindex="-1"' in honeypot.group(1) and 'autocomplete="off"' in honeypot.group(1)


def test_a_submission_waits_and_is_not_public(client: FlaskClient, demo_store: Store) -> None:
    before = _asset_names(demo_store)
    response = _send(client)
    assert response.status_code == 302
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "officer will check" in thanks and "not public yet" in thanks
    [row] = _submissions(demo_store)
    assert (row.status, row.name, row.postcode, row.contact) == (
        "pending", FORM["name"], "E7 9AB", "jo@example.org")
    assert row.submitter_ip_hash and "127.0.0.1" not in row.submitter_ip_hash
    assert _asset_names(demo_store) == before  # the register is untouched
    for page in ("/", "/?status=any", "/directory/", "/directory/export.csv", "/api/assets",
                 "/sources", "/tell-us"):
        text = client.get(page).get_data(as_text=True)
        assert "Forest Gate Memory" not in text and "jo@example.org" not in text, page
    assert "410 active assets" in client.get("/").get_data(as_text=True)


def test_a_click_on_the_map_is_enough(client: FlaskClient, demo_store: Store) -> None:
    assert _send(client, postcode="", lon="0.0301", lat="51.5402").status_code == 302
    [row] = _submissions(demo_store)
    assert (row.postcode, row.lon, row.lat) == (None, 0.0301, 51.5402)


def test_a_bot_that_fills_the_honeypot_is_thanked_and_nothing_is_kept(
        client: FlaskClient, demo_store: Store) -> None:
    response = _send(client, website_url="http://spam.example")
    assert response.status_code == 302
    followed = client.get(response.headers["Location"])
    assert followed.status_code == 200 and "Thank you" in followed.get_data(as_text=True)
    assert _count(demo_store) == 0


def test_a_post_without_the_csrf_token_is_refused(client: FlaskClient, demo_store: Store) -> None:
    client.get("/tell-us")
    response = client.post("/tell-us", data=FORM)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert _count(demo_store) == 0


def test_a_bad_postcode_is_shown_on_its_field(client: FlaskClient, demo_store: Store) -> None:
    response = _send(client, postcode="E99 ZZZ", name="")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    field = re.search(r'<div class="field has-error">\s*<label for="postcode">.*?</div>', html,
                      re.S)
    assert field and "not a UK postcode" in field.group(0)
    assert 'aria-invalid="true"' in field.group(0)
    assert "Please give a name or a title." in html  # every problem at once
    assert 'value="E99 ZZZ"' in html  # what was typed is kept
    assert _count(demo_store) == 0


def test_no_place_at_all_is_an_error(client: FlaskClient, demo_store: Store) -> None:
    response = _send(client, postcode="")
    assert response.status_code == 422
    assert "give a postcode, or click on the map" in response.get_data(as_text=True)
    assert _count(demo_store) == 0


def test_the_sixth_post_in_a_minute_is_refused(client: FlaskClient, demo_store: Store) -> None:
    statuses = [_send(client, name=f"Group {i}").status_code for i in range(6)]
    assert statuses == [302] * 5 + [429]
    assert _count(demo_store) == 5


@pytest.fixture
def strict_app(settings: Settings) -> Flask:
    limited = dataclasses.replace(settings, submission_rate_limit="2 per minute")
    return create_app({"TESTING": True, "MAPPING_SETTINGS": limited})


def test_the_rate_limit_comes_from_the_settings_and_answers_in_the_one_error_shape(
        strict_app: Flask, demo_store: Store) -> None:
    client = strict_app.test_client()
    assert [_send(client).status_code for _ in range(2)] == [302, 302]
    refused = _send(client)
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert "Too many requests" in html and "What to do next" in html
    assert "Traceback" not in html
    token = _token(client.get("/tell-us").get_data(as_text=True))  # GETs are not limited
    as_json = client.post("/tell-us", data={"csrf_token": token, **FORM},
                          headers={"Accept": "application/json"})
    assert as_json.status_code == 429
    assert set(as_json.get_json()["error"]) == {"status", "title", "message", "problems"}
    assert _count(demo_store) == 2


# --- the officers' queue --------------------------------------------------------------------


def test_anonymous_people_are_sent_to_sign_in(client: FlaskClient, demo_store: Store) -> None:
    _send(client)
    response = client.get("/submissions")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/submissions/1").status_code == 302
    token = _token(client.get("/tell-us").get_data(as_text=True))
    response = client.post("/submissions/1/approve",
                           data={"s1-approve-csrf_token": token, "s1-approve-name": "x",
                                 "s1-approve-category": "memory_cafe"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _submissions(demo_store)[0].status == "pending"


def test_a_viewer_cannot_see_the_queue_or_approve(client: FlaskClient, demo_store: Store) -> None:
    _send(client)
    token = _sign_in(client, demo_store, "viewer")
    assert client.get("/submissions").status_code == 403
    response = client.post("/submissions/1/approve",
                           data={"s1-approve-csrf_token": token, "s1-approve-name": "x",
                                 "s1-approve-category": "memory_cafe"})
    assert response.status_code == 403
    assert _submissions(demo_store)[0].status == "pending"


def test_an_officer_approves_and_the_asset_is_on_the_map(client: FlaskClient,
                                                         demo_store: Store) -> None:
    _send(client)
    token = _sign_in(client, demo_store, "officer", "olive")
    queue = client.get("/submissions").get_data(as_text=True)
    assert FORM["name"] in queue and "jo@example.org" in queue  # officers see the contact
    assert 'action="/submissions/1/approve"' in queue and 'action="/submissions/1/reject"' in queue
    assert client.get("/submissions/1").status_code == 200
    response = client.post("/submissions/1/approve", data={
        "s1-approve-csrf_token": token, "s1-approve-category": "memory_cafe",
        "s1-approve-name": "St Mark's Memory Café", "s1-approve-description": "Tuesdays"})
    assert response.status_code == 302
    with demo_store.transaction() as session:
        assets = assets_frame(session)
    mine = assets[assets["source"] == "submission"]
    assert list(mine["name"]) == ["St Mark's Memory Café"]
    assert pd.isna(mine.iloc[0]["contact"]) and pd.isna(mine.iloc[0]["verified_by"])
    [row] = _submissions(demo_store)
    assert (row.status, row.decided_by, row.asset_id) == ("approved", "olive", mine.iloc[0]["id"])
    page = client.get("/").get_data(as_text=True)
    assert "411 active assets" in page and r"St Mark\u0027s Memory Caf\u00e9" in page
    queue = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "0 waiting" in queue and "approved by olive" in queue
    again = client.post("/submissions/1/approve", data={
        "s1-approve-csrf_token": token, "s1-approve-category": "memory_cafe",
        "s1-approve-name": "Twice"})
    assert again.status_code == 409
    assert "already approved by olive" in again.get_data(as_text=True)


def test_approving_needs_a_category(client: FlaskClient, demo_store: Store) -> None:
    _send(client)
    token = _sign_in(client, demo_store, "officer")
    response = client.post("/submissions/1/approve", data={
        "s1-approve-csrf_token": token, "s1-approve-category": "", "s1-approve-name": "x"})
    assert response.status_code == 422
    assert "Choose a category." in response.get_data(as_text=True)
    assert _submissions(demo_store)[0].status == "pending"


def test_rejecting_needs_a_reason_and_is_listed_with_who_and_why(
        client: FlaskClient, demo_store: Store) -> None:
    _send(client)
    token = _sign_in(client, demo_store, "officer", "olive")
    response = client.post("/submissions/1/reject",
                           data={"s1-reject-csrf_token": token, "s1-reject-reason": "  "})
    assert response.status_code == 422
    assert "Give a reason for rejecting it." in response.get_data(as_text=True)
    assert _submissions(demo_store)[0].status == "pending"
    response = client.post("/submissions/1/reject", data={
        "s1-reject-csrf_token": token, "s1-reject-reason": "Already listed as asset 12"})
    assert response.status_code == 302
    queue = client.get("/submissions").get_data(as_text=True)
    assert "rejected by olive" in queue and "Already listed as asset 12" in queue
    assert "Forest Gate Memory" not in client.get("/").get_data(as_text=True)
    assert client.post("/submissions/1/reject", data={
        "s1-reject-csrf_token": token, "s1-reject-reason": "again"}).status_code == 409


def test_a_missing_submission_is_not_found(client: FlaskClient, demo_store: Store) -> None:
    _sign_in(client, demo_store, "officer")
    assert client.get("/submissions/999").status_code == 404


def test_what_residents_type_is_escaped_in_the_queue(client: FlaskClient,
                                                     demo_store: Store) -> None:
    evil = "<script>alert(1)</script>"
    assert _send(client, name=evil, description=evil, who_runs_it=evil).status_code == 302
    _sign_in(client, demo_store, "officer")
    for page in ("/submissions", "/submissions/1"):
        html = client.get(page).get_data(as_text=True)
        assert evil not in html, page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert r"\u003cscript\u003ealert(1)\u003c/script\u003e" in html  # the map's data


# --- likely duplicates ----------------------------------------------------------------------


def test_the_queue_flags_a_near_duplicate_of_a_demo_asset_with_a_link(
        client: FlaskClient, demo_store: Store) -> None:
    with demo_store.transaction() as session:
        assets = assets_frame(session)
    red_lion = int(assets.loc[assets["name"] == "Red Lion", "id"].iloc[0])
    assert _send(client, name="The Red Lion café", postcode="E6 3AA").status_code == 302
    _sign_in(client, demo_store, "officer")
    for page in ("/submissions", "/submissions/1"):
        html = client.get(page).get_data(as_text=True)
        warning = re.search(r'<div class="duplicate-warning".*?</div>', html, re.S)
        assert warning, page
        assert f'<a href="/assets/{red_lion}">Red Lion</a>: asset #{red_lion}, Community space' \
            in warning.group(0)
        assert re.search(r"\d+ m away", warning.group(0))
        assert "Approve anyway" in html
    assert "1 looks like a duplicate" in client.get("/submissions").get_data(as_text=True)


def test_the_same_cafe_twice_is_flagged_and_the_second_needs_approve_anyway(
        client: FlaskClient, demo_store: Store) -> None:
    assert _send(client).status_code == 302
    assert _send(client, name="The Forest Gate memory cafe").status_code == 302
    token = _token(client.get("/tell-us").get_data(as_text=True))
    _sign_in(client, demo_store, "officer", "olive")
    queue = client.get("/submissions").get_data(as_text=True)
    assert "2 look like a duplicate" in queue
    assert '<a href="/submissions/2">The Forest Gate memory cafe</a>: submission #2' in queue
    assert "Approve anyway" not in queue  # two pending alike: approve one, reject the other
    assert client.post("/submissions/1/approve", data={
        "s1-approve-csrf_token": token, "s1-approve-category": "memory_cafe",
        "s1-approve-name": FORM["name"]}).status_code == 302
    [asset_id] = [r.asset_id for r in _submissions(demo_store) if r.status == "approved"]
    queue = client.get("/submissions").get_data(as_text=True)
    assert f'<a href="/assets/{asset_id}">{FORM["name"]}</a>: asset #{asset_id}' in queue
    assert 'name="s2-approve-approve_anyway"' in queue
    refused = client.post("/submissions/2/approve", data={
        "s2-approve-csrf_token": token, "s2-approve-category": "memory_cafe",
        "s2-approve-name": "The Forest Gate memory cafe"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert f"This looks like asset #{asset_id} &#39;{FORM['name']}&#39;" in html
    assert _submissions(demo_store)[1].status == "pending"
    assert sum(n.startswith("The Forest Gate") for n in _asset_names(demo_store)) == 0
    anyway = client.post("/submissions/2/approve", data={
        "s2-approve-csrf_token": token, "s2-approve-category": "memory_cafe",
        "s2-approve-name": "The Forest Gate memory cafe", "s2-approve-approve_anyway": "y"})
    assert anyway.status_code == 302
    assert _submissions(demo_store)[1].status == "approved"
