"""Officer editing (web/records.py): permissions, one validation with imports, optimistic
locking, verify and close, history, CSRF, escaping and the offline detail map."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from mapping.places.store import load_area_layer
from mapping.register.importers import prepare_assets, prepare_organisations, write_assets
from mapping.register.records import assets_frame, history, organisations_frame, upsert_records
from mapping.store.database import Store
from mapping.store.models import Asset, Organisation
from tests.web.conftest import form_data, page_token

EVIL = "<img src=x onerror=alert(1)>"


def _add_asset(store: Store, name: str = "Triangle memory café", *, status: str = "active",
               external_id: str = "t:cafe", **extra: str) -> int:
    frame = pd.DataFrame([{"external_id": external_id, "name": name, "category": "memory_cafe",
                           "postcode": "E15 4EH", "status": status, **extra}])
    with store.transaction() as session:  # as `mapping import-assets` does
        boundary = load_area_layer(session, "borough")
    prepared, problems = prepare_assets(frame, boundary=boundary)
    write_assets(store, prepared, problems, file="t", rows=1, skip_invalid=False,
                 changed_by="test")
    with store.transaction() as session:
        return int(session.scalars(select(Asset.id).where(Asset.external_id == external_id)).one())


def _add_organisation(store: Store, name: str = "Carers Together CIC", **extra: str) -> int:
    frame = pd.DataFrame([{"external_id": "t:org", "name": name,
                           "legal_form": "Community Interest Company", "company_number": "01234567",
                           "living_wage": "yes", "postcode": "E13 9PJ", **extra}])
    prepared, problems = prepare_organisations(frame)
    assert not problems
    with store.transaction() as session:
        upsert_records(session, "organisation", prepared, changed_by="test")
        return int(session.scalars(select(Organisation.id)
                                   .where(Organisation.external_id == "t:org")).one())


def _asset(store: Store, asset_id: int) -> Asset:
    with store.transaction() as session:
        asset = session.get(Asset, asset_id)
        assert asset is not None
        return asset


def _count(store: Store, model: type[Asset] | type[Organisation]) -> int:
    with store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _history(store: Store, record_type: str, record_id: int) -> pd.DataFrame:
    with store.transaction() as session:
        return history(session, record_type, record_id)


def _html(response) -> str:  # type: ignore[no-untyped-def]
    return str(response.get_data(as_text=True))


def _field_html(html: str, name: str) -> str:
    """Give the markup of one field's block (label, control and errors) from the field macro."""
    found = re.search(rf'<div class="field[^"]*">\s*<label for="{name}">.*?</div>', html, re.S)
    assert found, f"no field {name} on the page"
    return found.group(0)


@pytest.fixture
def asset_id(demo_store: Store) -> int:
    return _add_asset(demo_store)


@pytest.fixture
def organisation_id(demo_store: Store) -> int:
    return _add_organisation(demo_store)


@pytest.fixture
def officer(client_as: Callable[..., FlaskClient]) -> FlaskClient:
    return client_as("officer", "olu")


# --- who may do what -------------------------------------------------------------------------

ROUTES = [  # method, url, anonymous, viewer, officer (an officer's POST sends an empty form)
    ("GET", "/assets/new", 302, 403, 200),
    ("POST", "/assets/new", 302, 403, 422),
    ("GET", "/assets/{a}", 200, 200, 200),
    ("GET", "/assets/{a}/edit", 302, 403, 200),
    ("POST", "/assets/{a}/edit", 302, 403, 422),
    ("POST", "/assets/{a}/verify", 302, 403, 400),
    ("POST", "/assets/{a}/close", 302, 403, 422),
    ("GET", "/assets/{a}/history", 302, 200, 200),
    ("GET", "/organisations/new", 302, 403, 200),
    ("POST", "/organisations/new", 302, 403, 422),
    ("GET", "/organisations/{o}", 200, 200, 200),
    ("GET", "/organisations/{o}/edit", 302, 403, 200),
    ("POST", "/organisations/{o}/edit", 302, 403, 422),
    ("GET", "/organisations/{o}/history", 302, 200, 200),
]


@pytest.mark.parametrize("role", ["anonymous", "viewer", "officer"])
@pytest.mark.parametrize(("method", "url", "anonymous", "viewer", "officer"), ROUTES)
def test_every_route_for_every_role(role: str, method: str, url: str, anonymous: int,
                                    viewer: int, officer: int, client: FlaskClient,
                                    client_as: Callable[..., FlaskClient], demo_store: Store,
                                    asset_id: int, organisation_id: int) -> None:
    browser = client if role == "anonymous" else client_as(role)
    path = url.format(a=asset_id, o=organisation_id)
    def state() -> tuple[int, int, int]:
        return (_count(demo_store, Asset), _count(demo_store, Organisation),
                _asset(demo_store, asset_id).version)

    before = state()
    if method == "GET":
        response = browser.get(path)
    else:  # with a valid CSRF token, so that the role is what decides
        response = browser.post(path, data={"csrf_token": page_token(browser)})
    expected = {"anonymous": anonymous, "viewer": viewer, "officer": officer}[role]
    assert response.status_code == expected, _html(response)[:2000]
    if expected == 302:
        assert response.headers["Location"].startswith("/login?next=")
    if expected == 403:
        assert "This needs the officer role" in _html(response)
    assert state() == before  # nothing here is a valid write


def test_proposed_and_closed_assets_are_not_public(client: FlaskClient,
                                                   viewer_client: FlaskClient,
                                                   demo_store: Store) -> None:
    proposed = _add_asset(demo_store, "A new idea", status="proposed", external_id="t:p")
    closed = _add_asset(demo_store, "Gone", status="closed", external_id="t:c")
    missing = client.get("/assets/999999")
    for asset_id in (proposed, closed):
        response = client.get(f"/assets/{asset_id}")
        assert response.status_code == 404
        # The same answer as for no asset at all: a pending record's existence is not given away.
        assert _html(response) == _html(missing)
        assert viewer_client.get(f"/assets/{asset_id}").status_code == 200
    assert "A new idea" in _html(viewer_client.get(f"/assets/{proposed}"))


def test_viewer_sees_history_but_no_edit_controls(viewer_client: FlaskClient, asset_id: int) -> None:
    html = _html(viewer_client.get(f"/assets/{asset_id}"))
    assert f"/assets/{asset_id}/history" in html
    assert f"/assets/{asset_id}/edit" not in html and "/verify" not in html


# --- creating ----------------------------------------------------------------------------------

def test_officer_creates_an_asset_through_the_form(officer: FlaskClient, demo_store: Store,
                                                   organisation_id: int) -> None:
    data = form_data(_html(officer.get("/assets/new")))
    assert data["csrf_token"] and data["status"] == "active" and data["category"] == ""
    data.update(name="Stratford memory café", category="memory_cafe", postcode="e15 4eh",
                capacity="25", organisation_external_id="t:org",
                opening_times="Tuesdays 10:00–12:00")
    response = officer.post("/assets/new", data=data)
    assert response.status_code == 303
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])

    assets = assets_frame(demo_store.session())
    row = assets.set_index("id").loc[new_id]
    assert row["name"] == "Stratford memory café"
    assert row["category"] == "memory_cafe"
    assert row["postcode"] == "E15 4EH"  # put in canonical form by the shared validation
    assert row["capacity"] == 25
    assert row["organisation_name"] == "Carers Together CIC"
    assert row["ownership_class"] == "generative"
    assert row["in_borough"]
    assert row["external_id"].startswith("web:") and len(row["external_id"]) == 4 + 32
    assert row["source"] == "survey"
    created = _history(demo_store, "asset", new_id)
    assert list(created["action"]) == ["create"] and list(created["changed_by"]) == ["olu"]

    page = _html(officer.get(response.headers["Location"]))
    assert "Saved “Stratford memory café”." in page
    assert "Carers Together CIC" in page and "GB-COH-01234567" in page


def test_an_unknown_postcode_is_shown_on_its_field_and_nothing_is_written(
        officer: FlaskClient, demo_store: Store) -> None:
    before = _count(demo_store, Asset)
    data = form_data(_html(officer.get("/assets/new")))
    data.update(name="Nowhere hall", category="community_space", postcode="E99 9ZZ")
    response = officer.post("/assets/new", data=data)
    assert response.status_code == 422
    postcode = _field_html(_html(response), "postcode")
    assert "is not in OS Code-Point Open" in postcode and 'aria-invalid="true"' in postcode
    assert 'value="E99 9ZZ"' in postcode  # what was typed is kept
    assert _count(demo_store, Asset) == before


def test_swapped_coordinates_are_caught_by_the_import_validation(officer: FlaskClient,
                                                                 demo_store: Store) -> None:
    before = _count(demo_store, Asset)
    data = form_data(_html(officer.get("/assets/new")))
    data.update(name="Swapped", category="peer_group", lon="51.5432", lat="0.0116")
    response = officer.post("/assets/new", data=data)
    assert response.status_code == 422
    assert "latitude and longitude look swapped" in _field_html(_html(response), "lon")
    assert _count(demo_store, Asset) == before


def test_a_missing_category_and_name_are_refused(officer: FlaskClient, demo_store: Store) -> None:
    before = _count(demo_store, Asset)
    data = form_data(_html(officer.get("/assets/new")))
    data.update(postcode="E15 4EH")
    html = _html(officer.post("/assets/new", data=data))
    assert "Choose a category." in _field_html(html, "category")
    assert "This field is required." in _field_html(html, "name")
    assert _count(demo_store, Asset) == before


def test_a_post_without_the_csrf_token_is_refused(officer: FlaskClient, demo_store: Store,
                                                  asset_id: int) -> None:
    before = _count(demo_store, Asset)
    data = form_data(_html(officer.get("/assets/new")))
    data.update(name="Forged", category="peer_group", postcode="E15 4EH")
    del data["csrf_token"]
    response = officer.post("/assets/new", data=data)
    assert response.status_code == 400
    assert "CSRF" in _html(response)
    assert _count(demo_store, Asset) == before
    edit = form_data(_html(officer.get(f"/assets/{asset_id}/edit")))
    edit.update(name="Forged", csrf_token="not-a-token")
    assert officer.post(f"/assets/{asset_id}/edit", data=edit).status_code == 400
    assert _asset(demo_store, asset_id).name == "Triangle memory café"


# --- editing and optimistic locking ------------------------------------------------------------

def test_an_edit_is_saved_with_its_history(officer: FlaskClient, demo_store: Store,
                                           asset_id: int) -> None:
    data = form_data(_html(officer.get(f"/assets/{asset_id}/edit")))
    assert data["version"] == "1" and data["name"] == "Triangle memory café"
    data.update(name="Triangle dementia café", accessibility="Step-free; hearing loop")
    response = officer.post(f"/assets/{asset_id}/edit", data=data)
    assert response.status_code == 303
    asset = _asset(demo_store, asset_id)
    assert (asset.name, asset.accessibility, asset.version) == (
        "Triangle dementia café", "Step-free; hearing loop", 2)
    assert asset.postcode == "E15 4EH" and asset.category == "memory_cafe"  # untouched
    newest = _history(demo_store, "asset", asset_id).iloc[0]
    assert (newest["version"], newest["action"], newest["changed_by"]) == (2, "edit", "olu")
    assert newest["changes"]["name"] == ["Triangle memory café", "Triangle dementia café"]
    assert set(newest["changes"]) == {"name", "accessibility"}


def test_saving_an_unchanged_form_writes_nothing(officer: FlaskClient, demo_store: Store,
                                                 asset_id: int) -> None:
    data = form_data(_html(officer.get(f"/assets/{asset_id}/edit")))
    response = officer.post(f"/assets/{asset_id}/edit", data=data, follow_redirects=True)
    assert "Nothing had changed" in _html(response)
    assert _asset(demo_store, asset_id).version == 1
    assert len(_history(demo_store, "asset", asset_id)) == 1


def test_a_stale_edit_is_refused_and_the_other_change_is_kept(
        client_as: Callable[..., FlaskClient], demo_store: Store, asset_id: int) -> None:
    amina, ben = client_as("officer", "amina"), client_as("officer", "ben")
    amina_form = form_data(_html(amina.get(f"/assets/{asset_id}/edit")))
    ben_form = form_data(_html(ben.get(f"/assets/{asset_id}/edit")))

    amina_form.update(name="Triangle café (Amina's fix)")
    assert amina.post(f"/assets/{asset_id}/edit", data=amina_form).status_code == 303
    ben_form.update(opening_times="Mondays 14:00–16:00")
    response = ben.post(f"/assets/{asset_id}/edit", data=ben_form)

    assert response.status_code == 409
    html = _html(response)
    assert ("Someone else saved this asset while you were editing — reload to see their change"
            in html)
    assert 'value="Mondays 14:00–16:00"' in html  # Ben's typing is not thrown away
    asset = _asset(demo_store, asset_id)
    assert asset.name == "Triangle café (Amina's fix)" and asset.opening_times is None
    assert asset.version == 2
    assert list(_history(demo_store, "asset", asset_id)["changed_by"]) == ["amina", "test"]
    # Reloading gives Ben the new version, and then his edit goes through on top of Amina's.
    again = form_data(_html(ben.get(f"/assets/{asset_id}/edit")))
    again.update(opening_times="Mondays 14:00–16:00")
    assert ben.post(f"/assets/{asset_id}/edit", data=again).status_code == 303
    asset = _asset(demo_store, asset_id)
    assert (asset.name, asset.opening_times) == ("Triangle café (Amina's fix)",
                                                 "Mondays 14:00–16:00")


def test_an_edit_without_a_version_is_refused(officer: FlaskClient, demo_store: Store,
                                              asset_id: int) -> None:
    data = form_data(_html(officer.get(f"/assets/{asset_id}/edit")))
    del data["version"]
    data.update(name="No version")
    response = officer.post(f"/assets/{asset_id}/edit", data=data)
    assert response.status_code == 422
    assert "did not say which version" in _html(response)
    assert _asset(demo_store, asset_id).name == "Triangle memory café"


def test_a_new_postcode_moves_the_point_when_the_coordinates_are_left_alone(
        officer: FlaskClient, demo_store: Store, asset_id: int) -> None:
    before = _asset(demo_store, asset_id)
    data = form_data(_html(officer.get(f"/assets/{asset_id}/edit")))
    data.update(postcode="E13 9PJ")
    assert officer.post(f"/assets/{asset_id}/edit", data=data).status_code == 303
    after = _asset(demo_store, asset_id)
    assert after.postcode == "E13 9PJ"
    assert (round(after.lon, 4), round(after.lat, 4)) == (0.0366, 51.53)
    assert (after.lon, after.lat) != (before.lon, before.lat)


def test_typed_coordinates_win_over_the_postcode(officer: FlaskClient, demo_store: Store,
                                                 asset_id: int) -> None:
    data = form_data(_html(officer.get(f"/assets/{asset_id}/edit")))
    data.update(lon="0.0400", lat="51.5400")
    assert officer.post(f"/assets/{asset_id}/edit", data=data).status_code == 303
    after = _asset(demo_store, asset_id)
    assert (after.lon, after.lat, after.postcode) == (0.04, 51.54, "E15 4EH")


# --- verify and close ---------------------------------------------------------------------------

def test_verify_then_close_write_history_with_their_actions(officer: FlaskClient,
                                                            client: FlaskClient,
                                                            demo_store: Store,
                                                            asset_id: int) -> None:
    detail = _html(officer.get(f"/assets/{asset_id}"))
    verify = form_data(detail, f"/assets/{asset_id}/verify")
    assert verify["verify-version"] == "1"
    assert officer.post(f"/assets/{asset_id}/verify", data=verify).status_code == 303
    asset = _asset(demo_store, asset_id)
    assert asset.verified_by == "olu" and asset.verified_at is not None

    close = form_data(_html(officer.get(f"/assets/{asset_id}")), f"/assets/{asset_id}/close")
    close["close-reason"] = "The group stopped meeting in March."
    assert officer.post(f"/assets/{asset_id}/close", data=close).status_code == 303
    assert _asset(demo_store, asset_id).status == "closed"

    rows = _history(demo_store, "asset", asset_id)
    assert list(rows["action"]) == ["close", "verify", "create"]
    assert list(rows["version"]) == [3, 2, 1]
    closing, verifying = rows.iloc[0], rows.iloc[1]
    assert closing["changed_by"] == "olu"
    assert closing["changes"] == {"status": ["active", "closed"],
                                  "reason": [None, "The group stopped meeting in March."]}
    assert verifying["changes"]["verified_by"] == [None, "olu"]
    assert client.get(f"/assets/{asset_id}").status_code == 404  # closed: no longer public
    page = _html(officer.get(f"/assets/{asset_id}/history"))
    assert "The group stopped meeting in March." in page


def test_close_needs_a_reason(officer: FlaskClient, demo_store: Store, asset_id: int) -> None:
    close = form_data(_html(officer.get(f"/assets/{asset_id}")), f"/assets/{asset_id}/close")
    response = officer.post(f"/assets/{asset_id}/close", data=close)
    assert response.status_code == 422
    assert "Say why it is closing." in _field_html(_html(response), "close-reason")
    assert _asset(demo_store, asset_id).status == "active"


def test_a_stale_verify_or_close_is_refused(client_as: Callable[..., FlaskClient],
                                            demo_store: Store, asset_id: int) -> None:
    amina, ben = client_as("officer", "amina"), client_as("officer", "ben")
    ben_page = _html(ben.get(f"/assets/{asset_id}"))
    edit = form_data(_html(amina.get(f"/assets/{asset_id}/edit")))
    edit.update(name="Renamed by Amina")
    assert amina.post(f"/assets/{asset_id}/edit", data=edit).status_code == 303

    verify = ben.post(f"/assets/{asset_id}/verify",
                      data=form_data(ben_page, f"/assets/{asset_id}/verify"))
    assert verify.status_code == 409
    assert "Renamed by Amina" in _html(verify)  # the page now shows what was saved
    close = form_data(ben_page, f"/assets/{asset_id}/close")
    close["close-reason"] = "Stopped"
    response = ben.post(f"/assets/{asset_id}/close", data=close)
    assert response.status_code == 409 and "Someone else saved this asset" in _html(response)
    asset = _asset(demo_store, asset_id)
    assert (asset.status, asset.verified_by, asset.version) == ("active", None, 2)


# --- history ----------------------------------------------------------------------------------

def test_history_page_shows_old_and_new_values(officer: FlaskClient, viewer_client: FlaskClient,
                                               asset_id: int) -> None:
    data = form_data(_html(officer.get(f"/assets/{asset_id}/edit")))
    data.update(name="Renamed café", contact="")
    officer.post(f"/assets/{asset_id}/edit", data=data)
    html = _html(viewer_client.get(f"/assets/{asset_id}/history"))
    assert re.search(r"<td>2</td><td>edit</td><td>olu</td><td>\d\d \w{3} \d{4}, \d\d:\d\d UTC</td>",
                     html)
    change = re.search(r"<li><strong>name</strong>: (.*?)</li>", html)
    assert change and change.group(1).startswith("Triangle memory café ")
    assert "→" in change.group(1) and change.group(1).endswith(" Renamed café")
    assert "<td>1</td><td>create</td><td>test</td>" in html


def test_history_of_a_missing_record_is_404(viewer_client: FlaskClient) -> None:
    assert viewer_client.get("/assets/999999/history").status_code == 404
    assert viewer_client.get("/organisations/999999/history").status_code == 404


# --- the detail page: escaping and the offline map ---------------------------------------------

def test_detail_page_escapes_everything_a_person_typed(client: FlaskClient,
                                                       demo_store: Store) -> None:
    asset_id = _add_asset(demo_store, EVIL, external_id="t:xss", description=EVIL,
                          website="javascript:alert(1)", contact="`${alert(1)}`")
    html = _html(client.get(f"/assets/{asset_id}"))
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert EVIL not in html  # not in the page, the map tooltip nor its script
    assert "<dd>`${alert(1)}`</dd>" in html  # plain text in the page is harmless
    assert "${alert" not in "".join(re.findall(r"<script>(.*?)</script>", html, re.S))
    assert 'href="javascript:' not in html  # a non-web address is shown as text only
    assert "javascript:alert(1)" in html


def test_tooltip_text_cannot_break_out_of_the_map_script(client: FlaskClient,
                                                         demo_store: Store) -> None:
    name = "Tea `${alert(1)}` </script><script>alert(2)</script>"
    asset_id = _add_asset(demo_store, name, external_id="t:js")
    html = _html(client.get(f"/assets/{asset_id}"))
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    tooltip = next(s for s in scripts if "bindTooltip" in s)
    assert "Tea &#96;&#36;&#123;alert&#40;1&#41;&#125;&#96;" in tooltip
    assert "`${" not in tooltip.replace("`<div>", "")
    assert "alert(2)" not in "".join(scripts)


def test_detail_page_map_loads_nothing_from_the_internet(client: FlaskClient,
                                                         asset_id: int) -> None:
    html = _html(client.get(f"/assets/{asset_id}"))
    srcs = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert "/vendor/leaflet/dist/leaflet.js" in srcs  # the map is there, served by us
    assert not [s for s in srcs if s.lower().startswith(("http:", "https:", "//"))]
    assert "L.circleMarker" in html
    assert "user-scalable=no" not in html  # people may zoom the page


def test_detail_page_shows_every_field(client: FlaskClient, demo_store: Store,
                                       organisation_id: int) -> None:
    asset_id = _add_asset(demo_store, "Full record", external_id="t:full",
                          description="Weekly dementia café", capacity="30",
                          opening_times="Tue 10-12", contact="020 7946 0000",
                          website="https://example.org/cafe", accessibility="Step-free",
                          organisation_external_id="t:org", licence="OGL v3",
                          attribution="Newham Council", verified_by="ana",
                          verified_at="2024-05-01")
    html = _html(client.get(f"/assets/{asset_id}"))
    for text in ("Weekly dementia café", "Memory café", "E15 4EH", ">30<", "Tue 10-12",
                 "020 7946 0000", 'href="https://example.org/cafe"', "Step-free", "OGL v3",
                 "Newham Council", "By ana on 01 May 2024", "import",
                 "Carers Together CIC", "pill-generative", "Community Interest Company",
                 "community-interest-company", "GB-COH-01234567", "Pays the Living Wage",
                 "Follows UNISON&#39;s ethical care charter", "Has an office in the borough",
                 "Operates nationally"):
        assert text in html, text


# --- organisations -----------------------------------------------------------------------------

def test_officer_creates_an_organisation_and_sees_its_class(officer: FlaskClient,
                                                           demo_store: Store) -> None:
    data = form_data(_html(officer.get("/organisations/new")))
    data.update(name="Forest Gate Care Co-operative", legal_form="Registered Society",
                company_number="", charity_number="", living_wage="yes",
                ethical_care_charter="yes", office_in_borough="yes", national_footprint="no",
                ownership_model="worker ownership", postcode="E7 9AB")
    response = officer.post("/organisations/new", data=data)
    assert response.status_code == 303
    page = _html(officer.get(response.headers["Location"]))
    assert "is read as" in page and "generative (CLES Appendix 1)" in page
    frame = organisations_frame(demo_store.session()).set_index("name")
    row = frame.loc["Forest Gate Care Co-operative"]
    assert row["ownership_class"] == "generative" and row["living_wage"] == True  # noqa: E712
    assert row["national_footprint"] == False  # noqa: E712
    assert row["external_id"].startswith("web:")


def test_a_bad_company_number_is_shown_and_nothing_is_written(officer: FlaskClient,
                                                              demo_store: Store) -> None:
    before = _count(demo_store, Organisation)
    data = form_data(_html(officer.get("/organisations/new")))
    data.update(name="Mystery Ltd", legal_form="Ltd", company_number="ABC")
    response = officer.post("/organisations/new", data=data)
    assert response.status_code == 422
    assert "is not a Companies House number" in _field_html(_html(response), "company_number")
    assert _count(demo_store, Organisation) == before


def test_organisation_edit_reclassifies_and_a_stale_one_is_refused(
        client_as: Callable[..., FlaskClient], demo_store: Store, organisation_id: int) -> None:
    amina, ben = client_as("officer", "amina"), client_as("officer", "ben")
    url = f"/organisations/{organisation_id}/edit"
    amina_form, ben_form = form_data(_html(amina.get(url))), form_data(_html(ben.get(url)))
    assert amina_form["living_wage"] == "yes" and amina_form["legal_form"] == "Community Interest Company"
    amina_form.update(legal_form="Private Limited Company")
    assert amina.post(url, data=amina_form).status_code == 303
    ben_form.update(living_wage="no")
    response = ben.post(url, data=ben_form)
    assert response.status_code == 409
    assert "Someone else saved this organisation while you were editing" in _html(response)
    with demo_store.transaction() as session:
        organisation = session.get(Organisation, organisation_id)
        assert organisation is not None
        assert organisation.ownership_class == "extractive" and organisation.living_wage is True
    newest = _history(demo_store, "organisation", organisation_id).iloc[0]
    assert newest["changes"]["ownership_class"] == ["generative", "extractive"]
    history_page = _html(ben.get(f"/organisations/{organisation_id}/history"))
    assert "Private Limited Company" in history_page


def test_organisation_page_is_public_and_lists_only_public_assets(
        client: FlaskClient, viewer_client: FlaskClient, demo_store: Store,
        organisation_id: int) -> None:
    _add_asset(demo_store, "Open café", external_id="t:open", organisation_external_id="t:org")
    _add_asset(demo_store, "Planned hub", status="proposed", external_id="t:planned",
               organisation_external_id="t:org")
    public = _html(client.get(f"/organisations/{organisation_id}"))
    assert "Open café" in public and "Planned hub" not in public
    assert "E13 9PJ" in public and "L.circleMarker" in public  # the office on a small map
    assert "Planned hub" in _html(viewer_client.get(f"/organisations/{organisation_id}"))
    assert client.get("/organisations/999999").status_code == 404
