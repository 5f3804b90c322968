"""Import an HSDS-UK 3.0 feed into the register: all or nothing, every problem by record.

Input is a saved feed (a JSON file: one object, a list, a ``Page`` or a wrapper with
``version`` and ``services``; or NDJSON, one object a line; ``services.ndjson`` of an
export) or, online, a feed's URL (its ``/`` is read for ``version``, then every page of
``/services`` and each ``/services/{id}``). Each service at a location becomes an asset,
each organization an organisation, through the same checks as every import
(:func:`mapping.register.importers.prepare_assets`): a bad record and nothing is written.
A location with no coordinates is placed by its postcode. A service with no physical
location (no ``service_at_locations``, or only ``virtual`` ones: a helpline, a website) is
not an asset, since the register maps places: it is named in the result's ``unplaced`` and
its organization is still imported.

Records match on their HSDS ids (``oruk:<service_at_location id>``, ``oruk:<organization
id>``), or on our own ``external_id`` when the feed is this register's, so importing again
updates rather than duplicates. Categories come from our category terms, else from an esd
service type through ``data/openreferral_taxonomy.csv``, else ``other``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.openreferral import taxonomy as T
from mapping.openreferral.ids import REGISTER_ID_TYPE, is_uuid
from mapping.openreferral.schedules import DAYS
from mapping.register.importers import prepare_assets, prepare_organisations, write_assets_in
from mapping.register.records import WriteCounts, upsert_records
from mapping.register.taxonomy import category_lookup
from mapping.store.database import Store

VERSIONS = ("HSDS-UK-3.0", "3.0")
_LEGAL = re.compile(r"^Legal form: (.+)\.$")
_STATUS = {"active": "active", "inactive": "closed", "defunct": "closed",
           "temporarily closed": "closed"}


@dataclass
class FeedImport:
    """What an import found and wrote."""

    file: str
    records: int = 0
    assets: WriteCounts = field(default_factory=WriteCounts)
    organisations: WriteCounts = field(default_factory=WriteCounts)
    #: services with no physical location (helplines, websites): the register maps places
    unplaced: list[str] = field(default_factory=list)


def _version_problem(obj: dict[str, Any], row: int | None, file: str) -> list[Problem]:
    version = obj.get("version")
    if version in VERSIONS:
        return []
    return [Problem(f"version is {version!r}; this import reads HSDS-UK 3.0 ('HSDS-UK-3.0')",
                    row=row, field="version", file=file)]


def read_feed(text: str, *, file: str = "feed") -> tuple[list[tuple[int, dict[str, Any]]], list[Problem]]:
    """Give a saved feed's objects, each with its record number (NDJSON: its line), and problems."""
    try:
        whole: Any = json.loads(text)
        lines: list[tuple[int, Any]] = [(1, whole)]
    except json.JSONDecodeError:
        lines, problems = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    lines.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    problems.append(Problem(f"not JSON: {exc.msg}", row=number, file=file))
        if problems:
            return [], problems
    out: list[tuple[int, dict[str, Any]]] = []
    problems = []
    for number, obj in lines:
        items: list[Any] = [obj]
        if isinstance(obj, dict) and ("openapi_url" in obj or isinstance(obj.get("services"), list)
                                      and "version" in obj):
            problems += _version_problem(obj, number if len(lines) > 1 else None, file)
            items = obj.get("services", [])
        elif isinstance(obj, dict) and isinstance(obj.get("contents"), list):
            items = obj["contents"]
        elif isinstance(obj, list):
            items = obj
        for i, item in enumerate(items, start=1):
            row = number if len(lines) > 1 else i
            if isinstance(item, dict):
                out.append((row, item))
            else:
                problems.append(Problem("not a JSON object", row=row, file=file))
    return out, problems


def fetch_feed(url: str, get_json: Callable[[str], Any], *, per_page: int = 100
               ) -> list[tuple[int, dict[str, Any]]]:
    """Give every fully nested service of the feed at ``url`` (checking its ``version``)."""
    base = url.rstrip("/")
    root = get_json(base + "/")
    problems = _version_problem(root if isinstance(root, dict) else {}, None, base)
    if problems:
        raise ValidationError(problems, summary=f"{base}: not an HSDS-UK 3.0 feed")
    out: list[tuple[int, dict[str, Any]]] = []
    page = 1
    while True:
        body = get_json(f"{base}/services?page={page}&per_page={per_page}")
        for item in body.get("contents", []):
            out.append((len(out) + 1, get_json(f"{base}/services/{item['id']}")))
        if body.get("last_page", True) or not body.get("contents"):
            return out
        page += 1


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _terms(obj: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Give an object's linked terms by taxonomy key (ours) or ``other``."""
    ours = {T.taxonomy_id(k): k for k in T.TAXONOMY_BY_KEY}
    out: dict[str, list[dict[str, Any]]] = {}
    for attribute in obj.get("attributes") or []:
        term = attribute.get("taxonomy_term") or {}
        out.setdefault(ours.get(term.get("taxonomy_id", ""), "other"), []).append(term)
    return out


def _category(terms: dict[str, list[dict[str, Any]]]) -> str:
    lookup = category_lookup()
    for term in terms.get(T.CATEGORY, []):
        if str(term.get("term", "")).casefold() in lookup:
            return lookup[str(term["term"]).casefold()]
    esd = T.load_esd_mapping()
    by_uri = {T.ESD_SERVICE_URI.format(code=c): cat for cat, c in esd["esd_service_code"].items() if c}
    for term in (t for group in terms.values() for t in group):
        if term.get("term_uri") in by_uri:
            return by_uri[term["term_uri"]]
        for word in (term.get("term"), term.get("name")):
            if word and str(word).casefold() in lookup:
                return lookup[str(word).casefold()]
    return "other"


def _provenance(terms: dict[str, list[dict[str, Any]]], defaults: dict[str, str | None]
                ) -> dict[str, Any]:
    out: dict[str, Any] = {S.LICENCE: defaults.get(S.LICENCE), S.ATTRIBUTION: defaults.get(S.ATTRIBUTION)}
    for term in terms.get(T.LICENCE, [])[:1]:
        out[S.LICENCE] = None if term.get("term") == "not recorded" else term.get("name")
        out[S.ATTRIBUTION] = None if term.get("description") == "No attribution recorded." else (
            term.get("description"))
    sources = [t.get("term") for t in terms.get(T.SOURCE, []) if t.get("term") in S.ASSET_SOURCES]
    out[S.SOURCE] = sources[0] if sources else "import"
    return out


def organisation_row(org: dict[str, Any], defaults: dict[str, str | None]) -> dict[str, Any]:
    """Give an HSDS organization as a row of our organisation columns."""
    ids = {(i.get("identifier_scheme"), i.get("identifier_type")): _text(i.get("identifier"))
           for i in org.get("organization_identifiers") or []}
    terms = _terms(org)
    legal = _LEGAL.match(str(org.get("description") or ""))
    models = [t.get("term") for t in terms.get(T.OWNERSHIP_MODEL, [])]
    return {S.EXTERNAL_ID: ids.get((None, REGISTER_ID_TYPE)) or f"oruk:{org.get('id')}",
            S.NAME: _text(org.get("name")), S.LEGAL_FORM: legal.group(1) if legal else None,
            S.COMPANY_NUMBER: ids.get(("GB-COH", "Company number")) or next(
                (v for (s, _), v in ids.items() if s == "GB-COH"), None),
            S.CHARITY_NUMBER: next((v for (s, _), v in ids.items() if s in ("GB-CHC", "GB-SC")), None),
            S.CQC_PROVIDER_ID: ids.get((None, "CQC provider ID")), S.WEBSITE: _text(org.get("website")),
            S.OWNERSHIP_MODEL: models[0] if models else None, **_provenance(terms, defaults)}


def _opening_times(schedules: list[dict[str, Any]]) -> str | None:
    for schedule in schedules:
        if _text(schedule.get("description")):
            return str(schedule["description"]).strip()
    names = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                            "Sunday"), strict=True))
    parts = [f"{', '.join(names.get(d, d) for d in str(s['byday']).split(','))} "
             f"{str(s['opens_at'])[:5]} - {str(s['closes_at'])[:5]}"
             for s in schedules if s.get("byday") and s.get("opens_at") and s.get("closes_at")]
    return "; ".join(parts) or None


def asset_rows(service: dict[str, Any], org_key: str | None, defaults: dict[str, str | None]
               ) -> list[dict[str, Any]]:
    """Give an HSDS service as one row of our asset columns per service_at_location."""
    terms = _terms(service)
    phones = [p.get("number") for c in service.get("contacts") or [] for p in c.get("phones") or []]
    names = [c.get("name") for c in service.get("contacts") or []]
    contact = "; ".join(str(x) for x in [*phones, service.get("email"), *names] if _text(x))
    base = {S.NAME: _text(service.get("name")), S.DESCRIPTION: _text(service.get("description")),
            S.CATEGORY: _category(terms), S.WEBSITE: _text(service.get("url")),
            S.CONTACT: contact or None, S.OPENING_TIMES: _opening_times(service.get("schedules") or []),
            S.STATUS: _STATUS.get(str(service.get("status")), service.get("status")),
            S.VERIFIED_AT: _text(service.get("assured_date")), S.ORGANISATION_ID: org_key,
            **_provenance(terms, defaults)}
    rows = []
    for sal in service.get("service_at_locations") or []:
        location = sal.get("location") or {}
        if not _is_place(location):
            continue
        address = (location.get("addresses") or [{}])[0]
        own = location.get("external_identifier_type") == REGISTER_ID_TYPE
        access = [_text(a.get("accessibility") or a.get("description"))
                  for a in location.get("accessibility") or []]
        rows.append({**base, S.EXTERNAL_ID: location.get("external_identifier") if own
                     else f"oruk:{sal.get('id')}",
                     S.LON: location.get("longitude"), S.LAT: location.get("latitude"),
                     S.ADDRESS: ", ".join(p for p in (_text(address.get("address_1")),
                                                      _text(address.get("city"))) if p) or None,
                     S.POSTCODE: _text(address.get("postal_code")),
                     S.ACCESSIBILITY: "; ".join(a for a in access if a) or None})
    return rows


def _is_place(location: dict[str, Any]) -> bool:
    """Say whether a location is a physical place (not ``virtual``: a phone line or website)."""
    return str(location.get("location_type") or "physical") != "virtual"


def _placeable(location: dict[str, Any]) -> bool:
    """Say whether a place can be put on the map: coordinates, else a postcode to look up."""
    has_point = location.get("latitude") is not None and location.get("longitude") is not None
    return has_point or any(_text(a.get("postal_code")) for a in location.get("addresses") or [])


def _check(row: int, service: dict[str, Any], file: str) -> list[Problem]:
    """Give the record's problems: required fields, UUIDs, and ids that do not resolve."""
    out = [Problem(f"required field '{f}' is missing", row=row, field=f, file=file)
           for f in ("id", "name", "status") if not _text(service.get(f))]
    if _text(service.get("id")) and not is_uuid(str(service["id"])):
        out.append(Problem(f"id '{service['id']}' is not a UUID", row=row, field="id", file=file))
    org = service.get("organization")
    if service.get("organization_id") and (org or {}).get("id") != service["organization_id"]:
        out.append(Problem(f"organization_id '{service['organization_id']}' does not resolve to "
                           "the nested organization", row=row, field="organization_id", file=file))
    if org is not None:
        out += [Problem(f"required field 'organization.{f}' is missing", row=row,
                        field=f"organization.{f}", file=file)
                for f in ("id", "name") if not _text(org.get(f))]
    for sal in service.get("service_at_locations") or []:
        location = sal.get("location")
        if location is None or sal.get("location_id", location.get("id")) != location.get("id"):
            out.append(Problem(f"location_id '{sal.get('location_id')}' does not resolve to a "
                               "nested location", row=row, field="location_id", file=file))
        elif _is_place(location) and not _placeable(location):
            out.append(Problem("the location has no latitude and longitude and no postcode to "
                               "place it by", row=row, field="location", file=file))
        if sal.get("service_id", service.get("id")) != service.get("id"):
            out.append(Problem(f"service_id '{sal.get('service_id')}' does not resolve to this "
                               "service", row=row, field="service_id", file=file))
    return out


def _is_organization(obj: dict[str, Any]) -> bool:
    return "status" not in obj and "service_at_locations" not in obj and bool(
        {"organization_identifiers", "services", "website", "logo", "parent_organization_id"} & set(obj))


def _services(records: Iterable[tuple[int, dict[str, Any]]]
              ) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, dict[str, Any]]]]:
    """Give the services in the records (services, services at locations, organizations'
    services), and the organizations that come without services."""
    out, alone = [], []
    for row, obj in records:
        if isinstance(obj.get("service"), dict):  # a service at a location
            service = {**obj["service"], "service_at_locations": [
                {k: v for k, v in obj.items() if k != "service"}]}
            out.append((row, service))
        elif _is_organization(obj):
            org = {k: v for k, v in obj.items() if k != "services"}
            services = obj.get("services") or []
            out += [(row, {"organization": org, "organization_id": org.get("id"), **s})
                    for s in services]
            if not services:
                alone.append((row, org))
        elif "status" not in obj and bool({"taxonomy_terms", "taxonomy_id", "term", "term_uri",
                                            "version", "uri"} & set(obj)):
            continue  # taxonomies and terms: nothing to import
        else:
            out.append((row, obj))
    return out, alone


def import_feed(store: Store, records: list[tuple[int, dict[str, Any]]], *, file: str,
                problems: list[Problem] | None = None, changed_by: str = "import",
                defaults: dict[str, str | None] | None = None, index: Any = None,
                boundary: Any = None) -> FeedImport:
    """Import a feed's records in one transaction; nothing is written if any record is bad."""
    problems = list(problems or [])
    defaults = defaults or {}
    orgs: dict[str, dict[str, Any]] = {}
    assets, origin = [], []
    services, alone = _services(records)
    for row, lone in alone:
        found = [Problem(f"required field '{f}' is missing", row=row, field=f, file=file)
                 for f in ("id", "name") if not _text(lone.get(f))]
        problems += found
        if not found:
            lone_row = organisation_row(lone, defaults)
            orgs.setdefault(lone_row[S.EXTERNAL_ID], lone_row)
    unplaced: list[str] = []
    for row, service in services:
        found = _check(row, service, file)
        problems += found
        if found:
            continue
        org = service.get("organization")
        org_row = organisation_row(org, defaults) if org else None
        if org_row is not None:
            orgs.setdefault(org_row[S.EXTERNAL_ID], org_row)
        rows = asset_rows(service, org_row[S.EXTERNAL_ID] if org_row else None, defaults)
        if not rows:
            unplaced.append(str(service.get("name")))
        for asset in rows:
            assets.append(asset)
            origin.append(row)
    org_frame, org_problems = prepare_organisations(pd.DataFrame(list(orgs.values()),
                                                                 columns=list(S.ORGANISATION_COLUMNS)),
                                                    file=file)
    frame = pd.DataFrame(assets, columns=[*S.ASSET_COLUMNS])
    prepared, asset_problems = (prepare_assets(frame, file=file, index=index, boundary=boundary)
                                if assets else (frame, []))
    problems += [Problem(p.reason, row=None, field=p.field, file=file) for p in org_problems]
    problems += [Problem(p.reason, row=origin[p.row - 1] if p.row else None, field=p.field,
                         file=file) for p in asset_problems]
    if problems:
        raise ValidationError(problems, summary=f"{file}: nothing imported, {len(problems)} "
                              "problem(s)")
    report = FeedImport(file=file, records=len(records), unplaced=unplaced)
    with store.transaction() as session:
        report.organisations = upsert_records(session, "organisation", org_frame, changed_by=changed_by)
        written = write_assets_in(session, prepared, [], file=file, rows=len(prepared),
                                  skip_invalid=False, changed_by=changed_by)
        report.assets = written.counts
    return report


def import_feed_file(store: Store, path: Path, **options: Any) -> FeedImport:
    """Import a saved feed file (JSON or NDJSON); see :func:`import_feed`."""
    path = Path(path)
    records, problems = read_feed(path.read_text(encoding="utf-8"), file=path.name)
    return import_feed(store, records, file=path.name, problems=problems, **options)
