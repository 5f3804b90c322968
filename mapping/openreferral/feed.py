"""The feed's answers, endpoint by endpoint, with no Flask: each view hands over to one of these.

Every answer is a plain dict ready for JSON: the ``Page`` envelope for collections,
the HSDS object for ``/{id}``. An unknown id raises :class:`~mapping.errors.NotFoundError`.
"""

from __future__ import annotations

from typing import Any

from shapely.geometry import Point

from mapping.errors import NotFoundError
from mapping.openreferral import taxonomy as T
from mapping.openreferral.mapping import (
    service_at_location_brief,
    service_at_location_full,
    service_brief,
    service_full,
)
from mapping.openreferral.paging import page_bounds, page_envelope
from mapping.openreferral.query import FeedQuery, select_services
from mapping.openreferral.records import FeedData

VERSION = "HSDS-UK-3.0"
PROFILE_URL = "https://github.com/OpenReferralUK/uk-profile"
OPENAPI_URL = "https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/openapi.json"
#: The attribution the standard's licence (CC BY-SA 4.0) asks for.
STANDARD_ATTRIBUTION = {
    "specification": "Human Services Data Specification: an Open Referral resource "
                     "(https://openreferral.org/)",
    "profile": "UK profile by Open Referral UK (https://github.com/OpenReferralUK/uk-profile)",
    "licence": "Creative Commons Attribution-ShareAlike 4.0 (CC BY-SA 4.0)",
    "licence_url": "https://creativecommons.org/licenses/by-sa/4.0/",
}


def root(*, publisher: str, api_document_url: str) -> dict[str, Any]:
    """Give ``GET /``: the HSDS version, profile and OpenAPI document, and whose data it is.

    ``openapi_url`` is the standard's own document, which this feed implements; the
    service's own OpenAPI document (with paging limits and errors) is ``api_document_url``.
    """
    return {"version": VERSION, "profile": PROFILE_URL, "openapi_url": OPENAPI_URL,
            "publisher": publisher, "service_openapi_url": api_document_url,
            "data_licences": "Each record carries its data licence and attribution as an "
                             "attribute under the 'Data licence' taxonomy; show them with it.",
            "standard_attribution": STANDARD_ATTRIBUTION}


def _page(items: list[Any], total: int, page: int, per_page: int) -> dict[str, Any]:
    return page_envelope(items, total_items=total, page=page, per_page=per_page)


def _rows_page(data: FeedData, found: Any, brief: Any, page: int, per_page: int) -> dict[str, Any]:
    """Give a page of the ``found`` rows, each as ``brief(data, row)``."""
    start, stop = page_bounds(page, per_page)
    rows = data.rows_at(found.index[start:stop])
    return _page([brief(data, r) for r in rows], len(found), page, per_page)


def services_page(data: FeedData, query: FeedQuery, *, page: int, per_page: int) -> dict[str, Any]:
    """Give ``/services``: a page of services, one-to-one fields and their organisation."""
    return _rows_page(data, select_services(data, query), service_brief, page, per_page)


def service(data: FeedData, service_id: str) -> dict[str, Any]:
    """Give ``/services/{id}``: one fully nested service."""
    row = data.row_by_id(service_id)
    if row is None or row["service_id"] != service_id.lower():
        raise NotFoundError(f"no published service with id {service_id}")
    return service_full(data, row)


def service_at_locations_page(data: FeedData, query: FeedQuery, *, page: int, per_page: int,
                              origin: Point | None = None, proximity_m: float | None = None
                              ) -> dict[str, Any]:
    """Give ``/service_at_locations``: a page of services at locations, nearest first when
    a postcode's ``origin`` is given (within ``proximity_m`` metres when that is given too)."""
    found = select_services(data, query, origin=origin, proximity_m=proximity_m)
    return _rows_page(data, found, service_at_location_brief, page, per_page)


def service_at_location(data: FeedData, sal_id: str) -> dict[str, Any]:
    """Give ``/service_at_locations/{id}``: one fully nested service at a location."""
    row = data.row_by_id(sal_id)
    if row is None or row["sal_id"] != sal_id.lower():
        raise NotFoundError(f"no published service_at_location with id {sal_id}")
    return service_at_location_full(data, row)


def taxonomies_page(data: FeedData, *, page: int, per_page: int, feed_url: str) -> dict[str, Any]:
    """Give ``/taxonomies``: a page of the published taxonomies (without their terms)."""
    keys = list(data.terms)
    start, stop = page_bounds(page, per_page)
    items = [T.taxonomy_object(k, None, feed_url=feed_url) for k in keys[start:stop]]
    return _page(items, len(keys), page, per_page)


def taxonomy(data: FeedData, taxonomy_id: str, *, feed_url: str) -> dict[str, Any]:
    """Give ``/taxonomies/{id}``: one taxonomy with every term."""
    for key, terms in data.terms.items():
        if T.taxonomy_id(key) == taxonomy_id.lower():
            return T.taxonomy_object(key, terms, feed_url=feed_url)
    raise NotFoundError(f"no published taxonomy with id {taxonomy_id}")


def taxonomy_terms_page(data: FeedData, *, page: int, per_page: int) -> dict[str, Any]:
    """Give ``/taxonomy_terms``: a page of every published term, taxonomy by taxonomy."""
    terms = [t for group in data.terms.values() for t in group]
    start, stop = page_bounds(page, per_page)
    return _page(terms[start:stop], len(terms), page, per_page)


def taxonomy_term(data: FeedData, term_id: str) -> dict[str, Any]:
    """Give ``/taxonomy_terms/{id}``: one term."""
    term = data.term_by_id.get(term_id.lower())
    if term is None:
        raise NotFoundError(f"no published taxonomy term with id {term_id}")
    return term
