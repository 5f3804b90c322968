"""The Open Referral UK (HSDS-UK 3.0) feed under ``/openreferral/``: read-only, open to all.

The standard's compliance rules: GET endpoints under one stub, no keys, throttled
(``OPENREFERRAL_RATE_LIMIT`` in ``instance/config.py``, default 300 a minute per address),
and ``Access-Control-Allow-Origin: *`` on every response, errors included. Each view
parses its query (:mod:`mapping.api.openreferral`) and hands over to
:mod:`mapping.openreferral.feed`. Errors take the one JSON error shape of
:mod:`web.errors` whatever the client accepts; a query parameter in the wrong form is a
400, as HSDS clients expect (the rest of the service says 422), an unknown id or path 404.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.exceptions import HTTPException

from mapping.api import openreferral as P
from mapping.api.parameters import Param, parse_query
from mapping.errors import MappingError, NotFoundError, ValidationError
from mapping.openreferral import FeedData, feed, feed_query, feed_stamp, load_feed
from mapping.openreferral.ids import is_uuid
from mapping.register.directory import point_for_postcode
from mapping.store.database import StoreNotReadyError
from web.db import get_borough, get_postcode_index, get_session, get_store
from web.errors import STATUS, error_body
from web.extensions import csrf, limiter

bp = Blueprint("openreferral", __name__, url_prefix="/openreferral")
DEFAULT_RATE_LIMIT = "300 per minute"


def _rate_limit() -> str:
    return str(current_app.config.get("OPENREFERRAL_RATE_LIMIT", DEFAULT_RATE_LIMIT))


csrf.exempt(bp)  # GET only: nothing here changes anything
limiter.limit(_rate_limit)(bp)


def _send(body: dict[str, Any], status: int = 200) -> Response:
    text = json.dumps(body, separators=(",", ":"), allow_nan=False)
    response: Response = current_app.response_class(text, status=status, mimetype="application/json")
    return response


@bp.after_request
def _cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        response.headers["Allow"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "*"
    return response


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError) -> Response:
    return _send(error_body(400, str(exc), [p.as_dict() for p in exc.problems]), 400)


@bp.errorhandler(MappingError)
def _mapping_error(exc: MappingError) -> Response:
    status = next(code for kind, code in STATUS if isinstance(exc, kind))
    return _send(error_body(status, str(exc), [p.as_dict() for p in getattr(exc, "problems", [])]),
                 status)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    response = _send(error_body(status, exc.description or ""), status)
    if exc.response is None:  # e.g. 405's Allow header
        response.headers.update({k: v for k, v in exc.get_headers() if k.lower() != "content-type"})
    return response


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    current_app.logger.exception("unhandled error on %s", request.path)
    return _send(error_body(500, "The server could not finish this request."), 500)


def _data() -> FeedData:
    """Give the published records, read again only when the register has changed."""
    session = get_session()  # 503 if the store is not ready
    borough = get_borough()
    stamp = (get_store().url, feed_stamp(session), borough.region if borough else None)
    cached = current_app.extensions.get("openreferral_feed")
    if cached is None or cached[0] != stamp:
        cached = (stamp, load_feed(session, region=stamp[2]))
        current_app.extensions["openreferral_feed"] = cached
    data: FeedData = cached[1]
    return data


def _query(params: tuple[Param, ...]) -> dict[str, Any]:
    return parse_query(params, request.args.items(multi=True))


def _feed_url() -> str:
    return url_for("openreferral.root", _external=True).rstrip("/")


def _uuid(value: str, what: str) -> str:
    if not is_uuid(value):
        raise NotFoundError(f"no published {what} with id '{value}' (ids are UUIDs)")
    return value


@bp.get("/")
def root() -> Response:
    """The feed's version, profile and OpenAPI document, and whose data it is."""
    _query(())
    try:
        borough = get_borough()
    except StoreNotReadyError:  # the root still says what the feed is
        borough = None
    publisher = (borough.full_name or borough.name) if borough else "this council"
    return _send(feed.root(publisher=publisher,
                           api_document_url=url_for("api.openapi", _external=True)))


@bp.get("/services")
def services() -> Response:
    """A page of services (one-to-one fields and their organisation)."""
    query = _query(P.SERVICE_PARAMS)
    return _send(feed.services_page(_data(), feed_query(query), page=query["page"],
                                    per_page=query["per_page"]))


@bp.get("/services/<service_id>")
def service(service_id: str) -> Response:
    """One fully nested service."""
    _query(())
    return _send(feed.service(_data(), _uuid(service_id, "service")))


@bp.get("/service_at_locations")
def service_at_locations() -> Response:
    """A page of services at locations; with ``postcode``, nearest first."""
    query = _query(P.SERVICE_AT_LOCATION_PARAMS)
    checked = feed_query(query)
    data = _data()
    origin = None
    if query["postcode"] is not None:
        origin = point_for_postcode(query["postcode"], index=get_postcode_index())
    return _send(feed.service_at_locations_page(data, checked, page=query["page"],
                                                per_page=query["per_page"], origin=origin,
                                                proximity_m=query["proximity"]))


@bp.get("/service_at_locations/<sal_id>")
def service_at_location(sal_id: str) -> Response:
    """One fully nested service at a location."""
    _query(())
    return _send(feed.service_at_location(_data(), _uuid(sal_id, "service_at_location")))


@bp.get("/taxonomies")
def taxonomies() -> Response:
    """A page of the published taxonomies."""
    query = _query(P.PAGE_PARAMS)
    return _send(feed.taxonomies_page(_data(), page=query["page"], per_page=query["per_page"],
                                      feed_url=_feed_url()))


@bp.get("/taxonomies/<taxonomy_id>")
def taxonomy(taxonomy_id: str) -> Response:
    """One taxonomy with its terms."""
    _query(())
    return _send(feed.taxonomy(_data(), _uuid(taxonomy_id, "taxonomy"), feed_url=_feed_url()))


@bp.get("/taxonomy_terms")
def taxonomy_terms() -> Response:
    """A page of every published taxonomy term."""
    query = _query(P.PAGE_PARAMS)
    return _send(feed.taxonomy_terms_page(_data(), page=query["page"], per_page=query["per_page"]))


@bp.get("/taxonomy_terms/<term_id>")
def taxonomy_term(term_id: str) -> Response:
    """One taxonomy term."""
    _query(())
    return _send(feed.taxonomy_term(_data(), _uuid(term_id, "taxonomy term")))


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def elsewhere(rest: str) -> Response:
    """Anything else under the stub: a JSON 404 (GET) or 405 (the feed is read-only)."""
    if request.method != "GET":
        response = _send(error_body(405, "The Open Referral feed is read-only: GET only."), 405)
        response.headers["Allow"] = "GET, HEAD, OPTIONS"
        return response
    raise NotFoundError(f"no Open Referral endpoint '/openreferral/{rest}' (endpoints: /, "
                        "/services, /service_at_locations, /taxonomies, /taxonomy_terms)")
