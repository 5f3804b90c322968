"""Web-test helpers: people with each role, signed in through the real /login form.

CSRF stays on: every POST sends the token parsed from a page, as a browser would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mapping.register.users import create_user
from mapping.store.database import Store

PASSWORD = "a long test password"
_CSRF_INPUT = re.compile(r"<input[^>]*\bname=\"(?:[\w-]+-)?csrf_token\"[^>]*>")
_VALUE = re.compile(r"\bvalue=\"([^\"]+)\"")


def csrf_token(html: str) -> str:
    """Give the CSRF token of the first form on a page (fails the test if there is none)."""
    found = _CSRF_INPUT.search(html)
    if found is None:
        raise AssertionError("the page has no CSRF token field")
    value = _VALUE.search(found.group(0))
    if value is None:
        raise AssertionError(f"the CSRF field has no value: {found.group(0)}")
    return value.group(1)


class _Forms(HTMLParser):
    """Collect each form's action and the values a browser would send for it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("action", ""), {}))
            return
        if not self.forms:
            return
        fields = self.forms[-1][1]
        name = a.get("name")
        if tag == "option" and self._select is not None:
            self._option(a)
        elif name and tag == "input" and a.get("type") not in ("submit", "button", "checkbox",
                                                                "radio"):
            fields[name] = a.get("value", "")
        elif name and tag == "textarea":
            self._textarea = name
            fields[name] = ""
        elif name and tag == "select":
            self._select, self._first_option = name, None

    def _option(self, a: dict[str, str]) -> None:
        assert self._select is not None
        value = a.get("value", "")
        if self._first_option is None:
            self._first_option = value
            self.forms[-1][1].setdefault(self._select, value)
        if "selected" in a:
            self.forms[-1][1][self._select] = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            # Browsers drop the one newline that follows <textarea>.
            text = self.forms[-1][1][self._textarea] + data
            self.forms[-1][1][self._textarea] = text.removeprefix("\r\n").removeprefix("\n")


def form_data(html: str, action: str | None = None) -> dict[str, str]:
    """Give what a browser would submit from the page's form posting to ``action``.

    Without ``action``, the first form with a CSRF token other than sign-out. Text inputs,
    hidden inputs (CSRF token and version included), textareas and each select's chosen
    option are read, as the page was served.
    """
    parser = _Forms()
    parser.feed(html)
    for form_action, fields in parser.forms:
        if action is None and form_action.endswith("/logout"):
            continue
        if action is None or form_action == action:
            return dict(fields)
    raise AssertionError(f"no form posting to {action!r} on the page")


def page_token(client: FlaskClient, url: str = "/login") -> str:
    """Give a CSRF token for this client's session, read from the form at ``url``."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return csrf_token(response.get_data(as_text=True))


def add_user(store: Store, username: str, role: str, password: str = PASSWORD) -> None:
    """Create a user in the store (``mapping.register.users.create_user``, as
    ``mapping create-user`` does)."""
    with store.transaction() as session:
        create_user(session, username, password, role=role)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD, *,
           next_url: str | None = None, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """Post the login form with its CSRF token; give the response (not followed)."""
    url = "/login" if next_url is None else f"/login?next={quote(next_url, safe='')}"
    token = page_token(client, url)
    return client.post(url, data={"csrf_token": token, "username": username,
                                  "password": password}, headers=headers or {})


def signed_in(client: FlaskClient, store: Store, role: str, username: str | None = None
              ) -> FlaskClient:
    """Give ``client`` signed in as a new user with ``role`` (username defaults to the role)."""
    username = username or role
    add_user(store, username, role)
    response = log_in(client, username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def client_as(app: Flask, demo_store: Store) -> Callable[..., FlaskClient]:
    """Give a factory of fresh clients, each signed in with a role (and optional username)."""

    def make(role: str, username: str | None = None) -> FlaskClient:
        return signed_in(app.test_client(), demo_store, role, username)

    return make


@pytest.fixture
def viewer_client(client_as: Callable[..., FlaskClient]) -> FlaskClient:
    return client_as("viewer")


@pytest.fixture
def officer_client(client_as: Callable[..., FlaskClient]) -> FlaskClient:
    return client_as("officer")


@pytest.fixture
def admin_client(client_as: Callable[..., FlaskClient]) -> FlaskClient:
    return client_as("admin")
