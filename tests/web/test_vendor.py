"""Tests of web.vendor: only allow-listed files from node_modules, cached, and a clear 503."""

from __future__ import annotations

from pathlib import Path

import flask
import pytest

from mapping.config import PROJECT_ROOT
from web.vendor import DEFAULT_MAX_AGE_S, bp

LEAFLET_JS = b"/* leaflet stand-in */ window.L = {};"


def make_app(vendor_dir: Path | None) -> flask.Flask:
    app = flask.Flask(__name__)
    app.config["TESTING"] = True
    if vendor_dir is not None:
        app.config["VENDOR_DIR"] = str(vendor_dir)
    app.register_blueprint(bp)
    return app


@pytest.fixture
def vendor_dir(tmp_path: Path) -> Path:
    """A stand-in node_modules with allowed and forbidden files, and a secret beside it."""
    folder = tmp_path / "node_modules"
    files = {
        "leaflet/dist/leaflet.js": LEAFLET_JS,
        "leaflet/dist/leaflet.css": b".leaflet-container{}",
        "leaflet/dist/images/marker-icon.png": b"\x89PNG\r\n",
        "@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2": b"wOF2",
        "leaflet/package.json": b'{"name": "leaflet"}',
        "leaflet-search/examples/search.php": b"<?php echo 1;",
    }
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    (tmp_path / "secret.txt").write_text("do not serve")
    return folder


@pytest.fixture
def vendor_client(vendor_dir: Path) -> flask.testing.FlaskClient:
    return make_app(vendor_dir).test_client()


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [
        ("leaflet/dist/leaflet.js", "text/javascript"),
        ("leaflet/dist/leaflet.css", "text/css"),
        ("leaflet/dist/images/marker-icon.png", "image/png"),
        ("@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2", "font/woff2"),
    ],
)
def test_allow_listed_file_is_served_with_long_cache(vendor_client, vendor_dir, path, mimetype):
    with vendor_client.get(f"/vendor/{path}") as response:
        assert response.status_code == 200
        assert response.mimetype == mimetype
        assert response.data == (vendor_dir / path).read_bytes()
        assert response.cache_control.max_age == DEFAULT_MAX_AGE_S
        assert response.cache_control.public


@pytest.mark.parametrize(
    "path", ["leaflet/package.json", "leaflet-search/examples/search.php", "leaflet/nothing.js"]
)
def test_file_not_on_the_allow_list_is_404(vendor_client, path):
    response = vendor_client.get(f"/vendor/{path}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/vendor/../secret.txt",
        "/vendor/leaflet/dist/images/../../../../secret.txt",
        "/vendor/leaflet/dist/images/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/vendor/leaflet/dist/images/..%2f..%2f..%2f..%2fsecret.txt",
        "/vendor/leaflet/dist/images/../../package.json",
    ],
)
def test_path_traversal_is_404(vendor_client, path):
    response = vendor_client.get(path)
    assert response.status_code == 404
    assert b"do not serve" not in response.data
    assert b'"name"' not in response.data


def test_missing_vendor_dir_is_503_saying_run_npm_ci(tmp_path):
    client = make_app(tmp_path / "no_node_modules").test_client()
    response = client.get("/vendor/leaflet/dist/leaflet.js")
    assert response.status_code == 503
    assert b"npm ci" in response.data


def test_vendor_max_age_is_configurable(vendor_dir):
    app = make_app(vendor_dir)
    app.config["VENDOR_MAX_AGE"] = 60
    with app.test_client().get("/vendor/leaflet/dist/leaflet.js") as response:
        assert response.cache_control.max_age == 60


def test_default_folder_is_the_projects_node_modules():
    if not (PROJECT_ROOT / "node_modules" / "leaflet").is_dir():
        pytest.fail(f"the front-end files are not installed: run `npm ci` in {PROJECT_ROOT}")
    with make_app(None).test_client().get("/vendor/leaflet/dist/leaflet.js") as response:
        assert response.status_code == 200
        assert b"Leaflet" in response.data[:500]
