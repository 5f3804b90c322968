"""The register as an HSDS-UK 3.0 data package: one CSV per table and ``datapackage.json``.

The tables and their columns are the UK profile's (``schema/*.json``: ``services.csv``,
``organizations.csv``, ``locations.csv``, ``service_at_location.csv``, ``address.csv``, ...);
the package descriptor is a Frictionless tabular data package, with every data licence and
attribution of the records as its ``sources``. Beside the tables, ``services.ndjson`` holds
the same services fully nested, one a line: the file ``mapping import-openreferral`` reads
back (and another council's feed can be saved in that shape too).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from mapping.openreferral import taxonomy as T
from mapping.openreferral.feed import STANDARD_ATTRIBUTION
from mapping.openreferral.mapping import service_full
from mapping.openreferral.records import FeedData

NESTED_FILE = "services.ndjson"

#: Each table's file and columns, as the UK profile's schemas give them.
TABLES: dict[str, tuple[str, ...]] = {
    "organizations.csv": ("id", "name", "description", "email", "website", "logo", "uri",
                          "parent_organization_id"),
    "organization_identifiers.csv": ("id", "organization_id", "identifier_scheme",
                                     "identifier_type", "identifier"),
    "services.csv": ("id", "organization_id", "name", "description", "url", "email", "status",
                     "fees", "accreditations", "minimum_age", "maximum_age", "assured_date",
                     "assurer_email", "alert", "last_modified"),
    "locations.csv": ("id", "location_type", "name", "description", "latitude", "longitude",
                      "external_identifier", "external_identifier_type"),
    "service_at_location.csv": ("id", "service_id", "location_id"),
    "address.csv": ("id", "location_id", "attention", "address_1", "city", "region",
                    "state_province", "postal_code", "country", "address_type"),
    "accessibility.csv": ("id", "location_id", "description", "details", "url", "accessibility"),
    "schedule.csv": ("id", "service_id", "service_at_location_id", "valid_from", "valid_to",
                     "dtstart", "freq", "interval", "byday", "bymonthday", "description",
                     "opens_at", "closes_at", "schedule_link", "attending_type", "notes"),
    "contacts.csv": ("id", "service_id", "name", "title"),
    "phones.csv": ("id", "contact_id", "number", "description"),
    "attribute.csv": ("id", "link_id", "taxonomy_term_id", "link_type"),
    "taxonomies.csv": ("id", "name", "description", "uri", "version"),
    "taxonomy_terms.csv": ("id", "name", "description", "parent_id", "taxonomy", "taxonomy_id",
                           "term_uri", "term"),
}
_NUMBERS = {"latitude", "longitude", "minimum_age", "maximum_age", "interval"}


def package_tables(data: FeedData, *, feed_url: str) -> tuple[dict[str, list[dict[str, Any]]],
                                                               list[dict[str, Any]]]:
    """Give the package's rows, table by table, and the fully nested services they come from."""
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    nested = [service_full(data, r) for r in data.rows]
    orgs: dict[str, dict[str, Any]] = {}
    for service in nested:
        org = service.get("organization")
        if org is not None and org["id"] not in orgs:
            orgs[org["id"]] = org
            rows["organization_identifiers.csv"] += org["organization_identifiers"]
            rows["attribute.csv"] += org["attributes"]
        rows["services.csv"].append(service)
        rows["schedule.csv"] += service["schedules"]
        rows["attribute.csv"] += service["attributes"]
        for contact in service["contacts"]:
            rows["contacts.csv"].append(contact)
            rows["phones.csv"] += contact.get("phones", [])
        for sal in service["service_at_locations"]:
            rows["service_at_location.csv"].append(sal)
            location = sal["location"]
            rows["locations.csv"].append(location)
            rows["address.csv"] += location["addresses"]
            rows["accessibility.csv"] += location["accessibility"]
    rows["organizations.csv"] = list(orgs.values())
    rows["taxonomies.csv"] = [T.taxonomy_object(k, None, feed_url=feed_url) for k in data.terms]
    rows["taxonomy_terms.csv"] = [t for group in data.terms.values() for t in group]
    return rows, nested


def _field_type(name: str) -> str:
    return "number" if name in _NUMBERS else "string"


def datapackage(data: FeedData, *, publisher: str) -> dict[str, Any]:
    """Give the ``datapackage.json`` descriptor of the package."""
    licences = data.terms.get(T.LICENCE, [])
    resources: list[dict[str, Any]] = [
        {"name": path.removesuffix(".csv"), "path": path, "profile": "tabular-data-resource",
         "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
         "schema": {"fields": [{"name": c, "type": _field_type(c)} for c in columns],
                    "primaryKey": "id"}}
        for path, columns in TABLES.items()]
    resources.append({"name": "services_nested", "path": NESTED_FILE, "format": "ndjson",
                      "mediatype": "application/x-ndjson",
                      "description": "The same services, fully nested (HSDS-UK 3.0 "
                                     "compiled/service.json), one a line."})
    return {"profile": "tabular-data-package", "name": "hsds-uk-3-0-community-asset-register",
            "title": f"{publisher}: community asset register (HSDS-UK 3.0)",
            "description": "Active public records of the community asset register as an Open "
                           "Referral UK (HSDS-UK 3.0) package. Each record's data licence and "
                           "attribution is an attribute under the 'Data licence' taxonomy.",
            "version": "HSDS-UK-3.0",
            "sources": [{"title": t["description"], "licence": t["name"]} for t in licences],
            "standard_attribution": STANDARD_ATTRIBUTION, "resources": resources}


def export_package(data: FeedData, directory: Path, *, publisher: str, feed_url: str
                   ) -> dict[str, int]:
    """Write the package into ``directory`` (made if need be); give the rows of each table."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rows, nested = package_tables(data, feed_url=feed_url)
    for path, columns in TABLES.items():
        frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows[path]],
                             columns=list(columns))
        # Plain CSV, not spreadsheet-safe: this is data for other systems, and a quoted
        # "+44..." phone number or "-0.01" longitude would be a corrupted value there.
        frame.to_csv(directory / path, index=False, encoding="utf-8")
    with (directory / NESTED_FILE).open("w", encoding="utf-8") as out:
        for service in nested:
            out.write(json.dumps(service, ensure_ascii=False, separators=(",", ":")) + "\n")
    descriptor = datapackage(data, publisher=publisher)
    (directory / "datapackage.json").write_text(json.dumps(descriptor, indent=2, ensure_ascii=False)
                                                + "\n", encoding="utf-8")
    return {path: len(r) for path, r in rows.items()}
