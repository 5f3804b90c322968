"""A borough's manifest: which national open files make up its data, in which layouts.

A manifest is a TOML file (``data/boroughs/*.toml`` holds the Newham ones). Paths are
under the data folder (``MAPPING_DATA_DIR``) unless absolute. :data:`KEYS` documents
every key; :func:`read_manifest` checks a file against it and names every problem at
once (file, section, key and reason), so a council analyst can fix them in one pass.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from mapping.boroughs.layouts import LAYOUTS, AssetSource, Credited
from mapping.boroughs.settings import WORDING_KEYS, Borough
from mapping.errors import Problem, ValidationError
from mapping.places.roles import ROLES
from mapping.register.taxonomy import load_categories

#: Every key a manifest may hold: section → key → what it means. The README's "Set up
#: your own borough" lists the same (a test checks it).
KEYS: Final[dict[str, dict[str, str]]] = {
    "borough": {
        "code": "ONS GSS code of the council (E06, E07, E08, E09 or W06 and six digits)",
        "name": "short name shown in the app",
        "full_name": "formal name, e.g. London Borough of Newham",
        "region": "ONS region; London means the London Living Wage, elsewhere the Real Living Wage",
        "funder_org_id": "the council's org-id for 360Giving files (org-id.guide list GB-LAE)",
        "funder_name": "the funder's name in 360Giving files (default: the formal name)",
        "living_wage": "the living wage the lot rules ask for (default: by region)",
    },
    "wording": {key: f"council's own sentence: {what}" for key, what in WORDING_KEYS.items()},
    "layers": {role: f"the layer that plays the part of the {role.replace('_', ' ')}"
               for role in ROLES},
    "boundaries": {
        "layer": "name to store the layer under", "path": "the boundary file (any CRS)",
        "code_field": "column holding the GSS code (guessed if not given)",
        "name_field": "column holding the area name (guessed if not given)",
        "title": "title shown in the app", "publisher": "who published it",
        "licence": "its licence", "attribution": "the attribution the licence asks for",
    },
    "tables": {
        "layer": "the layer the table's rows belong to",
        "path": "the table (CSV)",
        "code_column": "the column holding each row's area code",
        "columns": "their header = our column (population, population_65_plus, …)",
        "sum": "our column = [their headers to add up], e.g. five-year age bands into 65+",
        "title": "title", "publisher": "who published it", "licence": "its licence",
        "attribution": "the attribution the licence asks for",
    },
    "imd": {
        "path": "English Indices of Deprivation 2019 (File 1 or File 7; on 2011 LSOAs)",
        "layer": "the 2011 LSOA layer it is published on",
        "onto": "other small-area layers to carry it onto (e.g. 2021 LSOAs)",
        "lookup": "the ONS LSOA 2011 to 2021 lookup (CSV); without it, the largest overlap",
        "title": "title", "publisher": "who published it", "licence": "its licence",
        "attribution": "the attribution the licence asks for",
    },
    "postcodes": {
        "onspd": "the council's ONS Postcode Directory file (ONSPD CSV, any edition)",
        "label": "the edition, as records will say it placed them, e.g. ONSPD Nov 2025",
        "local_authorities": "keep these GSS codes' postcodes (default: the borough's own)",
        "title": "title", "publisher": "who published it", "licence": "its licence",
        "attribution": "the attribution the licence asks for",
    },
    "assets": {
        "key": "a short name for the file (unique in the manifest)",
        "layout": f"how the file is laid out: {', '.join(LAYOUTS)}",
        "path": "the file (CSV, GeoJSON, GeoPackage)",
        "category": "the category of every row (a code of data/categories.csv)",
        "category_column": "or: the column holding each row's category",
        "where": "keep only rows where COLUMN=VALUE (a list; every one must hold)",
        "columns": "for layout csv: their header = our column",
        "only_categories": "keep only rows of these categories (e.g. CQC's care services)",
        "local_authority": "for layout cqc: keep locations CQC files under this local authority",
        "values": "our column = {their value = shown value}",
        "strip_prefix": "our column = a prefix to take off each value",
        "description": "the description of every row",
        "id_prefix": "for layout csv without an id column: ids are PREFIX:name",
        "title": "title", "publisher": "who published it", "licence": "its licence",
        "attribution": "the attribution the licence asks for", "note": "a caveat to show",
    },
}
_LISTS: Final = ("boundaries", "tables", "assets")


@dataclass(frozen=True)
class Boundary(Credited):
    """A boundary layer to load."""

    layer: str
    path: str
    code_field: str | None = None
    name_field: str | None = None


@dataclass(frozen=True)
class Table(Credited):
    """An attribute table to join onto a layer by area code."""

    layer: str
    path: str
    code_column: str
    columns: Mapping[str, str] = field(default_factory=dict)
    sum: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Imd(Credited):
    """IMD 2019 on 2011 LSOAs, and the layers to carry it onto."""

    path: str
    layer: str
    onto: tuple[str, ...] = ()
    lookup: str | None = None


@dataclass(frozen=True)
class Postcodes(Credited):
    """The council's ONSPD rows, a geocoding source beside Code-Point Open."""

    onspd: str
    label: str = "ONSPD"
    local_authorities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """A checked manifest."""

    path: Path
    borough: Borough
    layers: Mapping[str, str]
    boundaries: tuple[Boundary, ...]
    tables: tuple[Table, ...]
    imd: Imd | None
    assets: tuple[AssetSource, ...]
    postcodes: Postcodes | None = None


def _where(items: Any, problems: list[Problem], file: str) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items if isinstance(items, list) else [items]:
        if not isinstance(item, str) or "=" not in item:
            problems.append(Problem(f"{item!r} is not COLUMN=VALUE", field="assets.where", file=file))
            continue
        name, value = item.split("=", 1)
        out.append((name.strip(), value.strip()))
    return tuple(out)


def _check_keys(section: str, table: Mapping[str, Any], problems: list[Problem], file: str,
                where: str) -> None:
    for key in table:
        if key not in KEYS[section]:
            problems.append(Problem(f"unknown key '{key}' (known: {', '.join(KEYS[section])})",
                                    field=f"{where}.{key}", file=file))


def _entries(data: Mapping[str, Any], section: str, problems: list[Problem], file: str
             ) -> list[dict[str, Any]]:
    entries = data.get(section, [])
    if isinstance(entries, dict):
        entries = [entries]
    out = []
    for i, entry in enumerate(entries, start=1):
        where = f"{section}[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem("is not a table of keys", field=where, file=file))
            continue
        _check_keys(section, entry, problems, file, where)
        required = {"boundaries": ("layer", "path"), "tables": ("layer", "path", "code_column"),
                    "assets": ("key", "layout", "path"), "imd": ("path", "layer"),
                    "postcodes": ("onspd",)}[section]
        for key in required:
            if not entry.get(key):
                problems.append(Problem(f"'{key}' is required", field=f"{where}.{key}", file=file))
        out.append(dict(entry))
    return out


def read_manifest(path: Path) -> Manifest:
    """Give the checked manifest at ``path``.

    Raises
    ------
    ValidationError
        With every problem (file, key, reason): unreadable TOML, unknown or missing keys,
        an unknown layout, a category and a category column both given, repeated names.
    """
    path = Path(path)
    file = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError([Problem(f"cannot be read as TOML: {exc}", file=file)],
                              summary=f"{file}: not a manifest") from None
    problems: list[Problem] = []
    for section in data:
        if section not in KEYS:
            problems.append(Problem(f"unknown section '{section}' (known: {', '.join(KEYS)})",
                                    field=section, file=file))
    for section in ("borough", "wording", "layers"):
        if not isinstance(data.get(section, {}), dict):
            problems.append(Problem("is not a table of keys", field=section, file=file))
            data[section] = {}
        _check_keys(section, data.get(section, {}), problems, file, section)
    raw_borough = data.get("borough", {})
    for key in ("code", "name"):
        if not raw_borough.get(key):
            problems.append(Problem(f"'{key}' is required", field=f"borough.{key}", file=file))
    boundaries = _entries(data, "boundaries", problems, file)
    tables = _entries(data, "tables", problems, file)
    imd_entries = _entries(data, "imd", problems, file)
    postcode_entries = _entries(data, "postcodes", problems, file)
    assets = _entries(data, "assets", problems, file)
    known = set(load_categories()["code"])
    for i, entry in enumerate(assets, start=1):
        if entry.get("layout") and entry["layout"] not in LAYOUTS:
            problems.append(Problem(f"unknown layout '{entry['layout']}' (known: {', '.join(LAYOUTS)})",
                                    field=f"assets[{i}].layout", file=file))
        for code in [entry.get("category"), *entry.get("only_categories", [])]:
            if code and code not in known:
                problems.append(Problem(f"'{code}' is not a category code of data/categories.csv",
                                        field=f"assets[{i}]", file=file))
        if entry.get("layout") == "cqc" and entry.get("where"):
            problems.append(Problem("layout cqc reads its own columns: keep rows with "
                                    "only_categories or local_authority, not where",
                                    field=f"assets[{i}].where", file=file))
        if entry.get("category") and entry.get("category_column"):
            problems.append(Problem("give a category or a category column, not both",
                                    field=f"assets[{i}]", file=file))
    for section, entries, name in (("boundaries", boundaries, "layer"), ("assets", assets, "key")):
        seen = [e.get(name) for e in entries]
        for repeated in sorted({n for n in seen if n and seen.count(n) > 1}):
            problems.append(Problem(f"'{repeated}' is given twice", field=f"{section}.{name}",
                                    file=file))
    borough = None
    if not problems:
        try:
            borough = Borough(manifest=file, wording=dict(data.get("wording", {})),
                              **{k: v for k, v in raw_borough.items()})
        except ValidationError as exc:
            problems += [Problem(p.reason, field=f"borough.{p.field}", file=file)
                         for p in exc.problems]
    if problems or borough is None:
        raise ValidationError(problems, summary=f"{file}: the manifest has "
                              f"{len(problems)} problem(s); nothing was loaded")
    return Manifest(
        path=path, borough=borough, layers=dict(data.get("layers", {})),
        boundaries=tuple(Boundary(**b) for b in boundaries),
        tables=tuple(Table(**{**t, "sum": {k: tuple(v) for k, v in t.get("sum", {}).items()}})
                     for t in tables),
        imd=Imd(**{**imd_entries[0], "onto": tuple(imd_entries[0].get("onto", ()))})
        if imd_entries else None,
        assets=tuple(AssetSource(**{**a, "where": _where(a.get("where", []), problems, file),
                                    "only_categories": tuple(a.get("only_categories", ()))})
                     for a in assets),
        postcodes=Postcodes(**{**postcode_entries[0], "local_authorities": tuple(
            postcode_entries[0].get("local_authorities", ()))}) if postcode_entries else None,
    )
