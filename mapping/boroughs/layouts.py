"""Readers for the national open files a council downloads, in their published layouts.

Each reader takes a raw table (every cell text) and an :class:`AssetSource` from the
manifest, and gives frames in the register's columns for
:func:`mapping.register.importers.prepare_assets` and ``prepare_organisations``:

- ``gias``: DfE Get Information About Schools (``URN``, ``EstablishmentName``,
  ``TypeOfEstablishment (name)``, ``Easting``/``Northing`` …, or the same in snake case);
- ``epraccur``: NHS ODS GP practices, with or without the header row (the published file
  has none: its 27 columns are positional);
- ``coops_uk``: Co-operatives UK open data (organisations and their sites);
- ``givefood``: Give Food's food bank list (organisations and their sites);
- ``osm_points``: points from an OpenStreetMap extract (Geofabrik shapefile layers), with
  ``osm_id``, ``osm_type``, ``fclass`` and ``name``;
- ``csv``: any asset table, through the manifest's ``columns`` (header → our column);
- ``cqc``: CQC locations (the HSCA active locations CSV, the public API's JSON): care
  sites with their providers as organisations.

Header names are matched without regard to case, spaces or punctuation, so a council's
copy saved from a spreadsheet still reads. Rows are kept or dropped by the manifest's
``where`` filters before a reader sees them (:func:`mapping.tables.rows_matching`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pandas as pd

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.register.taxonomy import category_label

#: The columns of NHS ODS ``epraccur.csv``, which is published without a header row.
EPRACCUR_COLUMNS: Final = (
    "org_code", "name", "national_grouping", "high_level_health_geography", "address_1",
    "address_2", "address_3", "address_4", "address_5", "postcode", "open_date", "close_date",
    "status_code", "org_sub_type_code", "commissioner", "join_provider_date",
    "left_provider_date", "telephone", "null_1", "null_2", "null_3", "amended_record_indicator",
    "null_4", "provider_purchaser", "null_5", "prescribing_setting", "null_6")
_CO_OP_OWNERSHIP: Final = {
    "workers": "worker ownership",
    "consumers": "community ownership",
    "tenants": "community ownership",
    "multi-stakeholder": "community ownership",
    "community of interest": "community ownership",
}


@dataclass(frozen=True, kw_only=True)
class Credited:
    """What a manifest says of any file it names: its title, and who to credit under which licence."""

    title: str = ""
    publisher: str = ""
    licence: str = ""
    attribution: str = ""


@dataclass(frozen=True)
class AssetSource(Credited):
    """One asset file of a manifest: what it is, how to read it, and its licence."""

    key: str
    layout: str
    path: str
    category: str | None = None
    category_column: str | None = None
    where: tuple[tuple[str, str], ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    only_categories: tuple[str, ...] = ()
    local_authority: str | None = None
    strip_prefix: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None
    id_prefix: str | None = None
    note: str = ""


@dataclass
class Read:
    """What a reader gives: assets, and the organisations they belong to (maybe none)."""

    assets: pd.DataFrame
    organisations: pd.DataFrame = field(default_factory=pd.DataFrame)


def _key(name: object) -> str:
    return re.sub(r"[^a-z0-9]+", "", str(name).casefold())


def column(raw: pd.DataFrame, *names: str, file: str = "", required: bool = True) -> pd.Series:
    """Give the first of ``names`` that ``raw`` has (case, spaces and punctuation ignored).

    Raises
    ------
    ValidationError
        If none is there and ``required``; else a column of blanks is given.
    """
    keys = {_key(c): c for c in raw.columns}
    for name in names:
        if _key(name) in keys:
            return raw[keys[_key(name)]].fillna("").astype(str).str.strip()
    if required:
        raise ValidationError([Problem(f"no column {names[0]!r} (nor {', '.join(map(repr, names[1:]))})"
                                       if len(names) > 1 else f"no column {names[0]!r}",
                                       field=names[0], file=file)],
                              summary=f"{file}: not the layout the manifest says")
    return pd.Series("", index=raw.index, dtype=object)


def _stamp(frame: pd.DataFrame, src: AssetSource, raw: pd.DataFrame) -> pd.DataFrame:
    category = (column(raw, src.category_column, file=src.path) if src.category_column
                else src.category)
    out = frame.assign(category=category, licence=src.licence, attribution=src.attribution,
                       source="import")
    if src.description:
        out[S.DESCRIPTION] = src.description
    return out


def _joined(raw: pd.DataFrame, names: Sequence[str], *, title: bool = False) -> pd.Series:
    parts = [column(raw, n, required=False) for n in names]
    frame = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=raw.index)
    return frame.agg(lambda r: ", ".join((" ".join(p.split()).title() if title else " ".join(p.split()))
                                         for p in r if p), axis=1)


def _located(raw: pd.DataFrame, out: pd.DataFrame) -> pd.DataFrame:
    """Give ``out`` with lon/lat from the file's own columns where it has them (else the postcode)."""
    lon = column(raw, "pc_lon", "longitude", "long", "lon", required=False)
    lat = column(raw, "pc_lat", "latitude", "lat", required=False)
    if (lon != "").any():
        out = out.assign(**{S.LON: lon.where(lon != "", None), S.LAT: lat.where(lat != "", None)})
    return out


def gias(raw: pd.DataFrame, src: AssetSource) -> Read:
    """Read DfE Get Information About Schools (the establishment fields download)."""
    kind = column(raw, "TypeOfEstablishment (name)", "establishment_type", file=src.path)
    phase = column(raw, "PhaseOfEducation (name)", "education_phase", required=False)
    frame = pd.DataFrame({
        S.EXTERNAL_ID: "gias:" + column(raw, "URN", file=src.path),
        S.NAME: column(raw, "EstablishmentName", "establishment_name", file=src.path),
        S.DESCRIPTION: kind + (" (" + phase + ")").where(phase != "", ""),
        S.POSTCODE: column(raw, "Postcode", required=False),
        S.EASTING: column(raw, "Easting", required=False),
        S.NORTHING: column(raw, "Northing", required=False),
    })
    if (frame[S.EASTING] == "").all():
        frame = frame.drop(columns=[S.EASTING, S.NORTHING])
    if (frame[S.POSTCODE] == "").all():
        frame = frame.drop(columns=[S.POSTCODE])
    return Read(_stamp(frame, src, raw))


def epraccur_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Give ``epraccur`` rows read without a header with their column names.

    The published file has no header row (its 27 columns are positional); a copy that was
    given one (``org_code``, ``name`` …) keeps its own.
    """
    first = [_key(c) for c in rows.iloc[0]] if len(rows) else []
    if "orgcode" in first:
        named = rows.iloc[1:].reset_index(drop=True)
        named.columns = [str(c) for c in rows.iloc[0]]
        return named
    named = rows.iloc[:, : len(EPRACCUR_COLUMNS)].copy()
    named.columns = list(EPRACCUR_COLUMNS[: named.shape[1]])
    return named


def epraccur(raw: pd.DataFrame, src: AssetSource) -> Read:
    """Read NHS ODS GP practices (``epraccur``), located by their postcode."""
    frame = pd.DataFrame({
        S.EXTERNAL_ID: "ods:" + column(raw, "org_code", file=src.path),
        S.NAME: column(raw, "name", file=src.path).str.title(),
        S.DESCRIPTION: "GP practice (located at its postcode centroid)",
        S.ADDRESS: _joined(raw, ["address_1", "address_2", "address_3", "address_4"], title=True),
        S.POSTCODE: column(raw, "postcode", file=src.path),
        S.CONTACT: column(raw, "telephone", required=False),
    })
    return Read(_stamp(_located(raw, frame), src, raw))


def coops_uk(raw: pd.DataFrame, src: AssetSource) -> Read:
    """Read Co-operatives UK open data: each co-operative an organisation and a site."""
    ids = "coopsuk:" + column(raw, "Identifier", "CUK Organisation ID", file=src.path)
    name = column(raw, "Name", "Registered Name", file=src.path)
    address = _joined(raw, ["Street Address", "Locality"])
    postcode = column(raw, "Postcode", "Registered Postcode", file=src.path)
    website = column(raw, "Website", required=False)
    # Co-operatives UK says "Society" for registered societies; "Company" alone does not say
    # which company form, so the class then comes from the ownership model.
    legal = column(raw, "Legal Form", required=False).replace({"Society": "Registered Society"})
    ownership = column(raw, "Ownership Classification", required=False).str.casefold()
    organisations = pd.DataFrame({
        S.EXTERNAL_ID: ids, S.NAME: name, S.LEGAL_FORM: legal,
        S.COMPANY_NUMBER: column(raw, "Companies House Number", "Registered Number",
                                 required=False),
        S.OWNERSHIP_MODEL: ownership.map(_CO_OP_OWNERSHIP),
        S.OFFICE_IN_BOROUGH: "yes", S.ADDRESS: address, S.POSTCODE: postcode, S.WEBSITE: website,
        S.LICENCE: src.licence, S.ATTRIBUTION: src.attribution,
    })
    assets = pd.DataFrame({
        S.EXTERNAL_ID: ids, S.NAME: name, S.ORGANISATION_ID: ids,
        S.DESCRIPTION: "Co-operative or mutual (located at its postcode centroid)",
        S.ADDRESS: address, S.POSTCODE: postcode, S.WEBSITE: website,
    })
    # Co-operatives UK's own Latitude/Longitude are often a region's centre: the postcode's
    # centroid (pc_lon/pc_lat when the council added them, else the geocoder) is better.
    lon, lat = column(raw, "pc_lon", required=False), column(raw, "pc_lat", required=False)
    if (lon != "").any():
        assets = assets.assign(**{S.LON: lon.where(lon != "", None), S.LAT: lat.where(lat != "", None)})
    return Read(_stamp(assets, src, raw), organisations)


def givefood(raw: pd.DataFrame, src: AssetSource) -> Read:
    """Read Give Food's food banks (open ones only): each an organisation (a charity) and a site."""
    raw = raw[column(raw, "closed", required=False).str.casefold() != "true"]
    latlon = column(raw, "latt_long", file=src.path).str.split(",", expand=True)
    ids = "givefood:" + column(raw, "slug", file=src.path)
    name = column(raw, "name", file=src.path) + " food bank"
    address = column(raw, "address", file=src.path).str.replace(r"\s*\n\s*", ", ", regex=True)
    postcode, url = column(raw, "postcode", file=src.path), column(raw, "url", required=False)
    organisations = pd.DataFrame({
        S.EXTERNAL_ID: ids, S.NAME: name, S.LEGAL_FORM: "Charity",
        S.CHARITY_NUMBER: column(raw, "charity_number", required=False), S.OFFICE_IN_BOROUGH: "yes",
        S.ADDRESS: address, S.POSTCODE: postcode, S.WEBSITE: url,
        S.LICENCE: src.licence, S.ATTRIBUTION: src.attribution,
    })
    assets = pd.DataFrame({
        S.EXTERNAL_ID: ids, S.NAME: name, S.ORGANISATION_ID: ids, S.ADDRESS: address,
        S.POSTCODE: postcode, S.CONTACT: column(raw, "phone", required=False), S.WEBSITE: url,
        S.LON: latlon[1].str.strip(), S.LAT: latlon[0].str.strip(),
    })
    return Read(_stamp(assets, src, raw), organisations)


def osm_points(raw: pd.DataFrame, src: AssetSource) -> Read:
    """Read points from an OpenStreetMap extract (Geofabrik layers): unnamed ones say so."""
    names = column(raw, "name", file=src.path)
    osm_type = column(raw, "osm_type", required=False).replace("", "node")
    osm_id = column(raw, "osm_id", file=src.path)
    kind = column(raw, "fclass", required=False).str.replace("_", " ").str.capitalize()
    label = category_label(src.category).casefold() if src.category else "place"
    # "way_or_relation" is Geofabrik's code; the name a person reads says it in words.
    unnamed = (f"Unnamed {label} (OpenStreetMap " + osm_type.str.replace("_", " ") + " " + osm_id
               + ")")
    frame = pd.DataFrame({
        S.EXTERNAL_ID: "osm:" + osm_type + "/" + osm_id,
        S.NAME: names.where(names != "", unnamed), S.DESCRIPTION: kind,
        S.LON: column(raw, "lon", file=src.path), S.LAT: column(raw, "lat", file=src.path),
    })
    return Read(_stamp(frame, src, raw).assign(source="osm"))


def csv(raw: pd.DataFrame, src: AssetSource) -> Read:
    """Read any asset table through the manifest's ``columns`` (their header → our column)."""
    keys = {_key(c): c for c in raw.columns}
    missing = [h for h in src.columns if _key(h) not in keys]
    if missing:
        raise ValidationError([Problem(f"no column {h!r} (the manifest maps it to {src.columns[h]!r})",
                                       field=h, file=src.path) for h in missing],
                              summary=f"{src.path}: not the layout the manifest says")
    frame = pd.DataFrame({ours: column(raw, theirs) for theirs, ours in src.columns.items()})
    for ours, prefix in src.strip_prefix.items():
        frame[ours] = frame[ours].str.strip().str.removeprefix(prefix).str.strip()
    for ours, table in src.values.items():
        frame[ours] = frame[ours].map(lambda v, t=table: t.get(v, v))
    if S.EXTERNAL_ID not in frame.columns and src.id_prefix:
        frame[S.EXTERNAL_ID] = (src.id_prefix + ":" + frame[S.NAME].str.casefold()
                                .str.replace(r"[^a-z0-9]+", "-", regex=True).str.strip("-"))
    return Read(_stamp(frame, src, raw))


def cqc(path: Path, src: AssetSource) -> Read:
    """Read CQC locations in any of its published layouts (:mod:`mapping.register.cqc`)."""
    from mapping.register.cqc import cqc_locations

    read = cqc_locations(path, local_authority=src.local_authority)
    return Read(read.assets, read.organisations)


#: The layouts whose reader opens the file itself (its own formats: CSV, JSON, NDJSON).
FILE_READERS: Final[dict[str, Callable[[Path, AssetSource], Read]]] = {"cqc": cqc}
#: Every layout a manifest may name, and its reader.
READERS: Final[dict[str, Callable[[pd.DataFrame, AssetSource], Read]]] = {
    "gias": gias, "epraccur": epraccur, "coops_uk": coops_uk, "givefood": givefood,
    "osm_points": osm_points, "csv": csv,
}
LAYOUTS: Final = (*READERS, *FILE_READERS)
