"""Care providers from the Care Quality Commission (CQC): its location files in our columns.

:func:`cqc_locations` reads a CQC file into one asset per location and one organisation per
provider, in the columns ``prepare_assets`` and ``prepare_organisations`` take (no database,
network or Flask). Layouts, known by their headers in any case or spacing: ``hsca``, CQC's
monthly "HSCA active locations" CSV (``Service type - …`` flags of ``Y``, ``Care homes beds``),
after any preamble, where a ``Location HSCA End Date`` (deactivated locations) closes a
location; ``api``, CQC API location JSON (``/public/v1/locations/{id}``: an object, a list or
NDJSON); ``cache``, the flattened API cache (``address1``, ``lat``, type names), as JSON or CSV
(lists joined by ``"; "``).

Category: the service type with the lowest ``precedence`` in ``data/cqc_service_types.csv``
(nursing, residential, extra care, supported living, shared lives, homecare, hospital-type
services, GP, reablement, other); no type is ``other``, an unknown type a problem. Registered
is ``active``; deregistered, or with an end date, ``closed``. Beds are the capacity above 0.
Legal form, strongest evidence first: ownership type "Local Authority" (``Local authority``);
a charity number (``Registered charity``); ownership type "Partnership", "Individual", "NHS
Body" (``Partnership``, ``Sole trader``, ``NHS body``); the name, by ``infer_legal_forms``,
spelt as ``data/legal_forms.csv`` knows it. The class is then ``ownership_classes``, as on import.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from mapping import schema as S
from mapping.config import REFERENCE_DIR
from mapping.errors import DataMissingError, Problem, ValidationError
from mapping.places.geocode import points_from_lonlat
from mapping.register.legal_forms import load_legal_form_rules, ownership_classes
from mapping.register.taxonomy import load_categories
from mapping.spend.suppliers import infer_legal_forms
from mapping.tables import _key, parse_datetimes, parse_numbers, read_text

SERVICE_TYPES_PATH: Final = REFERENCE_DIR / "cqc_service_types.csv"
LAYOUTS: Final = ("hsca", "api", "cache")
LICENCE: Final = "OGL v3"
ATTRIBUTION: Final = "Care Quality Commission (CQC), Open Government Licence v3.0"
#: Asset columns CQC adds: ``prepare_assets`` keeps the id, the rating and the dates (the store
#: has them); the service types and the local authority are in the description. Dates are ISO
#: text (``YYYY-MM-DD``); service types are joined by "; ".
ASSET_EXTRA_COLUMNS: Final = ("cqc_location_id", "cqc_service_types", "cqc_rating", "cqc_rating_date",
                              "registered_on", "deregistered_on", "cqc_local_authority")
#: Organisation columns beyond ``schema.ORGANISATION_COLUMNS``; ``prepare_organisations``
#: recomputes ``ownership_class`` from ``legal_form``, with the same result.
ORGANISATION_EXTRA_COLUMNS: Final = ("cqc_ownership_type", "legal_form_evidence", S.OWNERSHIP_CLASS)

_HEADER_SEARCH = 20  # CSV lines in which to look for the header
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S")
_UNKNOWN = ("not a CQC layout this reader knows: the HSCA active locations CSV ('Location ID', 'Service "
            "type - …') or CQC API location JSON ('locationId', 'gacServiceTypes')")
_SIGNS = {  # headers (as keys) that tell the layouts apart; two are enough
    "hsca": frozenset("location_name location_hsca_start_date location_postal_code care_home "
                      "care_homes_beds provider_ownership_type location_latitude".split()),
    "json": frozenset("providerid gacservicetypes registrationstatus onspdlatitude postalcode "
                      "postaladdressline1 regulatedactivities cqcurl address1".split()),
}
_REQUIRED = {"hsca": {"location_id": "Location ID", "name": "Location Name"}, "json": {
    "location_id": "locationId", "name": "name"}}
# Our field -> its parts, joined by ", " ("a+b"); "a|b" is the first of a and b with a value.
_FIELDS: Final = {
    "hsca": dict(
        location_id="location_id", name="location_name", provider_id="provider_id", dormant="dormant_y_n",
        provider_name="provider_name", postcode="location_postal_code", lat="location_latitude",
        address="location_street_address+location_address_line_2+location_city+location_county",
        lon="location_longitude", local_authority="location_local_authority", rating_date="publication_date",
        phone="location_telephone_number", website="location_web_address",
        rating="location_latest_overall_rating",
        registered="location_hsca_start_date", deregistered="location_hsca_end_date",
        beds="care_homes_beds|care_homes_beds_at_point_location_de_activated",
        company_number="provider_companies_house_number", charity_number="provider_charity_number",
        ownership_type="provider_ownership_type", provider_postcode="provider_postal_code",
        provider_address="provider_street_address+provider_address_line_2+provider_city+provider_county",
        provider_website="provider_web_address"),
    "json": dict(
        location_id="locationid", name="name|locationname", provider_id="providerid",
        provider_name="providername", postcode="postalcode|postcode",
        address="postaladdressline1|address1+postaladdressline2|address2"
                "+postaladdresstowncity|town+postaladdresscounty|county",
        lat="onspdlatitude|lat", lon="onspdlongitude|lon", local_authority="localauthority",
        phone="mainphonenumber|phone", website="website", status="registrationstatus",
        registered="registrationdate", deregistered="deregistrationdate",
        rating="currentratings_overall_rating|currentrating",
        rating_date="currentratings_overall_reportdate|currentratings_reportdate",
        beds="numberofbeds", ownership_type="ownershiptype", url="cqcurl"),
}
_CANON = tuple(dict.fromkeys([*_FIELDS["hsca"], "status", "url"]))
_STATUSES = {"registered": "active", "deregistered": "closed"}
# CQC ownership types that decide the legal form, weakest first (later ones override).
_OWNERSHIP_FORMS = (("partnership", "Partnership"), ("individual", "Sole trader"), ("nhs body", "NHS body"))
_BLANK_NUMBERS = frozenset({"", "-", "0", "n/a", "na", "none", "null"})


@dataclass(frozen=True)
class CqcLocations:
    """What :func:`cqc_locations` read: assets, organisations, and the rows it left out."""

    assets: pd.DataFrame
    """One row per location: the ``schema.ASSET_COLUMNS`` CQC fills, then ``ASSET_EXTRA_COLUMNS``."""
    organisations: pd.DataFrame
    """One row per provider: the organisation columns CQC fills, then ``ORGANISATION_EXTRA_COLUMNS``."""
    layout: str
    """One of ``LAYOUTS``."""
    file: str
    """The file's name, as used in problems."""
    problems: list[Problem] = field(default_factory=list)
    """The rows left out with ``skip_invalid=True`` (without it, any problem is raised)."""


def _type_key(text: str) -> str:
    return " ".join(str(text).split()).casefold()


@lru_cache(maxsize=4)
def _service_types(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataMissingError(f"CQC service type table not found: {path}")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if missing := [c for c in ("service_type", "category", "precedence") if c not in table]:
        raise ValidationError([Problem(f"missing column '{c}'", field=c, file=path.name)
                               for c in missing])
    table["key"] = table["service_type"].map(_type_key)
    rank = pd.to_numeric(table["precedence"].where(table["precedence"].str.fullmatch(r"\d+")))
    clash = table.assign(rank=rank).groupby("key")[["category", "rank"]].transform("nunique")
    checks = ((~table["category"].isin(load_categories().index), "category",
               "'" + table["category"] + "' is not a code in data/categories.csv"),
              (rank.isna(), "precedence", "'" + table["precedence"] + "' is not a whole number"),
              (clash.max(axis=1) > 1, "service_type",
               "'" + table["service_type"] + "' is listed twice with different results"))
    problems = [Problem(why.iloc[i], row=int(i) + 1, field=f, file=path.name)
                for bad, f, why in checks for i in np.flatnonzero(bad)]
    if problems:
        raise ValidationError(problems, summary=f"{path.name} is not a valid service type table")
    return table.assign(precedence=rank.astype(int))


def load_service_types(path: Path | None = None) -> pd.DataFrame:
    """Give the CQC service type table (``service_type, category, precedence, vocabulary, note``).

    Raises ``DataMissingError`` for a missing file, and ``ValidationError`` for every row whose category
    is not in ``data/categories.csv``, whose precedence is not a whole number, or that clashes with another.
    """
    return _service_types((path or SERVICE_TYPES_PATH).resolve()).copy()


def _text(values: pd.Series) -> pd.Series:
    """Give values as stripped text, "" where missing."""
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def _none(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values != "", None)


def _family(keys: set[str]) -> str | None:
    for family, signs in _SIGNS.items():
        flags = family == "hsca" and any(k.startswith("service_type_") for k in keys)
        if len(signs & keys) + flags >= 2:
            return family
    return None


def _read_csv(text: str, file: str) -> pd.DataFrame:
    try:
        lines = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ValidationError([Problem(f"unreadable CSV: {exc}", file=file)]) from None
    at = next((i for i, cells in enumerate(lines[:_HEADER_SEARCH]) if _family({_key(c) for c in cells})),
              None)
    if at is None:
        raise ValidationError([Problem(_UNKNOWN, file=file)])
    header, body = [c.strip() for c in lines[at]], lines[at + 1:]
    width = len(header)
    bad = [Problem(f"expected {width} fields, found {len(r)} (check for an unquoted comma)",
                   row=i + 1, file=file) for i, r in enumerate(body)
           if len(r) != width and any(c.strip() for c in (r[width:] or r))]
    if bad:
        raise ValidationError(bad, summary=f"{file}: malformed CSV")
    frame = pd.DataFrame([r[:width] + [""] * (width - len(r)) for r in body], columns=header,
                         dtype=object).assign(_row=np.arange(1, len(body) + 1))
    return frame[frame.drop(columns="_row").ne("").any(axis=1)]


def _read_json(text: str, file: str) -> pd.DataFrame:
    def flat(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in record.items():
            name = f"{prefix}_{k}" if prefix else str(k)
            out.update(flat(v, name) if isinstance(v, dict) else {name: v})
        return out

    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        if not text.lstrip().startswith("{"):
            raise ValidationError([Problem(f"not valid JSON: {exc.msg}", row=exc.lineno,
                                           file=file)]) from None
        data = []
        for n, line in enumerate(text.splitlines(), start=1):  # NDJSON: one object a line
            try:
                data += [json.loads(line)] if line.strip() else []
            except json.JSONDecodeError as err:
                raise ValidationError([Problem(f"line {n} is not valid JSON: {err.msg}", row=n,
                                               file=file)]) from None
    if isinstance(data, dict):  # one location, or locations keyed by id
        data = ([data] if "locationid" in {_key(k) for k in data} else list(data.values())
                if all(isinstance(v, dict) for v in data.values()) else data)
    if not isinstance(data, list) or not data:
        raise ValidationError([Problem(_UNKNOWN, file=file)])
    if bad := [Problem("is not a JSON object", row=i + 1, file=file)
               for i, r in enumerate(data) if not isinstance(r, dict)]:
        raise ValidationError(bad, summary=f"{file}: not a list of CQC locations")
    return pd.DataFrame([flat(r) for r in data]).assign(_row=np.arange(1, len(data) + 1))


def _service_type_lists(frame: pd.DataFrame, family: str, original: dict[str, str],
                        file: str) -> tuple[pd.Series, list[Problem]]:
    """Give each row's CQC service types (a list of names) and the problems with Y flags."""
    problems: list[Problem] = []
    if family == "hsca":
        flags = [k for k in frame.columns if k.startswith("service_type_")]
        names = [re.sub(r"^\s*service\s*type\s*-\s*", "", original[k], flags=re.I) for k in flags]
        marks = pd.DataFrame({k: _text(frame[k]).str.casefold() for k in flags}, index=frame.index)
        for k in flags:
            problems += [Problem(f"'{frame[k].iloc[i]}' is not Y or blank", field=original[k],
                                 row=int(frame["_row"].iloc[i]), file=file)
                         for i in np.flatnonzero(~marks[k].isin(("", "y", "yes", "n", "no")))]
        yes = marks.isin(("y", "yes")).to_numpy()
        return pd.Series([[n for n, y in zip(names, row, strict=True) if y] for row in yes],
                         index=frame.index, dtype=object), problems
    known = set(load_service_types()["key"])

    def names_of(value: object) -> list[str]:
        if not isinstance(value, list):  # the CSV cache joins the names with "; "
            value = ("" if value is None or value != value else str(value)).split("; ")
        out = []
        for item in value:  # the API gives {name, description}: either may be in the table
            name, also = ((str(item.get("name") or ""), str(item.get("description") or ""))
                          if isinstance(item, dict) else (str(item), ""))
            out.append(also if _type_key(name) not in known and _type_key(also) in known else name or also)
        return [n.strip() for n in out if n.strip()]

    values = frame.get("gacservicetypes", pd.Series(None, index=frame.index, dtype=object))
    return values.map(names_of).astype(object), problems


def service_categories(types: pd.Series, *, path: Path | None = None) -> pd.DataFrame:
    """Give each location's category from its CQC service types, and the types the table lacks.

    ``types`` holds a list of CQC service type names per location (public names such as
    "Homecare agencies", or regulated-service names such as "Domiciliary care service"). Of
    those in ``path`` (default ``data/cqc_service_types.csv``), the lowest ``precedence``
    wins; no type at all gives ``other``; only unknown types give ``None``. Returns the columns
    ``category`` and ``unknown`` (a list per row), on the index of ``types``.
    """
    table = load_service_types(path)
    lookup = dict(zip(table["key"], zip(table["precedence"], table["category"], strict=True),
                      strict=True))
    found = [sorted(lookup[_type_key(n)] for n in names if _type_key(n) in lookup) for names in types]
    return pd.DataFrame({
        S.CATEGORY: pd.Series([f[0][1] if f else (None if names else "other")
                               for f, names in zip(found, types, strict=True)], dtype=object),
        "unknown": pd.Series([[n for n in names if _type_key(n) not in lookup] for names in types],
                             dtype=object),
    }).set_axis(types.index)


def provider_legal_forms(names: pd.Series, ownership_types: pd.Series,
                         charity_numbers: pd.Series) -> pd.DataFrame:
    """Give each CQC provider's legal form, the evidence for it, and its CLES ownership class.

    Evidence, strongest first: CQC ownership type "Local Authority"; a charity number;
    ownership type "Partnership", "Individual" (a sole trader) or "NHS Body"; the name, by
    ``data/supplier_name_rules.csv``. Gives ``legal_form`` (``None`` when nothing says),
    ``legal_form_evidence`` and ``ownership_class`` (``ownership_classes`` of the legal form,
    CLES (2020) Appendix 1, as ``prepare_organisations`` derives it), on the index of ``names``.
    """
    inferred = infer_legal_forms(names)
    key = inferred["legal_form"]
    rules = load_legal_form_rules().drop_duplicates("legal_form")
    spellings = dict(zip(rules["legal_form"], rules["match"], strict=True))  # key -> a spelling
    form = key.map(lambda k: spellings.get(k, k)).where(key != "unknown", None)
    evidence = inferred["evidence"].astype(object)
    own, charity = _text(ownership_types).str.casefold(), _text(charity_numbers)
    steps = [*((own == t, spelt, f"CQC ownership type '{t.title()}'") for t, spelt in _OWNERSHIP_FORMS),
             (charity != "", "Registered charity", "charity number " + charity + " in the CQC file"),
             (own == "local authority", "Local authority", "CQC ownership type 'Local Authority'")]
    for mask, spelt, why in steps:
        form, evidence = form.mask(mask, spelt), evidence.mask(mask, why)
    klass = ownership_classes(form.astype("string"), pd.Series(pd.NA, index=form.index, dtype="string"))
    lost = (klass == "unknown") & (inferred["ownership_class"] != "unknown") & (form == key)
    evidence = evidence.mask(lost, evidence.where(lost, "").astype(str) + "; data/legal_forms.csv has "
                             "no rule for '" + key + "', so the class stays unknown")
    return pd.DataFrame({S.LEGAL_FORM: form, "legal_form_evidence": evidence,
                         S.OWNERSHIP_CLASS: klass}, index=names.index)


def _describe(row: dict[str, Any]) -> str:
    """Give a location's description: service types, registration and rating, in plain words."""
    def day(iso: str) -> str:
        stamp = pd.Timestamp(iso)
        return f"{stamp.day} {stamp:%B %Y}"

    parts = ["; ".join(row["service_types"]) + "." if row["service_types"] else "CQC lists no service type."]
    if row["registered"]:
        parts.append(f"Registered with the CQC on {day(row['registered'])}.")
    if row["status"] == "closed":
        parts.append(f"Deregistered on {day(row['deregistered'])}." if row["deregistered"]
                     else "Deregistered (the file gives no date).")
    if row["cqc_rating"]:
        when = f"report of {day(row['rating_date'])}" if row["rating_date"] else "the file gives no date"
        parts.append(f"CQC overall rating: {row['cqc_rating']} ({when}).")
    else:
        parts.append(f"CQC rating: {row['rating']}." if row["rating"] else "No CQC rating in the file.")
    if _key(row["dormant"]) in ("y", "yes"):
        parts.append("CQC marks it dormant: registered, but not providing care now.")
    if row["provider_name"]:
        parts.append(f"Provider: {row['provider_name']}.")
    return " ".join([*parts, f"CQC page: {row['url']}"])


def _number(values: pd.Series, *, pad_to: int = 0) -> pd.Series:
    """Give register numbers without spaces, "" for placeholders, short digit runs zero-padded."""
    text = _text(values).str.upper().str.replace(" ", "", regex=False)
    text = text.where(~text.str.casefold().isin(_BLANK_NUMBERS), "")
    return text.where(~(text.str.fullmatch(r"\d+") & (text.str.len() < pad_to)), text.str.zfill(pad_to))


def _locations(frame: pd.DataFrame, file: str, local_authority: str | None, skip: bool) -> CqcLocations:
    """Give assets and organisations from the rows of a CQC file, each row checked (see below)."""
    keys = pd.Index([c if c == "_row" else _key(c) for c in frame.columns])
    original = {k: str(c) for k, c in zip(keys, frame.columns, strict=True)}
    frame = frame.set_axis(keys, axis=1).loc[:, ~keys.duplicated() & (keys != "")]
    columns = set(frame.columns)
    if (family := _family(columns)) is None:
        raise ValidationError([Problem(_UNKNOWN, file=file)])
    api = {"postalcode", "onspdlatitude", "postaladdressline1"} & columns  # the cache renamed these
    layout = family if family != "json" else "api" if api else "cache"
    spec = {f: [p.split("|") for p in s.split("+")] for f, s in _FIELDS[family].items()}
    if missing := [f for f in ("location_id", "name") if not set(spec[f][0]) & columns]:
        raise ValidationError([Problem(f"required column '{_REQUIRED[family][f]}' is missing",
                                       field=_REQUIRED[family][f], file=file) for f in missing],
                              summary=f"{file}: cannot read")
    shown = {f: next((original[k] for p in parts for k in p if k in columns), parts[0][0])
             for f, parts in spec.items()}
    canon = pd.DataFrame({"_row": frame["_row"].to_numpy()}, index=frame.index)
    for f in _CANON:
        parts = []
        for alternatives in spec.get(f, []):
            value = pd.Series("", index=frame.index, dtype=object)
            for k in reversed([k for k in alternatives if k in columns]):
                value = _text(frame[k]).where(_text(frame[k]) != "", value)
            parts.append(value)
        canon[f] = [", ".join(p for p in ps if p) for ps in zip(*parts, strict=True)] if parts else ""
    if local_authority is not None:
        keep = canon["local_authority"].str.casefold() == local_authority.strip().casefold()
        if not keep.any():
            raise ValidationError([Problem(f"no location in local authority '{local_authority}'",
                                           field=shown.get("local_authority"), file=file)])
        canon, frame = canon[keep], frame[keep]
    canon["service_types"], problems = _service_type_lists(frame, family, original, file)
    rows, ids = canon["_row"].to_numpy(), canon["location_id"]
    shown["lonlat"] = f"{shown.get('lat', 'lat')}/{shown.get('lon', 'lon')}"
    shown["service_types"] = original.get("gacservicetypes", "Service type - …")

    def report(mask: pd.Series | np.ndarray, f: str, reasons: pd.Series | str) -> None:
        texts = reasons if isinstance(reasons, pd.Series) else pd.Series(reasons, index=ids.index)
        problems.extend(Problem(str(texts.iloc[i]), row=int(rows[i]), field=shown.get(f, f), file=file)
                        for i in np.flatnonzero(np.asarray(mask, dtype=bool)))

    report(ids == "", "location_id", "the CQC location id is blank")
    first = dict(zip(ids[::-1], rows[::-1], strict=True))
    report(ids.duplicated() & (ids != ""), "location_id",
           "location id '" + ids + "' is already on row " + ids.map(first).astype(str))
    report(canon["name"] == "", "name", "the location name is blank")
    lon, lat = np.full(len(canon), np.nan), np.full(len(canon), np.nan)
    if (given := ((canon["lon"] != "") | (canon["lat"] != "")).to_numpy()).any():
        points = points_from_lonlat(canon["lon"][given], canon["lat"][given])
        lon[given], lat[given] = points[S.LON].to_numpy(), points[S.LAT].to_numpy()
        reasons = pd.Series(None, index=canon.index, dtype=object)
        reasons[given] = points["problem"].to_numpy()
        report(reasons.notna(), "lonlat", reasons)
    status_text = canon["status"].str.casefold()
    status = status_text.map(_STATUSES).where(
        status_text != "", np.where(canon["deregistered"] != "", "closed", "active"))
    report(status.isna(), "status", "'" + canon["status"] + "' is not Registered or Deregistered")
    by_position: list[Problem] = []  # parse_* number their problems by position
    for f in ("registered", "deregistered", "rating_date"):
        stamps, found = parse_datetimes(canon[f].where(canon[f] != ""), field=shown.get(f, f),
                                        file=file, formats=_DATE_FORMATS)
        canon[f] = stamps.dt.strftime("%Y-%m-%d").fillna("")
        by_position += found
    beds, found = parse_numbers(canon["beds"].where(canon["beds"] != ""), field=shown.get("beds", "beds"),
                                file=file, minimum=0, maximum=S.MAX_CAPACITY)
    problems += [dataclasses.replace(p, row=int(rows[(p.row or 1) - 1])) for p in by_position + found]
    chosen = service_categories(canon["service_types"])
    report(chosen["unknown"].map(bool), "service_types", chosen["unknown"].map(
        lambda u: f"service type '{'; '.join(u)}' is not in data/cqc_service_types.csv: add it"))
    problems.sort(key=lambda p: (p.row or 0, p.field or ""))
    if problems and not skip:
        raise ValidationError(problems, summary=f"{file}: nothing read, {len(problems)} problem(s)")
    ratings = {r.casefold(): r for r in S.CQC_RATINGS}
    canon = canon.assign(
        status=status, lon=lon, lat=lat, capacity=beds.where(beds > 0), category=chosen[S.CATEGORY],
        cqc_rating=_text(canon["rating"].str.casefold().map(ratings)),
        url=canon["url"].where(canon["url"] != "", "https://www.cqc.org.uk/location/" + ids),
    )[~np.isin(rows, np.array([p.row for p in problems], dtype=float))]
    provider = canon["provider_id"].where(canon["provider_id"] == "", "cqc-provider:" + canon["provider_id"])
    extras = {"cqc_location_id": "location_id", "cqc_service_types": "service_types",
              "cqc_rating": "cqc_rating", "cqc_rating_date": "rating_date", "registered_on": "registered",
              "deregistered_on": "deregistered", "cqc_local_authority": "local_authority"}
    assets = pd.DataFrame({
        S.EXTERNAL_ID: "cqc:" + canon["location_id"], S.NAME: canon["name"],
        S.DESCRIPTION: [_describe(r) for r in canon.to_dict("records")],
        S.CATEGORY: canon["category"], S.ORGANISATION_ID: _none(provider),
        S.ADDRESS: _none(canon["address"]), S.POSTCODE: _none(canon["postcode"]),
        S.LON: canon["lon"], S.LAT: canon["lat"], S.CAPACITY: canon["capacity"],
        S.CONTACT: _none(canon["phone"]), S.WEBSITE: _none(canon["website"]), S.STATUS: canon["status"],
        S.SOURCE: "import", S.LICENCE: LICENCE, S.ATTRIBUTION: ATTRIBUTION,
        **{c: _none(canon[f] if f != "service_types" else canon[f].map("; ".join))
           for c, f in extras.items()},
    }).reset_index(drop=True)
    return CqcLocations(assets=assets, organisations=_organisations(canon), layout=layout, file=file,
                        problems=problems)


def _organisations(canon: pd.DataFrame) -> pd.DataFrame:
    """Give one organisation per provider id, each value from the first row that has one."""
    known = canon[canon["provider_id"] != ""]
    columns = ["provider_name", "company_number", "charity_number", "ownership_type",
               "provider_address", "provider_postcode", "provider_website"]
    firsts = known[columns].where(known[columns] != "").assign(
        provider_id=known["provider_id"]).groupby("provider_id", sort=False).first()
    p = pd.DataFrame({c: _text(firsts[c]) for c in columns}, index=firsts.index)
    ids = pd.Series(firsts.index, index=firsts.index)
    names = p["provider_name"].where(p["provider_name"] != "", "CQC provider " + ids + " (no name given)")
    charity = _number(p["charity_number"])
    forms = provider_legal_forms(names, p["ownership_type"], charity)
    return pd.DataFrame({
        S.EXTERNAL_ID: "cqc-provider:" + ids, S.NAME: names, S.LEGAL_FORM: _none(_text(forms[S.LEGAL_FORM])),
        S.COMPANY_NUMBER: _none(_number(p["company_number"], pad_to=8)), S.CHARITY_NUMBER: _none(charity),
        S.CQC_PROVIDER_ID: ids, S.ADDRESS: _none(p["provider_address"]),
        S.POSTCODE: _none(p["provider_postcode"]), S.WEBSITE: _none(p["provider_website"]),
        S.SOURCE: "import", S.LICENCE: LICENCE, S.ATTRIBUTION: ATTRIBUTION,
        "cqc_ownership_type": _none(p["ownership_type"]), "legal_form_evidence": forms["legal_form_evidence"],
        S.OWNERSHIP_CLASS: forms[S.OWNERSHIP_CLASS],
    }).reset_index(drop=True)


def cqc_locations(path: Path | str, *, local_authority: str | None = None, skip_invalid: bool = False,
                  encoding: str = "utf-8") -> CqcLocations:
    """Give one asset per CQC location and one organisation per provider, from a CQC file.

    Reads the layouts of this module's docstring, from ``.csv``, ``.json`` or ``.ndjson``.
    Problems are numbered by data row (1 is the first row under the header; preamble lines do
    not count), or by record in JSON.

    Parameters
    ----------
    path
        The file.
    local_authority
        Keep only locations in this CQC local authority (``"Newham"``, any case); ``None``
        keeps all, as for a national file.
    skip_invalid
        Leave out rows with problems (listed in ``problems``) instead of raising.
    encoding
        The text encoding (``cp1252`` for older Excel).

    Raises
    ------
    ValidationError
        With file, row, field and reason, and nothing given: for an unknown layout, a missing
        id or name column, malformed CSV; unless ``skip_invalid``, for a row with a blank or
        repeated id, a blank name, coordinates half missing or outside the UK, an unknown
        status, a bad date, bed count or Y flag, or an unknown service type.
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationError([Problem("file not found", file=str(path))])
    suffix, text = path.suffix.lower(), read_text(path, encoding=encoding)
    if suffix not in (".csv", ".txt", ".json", ".ndjson", ".jsonl"):
        raise ValidationError([Problem(f"unsupported file type '{suffix}': use .csv, .json or .ndjson",
                                       file=path.name)])
    frame = _read_csv(text, path.name) if suffix in (".csv", ".txt") else _read_json(text, path.name)
    return _locations(frame, path.name, local_authority, skip_invalid)
