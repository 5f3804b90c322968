"""The taxonomies the feed publishes, and the term each register value links to.

HSDS-UK 3.0 classifies records through ``attributes`` that point at ``taxonomy_terms``
(the UK profile drops ``attribute.value``), so every fact a purchasing platform filters
on is a term of a published taxonomy:

- our **categories** (``data/categories.csv``), under their three groups;
- the **LGA/esd service types** a category maps to (``data/openreferral_taxonomy.csv``;
  only codes checked against the LGA's list go there, and a blank means no match yet);
- **ownership class** (CLES: generative, extractive, in-house, unknown), **ownership
  model** (CLES) and **legal form** (``data/legal_forms.csv``);
- each record's **data licence** (with its attribution) and **record source**.

Term and taxonomy ids are stable UUIDs (:mod:`mapping.openreferral.ids`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from mapping import schema as S
from mapping.config import REFERENCE_DIR
from mapping.errors import Problem, ValidationError
from mapping.openreferral.ids import hsds_id
from mapping.register.legal_forms import load_legal_form_rules
from mapping.register.taxonomy import CATEGORY_GROUPS, load_categories

CATEGORY = "category"
ESD_SERVICE = "esd_service"
OWNERSHIP = "ownership_class"
OWNERSHIP_MODEL = "ownership_model"
LEGAL_FORM = "legal_form"
LICENCE = "licence"
SOURCE = "record_source"

#: The LGA's service list, as the Open Referral UK guidance names it.
ESD_SERVICE_LIST_URI = "http://id.esd.org.uk/list/services"
ESD_SERVICE_URI = "http://id.esd.org.uk/service/{code}"

OWNERSHIP_TEXT = {
    "generative": "Locally generative ownership (CLES): community, worker or social ownership "
                  "whose wealth stays in the place.",
    "extractive": "Extractive ownership (CLES): profit leaves the place, to shareholders.",
    "in-house": "Run by the council itself, or by a company it owns.",
    "unknown": "The register does not yet record who owns or runs it.",
}
SOURCE_TEXT = {
    "survey": "Recorded by council officers.",
    "import": "Imported from a published open data file (see its licence term).",
    "osm": "From OpenStreetMap.",
    "submission": "Proposed by a resident and approved by a council officer.",
}
LINK_TYPES = {CATEGORY: "service_type", ESD_SERVICE: "service_type", OWNERSHIP: "ownership",
              OWNERSHIP_MODEL: "ownership", LEGAL_FORM: "ownership", LICENCE: "licence", SOURCE: "provenance"}


@dataclass(frozen=True)
class TaxonomyInfo:
    """One published taxonomy: its key, name and description."""

    key: str
    name: str
    description: str


TAXONOMIES: tuple[TaxonomyInfo, ...] = (
    TaxonomyInfo(CATEGORY, "Community asset mapping categories",
                 "The register's service categories (data/categories.csv), under their groups: "
                 "care subsectors, community alternatives and community assets."),
    TaxonomyInfo(ESD_SERVICE, "LGA service types (esd)",
                 "The Local Government Association's service list (LG Inform Plus, esd), for "
                 "the categories that match one of its service types."),
    TaxonomyInfo(OWNERSHIP, "Ownership class (CLES)",
                 "Whether the organisation that runs a service is locally generative or "
                 "extractive, as CLES defines it (legal form, CLES 2020 Appendix 1)."),
    TaxonomyInfo(OWNERSHIP_MODEL, "Ownership model (CLES)",
                 "How an organisation is owned, in CLES's words, where the register records it: "
                 "in-house, municipal enterprise, worker or community ownership, local private "
                 "triple bottom line, extractive."),
    TaxonomyInfo(LEGAL_FORM, "Legal form",
                 "The organisation's legal form, as the register's legal form rules "
                 "(data/legal_forms.csv) name it."),
    TaxonomyInfo(LICENCE, "Data licence",
                 "The licence of the open data a record came from, with the attribution it asks "
                 "for (the term's description). Show the attribution with the data."),
    TaxonomyInfo(SOURCE, "Record source", "How a record came into the register."),
)
TAXONOMY_BY_KEY = {t.key: t for t in TAXONOMIES}


def taxonomy_id(key: str) -> str:
    """Give the UUID of a published taxonomy."""
    return hsds_id("taxonomy", key)


def term_id(key: str, code: str) -> str:
    """Give the UUID of one term (``code``) of the taxonomy ``key``."""
    return hsds_id("taxonomy_term", key, code)


def licence_code(licence: str | None, attribution: str | None) -> str:
    """Give the code of a data-licence term: licence and attribution, which together vary."""
    return f"{licence or ''}\n{attribution or ''}"


@lru_cache(maxsize=4)
def load_esd_mapping(path: Path | None = None) -> pd.DataFrame:
    """Give the category to LGA/esd service type table, indexed by category code.

    Raises :class:`ValidationError` for an unknown category, a code that is not a whole
    number, or a code without its label (or a label without a code).
    """
    path = path or REFERENCE_DIR / "openreferral_taxonomy.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    known = set(load_categories()["code"])
    problems = []
    for i, row in enumerate(table.itertuples(index=False), start=1):
        if row.category not in known:
            problems.append(Problem(f"unknown category '{row.category}'", row=i,
                                    field="category", file=path.name))
        if row.esd_service_code and not row.esd_service_code.isdigit():
            problems.append(Problem("an esd service code is a whole number", row=i,
                                    field="esd_service_code", file=path.name))
        if bool(row.esd_service_code) != bool(row.esd_service_label):
            problems.append(Problem("give both the esd code and its label, or neither", row=i,
                                    field="esd_service_label", file=path.name))
    if problems:
        raise ValidationError(problems, summary=f"{path.name} is not a valid taxonomy table")
    return table.set_index("category", drop=False)


def _term(key: str, code: str, name: str, description: str, *, parent: str | None = None,
          uri: str | None = None, term: str | None = None) -> dict[str, Any]:
    """Give one term; its id comes from ``code``, and ``term`` (default: the code) is shown."""
    info = TAXONOMY_BY_KEY[key]
    out: dict[str, Any] = {"id": term_id(key, code), "name": name, "description": description}
    if parent is not None:
        out["parent_id"] = parent
    out |= {"taxonomy": info.name, "taxonomy_id": taxonomy_id(key)}
    if uri is not None:
        out["term_uri"] = uri
    out["term"] = term or code
    return out


def _category_terms() -> list[dict[str, Any]]:
    table = load_categories()
    groups = {g: _term(CATEGORY, f"group:{g}", g.capitalize(), f"Every category in the group "
                       f"'{g}'.") for g in CATEGORY_GROUPS}
    terms = list(groups.values())
    for row in table.itertuples(index=False):
        terms.append(_term(CATEGORY, row.code, row.label, row.description or row.label,
                           parent=groups[row.group]["id"]))
    return terms


def _esd_terms() -> list[dict[str, Any]]:
    table = load_esd_mapping()
    mapped = table[table["esd_service_code"] != ""].drop_duplicates("esd_service_code")
    return [_term(ESD_SERVICE, row.esd_service_code, row.esd_service_label,
                  f"LGA service type {row.esd_service_code}: {row.esd_service_label}",
                  uri=ESD_SERVICE_URI.format(code=row.esd_service_code))
            for row in mapped.itertuples(index=False)]


def legal_form_label(key: str) -> str:
    """Give a legal-form rule key in words: ``private-limited-company`` -> Private limited company."""
    words = key.replace("-", " ")
    return words[:1].upper() + words[1:]


def _legal_form_terms() -> list[dict[str, Any]]:
    rules = load_legal_form_rules().drop_duplicates("legal_form")
    terms = [_term(LEGAL_FORM, row.legal_form, legal_form_label(row.legal_form),
                   f"Ownership class {row.ownership_class} by this legal form (CLES 2020 "
                   "Appendix 1, data/legal_forms.csv).")
             for row in rules.itertuples(index=False)]
    return [*terms, _term(LEGAL_FORM, "unknown", "Unknown", "The legal form is not recorded.")]


def _licence_terms(licences: Iterable[tuple[str | None, str | None]]) -> list[dict[str, Any]]:
    seen = dict.fromkeys((lic or None, att or None) for lic, att in licences)
    return [_term(LICENCE, licence_code(lic, att), lic or "Licence not recorded",
                  att or "No attribution recorded.", term=lic or "not recorded")
            for lic, att in sorted(
                      seen, key=lambda pair: (pair[0] or "", pair[1] or ""))]


def taxonomy_terms(licences: Iterable[tuple[str | None, str | None]]) -> dict[str, list[dict[str, Any]]]:
    """Give every published term, by taxonomy key; ``licences`` are the (licence,
    attribution) pairs of the public records (only those become licence terms)."""
    out = {
        CATEGORY: _category_terms(),
        ESD_SERVICE: _esd_terms(),
        OWNERSHIP: [_term(OWNERSHIP, c, c.capitalize(), OWNERSHIP_TEXT[c])
                    for c in S.OWNERSHIP_CLASSES],
        OWNERSHIP_MODEL: [_term(OWNERSHIP_MODEL, m, m.capitalize(), f"Ownership model: {m} (CLES).")
                          for m in S.OWNERSHIP_MODELS],
        LEGAL_FORM: _legal_form_terms(),
        LICENCE: _licence_terms(licences),
        SOURCE: [_term(SOURCE, s, s.capitalize(), SOURCE_TEXT[s]) for s in S.ASSET_SOURCES],
    }
    return {key: terms for key, terms in out.items() if terms}


def taxonomy_object(key: str, terms: list[dict[str, Any]] | None, *, feed_url: str
                    ) -> dict[str, Any]:
    """Give one taxonomy as HSDS (``schema/taxonomy.json``), with its terms when given."""
    info = TAXONOMY_BY_KEY[key]
    uri = ESD_SERVICE_LIST_URI if key == ESD_SERVICE else f"{feed_url}/taxonomies/{taxonomy_id(key)}"
    out: dict[str, Any] = {"id": taxonomy_id(key), "name": info.name,
                           "description": info.description, "uri": uri}
    if terms is not None:
        out["taxonomy_terms"] = terms
    return out
