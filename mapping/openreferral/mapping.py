"""Register records as HSDS-UK 3.0 objects: each asset a service at a location.

Field by field (the UK profile's fields only, plus ``contacts[].phones``, which the
profile defines in ``phone.json`` with its ``contact_id`` but links from nowhere, so that
phone numbers are not lost):

- asset -> ``service`` (name, description, ``url`` from the website, ``email`` from the
  contact text, ``status``, ``last_modified``, ``assured_date`` when an officer verified
  it), one ``location`` (point, address, ``accessibility``; ``external_identifier`` is our
  ``external_id``) and the ``service_at_location`` joining them;
- opening times -> ``schedules`` (:mod:`mapping.openreferral.schedules`);
- organisation -> ``organization`` with ``organization_identifiers`` in the org-id schemes
  (GB-COH company, GB-CHC charity in England and Wales, GB-SC Scottish charity), the CQC
  provider id and our own ``external_id``;
- category, esd service type, ownership class, legal form, data licence (with its
  attribution) and record source -> ``attributes`` linking to the published terms
  (:mod:`mapping.openreferral.taxonomy`).

No field is ever ``null``: HSDS types are plain strings and numbers, so an empty field is
left out.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from mapping import schema as S
from mapping.openreferral import ids
from mapping.openreferral import taxonomy as T
from mapping.openreferral.records import TERM_COLUMNS, FeedData
from mapping.openreferral.schedules import weekly_hours

COORDINATE_DECIMALS = 6
EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
PHONE = re.compile(r"^\+?[\d\s()\-.]{6,}(?:\s*(?:ext\.?|x)\s*\d+)?$", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
_SERVICE_TAXONOMIES = (T.CATEGORY, T.ESD_SERVICE, T.OWNERSHIP, T.LEGAL_FORM, T.LICENCE, T.SOURCE)


def _text(value: Any) -> str | None:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    text = str(value).strip()
    return text or None


def _put(out: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Add each field that has a value (HSDS fields are never null)."""
    out.update({k: v for k, v in fields.items() if v is not None})
    return out


def web_address(value: Any) -> str | None:
    """Give a website as an absolute URI (``http://`` added when it has no scheme), or None."""
    text = _text(value)
    if text is None or any(c.isspace() for c in text):
        return None
    return text if _SCHEME.match(text) else f"http://{text}"


def timestamp(value: Any) -> str | None:
    """Give a stored time (UTC; SQLite gives it back naive) as RFC 3339 ``...Z``."""
    if _text(value) is None:
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def split_contact(contact: Any) -> tuple[list[str], list[str], list[str]]:
    """Give the phone numbers, email addresses and other parts of a ``;``-joined contact text."""
    phones: list[str] = []
    emails: list[str] = []
    other: list[str] = []
    for part in (p.strip() for p in (_text(contact) or "").split(";")):
        if not part:
            continue
        (emails if EMAIL.match(part) else phones if PHONE.match(part) else other).append(part)
    return phones, emails, other


def split_address(address: Any) -> tuple[str, str]:
    """Give (``address_1``, ``city``): the last comma-separated part is the town."""
    text = _text(address) or ""
    head, sep, tail = text.rpartition(",")
    return (head.strip(), tail.strip()) if sep and head.strip() else (text, "")


def attribute(link_id: str, link_type: str, term: dict[str, Any]) -> dict[str, Any]:
    """Give one attribute: the record ``link_id`` linked to a published taxonomy term."""
    return {"id": ids.hsds_id("attribute", link_id, term["id"]), "link_id": link_id,
            "taxonomy_term_id": term["id"], "link_type": link_type, "taxonomy_term": term}


def _attributes(data: FeedData, link_id: str, codes: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, code in codes.items():
        term = data.term(key, code)
        if term is not None:
            out.append(attribute(link_id, T.LINK_TYPES[key], term))
    return out


# --- organisations ------------------------------------------------------------------------

def organization_identifiers(org: dict[str, Any]) -> list[dict[str, Any]]:
    """Give an organisation's identifiers: org-id schemes first, then CQC and our own id."""
    org_id = org["hsds_id"]
    found: list[tuple[str | None, str, str]] = []
    company, charity = _text(org.get(S.COMPANY_NUMBER)), _text(org.get(S.CHARITY_NUMBER))
    if company:
        found.append(("GB-COH", "Company number", company))
    if charity:
        scottish = charity.upper().startswith("SC")
        found.append(("GB-SC" if scottish else "GB-CHC",
                      "Scottish charity number" if scottish else "Charity number", charity))
    if _text(org.get(S.CQC_PROVIDER_ID)):
        found.append((None, "CQC provider ID", str(org[S.CQC_PROVIDER_ID])))
    found.append((None, ids.REGISTER_ID_TYPE, str(org[S.EXTERNAL_ID])))
    return [_put({"id": ids.hsds_id("organization_identifier", org_id, kind, value),
                  "organization_id": org_id}, identifier_scheme=scheme, identifier_type=kind,
                 identifier=value) for scheme, kind, value in found]


def organization_brief(org: dict[str, Any]) -> dict[str, Any]:
    """Give an organisation's one-to-one fields (``organization_list.json``)."""
    legal = _text(org.get(S.LEGAL_FORM))
    return _put({"id": org["hsds_id"], "name": str(org[S.NAME]),
                 "description": f"Legal form: {legal}." if legal else ""},
                website=web_address(org.get(S.WEBSITE)))


def organization_full(data: FeedData, org: dict[str, Any]) -> dict[str, Any]:
    """Give an organisation with its identifiers and attributes (ownership, legal form...)."""
    codes = {T.OWNERSHIP: org.get(S.OWNERSHIP_CLASS) or "unknown",
             T.OWNERSHIP_MODEL: org.get(S.OWNERSHIP_MODEL),
             T.LEGAL_FORM: org.get("legal_form_key") or "unknown",
             T.LICENCE: T.licence_code(_text(org.get(S.LICENCE)), _text(org.get(S.ATTRIBUTION))),
             T.SOURCE: org.get(S.SOURCE)}
    return {**organization_brief(org), "organization_identifiers": organization_identifiers(org),
            "attributes": _attributes(data, org["hsds_id"], codes)}


def _organisation(data: FeedData, row: dict[str, Any]) -> dict[str, Any] | None:
    key = row.get("organisation_id")
    return data.organisations.get(int(key)) if key is not None and _text(key) is not None else None


# --- locations ------------------------------------------------------------------------------

def location_brief(row: dict[str, Any]) -> dict[str, Any]:
    """Give an asset's location, one-to-one fields only."""
    return {"id": row["location_id"], "location_type": "physical", "name": str(row[S.NAME]),
            # numpy's rounding, as the read API's GeoJSON has it, so both give the same point
            "latitude": float(np.round(float(row[S.LAT]), COORDINATE_DECIMALS)),
            "longitude": float(np.round(float(row[S.LON]), COORDINATE_DECIMALS)),
            "external_identifier": str(row[S.EXTERNAL_ID]),
            "external_identifier_type": ids.REGISTER_ID_TYPE}


def location_full(data: FeedData, row: dict[str, Any]) -> dict[str, Any]:
    """Give an asset's location with its address and accessibility."""
    out = location_brief(row)
    loc = row["location_id"]
    addresses = []
    if _text(row.get(S.ADDRESS)) or _text(row.get(S.POSTCODE)):
        line, town = split_address(row.get(S.ADDRESS))
        addresses.append({"id": ids.hsds_id("address", loc), "location_id": loc,
                          "address_1": line, "city": town, "state_province": data.region or "",
                          "postal_code": _text(row.get(S.POSTCODE)) or "", "country": "GB",
                          "address_type": "physical"})
    access = _text(row.get(S.ACCESSIBILITY))
    accessibility = [{"id": ids.hsds_id("accessibility", loc), "location_id": loc,
                      "description": access, "accessibility": access}] if access else []
    return {**out, "addresses": addresses, "accessibility": accessibility, "attributes": []}


# --- services ---------------------------------------------------------------------------------

def schedules(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Give an asset's opening times as schedules: weekly where they parse, else text only."""
    text = _text(row.get(S.OPENING_TIMES))
    if text is None:
        return []
    service = row["service_id"]
    hours = weekly_hours(text)
    if hours is None:
        return [{"id": ids.hsds_id("schedule", service, "0"), "service_id": service,
                 "description": text}]
    return [{"id": ids.hsds_id("schedule", service, str(i)), "service_id": service,
             "freq": "WEEKLY", "interval": 1, "byday": ",".join(h.byday),
             "opens_at": h.opens_at, "closes_at": h.closes_at, "description": text}
            for i, h in enumerate(hours)]


def contacts(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Give an asset's public contact: phone numbers (as ``phones``) and any other words."""
    phones, _emails, other = split_contact(row.get(S.CONTACT))
    if not phones and not other:
        return []
    contact_id = ids.hsds_id("contact", row["service_id"])
    out: dict[str, Any] = {"id": contact_id, "service_id": row["service_id"]}
    if other:
        out["name"] = "; ".join(other)
    out["phones"] = [{"id": ids.hsds_id("phone", contact_id, str(i)), "contact_id": contact_id,
                      "number": number} for i, number in enumerate(phones)]
    return [out]


def service_brief(data: FeedData, row: dict[str, Any]) -> dict[str, Any]:
    """Give an asset as a service, one-to-one fields and its organisation (``service_list.json``)."""
    org = _organisation(data, row)
    _phones, emails, _other = split_contact(row.get(S.CONTACT))
    verified = timestamp(row.get(S.VERIFIED_AT))
    out = _put({"id": row["service_id"]}, organization_id=org["hsds_id"] if org else None)
    _put(out, name=str(row[S.NAME]), description=_text(row.get(S.DESCRIPTION)),
         url=web_address(row.get(S.WEBSITE)), email=emails[0] if emails else None,
         status="active", assured_date=verified[:10] if verified else None,
         last_modified=timestamp(row.get("updated_at")))
    if org is not None:
        out["organization"] = organization_brief(org)
    return out


def _service_codes(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row.get(TERM_COLUMNS[key]) for key in _SERVICE_TAXONOMIES}


def service_full(data: FeedData, row: dict[str, Any], *, with_locations: bool = True
                 ) -> dict[str, Any]:
    """Give an asset as a fully nested service (``compiled/service.json``)."""
    out = service_brief(data, row)
    org = _organisation(data, row)
    out.pop("organization", None)
    nested: dict[str, Any] = {"schedules": schedules(row), "service_areas": []}
    if with_locations:
        nested["service_at_locations"] = [{"id": row["sal_id"], "service_id": row["service_id"],
                                           "location_id": row["location_id"],
                                           "location": location_full(data, row)}]
    nested["languages"] = []
    if org is not None:
        nested["organization"] = organization_full(data, org)
    nested |= {"funding": [], "cost_options": [], "contacts": contacts(row),
               "attributes": _attributes(data, row["service_id"], _service_codes(row))}
    return {**out, **nested}


def service_at_location_brief(data: FeedData, row: dict[str, Any]) -> dict[str, Any]:
    """Give a service at a location, one-to-one fields (``service_at_location_list.json``)."""
    return {"id": row["sal_id"], "service_id": row["service_id"], "location_id": row["location_id"],
            "location": location_brief(row), "service": service_brief(data, row)}


def service_at_location_full(data: FeedData, row: dict[str, Any]) -> dict[str, Any]:
    """Give a fully nested service at a location (``compiled/service_at_location.json``)."""
    return {"id": row["sal_id"], "service_id": row["service_id"], "location_id": row["location_id"],
            "location": location_full(data, row),
            "service": service_full(data, row, with_locations=False)}
