"""The read-only JSON API (GeoJSON for features), with an OpenAPI document.

Each view checks the store, parses its query with :mod:`mapping.api.openapi` (which also
documents it), calls :mod:`mapping` and sends JSON. Errors take the one shape of
:mod:`web.errors`: invalid or unknown query parameters 422 (a ``ValidationError``
naming each parameter), unknown ids and layers 404, an uninitialised store 503.
CORS for ``/api/*`` is set up in :func:`web.create_app`.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from flask import Blueprint, Response, current_app, request
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.api.openapi import OPERATION_BY_ID, openapi_document
from mapping.api.parameters import GEOJSON, JSON, STATUS_ALL, parse_query
from mapping.api.shapes import (
    LAYER_FIELDS,
    ORGANISATION_FIELDS,
    PATCH_FIELDS,
    area_fields,
    asset_features,
    paging,
    records,
    shape_features,
)
from mapping.errors import NotFoundError, Problem, ValidationError
from mapping.places.store import (
    list_layers,
    list_patch_sets,
    load_area_layer,
    load_patches,
    public_patch_set,
)
from mapping.register.directory import assets_near, filter_assets, point_for_postcode
from mapping.register.records import assets_frame, organisations_frame
from web.auth import visible_statuses
from web.db import get_postcode_index, get_session, get_store
from web.errors import respond

bp = Blueprint("api", __name__, url_prefix="/api")

NO_PATCH_SET = (
    "No patch set is loaded, so there are no patches to show. Patches come only from a "
    "council's own area-to-patch lookup ('mapping import-patches') or from designing lots; "
    "none is ever invented."
)


def _send(body: dict[str, Any], media_type: str = JSON) -> Response:
    # Plain json.dumps keeps GeoJSON's member order and is quicker than sorting keys;
    # allow_nan=False makes a stray NaN a bug we hear about, not invalid JSON.
    text = json.dumps(body, separators=(",", ":"), allow_nan=False)
    response: Response = current_app.response_class(text, mimetype=media_type)
    return response


def _start(operation_id: str) -> tuple[Session, dict[str, Any]]:
    """Check the store is ready (503 if not), then parse the query (422 if invalid)."""
    get_store().check_ready()
    query = parse_query(OPERATION_BY_ID[operation_id].params, request.args.items(multi=True))
    return get_session(), query


def _page(frame: pd.DataFrame, query: dict[str, Any], media_type: str
          ) -> tuple[pd.DataFrame, dict[str, Any]]:
    offset, limit = query["offset"], query["limit"]
    page = frame.iloc[offset : offset + limit]
    return page, paging(request.base_url, request.args.items(multi=True), offset=offset,
                        limit=limit, matched=len(frame), returned=len(page),
                        media_type=media_type)


def _patch_outline(session: Session, patch: str, patch_set: str | None) -> BaseGeometry:
    sets = list_patch_sets(session)
    if not sets:
        raise ValidationError([Problem("no patch set is loaded, so there are no patches to "
                                       "filter by", field="patch")])
    name = patch_set or public_patch_set(session)
    if name is None:
        raise ValidationError([Problem("no patch set is the default, so name one with "
                                       f"patch_set (patch sets: {', '.join(sets)})",
                                       field="patch_set")])
    if name not in sets:
        raise ValidationError([Problem(f"no patch set called '{name}' (patch sets: "
                                       f"{', '.join(sets)})", field="patch_set")])
    patches = load_patches(session, name)
    match = patches[patches[S.PATCH] == patch]
    if match.empty:
        raise ValidationError([Problem(f"no patch '{patch}' in patch set '{name}' (patches: "
                                       f"{', '.join(patches[S.PATCH])})", field="patch")])
    outline: BaseGeometry = match.geometry.iloc[0]
    return outline


def _places(session: Session, query: dict[str, Any]) -> tuple[BaseGeometry | None, Any]:
    """Give the patch outline and the ``near`` point asked for, with every problem at once."""
    problems: list[Problem] = []
    within = origin = None
    if query["patch"] is not None:
        try:
            within = _patch_outline(session, query["patch"], query["patch_set"])
        except ValidationError as exc:
            problems += exc.problems
    if query["near"] is not None:
        try:
            origin = point_for_postcode(query["near"], index=get_postcode_index())
        except ValidationError as exc:
            problems += [Problem(p.reason, field="near") for p in exc.problems]
    if problems:
        raise ValidationError(problems, summary="invalid query parameters")
    return within, origin


@bp.get("/assets")
def assets() -> Response:
    """Assets as a GeoJSON FeatureCollection, filtered and paged (see the OpenAPI document)."""
    session, query = _start("listAssets")
    within, origin = _places(session, query)
    status = list(visible_statuses()) if STATUS_ALL in query["status"] else query["status"]
    hidden = sorted(set(status) - set(visible_statuses()))
    if hidden:
        raise ValidationError([Problem(f"assets that are {', '.join(hidden)} are shown to "
                                       "signed-in staff only", field="status")])
    found = assets_frame(session, status=status, category=query["category"],
                         ownership_class=query["ownership"])
    found = filter_assets(found, within=within, bbox=query["bbox"], text=query["q"])
    if origin is not None:
        found = assets_near(found, origin, radius_m=query["within_m"])
    page, paged = _page(found, query, GEOJSON)
    return _send({"type": "FeatureCollection", **paged, "features": asset_features(page)},
                 GEOJSON)


@bp.get("/assets/<id:asset_id>")
def asset(asset_id: int) -> Response:
    """One asset, any status, as a GeoJSON Feature."""
    session, _ = _start("getAsset")
    found = assets_frame(session, ids=[asset_id], status=visible_statuses())
    if found.empty:
        raise NotFoundError(f"no asset with id {asset_id}")
    return _send(asset_features(found)[0], GEOJSON)


@bp.get("/organisations")
def organisations() -> Response:
    """Organisations (providers) by name, with ownership class and lot-rule flags, paged."""
    session, query = _start("listOrganisations")
    found = organisations_frame(session)
    if query["ownership"]:
        found = found[found[S.OWNERSHIP_CLASS].isin(query["ownership"])]
    if query["q"]:
        names = found[S.NAME].str.casefold()
        found = found[names.str.contains(query["q"].casefold(), regex=False)]
    page, paged = _page(found, query, JSON)
    return _send({"items": records(page, ORGANISATION_FIELDS), **paged})


@bp.get("/organisations/<id:organisation_id>")
def organisation(organisation_id: int) -> Response:
    """One organisation."""
    session, _ = _start("getOrganisation")
    found = organisations_frame(session, ids=[organisation_id])
    if found.empty:
        raise NotFoundError(f"no organisation with id {organisation_id}")
    return _send(records(found, ORGANISATION_FIELDS)[0])


@bp.get("/layers")
def layers() -> Response:
    """The stored area layers with their licences and attributions."""
    session, _ = _start("listLayers")
    return _send({"layers": records(list_layers(session), LAYER_FIELDS)})


@bp.get("/areas/<layer>")
def areas(layer: str) -> Any:
    """One area layer as GeoJSON, with its attributes; 404 naming the layers there are."""
    session, _ = _start("getAreaLayer")
    stored = list_layers(session)
    if layer not in set(stored["name"]):
        known = ", ".join(stored["name"]) or "none yet"
        return respond(404, f"no area layer called '{layer}' (layers: {known})",
                       [Problem(f"unknown layer; the layers are: {known}", field="layer").as_dict()])
    frame = load_area_layer(session, layer)
    about = records(stored[stored["name"] == layer], LAYER_FIELDS)[0]
    features = shape_features(frame, S.AREA_CODE, area_fields(frame))
    return _send({"type": "FeatureCollection", "layer": about, "features": features}, GEOJSON)


@bp.get("/patches")
def patches() -> Response:
    """A patch set's patches as GeoJSON; empty, with a message, when none is loaded."""
    session, query = _start("getPatches")
    sets = list_patch_sets(session)
    name = query["set"] or public_patch_set(session)
    if name is None and sets:
        return _send({"type": "FeatureCollection", "patch_set": None, "patch_sets": sets,
                      "message": "no patch set is the default; name one with set",
                      "features": []}, GEOJSON)
    if name is None:
        return _send({"type": "FeatureCollection", "patch_set": None, "patch_sets": [],
                      "message": NO_PATCH_SET, "features": []}, GEOJSON)
    if name not in sets:
        known = ", ".join(sets) or "none is loaded"
        raise ValidationError([Problem(f"no patch set called '{name}' (patch sets: {known})",
                                       field="set")], summary="invalid query parameters")
    frame = load_patches(session, name).assign(patch_set=name)
    return _send({"type": "FeatureCollection", "patch_set": name, "patch_sets": sets,
                  "features": shape_features(frame, S.PATCH, PATCH_FIELDS)}, GEOJSON)


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document of this API."""
    parse_query(OPERATION_BY_ID["getOpenAPI"].params, request.args.items(multi=True))
    return _send(openapi_document())
