"""Signing in and out, roles, safe redirects and the login rate limit (web/auth.py)."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from flask.testing import FlaskClient

from mapping.store.database import Store
from tests.web.conftest import PASSWORD, add_user, csrf_token, log_in, page_token


@pytest.fixture
def officer_account(demo_store: Store) -> str:
    add_user(demo_store, "olu", "officer")
    return "olu"


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return str(response.get_data(as_text=True))


def test_login_page_is_a_labelled_form_with_a_csrf_token(client: FlaskClient) -> None:
    html = _text(client.get("/login"))
    assert csrf_token(html)
    assert '<label for="username">' in html and '<label for="password">' in html
    assert 'autocomplete="current-password"' in html


def test_sign_in_and_out(client: FlaskClient, officer_account: str) -> None:
    assert client.get("/assets/new").status_code == 302
    response = log_in(client, officer_account)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = _text(client.get("/assets/new"))
    assert "Signed in as olu (officer)." in page and "Sign out olu" in page

    response = client.post("/logout", data={"csrf_token": page_token(client)})
    assert response.status_code == 302
    assert client.get("/assets/new").status_code == 302


def test_logout_needs_a_post_with_the_csrf_token(client: FlaskClient, officer_account: str) -> None:
    log_in(client, officer_account)
    assert client.get("/logout").status_code == 405  # a link elsewhere cannot sign people out
    assert client.post("/logout").status_code == 400
    assert client.get("/assets/new").status_code == 200  # still signed in


def test_wrong_password_and_unknown_name_give_the_same_message(client: FlaskClient,
                                                               officer_account: str) -> None:
    for username, password in ((officer_account, "not the password"), ("nobody", PASSWORD)):
        response = log_in(client, username, password)
        assert response.status_code == 400
        assert "Wrong username or password." in _text(response)
    assert client.get("/assets/new").status_code == 302  # not signed in


def test_login_without_the_csrf_token_is_refused(client: FlaskClient, officer_account: str) -> None:
    response = client.post("/login", data={"username": officer_account, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/assets/new").status_code == 302


def test_next_takes_you_back_to_the_page_you_asked_for(client: FlaskClient,
                                                       officer_account: str) -> None:
    asked = client.get("/assets/new")
    assert asked.headers["Location"] == "/login?next=%2Fassets%2Fnew"
    response = log_in(client, officer_account, next_url="/assets/new")
    assert response.headers["Location"] == "/assets/new"


@pytest.mark.parametrize("target", ["//evil.com", "http://evil.com", "https://evil.com/x",
                                    "///evil.com", "/\t/evil.com", "evil.com", "/\\evil.com",
                                    "/\\/evil.com"])
def test_next_never_leads_to_another_site(client: FlaskClient, officer_account: str,
                                          target: str) -> None:
    response = log_in(client, officer_account, next_url=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    # Resolve it as a browser would, backslashes read as slashes.
    resolved = urlsplit(urljoin("http://localhost/login", location.replace("\\", "/")))
    assert resolved.netloc == "localhost", location
    if "\\" not in target:
        assert location == "/"


def test_role_required(client: FlaskClient, demo_store: Store,
                       viewer_client: FlaskClient, admin_client: FlaskClient) -> None:
    anonymous = client.get("/assets/new")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    refused = viewer_client.get("/assets/new")
    assert refused.status_code == 403
    assert "This needs the officer role; you are signed in as viewer." in _text(refused)
    as_json = viewer_client.get("/assets/new", headers={"Accept": "application/json"})
    assert as_json.status_code == 403 and as_json.get_json()["error"]["status"] == 403
    assert admin_client.get("/assets/new").status_code == 200  # admin carries officer rights


def test_a_role_change_takes_effect_on_the_next_request(client: FlaskClient, demo_store: Store,
                                                        officer_account: str) -> None:
    log_in(client, officer_account)
    assert client.get("/assets/new").status_code == 200
    add_user(demo_store, officer_account, "viewer")  # as `mapping create-user` resets a role
    assert client.get("/assets/new").status_code == 403


def test_login_is_limited_to_ten_tries_a_minute(client: FlaskClient, officer_account: str) -> None:
    for _ in range(10):
        assert log_in(client, officer_account, "wrong password!").status_code == 400
    page = log_in(client, officer_account, PASSWORD)  # even the right password now waits
    assert page.status_code == 429
    assert "Too many requests" in _text(page) and "Wait a minute" in _text(page)
    api = log_in(client, officer_account, headers={"Accept": "application/json"})
    assert api.status_code == 429
    assert set(api.get_json()["error"]) == {"status", "title", "message", "problems"}
    assert client.get("/login").status_code == 200  # reading the form is not limited
