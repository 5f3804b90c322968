"""The Open Referral UK feed's query parameters and response schemas, for parsing and the
OpenAPI document alike (the feed itself is :mod:`mapping.openreferral`).

The names, and which path takes which, are HSDS-UK 3.0's (``schema/openapi.json``), plus
``modified_after`` (an HSDS parameter the profile does not attach to a path). Response
schemas are the standard's own compiled schemas, referred to by their published URLs.
"""

from __future__ import annotations

from typing import Any

from mapping.api.parameters import Param
from mapping.openreferral import taxonomy as T
from mapping.openreferral.paging import DEFAULT_PER_PAGE, MAX_PER_PAGE

#: Where the standard's schemas are published (its OpenAPI document refers to them so).
SCHEMA_BASE = "https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/"
TAG = "openreferral"

PAGE = Param("page", "integer", "Page number, from 1. A page past the last is an empty page.",
             example=1, default=1, minimum=1)
PER_PAGE = Param("per_page", "integer", f"Items per page, 1 or more (default {DEFAULT_PER_PAGE}); "
                 f"values above {MAX_PER_PAGE} are capped at {MAX_PER_PAGE}.", example=10,
                 default=DEFAULT_PER_PAGE, minimum=1, maximum=MAX_PER_PAGE)

_SERVICE_FILTERS: tuple[Param, ...] = (
    Param("search", "text", "Full text search: name, description, organisation or category "
          "contains this, any case.", example="school"),
    PAGE, PER_PAGE,
    Param("taxonomy_term_id", "text", "Only services linked to this taxonomy term (a UUID from "
          "`/taxonomy_terms`); a category group's term gives all its categories.",
          example=T.term_id(T.CATEGORY, "school")),
    Param("taxonomy_id", "text", "Only services linked to any term of this taxonomy (a UUID "
          "from `/taxonomies`).", example=T.taxonomy_id(T.OWNERSHIP)),
    Param("minimum_age", "number", "Only services with a recorded minimum age of at least "
          "this (the register records no ages yet, so none match).", example=18, minimum=0),
    Param("maximum_age", "number", "Only services with a recorded maximum age of at most "
          "this (the register records no ages yet, so none match).", example=65, minimum=0),
    Param("start_time", "text", "Only services with a weekly schedule opening at or after "
          "this time (`HH:MM` or `HH:MM:SS`).", example="08:00"),
    Param("end_time", "text", "Only services with a weekly schedule closing at or before "
          "this time (`HH:MM` or `HH:MM:SS`).", example="18:00"),
    Param("day", "text", "Only services with a weekly schedule on this day: `MO`, `TU`, `WE`, "
          "`TH`, `FR`, `SA`, `SU` (RFC 5545) or the day's name.", example="MO"),
    Param("modified_after", "text", "Only records changed at or after this date and time "
          "(ISO 8601, UTC when no offset is given).", example="2020-01-01T00:00:00Z"),
)
SERVICE_PARAMS = _SERVICE_FILTERS
SERVICE_AT_LOCATION_PARAMS: tuple[Param, ...] = (
    *_SERVICE_FILTERS,
    Param("postcode", "text", "A Great Britain postcode: results nearest its centroid first "
          "(straight line; OS Code-Point Open and the council's ONSPD rows).", example="E15 4EH"),
    Param("proximity", "number", "Only results at most this many metres (straight line) from "
          "the postcode's centroid.", example=1000, minimum=0, requires="postcode"),
)
PAGE_PARAMS: tuple[Param, ...] = (PAGE, PER_PAGE)

_PAGE_SCHEMA = {
    "type": "object",
    "required": ["total_items", "total_pages", "page_number", "size", "first_page",
                 "last_page", "empty", "contents"],
    "properties": {
        "total_items": {"type": "integer", "description": "How many items match."},
        "total_pages": {"type": "integer", "description": "How many pages they fill (at least 1)."},
        "page_number": {"type": "integer", "description": "This page's number, from 1."},
        "size": {"type": "integer", "description": "How many items are on this page."},
        "first_page": {"type": "boolean", "description": "Whether this is the first page."},
        "last_page": {"type": "boolean", "description": "Whether this is the last page (or past it)."},
        "empty": {"type": "boolean", "description": "Whether this page has no items."},
        "contents": {"type": "array"},
    },
}


def _page_of(schema: str) -> dict[str, Any]:
    return {"allOf": [{"$ref": "#/components/schemas/OpenReferralPage"}],
            "properties": {"contents": {"type": "array", "items": {"$ref": SCHEMA_BASE + schema}}}}


def feed_schemas() -> dict[str, Any]:
    """Give the feed's component schemas for the OpenAPI document."""
    return {
        "OpenReferralPage": _PAGE_SCHEMA,
        "OpenReferralRoot": {"type": "object", "required": ["version", "profile", "openapi_url"],
                             "properties": {
                                 "version": {"const": "HSDS-UK-3.0"},
                                 "profile": {"type": "string", "format": "uri"},
                                 "openapi_url": {"type": "string", "format": "uri"}}},
        "OpenReferralServicePage": _page_of("compiled/service_list.json"),
        "OpenReferralService": {"$ref": SCHEMA_BASE + "compiled/service.json"},
        "OpenReferralServiceAtLocationPage": _page_of("compiled/service_at_location_list.json"),
        "OpenReferralServiceAtLocation": {"$ref": SCHEMA_BASE + "compiled/service_at_location.json"},
        "OpenReferralTaxonomyPage": _page_of("taxonomy.json"),
        "OpenReferralTaxonomy": {"$ref": SCHEMA_BASE + "taxonomy.json"},
        "OpenReferralTaxonomyTermPage": _page_of("taxonomy_term.json"),
        "OpenReferralTaxonomyTerm": {"$ref": SCHEMA_BASE + "taxonomy_term.json"},
    }
