"""The read API's contract, with no Flask: parameters, response shapes and the OpenAPI document.

One table per endpoint says which query parameters it takes; the same table parses a
request (every problem collected, then one :class:`~mapping.errors.ValidationError`
naming each parameter) and documents it, so what is accepted and what is documented
cannot drift apart. Likewise the property tables below both build the JSON
(GeoJSON, RFC 7946: lon/lat in EPSG:4326, 6 decimal places) and describe it.
Paging follows OGC API - Features (``limit``, ``offset``, ``numberMatched``,
``numberReturned`` and ``self``/``next``/``prev`` links).

Every invalid query parameter, or one the endpoint does not take, is a 422 with the
one error shape (OGC API - Features would say 400; this service answers 422 for every
validation failure, forms and API alike). Larger ``limit`` values are capped at
:data:`MAX_LIMIT`, as OGC API - Features asks, rather than refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import shapely

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.taxonomy import load_categories

API_VERSION = "1.0.0"
GEOJSON = "application/geo+json"
JSON = "application/json"
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
MAX_TEXT_LENGTH = 200
COORDINATE_DECIMALS = 6
#: Statuses an asset may have, and the word that asks for all of them.
STATUS_ALL = "all"


# --------------------------------------------------------------------------------------
# query parameters: parsed and documented from one table
# --------------------------------------------------------------------------------------

Kind = Literal["text", "integer", "number", "list", "bbox"]


@dataclass(frozen=True)
class Param:
    """One query parameter: how it is parsed, and what the OpenAPI document says of it."""

    name: str
    kind: Kind
    description: str
    example: Any = None
    choices: Callable[[], Sequence[str]] | None = None
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    requires: str | None = None

    def schema(self) -> dict[str, Any]:
        """Give the parameter's JSON Schema (OpenAPI 3.1)."""
        if self.kind == "list":
            items: dict[str, Any] = {"type": "string"}
            if self.choices is not None:
                items["enum"] = list(self.choices())
            out: dict[str, Any] = {"type": "array", "items": items}
            if self.default is not None:
                out["default"] = list(self.default)
            return out
        if self.kind == "bbox":
            return {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}
        out = {"type": "string", "maxLength": MAX_TEXT_LENGTH} if self.kind == "text" else {
            "type": self.kind}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.default is not None:
            out["default"] = self.default
        return out

    def document(self) -> dict[str, Any]:
        """Give the OpenAPI Parameter Object."""
        text = self.description
        if self.requires:
            text += f" Only together with `{self.requires}`."
        out: dict[str, Any] = {"name": self.name, "in": "query", "required": False,
                               "description": text, "schema": self.schema()}
        if self.kind in ("list", "bbox"):
            # Comma-separated; list parameters may also be repeated (parse_query joins them).
            out |= {"style": "form", "explode": self.kind == "list"}
        if self.example is not None:
            out["example"] = self.example
        return out

    def parse(self, values: list[str], problems: list[Problem]) -> Any:
        """Give the parsed value (or the default), adding any problem to ``problems``."""
        given = [v.strip() for v in values if v.strip()]
        if not given:
            return self.default
        if self.kind == "list":
            return self._parse_list(given, problems)
        if len(given) > 1:
            problems.append(Problem("give it once only", field=self.name))
            return self.default
        raw = given[0]
        if self.kind == "text":
            if len(raw) > MAX_TEXT_LENGTH:
                problems.append(Problem(f"must be at most {MAX_TEXT_LENGTH} characters",
                                        field=self.name))
            return raw
        if self.kind == "bbox":
            return _parse_bbox(raw, self.name, problems)
        return self._parse_number(raw, problems)

    def _parse_list(self, given: list[str], problems: list[Problem]) -> tuple[str, ...]:
        items = list(dict.fromkeys(i.strip() for v in given for i in v.split(",") if i.strip()))
        if self.choices is not None:
            allowed = list(self.choices())
            for item in items:
                if item not in allowed:
                    problems.append(Problem(f"unknown value '{item}' (use one of "
                                            f"{', '.join(allowed)})", field=self.name))
        return tuple(items)

    def _parse_number(self, raw: str, problems: list[Problem]) -> int | float | None:
        try:
            number: int | float = int(raw) if self.kind == "integer" else float(raw)
        except ValueError:
            what = "a whole number" if self.kind == "integer" else "a number"
            problems.append(Problem(f"must be {what}, got '{raw}'", field=self.name))
            return None
        if not math.isfinite(number):
            problems.append(Problem(f"must be a finite number, got '{raw}'", field=self.name))
            return None
        if self.minimum is not None and number < self.minimum:
            problems.append(Problem(f"must be {self.minimum:g} or more, got '{raw}'",
                                    field=self.name))
            return None
        if self.maximum is not None and number > self.maximum:
            return type(number)(self.maximum)  # capped, as OGC API - Features asks for limit
        return number


def _parse_bbox(raw: str, name: str, problems: list[Problem]
                ) -> tuple[float, float, float, float] | None:
    parts = raw.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(parts) != 4 or len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        problems.append(Problem(f"must be four numbers minLon,minLat,maxLon,maxLat, got '{raw}'",
                                field=name))
        return None
    min_lon, min_lat, max_lon, max_lat = numbers
    reasons = []
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        reasons.append("longitudes must be between -180 and 180")
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        reasons.append("latitudes must be between -90 and 90")
    if min_lon > max_lon or min_lat > max_lat:
        reasons.append("the minimum must not be greater than the maximum (minLon,minLat,maxLon,maxLat)")
    for reason in reasons:
        problems.append(Problem(f"{reason}, got '{raw}'", field=name))
    return None if reasons else (min_lon, min_lat, max_lon, max_lat)


def parse_query(params: Sequence[Param], pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Give every parameter's value (defaults filled in) from a query string's (name, value) pairs.

    A blank value counts as not given. List parameters may be repeated or
    comma-separated. Raises one :class:`ValidationError` listing every problem,
    each naming its parameter, including parameters the endpoint does not take.
    """
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        given.setdefault(name, []).append(value)
    known = {p.name: p for p in params}
    problems = [
        Problem("unknown parameter (this endpoint takes "
                f"{', '.join(known) if known else 'no query parameters'})", field=name)
        for name in given if name not in known
    ]
    out = {p.name: p.parse(given.get(p.name, []), problems) for p in params}
    for p in params:
        if p.requires and out[p.name] is not None and out[p.requires] is None:
            problems.append(Problem(f"only works together with '{p.requires}'", field=p.name))
    if problems:
        raise ValidationError(problems, summary="invalid query parameters")
    return out


def _category_codes() -> Sequence[str]:
    return tuple(load_categories()["code"])


LIMIT = Param("limit", "integer", f"Most items to return; values above {MAX_LIMIT} are capped "
              f"at {MAX_LIMIT}. 0 gives just the count (`numberMatched`).", example=100,
              default=DEFAULT_LIMIT, minimum=0, maximum=MAX_LIMIT)
OFFSET = Param("offset", "integer", "How many matching items to skip; follow the `next` and "
               "`prev` links rather than counting.", example=0, default=0, minimum=0)
OWNERSHIP_HELP = ("Ownership class as derived from legal form (CLES Appendix 1). Repeat the "
                  "parameter or separate values with commas; any of them matches.")

ASSET_PARAMS: tuple[Param, ...] = (
    Param("bbox", "bbox", "Only assets inside this box: `minLon,minLat,maxLon,maxLat` in "
          "EPSG:4326 (WGS 84 degrees), as in OGC API - Features.", example=(0.0, 51.53, 0.02, 51.55)),
    Param("category", "list", "Service category code (`data/categories.csv`). Repeat the "
          "parameter or separate codes with commas; any of them matches.", example=("school",),
          choices=_category_codes),
    Param("ownership", "list", OWNERSHIP_HELP + " Assets with no organisation are `unknown`.",
          example=("generative",), choices=lambda: S.OWNERSHIP_CLASSES),
    Param("status", "list", f"Record status; `{STATUS_ALL}` gives every status. Repeatable or "
          "comma-separated.", example=("active",), default=("active",),
          choices=lambda: (*S.ASSET_STATUSES, STATUS_ALL)),
    Param("patch", "text", "Only assets inside this patch's outline (a patch name from "
          "`/api/patches`). 422 if no such patch, or no patch set is loaded."),
    Param("patch_set", "text", "The patch set `patch` belongs to; default: the first patch "
          "set by name.", requires="patch"),
    Param("q", "text", "Text search: name or description contains this, any case.",
          example="library"),
    Param("near", "text", "A Great Britain postcode (OS Code-Point Open). Adds `distance_m` "
          "(straight line, labelled in `distance_method`) and sorts nearest first.",
          example="E15 4EH"),
    Param("within_m", "number", "Only assets at most this many metres (straight line) from "
          "`near`.", example=500, minimum=0, requires="near"),
    LIMIT, OFFSET,
)
ORGANISATION_PARAMS: tuple[Param, ...] = (
    Param("ownership", "list", OWNERSHIP_HELP, example=("generative",),
          choices=lambda: S.OWNERSHIP_CLASSES),
    Param("q", "text", "Text search: the name contains this, any case.", example="co-operative"),
    LIMIT, OFFSET,
)
PATCH_PARAMS: tuple[Param, ...] = (
    Param("set", "text", "Patch set name (see `patch_sets` in the answer); default: the first "
          "patch set by name."),
)


# --------------------------------------------------------------------------------------
# response shapes: the same tables build the JSON and document it
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One property of a JSON object: name, JSON Schema type, description, format."""

    name: str
    type: str
    description: str
    format: str | None = None
    nullable: bool = True

    def schema(self) -> dict[str, Any]:
        """Give the field's JSON Schema (OpenAPI 3.1: a null type rather than ``nullable``)."""
        out: dict[str, Any] = {"type": [self.type, "null"] if self.nullable else self.type,
                               "description": self.description}
        if self.format:
            out["format"] = self.format
        return out


_PROVENANCE = (
    Field(S.SOURCE, "string", "How the record came in: survey, import, osm or submission.",
          nullable=False),
    Field(S.LICENCE, "string", "Licence of the source data (e.g. OGL v3, ODbL 1.0)."),
    Field(S.ATTRIBUTION, "string", "Attribution the licence requires; show it with the data."),
    Field("updated_at", "string", "When the record last changed (UTC).", "date-time", False),
)
ASSET_FIELDS: tuple[Field, ...] = (
    Field("id", "integer", "The asset's number in this register (`/api/assets/{asset_id}`).",
          nullable=False),
    Field(S.EXTERNAL_ID, "string", "The asset's id in its source (e.g. `gias:102700`).",
          nullable=False),
    Field(S.NAME, "string", "Name.", nullable=False),
    Field(S.DESCRIPTION, "string", "Description, including any caveat on the location."),
    Field(S.CATEGORY, "string", "Service category code.", nullable=False),
    Field("category_label", "string", "The category's label.", nullable=False),
    Field(S.STATUS, "string", "active, proposed or closed.", nullable=False),
    Field(S.OWNERSHIP_CLASS, "string", "Ownership class of the organisation (generative, "
          "extractive, in-house; unknown when there is no organisation).", nullable=False),
    Field("organisation_name", "string", "Name of the organisation that runs it."),
    Field(S.ORGANISATION_ID, "string", "External id of that organisation."),
    Field(S.ADDRESS, "string", "Address."),
    Field(S.POSTCODE, "string", "Postcode."),
    Field(S.OPENING_TIMES, "string", "Opening times, as recorded."),
    Field(S.CONTACT, "string", "Public contact details."),
    Field(S.WEBSITE, "string", "Website."),
    Field(S.ACCESSIBILITY, "string", "Accessibility notes."),
    Field(S.CAPACITY, "number", "Capacity (places, sessions...) when known."),
    *_PROVENANCE[:3],
    Field(S.VERIFIED_AT, "string", "When an officer last checked the record (UTC).", "date-time"),
    _PROVENANCE[3],
)
DISTANCE_FIELDS: tuple[Field, ...] = (
    Field("distance_m", "number", "Distance from `near` in metres, measured in EPSG:27700.",
          nullable=False),
    Field("distance_method", "string", "How it was measured: `straight line` (as the crow "
          "flies, not along streets).", nullable=False),
)
ORGANISATION_FIELDS: tuple[Field, ...] = (
    Field("id", "integer", "The organisation's number in this register.", nullable=False),
    Field(S.EXTERNAL_ID, "string", "The organisation's id in its source.", nullable=False),
    Field(S.NAME, "string", "Name.", nullable=False),
    Field(S.LEGAL_FORM, "string", "Legal form as recorded (Companies House wording or code)."),
    Field("legal_form_key", "string", "The legal form rule it matched (`data/legal_forms.csv`).",
          nullable=False),
    Field(S.OWNERSHIP_MODEL, "string", "Ownership model (CLES): in-house, municipal enterprise, "
          "worker ownership, community ownership, local private triple bottom line, extractive."),
    Field(S.OWNERSHIP_CLASS, "string", "generative, extractive, in-house or unknown (CLES "
          "Appendix 1, by legal form).", nullable=False),
    Field("org_id", "string", "org-id.guide identifiers (GB-COH, GB-CHC, GB-SC), `;`-separated."),
    Field(S.COMPANY_NUMBER, "string", "Companies House number."),
    Field(S.CHARITY_NUMBER, "string", "Charity number."),
    Field(S.NATIONAL_FOOTPRINT, "boolean", "Operates nationally (generative by form but less "
          "locally so)."),
    Field(S.OFFICE_IN_BOROUGH, "boolean", "Has an office in the borough (a lot rule)."),
    Field(S.LIVING_WAGE, "boolean", "Pays the (London) Living Wage."),
    Field(S.ETHICAL_CARE_CHARTER, "boolean", "Follows UNISON's ethical care charter."),
    Field(S.CQC_PROVIDER_ID, "string", "CQC provider id."),
    Field(S.CQC_RATING, "string", "Latest CQC rating."),
    Field(S.ADDRESS, "string", "Address."),
    Field(S.POSTCODE, "string", "Postcode."),
    Field(S.WEBSITE, "string", "Website."),
    *_PROVENANCE,
)
LAYER_FIELDS: tuple[Field, ...] = (
    Field("name", "string", "Layer name, for `/api/areas/{layer}`.", nullable=False),
    Field("title", "string", "Title.", nullable=False),
    Field(S.SOURCE, "string", "Where the boundaries come from."),
    Field(S.LICENCE, "string", "Licence of the boundaries."),
    Field(S.ATTRIBUTION, "string", "Attribution the licence requires."),
    Field("areas", "integer", "Number of areas.", nullable=False),
)
AREA_FIELDS: tuple[Field, ...] = (
    Field(S.AREA_CODE, "string", "ONS GSS code (E05… ward, E01… LSOA).", nullable=False),
    Field(S.AREA_NAME, "string", "Name.", nullable=False),
    Field(S.POPULATION, "integer", "Usual residents (Census 2021, or mid-2020 on 2011 LSOAs)."),
    Field(S.POPULATION_65_PLUS, "integer", "Residents aged 65 and over."),
    Field(S.IMD_RANK, "integer", "IMD 2019 rank (1 = most deprived in England)."),
    Field(S.IMD_DECILE, "integer", "IMD 2019 decile (1 = most deprived tenth)."),
    Field(S.IMD_METHOD, "string", "How IMD 2019 (on 2011 LSOAs) was carried onto this area."),
)
PATCH_FIELDS: tuple[Field, ...] = (
    Field(S.PATCH, "string", "Patch name.", nullable=False),
    Field("patch_set", "string", "The patch set it belongs to.", nullable=False),
    Field("area_codes", "array", "GSS codes of the areas that make it up.", nullable=False),
)


def _values(frame: pd.DataFrame, fields: Sequence[Field]) -> list[list[Any]]:
    """Give each field's column as JSON-ready Python values (None for missing), vectorised."""
    columns = []
    for f in fields:
        if f.name not in frame.columns:
            columns.append([None] * len(frame))
            continue
        series = frame[f.name]
        if f.format == "date-time":
            # Stored in UTC; SQLite gives them back naive.
            series = pd.to_datetime(series, utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        columns.append(series.astype(object).where(series.notna(), None).tolist())
    return columns


def records(frame: pd.DataFrame, fields: Sequence[Field]) -> list[dict[str, Any]]:
    """Give one JSON-ready dict per row with exactly ``fields`` (missing columns are null)."""
    names = [f.name for f in fields]
    return [dict(zip(names, row, strict=True))
            for row in zip(*_values(frame, fields), strict=True)] if len(frame) else []


def asset_features(assets: pd.DataFrame) -> list[dict[str, Any]]:
    """Give GeoJSON Point Features for assets (``lon``/``lat`` columns, EPSG:4326).

    Properties are :data:`ASSET_FIELDS`, plus :data:`DISTANCE_FIELDS` when the
    frame has a ``distance_m`` column (from :func:`mapping.directory.assets_near`).
    Built column by column rather than through ``GeoDataFrame.to_json``, which is
    several times slower on large registers.
    """
    labels = load_categories()["label"]
    frame = assets.assign(category_label=assets[S.CATEGORY].map(labels).fillna(assets[S.CATEGORY]))
    fields = ASSET_FIELDS + (DISTANCE_FIELDS if "distance_m" in frame.columns else ())
    lon = np.round(frame[S.LON].to_numpy(dtype=float), COORDINATE_DECIMALS).tolist()
    lat = np.round(frame[S.LAT].to_numpy(dtype=float), COORDINATE_DECIMALS).tolist()
    return [
        {"type": "Feature", "id": props["id"],
         "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": props}
        for x, y, props in zip(lon, lat, records(frame, fields), strict=True)
    ]


def shape_features(frame: pd.DataFrame, id_field: str, fields: Sequence[Field]
                   ) -> list[dict[str, Any]]:
    """Give GeoJSON Features for a GeoDataFrame in EPSG:4326, coordinates to 6 decimal places."""
    geometry = shapely.transform(np.asarray(frame.geometry.values, dtype=object),
                                 lambda xy: np.round(xy, COORDINATE_DECIMALS))
    shapes = [None if g is None else g.__geo_interface__ for g in geometry]
    return [
        {"type": "Feature", "id": props[id_field], "geometry": shape, "properties": props}
        for shape, props in zip(shapes, records(frame, fields), strict=True)
    ]


def area_fields(frame: pd.DataFrame) -> tuple[Field, ...]:
    """Give the documented area fields plus any other attribute column the layer carries."""
    known = {f.name for f in AREA_FIELDS}
    extra = tuple(Field(str(c), "string", "") for c in frame.columns
                  if c not in known and c != "geometry")
    return tuple(f for f in AREA_FIELDS if f.name in frame.columns) + extra


def paging(base_url: str, pairs: Iterable[tuple[str, str]], *, offset: int, limit: int,
           matched: int, returned: int, media_type: str) -> dict[str, Any]:
    """Give the OGC API - Features paging members: counts and ``self``/``next``/``prev`` links.

    ``pairs`` is the request's query; the links keep every other parameter as given.
    """
    kept = [(k, v) for k, v in pairs if k not in ("limit", "offset")]

    def link(rel: str, title: str, start: int) -> dict[str, str]:
        query = urlencode([*kept, ("limit", str(limit)), ("offset", str(start))])
        return {"rel": rel, "type": media_type, "title": title, "href": f"{base_url}?{query}"}

    links = [link("self", "this page", offset)]
    if limit > 0 and offset + limit < matched:
        links.append(link("next", "next page", offset + limit))
    if limit > 0 and offset > 0:
        links.append(link("prev", "previous page", max(0, offset - limit)))
    return {"numberMatched": matched, "numberReturned": returned, "links": links}


# --------------------------------------------------------------------------------------
# the OpenAPI 3.1 document
# --------------------------------------------------------------------------------------


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
OPERATION_BY_ID = {op.operation_id: op for op in OPERATIONS}

STATUS_TEXT = {404: "Not found", 422: "Invalid or unknown query parameter: `problems` names "
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
        "paths": {op.path: {"get": _operation(op)} for op in OPERATIONS},
        "components": {
            "schemas": _schemas(),
            "responses": {
                **{f"E{s}": error(t) for s, t in STATUS_TEXT.items()},
                "Unexpected": error("Something went wrong on the server (no details are shown)"),
            },
        },
        "tags": [{"name": "read", "description": "Read-only endpoints"}],
    }
