"""The Flask map service: ``create_app`` and its wiring.

Views stay thin; ``mapping`` does the work.
"""

from __future__ import annotations

import math
import secrets
from pathlib import Path
from typing import Any

import pandas as pd
from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from mapping.config import Settings, load_settings
from mapping.store.database import Store


class IdConverter(IntegerConverter):
    """A record id in a URL: a whole number the database can hold, else the route is a 404."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, min=1, max=2**31 - 1)


def _secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.instance_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _blank_if_missing(value: Any) -> Any:
    """Give "" for a missing value (None, NaN, NaT, pandas NA), else the value."""
    if value is None or value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return value


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Give the web app: config from defaults, then ``instance/config.py``, then ``MAPPING_*``.

    ``test_config`` replaces the instance file; it may hold a ready
    ``MAPPING_SETTINGS`` object or settings by name (``DATABASE_URL``, ``DATA_DIR`` ...).
    """
    defaults = load_settings()  # MAPPING_INSTANCE_DIR says where the instance file is
    app = Flask(__name__, instance_path=str(defaults.instance_dir), instance_relative_config=True)
    app.config.from_pyfile("config.py", silent=True)
    if test_config is not None:
        app.config.from_mapping(test_config)
    settings = app.config.get("MAPPING_SETTINGS")
    if not isinstance(settings, Settings):
        settings = load_settings({k.lower(): v for k, v in app.config.items()})
    app.config["MAPPING_SETTINGS"] = settings
    app.config["SECRET_KEY"] = _secret_key(settings)
    app.config.setdefault("VENDOR_DIR", str(Path(__file__).resolve().parents[1] / "node_modules"))
    app.extensions["mapping_store"] = Store(settings.resolved_database_url)

    from flask_cors import CORS

    from web import api, auth, directory, gaps, lots, openreferral, pages, records, spend, submissions, vendor
    from web.errors import init_app as init_errors
    from web.extensions import csrf, limiter

    app.config.setdefault("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)  # forms only, no uploads
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    # An officer may leave a form open for a long time; the token still ties it to the session.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops,  # type: ignore[method-assign]
                                x_proto=settings.proxy_hops, x_host=settings.proxy_hops)
    app.url_map.converters["id"] = IdConverter
    # A missing value (None, NaN, NaT from a frame) shows as a blank, never as "None" or "nan".
    app.jinja_env.finalize = _blank_if_missing
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config.setdefault("RATELIMIT_ENABLED", True)
    app.config["SUBMISSION_RATE_LIMIT"] = settings.submission_rate_limit
    app.config["ANALYSIS_RATE_LIMIT"] = settings.analysis_rate_limit
    csrf.init_app(app)
    limiter.init_app(app)
    auth.init_app(app)
    init_errors(app)
    # Read-only API: any site may read it; nothing that writes is under /api/.
    CORS(app, resources={r"/api/*": {"origins": "*", "methods": ["GET", "OPTIONS"]}})
    for module in (pages, directory, gaps, lots, spend, records, submissions, auth, api, vendor,
                   openreferral):
        app.register_blueprint(module.bp)
    if settings.walking_network:
        app.extensions["walking_network_reader"] = gaps.read_walking_network_soon(app)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        # Maps use inline scripts (folium), so no strict CSP here; the rest is cheap.
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.before_request
    def _check_borough() -> None:
        # A store for another borough than MAPPING_BOROUGH_CODE names is refused on every page
        # (a 503 that says which setting to change), not served under the wrong name.
        if settings.borough_code and request.endpoint not in ("pages.health", "vendor.serve", "static"):
            from mapping.store.database import StoreNotReadyError
            from web.db import get_borough

            try:
                get_borough()
            except StoreNotReadyError:
                pass  # the page itself says the store is not ready

    @app.context_processor
    def _borough() -> dict[str, Any]:
        from mapping.boroughs.sources import source_credits
        from mapping.errors import MappingError
        from web.db import borough_label, get_borough, get_session

        try:
            borough = get_borough()
            return {"borough_name": borough_label(),
                    "no_patches_note": borough.wording.get("no_patches") if borough else None,
                    "source_credits": source_credits(get_session())}
        except MappingError:  # a store not ready, or for another borough: its error page still needs a title
            return {"borough_name": settings.borough_name or "the borough", "no_patches_note": None,
                    "source_credits": ""}

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    return app
