"""The read API's response shapes: property tables that both build the JSON and describe it.

GeoJSON follows RFC 7946 (lon/lat in EPSG:4326, 6 decimal places); paging follows OGC
API - Features (``limit``, ``offset``, ``numberMatched``, ``numberReturned`` and
``self``/``next``/``prev`` links).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import shapely

from mapping import schema as S
from mapping.api.parameters import (
    COORDINATE_DECIMALS,
)
from mapping.register.taxonomy import load_categories


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
    Field(S.POPULATION, "integer", "Usual residents, from the borough's population table (see /sources)."),
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
    frame has a ``distance_m`` column (from :func:`mapping.register.directory.assets_near`).
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
