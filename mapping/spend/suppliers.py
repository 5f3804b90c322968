"""Who the council pays: supplier names matched to the register, and each supplier's class.

Matching ladder (each supplier stops at the first rung that answers):

1. an officer's earlier resolution, remembered in the store (``officer``);
2. Companies House number, then charity number, when the spend file has them
   (``company-number`` / ``charity-number``, score 100);
3. the normalised name, equal to exactly one organisation's (``name``, score 100);
4. fuzzy name similarity (the better of rapidfuzz ``ratio`` and
   ``token_sort_ratio``, 0-100) at or above a threshold, with exactly one best
   candidate (``fuzzy``, the score kept);
5. otherwise ``unmatched``, listed for an officer to resolve once.

Legal form and class: from the matched organisation in the register
(``register``) where it has one; else inferred from the supplier's name by the
ordered rules in ``data/supplier_name_rules.csv`` (``inferred``, with the rule's
evidence); else ``unknown``. Classes are CLES (2020) Appendix 1's generative,
extractive and in-house, and unknown. A national-footprint charity (the
organisation's ``national_footprint`` flag, or a name in
``data/national_charities.csv``) stays generative but is flagged so reports can
show it separately.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from mapping.config import REFERENCE_DIR
from mapping.errors import DataMissingError, NotFoundError, Problem, ValidationError
from mapping.schema import OWNERSHIP_CLASSES
from mapping.store.models import Organisation, SupplierMatch, utcnow

NAME_RULES_PATH: Final = REFERENCE_DIR / "supplier_name_rules.csv"
NATIONAL_CHARITIES_PATH: Final = REFERENCE_DIR / "national_charities.csv"
#: Default fuzzy-match threshold (rapidfuzz ``token_sort_ratio``, 0-100).
FUZZY_THRESHOLD: Final = 90.0
METHODS: Final = ("officer", "company-number", "charity-number", "name", "fuzzy", "unmatched")
CLASS_SOURCES: Final = ("officer", "register", "inferred", "none")
SUPPLIER_KEY: Final = "supplier_key"
MATCH_COLUMNS: Final = ("supplier_key", "supplier_name", "organisation_id", "method", "score",
                        "legal_form", "ownership_class", "class_source", "evidence",
                        "national_charity", "resolved_by", "resolved_at")

# Spellings of one legal suffix, so "Foo Ltd", "FOO LIMITED" and "Foo Ltd." are one supplier.
_SYNONYMS: Final = {"ltd": "limited", "co": "company", "plc": "plc", "&": "and"}
# Words dropped before comparing with the register: legal forms say nothing about who it is.
_LEGAL_WORDS: Final = frozenset({"limited", "plc", "llp", "cic", "company", "the", "lp",
                                 "incorporated", "inc"})
_PUNCT: Final = re.compile(r"[^0-9a-z&]+")
MATCHES_TABLE: Table = SupplierMatch.__table__  # type: ignore[assignment]


def normalise_supplier_names(names: pd.Series) -> pd.Series:
    """Give each supplier name's key: casefolded, punctuation and padding gone, suffixes unified.

    ``"Veolia ES (UK) Ltd."`` → ``"veolia es uk limited"``; "&" becomes "and". Two
    spellings with one key are one supplier.
    """
    codes, distinct = pd.factorize(names.astype("string").fillna(""))
    keys = [" ".join(_SYNONYMS.get(w, w) for w in
                     _PUNCT.sub(" ", str(name).casefold().replace("&", " & ")).split())
            for name in distinct]  # each distinct spelling once: a million rows, a few thousand names
    out = np.asarray(keys + [""], dtype=object)[codes]
    return pd.Series(out, index=names.index, name=SUPPLIER_KEY)


def name_for_matching(keys: pd.Series) -> pd.Series:
    """Give supplier keys without legal-form words ("limited", "plc", "the"…), for matching."""
    return keys.map(lambda k: " ".join(w for w in str(k).split() if w not in _LEGAL_WORDS)
                    ).astype(object)


def _company_number(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.upper().str.replace(" ", "", regex=False)
    numeric = text.str.fullmatch(r"\d{1,8}").fillna(False)
    return text.where(~numeric, text.str.zfill(8)).replace("", pd.NA)


def _charity_number(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.upper().str.replace(" ", "", regex=False
                                                                      ).replace("", pd.NA)


@lru_cache(maxsize=8)
def _name_rules(path: Path) -> tuple[tuple[re.Pattern[str], str, str, str], ...]:
    if not path.is_file():
        raise DataMissingError(f"supplier name rules file not found: {path}")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems = []
    rules = []
    for i, row in enumerate(table.itertuples(index=False), start=1):
        if row.ownership_class not in OWNERSHIP_CLASSES:
            problems.append(Problem(f"ownership_class {row.ownership_class!r} is not one of "
                                    f"{OWNERSHIP_CLASSES}", row=i, field="ownership_class",
                                    file=path.name))
            continue
        try:
            pattern = re.compile(row.pattern, re.IGNORECASE)
        except re.error as exc:
            problems.append(Problem(f"not a regular expression: {exc}", row=i, field="pattern",
                                    file=path.name))
            continue
        rules.append((pattern, row.legal_form, row.ownership_class, row.evidence))
    if problems:
        raise ValidationError(problems, summary=f"{path.name} has {len(problems)} problem(s)")
    return tuple(rules)


def infer_legal_forms(names: pd.Series, *, rules_path: Path | None = None) -> pd.DataFrame:
    """Give the legal form and class each supplier name suggests, and the evidence.

    The first rule of ``data/supplier_name_rules.csv`` (in file order) whose
    pattern is found in the name wins; no rule gives ``unknown``. Each distinct
    name is tried once.

    Returns
    -------
    pandas.DataFrame
        ``legal_form, ownership_class, evidence`` (``None`` when no rule matched),
        on the index of ``names``.
    """
    rules = _name_rules((rules_path or NAME_RULES_PATH).resolve())
    codes, distinct = pd.factorize(names.astype("string").fillna(""))
    answers: list[tuple[str, str, str | None]] = []
    for name in distinct:
        for pattern, form, klass, evidence in rules:
            found = pattern.search(name)
            if found:
                answers.append((form, klass, f"'{found.group(0)}' in the name: {evidence}"))
                break
        else:
            answers.append(("unknown", "unknown", None))
    table = pd.DataFrame(answers, columns=["legal_form", "ownership_class", "evidence"])
    return table.iloc[codes].set_index(names.index)


def national_charity_keys(path: Path | None = None) -> frozenset[str]:
    """Give the keys of the names in ``data/national_charities.csv`` (``name, charity_number, source``)."""
    path = path or NATIONAL_CHARITIES_PATH
    if not path.is_file():
        return frozenset()
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frozenset(name_for_matching(normalise_supplier_names(table["name"])))


def match_suppliers(suppliers: pd.DataFrame, organisations: pd.DataFrame, *,
                    threshold: float = FUZZY_THRESHOLD) -> pd.DataFrame:
    """Give each supplier's match in the register by the ladder in this module's docstring.

    Parameters
    ----------
    suppliers
        ``supplier_key`` (unique), and optionally ``company_number``, ``charity_number``.
    organisations
        The register: ``id, name``, and optionally ``company_number``, ``charity_number``.
    threshold
        Lowest fuzzy score (0-100) a fuzzy match may have.

    Returns
    -------
    pandas.DataFrame
        ``supplier_key, organisation_id`` (``<NA>`` when unmatched), ``method``, ``score``.
    """
    if not 0 <= threshold <= 100:
        raise ValidationError([Problem(f"the fuzzy threshold must be 0-100, got {threshold}",
                                       field="threshold")])
    out = pd.DataFrame({SUPPLIER_KEY: suppliers[SUPPLIER_KEY].to_numpy()})
    out["organisation_id"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["method"] = "unmatched"
    out["score"] = np.nan
    orgs = organisations.reset_index(drop=True)

    def take(mask: np.ndarray, ids: pd.Series, method: str, score: np.ndarray | float) -> None:
        todo = (out["method"] == "unmatched").to_numpy() & mask
        out.loc[todo, "organisation_id"] = ids[todo].astype("Int64")
        out.loc[todo, "method"] = method
        out.loc[todo, "score"] = score if np.isscalar(score) else np.asarray(score)[todo]

    for column, method, norm in (("company_number", "company-number", _company_number),
                                 ("charity_number", "charity-number", _charity_number)):
        if column in suppliers and column in orgs:
            register = norm(orgs[column])
            unique = register.dropna().drop_duplicates(keep=False)
            lookup = pd.Series(orgs.loc[unique.index, "id"].to_numpy(), index=unique.to_numpy())
            ids = norm(suppliers[column]).map(lookup)
            take(ids.notna().to_numpy(), ids.reset_index(drop=True), method, 100.0)
    wanted = name_for_matching(out[SUPPLIER_KEY])
    org_names = name_for_matching(normalise_supplier_names(orgs["name"])) if len(orgs) else \
        pd.Series([], dtype=object)
    once = org_names[~org_names.duplicated(keep=False)]
    lookup = pd.Series(orgs.loc[once.index, "id"].to_numpy(), index=once.to_numpy())
    ids = wanted.map(lookup)
    take(ids.notna().to_numpy(), ids, "name", 100.0)
    todo = (out["method"] == "unmatched").to_numpy()
    if todo.any() and len(orgs):
        # ratio catches spacing ("Home Care" / "Homecare"), token_sort_ratio word order.
        queries, choices = wanted[todo].tolist(), org_names.tolist()
        scores = np.maximum(
            process.cdist(queries, choices, scorer=fuzz.ratio, score_cutoff=threshold, workers=1),
            process.cdist(queries, choices, scorer=fuzz.token_sort_ratio, score_cutoff=threshold,
                          workers=1))
        best = scores.argmax(axis=1)
        top = scores[np.arange(len(best)), best]
        ties = (scores == top[:, None]).sum(axis=1) > 1
        ok = (top >= threshold) & (top > 0) & ~ties
        ids = pd.Series(pd.NA, index=out.index, dtype="Int64")
        full = np.zeros(len(out), dtype=float)
        rows = np.flatnonzero(todo)
        ids.iloc[rows[ok]] = orgs["id"].to_numpy()[best[ok]]
        full[rows] = top
        take(ids.notna().to_numpy(), ids, "fuzzy", full)
    return out


def classify_suppliers(matches: pd.DataFrame, names: pd.Series, organisations: pd.DataFrame, *,
                       national: frozenset[str] | None = None,
                       rules_path: Path | None = None) -> pd.DataFrame:
    """Give each matched supplier's legal form, class, where the class came from and the evidence.

    The register's legal form and class win when the organisation has a known
    class; otherwise the name rules (:func:`infer_legal_forms`) decide.

    Parameters
    ----------
    matches
        From :func:`match_suppliers`.
    names
        Each supplier's name as published, on the index of ``matches``.
    organisations
        The register: ``id, name, legal_form_key, ownership_class, national_footprint``.
    national
        Keys of national-footprint charities (default: ``data/national_charities.csv``).
    """
    national = national_charity_keys() if national is None else national
    out = matches.copy()
    inferred = infer_legal_forms(names, rules_path=rules_path).set_index(out.index)
    org = organisations.set_index("id") if len(organisations) else pd.DataFrame(
        columns=["name", "legal_form_key", "ownership_class", "national_footprint"])
    ids = out["organisation_id"].astype(object)

    def field(column: str) -> pd.Series:
        return ids.map(org[column].to_dict()).astype(object)

    known = (ids.notna() & field("ownership_class").fillna("unknown").ne("unknown")
             ).to_numpy(dtype=bool)
    out["legal_form"] = inferred["legal_form"].where(~known, field("legal_form_key"))
    out["ownership_class"] = inferred["ownership_class"].where(~known, field("ownership_class"))
    register_evidence = ("register: " + field("name").fillna("").astype(str) + " ("
                         + out["method"].astype(str) + ")")
    out["evidence"] = inferred["evidence"].where(~known, register_evidence)
    out["class_source"] = np.where(known, "register",
                                   np.where(inferred["ownership_class"] != "unknown", "inferred",
                                            "none"))
    flagged = field("national_footprint").eq(True).to_numpy(dtype=bool)
    listed = name_for_matching(out[SUPPLIER_KEY]).isin(national).to_numpy()
    out["national_charity"] = (flagged | listed) & (out["ownership_class"] == "generative")
    return out


def _register(session: Session) -> pd.DataFrame:
    table = Organisation.__table__
    return pd.read_sql(select(table.c.id, table.c.name, table.c.legal_form_key,
                              table.c.ownership_class, table.c.company_number,
                              table.c.charity_number, table.c.national_footprint,
                              table.c.office_in_borough), session.connection())


def supplier_matches_frame(session: Session) -> pd.DataFrame:
    """Give every remembered supplier match, with the organisation's name and local flag."""
    match, org = SupplierMatch.__table__, Organisation.__table__
    query = select(match, org.c.name.label("organisation_name"), org.c.office_in_borough
                   ).select_from(match.outerjoin(org, match.c.organisation_id == org.c.id)
                                 ).order_by(match.c.supplier_name)
    return pd.read_sql(query, session.connection())


def refresh_supplier_matches(session: Session, suppliers: pd.DataFrame, *,
                             threshold: float = FUZZY_THRESHOLD) -> dict[str, int]:
    """Match and classify suppliers and remember the results; give how many took each method.

    ``suppliers`` has ``supplier_key, supplier_name`` (and optionally company and
    charity numbers). Suppliers an officer has resolved keep that resolution;
    every other supplier in ``suppliers`` is matched afresh (the register may
    have grown since).
    """
    keep = suppliers.drop_duplicates(SUPPLIER_KEY).reset_index(drop=True)
    table = MATCHES_TABLE
    resolved = set(session.scalars(select(SupplierMatch.supplier_key).where(
        SupplierMatch.method == "officer")))
    todo = keep[~keep[SUPPLIER_KEY].isin(resolved)].reset_index(drop=True)
    register = _register(session)
    matches = match_suppliers(todo, register, threshold=threshold)
    classed = classify_suppliers(matches, todo["supplier_name"], register)
    classed["supplier_name"] = todo["supplier_name"].to_numpy()
    keys = classed[SUPPLIER_KEY].tolist()
    # Rows are updated in place, so a supplier keeps its id (and its review link) for good.
    known: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        known.update((key, id_) for key, id_ in session.execute(
            select(table.c.supplier_key, table.c.id).where(
                table.c.supplier_key.in_(keys[start:start + 500]))))
    records = classed.astype(object).where(classed.notna(), None)
    rows = [{**row, "national_charity": bool(row["national_charity"])}
            for row in records[[c for c in MATCH_COLUMNS if c in records]].to_dict("records")]
    fresh = [row for row in rows if row[SUPPLIER_KEY] not in known]
    again = [{**row, "id": known[row[SUPPLIER_KEY]]} for row in rows if row[SUPPLIER_KEY] in known]
    if fresh:
        session.execute(insert(table), fresh)
    if again:
        session.execute(update(SupplierMatch), again)  # by primary key, in one executemany
    counts = classed["method"].value_counts().to_dict()
    counts["officer"] = int(keep[SUPPLIER_KEY].isin(resolved).sum())
    return {m: int(counts.get(m, 0)) for m in METHODS}


def resolve_supplier(session: Session, supplier_key: str, *, resolved_by: str,
                     organisation_id: int | None = None, ownership_class: str | None = None,
                     legal_form: str | None = None, note: str | None = None) -> None:
    """Record an officer's decision about one supplier; later imports reuse it.

    Either ``organisation_id`` (the supplier is this organisation in the register:
    its legal form and class apply) or ``ownership_class`` (it is not in the
    register; the officer says its class, with ``legal_form`` and ``note`` as
    evidence).
    """
    match = session.scalar(select(SupplierMatch).where(SupplierMatch.supplier_key == supplier_key))
    if match is None:
        raise NotFoundError(f"no supplier '{supplier_key}' in the imported spend")
    if (organisation_id is None) == (ownership_class is None):
        raise ValidationError([Problem("choose an organisation in the register, or give the "
                                       "supplier's class, not both", field="organisation_id")])
    if organisation_id is not None:
        org = session.get(Organisation, organisation_id)
        if org is None:
            raise NotFoundError(f"no organisation with id {organisation_id}")
        match.organisation_id = org.id
        match.legal_form, match.ownership_class = org.legal_form_key, org.ownership_class
        match.class_source = "register"
        match.evidence = f"officer matched to register: {org.name}" + (f" ({note})" if note else "")
        match.national_charity = bool(org.national_footprint) and org.ownership_class == "generative"
    else:
        if ownership_class not in OWNERSHIP_CLASSES:
            raise ValidationError([Problem(f"class must be one of {OWNERSHIP_CLASSES}",
                                           field="ownership_class")])
        match.organisation_id = None
        match.ownership_class = str(ownership_class)
        match.legal_form = (legal_form or "unknown").strip() or "unknown"
        match.class_source = "officer"
        match.evidence = f"officer: {note}" if note else "officer's decision"
        match.national_charity = False
    match.method, match.score = "officer", None
    match.resolved_by, match.resolved_at = resolved_by, utcnow()


def unresolved(matches: pd.DataFrame) -> pd.DataFrame:
    """Give the suppliers an officer should look at: unmatched, or matched only fuzzily."""
    return matches[matches["method"].isin(["unmatched", "fuzzy"])]


#: What a person reads for each match method and class source.
METHOD_LABELS: Final = {"officer": "resolved by an officer", "company-number": "company number",
                        "charity-number": "charity number", "name": "same name",
                        "fuzzy": "similar name", "unmatched": "not matched"}
CLASS_SOURCE_LABELS: Final = {"officer": "an officer", "register": "the register",
                              "inferred": "inferred from the name", "none": "not known"}


def bulk_resolve(session: Session, match_ids: list[int], *, resolved_by: str,
                 ownership_class: str | None = None, note: str | None = None) -> list[str]:
    """Resolve several suppliers at once, all or none; give their names.

    With ``ownership_class``, each supplier is given that class (as
    :func:`resolve_supplier` with a class). Without it, each is marked reviewed
    as it stands: a supplier matched to an organisation is confirmed as that
    organisation, any other keeps its class and legal form. Every problem (no
    supplier chosen, an unknown supplier or class) is raised together before
    anything changes; run it in one transaction so a later failure undoes it all.
    """
    problems = []
    if not match_ids:
        problems.append(Problem("choose at least one supplier (tick its box)", field="match_id"))
    if ownership_class is not None and ownership_class not in OWNERSHIP_CLASSES:
        problems.append(Problem(f"'{ownership_class}' is not a class; choose one of "
                                f"{', '.join(OWNERSHIP_CLASSES)}", field="ownership_class"))
    wanted = list(dict.fromkeys(match_ids))
    found = {m.id: m for m in session.scalars(select(SupplierMatch).where(
        SupplierMatch.id.in_(wanted)))} if wanted else {}
    problems += [Problem(f"no supplier with id {i} (it may have been removed); reload the page",
                         field="match_id") for i in wanted if i not in found]
    if problems:
        raise ValidationError(problems, summary="nothing was saved")
    names = []
    for i in wanted:
        match = found[i]
        kept = ownership_class in (None, match.ownership_class)
        reason = note or (f"reviewed, class kept ({match.evidence})" if kept and match.evidence
                          else "reviewed, class kept" if kept else None)
        if ownership_class is None and match.organisation_id is not None:
            resolve_supplier(session, match.supplier_key, resolved_by=resolved_by,
                             organisation_id=match.organisation_id, note=note or "reviewed")
        else:
            resolve_supplier(session, match.supplier_key, resolved_by=resolved_by,
                             ownership_class=ownership_class or match.ownership_class,
                             legal_form=match.legal_form if kept else None, note=reason)
        names.append(match.supplier_name)
    return names
