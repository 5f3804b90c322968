"""The read API's OpenAPI 3.1 document, built from the same tables that parse and shape it.

Each operation names its parameter table (:mod:`mapping.api.parameters`) and its response
shape (:mod:`mapping.api.shapes`), so what is accepted, what is answered and what is
documented cannot drift apart. Every invalid query parameter is a 422 with the one error
shape (OGC API - Features would say 400; this service answers 422 for every validation
failure, forms and API alike).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mapping.api import openreferral as ORUK
from mapping.api.parameters import (
    API_VERSION,
    ASSET_PARAMS,
    GEOJSON,
    JSON,
    MAX_LIMIT,
    ORGANISATION_PARAMS,
    PATCH_PARAMS,
    Param,
)
from mapping.api.shapes import (
    AREA_FIELDS,
    ASSET_FIELDS,
    DISTANCE_FIELDS,
    LAYER_FIELDS,
    ORGANISATION_FIELDS,
    PATCH_FIELDS,
    Field,
)


@dataclass(frozen=True)
class Operation:
    """One GET endpoint: its path (OpenAPI form), parameters, answer and error statuses."""

    path: str
    operation_id: str
    summary: str
    description: str
    response: str
    media_type: str = JSON
    params: tuple[Param, ...] = ()
    path_params: tuple[tuple[str, str, str], ...] = ()
    errors: tuple[int, ...] = (422, 503)
    tags: tuple[str, ...] = ("read",)


OPERATIONS: tuple[Operation, ...] = (
    Operation("/api/assets", "listAssets", "Assets as GeoJSON, filtered and paged",
              "Community assets and care sites as a GeoJSON FeatureCollection (RFC 7946) "
              "with OGC API - Features paging. Ordered by id, or nearest first with `near`.",
              "AssetCollection", GEOJSON, ASSET_PARAMS),
    Operation("/api/assets/{asset_id}", "getAsset", "One asset as a GeoJSON Feature",
              "Any status, so that a saved link keeps working after an asset closes.",
              "AssetFeature", GEOJSON,
              path_params=(("asset_id", "integer", "The asset's `id`."),), errors=(404, 422, 503)),
    Operation("/api/organisations", "listOrganisations", "Organisations (providers), paged",
              "Organisations ordered by name, with legal form, ownership class, org-ids "
              "and the lot-rule flags.", "OrganisationList", JSON, ORGANISATION_PARAMS),
    Operation("/api/organisations/{organisation_id}", "getOrganisation", "One organisation",
              "One organisation by `id`.", "Organisation", JSON,
              path_params=(("organisation_id", "integer", "The organisation's `id`."),),
              errors=(404, 422, 503)),
    Operation("/api/layers", "listLayers", "The stored area layers",
              "Each boundary layer with its licence and attribution.", "LayerList"),
    Operation("/api/areas/{layer}", "getAreaLayer", "One area layer as GeoJSON",
              "Every area of the layer with its attributes (population, IMD...). 404 lists "
              "the layers there are.", "AreaCollection", GEOJSON,
              path_params=(("layer", "string", "Layer name from `/api/layers`."),),
              errors=(404, 422, 503)),
    Operation("/api/patches", "getPatches", "Patches of a patch set as GeoJSON",
              "Each patch's outline and member area codes. With no patch set loaded, an empty "
              "FeatureCollection whose `message` says so (no patch layout is ever invented).",
              "PatchCollection", GEOJSON, PATCH_PARAMS),
    Operation("/api/openapi.json", "getOpenAPI", "This document", "The OpenAPI 3.1 document.",
              "OpenAPIDocument", errors=(422,)),
)


def _feed(path: str, operation_id: str, summary: str, description: str, response: str,
          params: tuple[Param, ...] = (), item: str | None = None) -> Operation:
    """One endpoint of the Open Referral UK feed (HSDS-UK 3.0), under its own tag."""
    words = {"sal": "service at location", "term": "taxonomy term"}.get(item or "", item)
    path_params = ((f"{item}_id", "string", f"The {words}'s UUID (from its list)."),) if item else ()
    errors = (400, 404, 503) if path != "/openreferral/" else (400,)
    return Operation(path, operation_id, summary, description, response, JSON, params,
                     path_params, errors, (ORUK.TAG,))


FEED_OPERATIONS: tuple[Operation, ...] = (
    _feed("/openreferral/", "getOpenReferralRoot", "The feed's HSDS version and profile",
          "`version` HSDS-UK-3.0, the profile, the standard's OpenAPI document, the publisher "
          "and the standard's attribution (CC BY-SA 4.0).", "OpenReferralRoot"),
    _feed("/openreferral/services", "getPaginatedListOfServices", "A page of services",
          "Active public services (assets), one-to-one fields and organisation, by name.",
          "OpenReferralServicePage", ORUK.SERVICE_PARAMS),
    _feed("/openreferral/services/{service_id}", "getFullyNestedServiceById",
          "One fully nested service", "Organisation, locations, contacts and phones, schedules, "
          "service areas and attributes (category, ownership class, legal form, licence, "
          "source).", "OpenReferralService", item="service"),
    _feed("/openreferral/service_at_locations", "getPaginatedListOfServiceAtLocation",
          "A page of services at locations", "By name, or nearest a `postcode` first (within "
          "`proximity` metres when given).", "OpenReferralServiceAtLocationPage",
          ORUK.SERVICE_AT_LOCATION_PARAMS),
    _feed("/openreferral/service_at_locations/{sal_id}", "getServiceAtLocationWithNestedDataById",
          "One fully nested service at a location", "The location with its address and "
          "accessibility, and the fully nested service.", "OpenReferralServiceAtLocation",
          item="sal"),
    _feed("/openreferral/taxonomies", "getPaginatedListOfTaxonomies", "A page of taxonomies",
          "The published taxonomies, without their terms.", "OpenReferralTaxonomyPage",
          ORUK.PAGE_PARAMS),
    _feed("/openreferral/taxonomies/{taxonomy_id}", "getTaxonomyById", "One taxonomy",
          "A taxonomy with all its terms.", "OpenReferralTaxonomy", item="taxonomy"),
    _feed("/openreferral/taxonomy_terms", "getPaginatedListOfTaxonomyTerms",
          "A page of taxonomy terms", "Every published term, taxonomy by taxonomy.",
          "OpenReferralTaxonomyTermPage", ORUK.PAGE_PARAMS),
    _feed("/openreferral/taxonomy_terms/{term_id}", "getTaxonomyTermById", "One taxonomy term",
          "One term.", "OpenReferralTaxonomyTerm", item="term"),
)
OPERATION_BY_ID = {op.operation_id: op for op in OPERATIONS + FEED_OPERATIONS}

STATUS_TEXT = {400: "Invalid or unknown query parameter in the Open Referral feed: `problems` "
               "names each parameter and says why", 404: "Not found",
               422: "Invalid or unknown query parameter: `problems` names "
               "each parameter and says why", 503: "The store is not initialised or not at "
               "the newest schema"}


def _object(fields: Sequence[Field], *, extra: bool = False) -> dict[str, Any]:
    return {"type": "object", "properties": {f.name: f.schema() for f in fields},
            "required": [f.name for f in fields if not f.nullable],
            "additionalProperties": extra}


def _collection(feature: str, *, paged: bool = False, **members: Any) -> dict[str, Any]:
    items = {"$ref": f"#/components/schemas/{feature}"}
    props: dict[str, Any] = {"type": {"const": "FeatureCollection"},
                             "features": {"type": "array", "items": items}, **members}
    if paged:
        props |= _PAGING
    return {"type": "object", "required": ["type", "features"], "properties": props}


def _feature(properties: dict[str, Any], geometry: dict[str, Any], id_type: str) -> dict[str, Any]:
    return {"type": "object", "required": ["type", "geometry", "properties"],
            "properties": {"type": {"const": "Feature"}, "id": {"type": id_type},
                           "geometry": geometry, "properties": properties}}


_PAGING = {
    "numberMatched": {"type": "integer", "description": "How many items match the filters."},
    "numberReturned": {"type": "integer", "description": "How many are in this answer."},
    "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
}
_TEXT = {"type": "string"}


def _schemas() -> dict[str, Any]:
    point = {"type": "object", "properties": {"type": {"const": "Point"}, "coordinates": {
        "type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
        "description": "[lon, lat] in EPSG:4326, 6 decimal places"}}}
    polygon = {"type": "object", "description": "Polygon or MultiPolygon, lon/lat (EPSG:4326)",
               "properties": {"type": {"enum": ["Polygon", "MultiPolygon"]},
                              "coordinates": {"type": "array"}}}
    asset_props = _object(ASSET_FIELDS + DISTANCE_FIELDS)
    asset_props["required"] = [f.name for f in ASSET_FIELDS if not f.nullable]
    patch_props = _object(PATCH_FIELDS)
    patch_props["properties"]["area_codes"]["items"] = _TEXT
    return {
        "Problem": {"type": "object", "required": ["reason"], "properties": {
            "field": {"type": ["string", "null"], "description": "The parameter or field at fault."},
            "reason": {"type": "string", "description": "What is wrong, in plain words."},
            "row": {"type": ["integer", "null"], "description": "Data row (imports only)."},
            "file": {"type": ["string", "null"], "description": "File (imports only)."}}},
        "Error": {"type": "object", "required": ["error"], "additionalProperties": False,
                  "description": "The one error shape of the whole service.",
                  "properties": {"error": {
                      "type": "object", "required": ["status", "title", "message", "problems"],
                      "additionalProperties": False,
                      "properties": {"status": {"type": "integer"}, "title": _TEXT,
                                     "message": _TEXT, "problems": {
                                         "type": "array",
                                         "items": {"$ref": "#/components/schemas/Problem"}}}}}},
        "Link": {"type": "object", "required": ["rel", "href"], "properties": {
            "rel": {"enum": ["self", "next", "prev"]}, "href": {"type": "string", "format": "uri"},
            "type": _TEXT, "title": _TEXT}},
        "AssetFeature": _feature(asset_props, point, "integer"),
        "AssetCollection": _collection("AssetFeature", paged=True),
        "Organisation": _object(ORGANISATION_FIELDS),
        "OrganisationList": {"type": "object", "required": ["items", *_PAGING],
                             "properties": {"items": {"type": "array", "items": {
                                 "$ref": "#/components/schemas/Organisation"}}, **_PAGING}},
        "Layer": _object(LAYER_FIELDS),
        "LayerList": {"type": "object", "required": ["layers"], "properties": {
            "layers": {"type": "array", "items": {"$ref": "#/components/schemas/Layer"}}}},
        "AreaFeature": _feature(_object(AREA_FIELDS, extra=True), polygon, "string"),
        "AreaCollection": _collection("AreaFeature", layer={"$ref": "#/components/schemas/Layer"}),
        "PatchFeature": _feature(patch_props, polygon, "string"),
        "PatchCollection": _collection(
            "PatchFeature", patch_set={"type": ["string", "null"]},
            patch_sets={"type": "array", "items": _TEXT},
            message={"type": "string", "description": "Present when no patch set is loaded."}),
        "OpenAPIDocument": {"type": "object", "required": ["openapi", "paths"]},
        **ORUK.feed_schemas(),
    }


def _operation(op: Operation) -> dict[str, Any]:
    params = [{"name": n, "in": "path", "required": True, "description": d,
               "schema": {"type": t}} for n, t, d in op.path_params]
    params += [p.document() for p in op.params]
    responses: dict[str, Any] = {"200": {"description": op.summary, "content": {
        op.media_type: {"schema": {"$ref": f"#/components/schemas/{op.response}"}}}}}
    for status in op.errors:
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    responses["default"] = {"$ref": "#/components/responses/Unexpected"}
    return {"operationId": op.operation_id, "summary": op.summary,
            "description": op.description, "tags": list(op.tags), "parameters": params,
            "responses": responses}


def openapi_document(*, title: str = "Community asset and provision-gap mapping") -> dict[str, Any]:
    """Give the OpenAPI 3.1 document of the read API (a plain dict, ready for JSON)."""

    def error(description: str) -> dict[str, Any]:
        return {"description": description, "content": {
            JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{title}: read API",
            "version": API_VERSION,
            "description": (
                "Read-only, open to any site (CORS `*`). Features are GeoJSON (RFC 7946, lon/lat, "
                "EPSG:4326, 6 decimal places); lists page as in OGC API - Features. Every error "
                "has one JSON shape (`Error`). Invalid or unknown query parameters give 422 "
                "(not OGC's 400), naming each parameter in `problems`; `limit` above "
                f"{MAX_LIMIT} is capped. Each record carries its licence and attribution."),
            "license": {"name": "MIT (the software; each record gives its data licence)",
                        "identifier": "MIT"},
        },
        "paths": {op.path: {"get": _operation(op)} for op in OPERATIONS + FEED_OPERATIONS},
        "components": {
            "schemas": _schemas(),
            "responses": {
                **{f"E{s}": error(t) for s, t in STATUS_TEXT.items()},
                "Unexpected": error("Something went wrong on the server (no details are shown)"),
            },
        },
        "tags": [{"name": "read", "description": "Read-only endpoints"},
                 {"name": ORUK.TAG, "description": (
                     "Open Referral UK (HSDS-UK 3.0) feed of the register's active public "
                     "records. Human Services Data Specification: an Open Referral resource "
                     "(https://openreferral.org/); UK profile by Open Referral UK; CC BY-SA 4.0. "
                     "Invalid query parameters give 400 here.")}],
    }
