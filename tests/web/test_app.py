"""The Flask app: config layering, pages, the one error shape, escaping."""

import re
from pathlib import Path

import pandas as pd
from flask import Flask

from mapping.config import Settings
from mapping.register.importers import prepare_assets, write_assets
from mapping.spend.store import import_spend
from mapping.store.database import Store
from web import create_app


def test_instance_file_then_environment(tmp_path: Path, monkeypatch) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        "BOROUGH_NAME = 'Knowsley'\nTILE_URL = 'http://tiles/{z}'\n"
        "TILE_ATTRIBUTION = 'Tiles: test'\n")
    monkeypatch.setenv("MAPPING_INSTANCE_DIR", str(instance))
    monkeypatch.setenv("MAPPING_SECRET_KEY", "k")
    monkeypatch.setenv("MAPPING_TILE_URL", "")
    monkeypatch.setenv("MAPPING_BOROUGH_CODE", "E08000011")
    app = create_app()
    settings = app.config["MAPPING_SETTINGS"]
    assert settings.borough_name == "Knowsley"  # from the instance file
    assert settings.borough_code == "E08000011"  # from the environment
    assert settings.tile_url == "http://tiles/{z}"  # an empty variable does not blank it


def test_secret_key_is_generated_once_and_kept(tmp_path: Path, settings: Settings) -> None:
    from dataclasses import replace

    no_key = replace(settings, secret_key="")
    first = create_app({"MAPPING_SETTINGS": no_key}).config["SECRET_KEY"]
    second = create_app({"MAPPING_SETTINGS": no_key}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (no_key.instance_dir / "secret_key").stat().st_mode & 0o777 == 0o600


def test_map_page_shows_assets_and_loads_nothing_from_the_internet(client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "410 active assets" in html
    assert "generative 18" in html and "unknown 278" in html and "extractive 114" in html
    srcs = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert srcs and not [s for s in srcs if s.startswith(("http:", "https:", "//"))]
    assert "no patch set loaded" in html


def test_map_page_switches_area_layer(client) -> None:
    html = client.get("/?layer=lsoa_2021").get_data(as_text=True)
    assert '<option value="lsoa_2021" selected>' in html
    assert "E01003479" in html  # an LSOA code in the outline tooltips
    # An unknown layer falls back instead of failing.
    assert client.get("/?layer=<script>").status_code == 200


def test_sources_page_lists_every_licence(client) -> None:
    html = client.get("/sources").get_data(as_text=True)
    for licence in ("OGL v3", "ODbL 1.0", "ODC-By 1.0", "© OpenStreetMap contributors",
                    "Co-operatives UK"):
        assert licence in html


def test_sources_page_lists_the_spend_datasets_with_their_attribution(
        client, demo_store: Store, data_dir: Path) -> None:
    assert "Spend datasets" not in client.get("/sources").get_data(as_text=True)
    import_spend(demo_store, data_dir / "spend" / "lambeth" /
                 "lambeth_payments_over_500_2012-06_raw.csv",
                 name="Lambeth <b>June</b>", imported_by="test")
    html = client.get("/sources").get_data(as_text=True)
    assert "Spend datasets" in html and "Lambeth &lt;b&gt;June&lt;/b&gt;" in html
    assert "Invoices over £500, June 2012" in html  # the attribution from data/spend_sources.csv


def test_health(client, demo_store: Store) -> None:
    assert client.get("/health").get_json() == {"status": "ok",
                                                 "schema": demo_store.head_revision()}


def test_errors_have_one_json_shape_and_plain_pages(client) -> None:
    api = client.get("/api/nothing-here")
    assert api.status_code == 404
    assert set(api.get_json()["error"]) == {"status", "title", "message", "problems"}
    page = client.get("/nothing-here")
    assert page.status_code == 404 and "text/html" in page.content_type
    assert "What to do next" in page.get_data(as_text=True)


def test_an_empty_store_gives_a_503_page_with_the_fix(tmp_path: Path, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, instance_dir=tmp_path, secret_key="x",
                        database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    client = create_app({"MAPPING_SETTINGS": settings}).test_client()
    response = client.get("/")
    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert "mapping init-db" in text and "Traceback" not in text
    assert client.get("/health").status_code == 503


def test_an_unexpected_error_is_a_500_page_without_a_traceback(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise KeyError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text


def test_asset_names_are_escaped_on_the_map(client, demo_store: Store) -> None:
    evil = "<img src=x onerror=alert(1)>"
    frame = pd.DataFrame({"external_id": ["xss"], "name": [evil], "category": ["peer_group"],
                          "postcode": ["E15 4EH"]})
    prepared, problems = prepare_assets(frame)
    write_assets(demo_store, prepared, problems, file="t", rows=1, skip_invalid=False,
                 changed_by="test")
    html = client.get("/").get_data(as_text=True)
    assert "411 active assets" in html
    assert evil not in html
    assert r"\u003cimg src=x onerror=alert(1)\u003e" in html


def test_security_headers_and_cookie_flags(client, app) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_ids_too_large_for_the_database_are_404_not_500(client) -> None:  # type: ignore[no-untyped-def]
    huge = "99999999999999999999999"
    for path in (f"/assets/{huge}", f"/organisations/{huge}", f"/api/assets/{huge}",
                 f"/api/organisations/{huge}", "/assets/0"):
        assert client.get(path).status_code == 404, path


def test_not_ready_pages_never_show_the_database_url(tmp_path: Path, data_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'secret-name.sqlite3'}"
    settings = Settings(data_dir=data_dir, instance_dir=tmp_path, secret_key="x",
                        database_url=url)
    client = create_app({"MAPPING_SETTINGS": settings}).test_client()
    for path in ("/", "/api/assets", "/health", "/assets/1", "/directory/"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert "secret-name" not in response.get_data(as_text=True), path


def test_proxy_hops_make_rate_limits_see_the_visitor(settings: Settings) -> None:
    from dataclasses import replace

    from werkzeug.middleware.proxy_fix import ProxyFix

    assert not isinstance(create_app({"MAPPING_SETTINGS": settings}).wsgi_app, ProxyFix)
    app = create_app({"MAPPING_SETTINGS": replace(settings, proxy_hops=1)})
    assert isinstance(app.wsgi_app, ProxyFix)


def test_missing_values_show_as_blanks_in_every_template(app) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    rendered = app.jinja_env.from_string("[{{ a }}][{{ b }}][{{ c }}][{{ d }}][{{ e }}]").render(
        a=None, b=float("nan"), c=pd.NaT, d="kept", e=0)
    assert rendered == "[][][][kept][0]"
