"""Classify an organisation's legal form as generative, extractive or in-house.

The rules are data, not code: ``data/legal_forms.csv`` maps each spelling of a
legal form (``match``) to a canonical ``legal_form`` key and an ownership class,
and says which list the spelling comes from (``vocabulary``):

- ``cles-appendix-1``: the forms in CLES (2020), *Appendix 1: Definition of
  generative vs extractive*, in the report's own spelling. The report is the CLES
  report on community wealth building in Knowsley's adult social care (shared seed
  000); its year is inferred from its citations of the February 2020 Local
  Government Finance Settlement and Knowsley's Market Position Statement 2020-2025.
- ``companies-house-api``: ``company_type`` and ``company_subtype`` keys of the
  Companies House API enumerations, and their descriptions.
- ``companies-house-bulk``: ``CompanyCategory`` strings of the Companies House bulk
  "Free Company Data Product".
- ``common``: everyday spellings ("Ltd", "CIC", "Charity", "In-house"...).

A spelling is matched exactly after :func:`normalise_legal_form`, never as a
substring ("Limited" must not match "Limited Liability Partnership").

Classing by legal form follows CLES: charities, CIOs and co-operatives count as
generative. A nationally operating charity is generative by legal form but less
*locally* generative; that is recorded separately by the organisation's
``national_footprint`` flag, not here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from mapping.config import REFERENCE_DIR
from mapping.errors import DataMissingError, Problem, ValidationError
from mapping.schema import LEGAL_FORM, OWNERSHIP_CLASS, OWNERSHIP_CLASSES, OWNERSHIP_MODELS

#: Columns of the rules file, in order.
RULE_COLUMNS: Final = ("match", "legal_form", "ownership_class", "vocabulary", "note")
#: The lists a rule's spelling may come from.
VOCABULARIES: Final = ("cles-appendix-1", "companies-house-api", "companies-house-bulk", "common")
#: The legal form and class given to a value that no rule matches.
UNKNOWN: Final = "unknown"
#: Column of :func:`load_legal_form_rules` holding the normalised ``match``.
NORMALISED: Final = "normalised"

# How each CLES ownership model (DESIGN.md) maps onto a class when the legal form
# says nothing. Municipal enterprise is in-house: arm's-length companies are wholly
# council-owned, so their surplus returns to the council (see the municipal-company
# rows of data/legal_forms.csv).
_MODEL_CLASSES: Final[Mapping[str, str]] = {
    "in-house": "in-house",
    "municipal enterprise": "in-house",
    "worker ownership": "generative",
    "community ownership": "generative",
    "local private triple bottom line": "generative",
    "extractive": "extractive",
}

_WHITESPACE = re.compile(r"\s+")
_TRAILING_STOPS = re.compile(r"[\s.]+$")
# Curly apostrophes come in from word processors ("Arm’s-length company").
_APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'"})


@dataclass(frozen=True)
class LegalFormClass:
    """The class of one legal form value."""

    legal_form: str
    """Canonical legal form key (e.g. ``community-interest-company``), ``unknown`` if unmatched."""

    ownership_class: str
    """One of ``OWNERSHIP_CLASSES``."""

    matched: bool
    """Whether a rule matched the value (a matched rule may still have class ``unknown``)."""


def _is_missing(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
    )


def normalise_legal_form(value: str | None) -> str:
    """Give the form of ``value`` that rules are matched on.

    Curly apostrophes become straight ones, runs of whitespace become one space,
    the text is trimmed and casefolded, and trailing full stops are dropped
    ("Ltd." matches "Ltd"). ``None`` and NaN give ``""``.

    Parameters
    ----------
    value
        A legal form as written by a person or a register.

    Raises
    ------
    TypeError
        If ``value`` is neither a string nor missing.
    """
    if _is_missing(value):
        return ""
    if not isinstance(value, str):
        raise TypeError(f"a legal form must be a string or None, not {type(value).__name__}")
    text = _WHITESPACE.sub(" ", value.translate(_APOSTROPHES)).strip().casefold()
    return _TRAILING_STOPS.sub("", text)


def _resolve(path: Path | str | None) -> Path:
    return (REFERENCE_DIR / "legal_forms.csv" if path is None else Path(path)).resolve()


def _validate_rules(rules: pd.DataFrame, file: str) -> list[Problem]:
    problems: list[Problem] = []
    for i, rule in enumerate(rules.itertuples(index=False), start=1):
        if not rule.match.strip():
            problems.append(Problem("match is blank", row=i, field="match", file=file))
        if not rule.legal_form.strip():
            problems.append(Problem("legal_form is blank", row=i, field="legal_form", file=file))
        if rule.ownership_class not in OWNERSHIP_CLASSES:
            problems.append(Problem(
                f"ownership_class {rule.ownership_class!r} is not one of {OWNERSHIP_CLASSES}",
                row=i, field="ownership_class", file=file,
            ))
        if rule.vocabulary not in VOCABULARIES:
            problems.append(Problem(
                f"vocabulary {rule.vocabulary!r} is not one of {VOCABULARIES}",
                row=i, field="vocabulary", file=file,
            ))
    # The same spelling may appear in several vocabularies, but it must mean one thing.
    # ``rules`` has a 0-based RangeIndex, so a row number is the index plus one.
    results = rules["legal_form"] + " / " + rules["ownership_class"]
    for key, group in rules[rules[NORMALISED] != ""].groupby(NORMALISED, sort=False):
        if results[group.index].nunique() > 1:
            seen = ", ".join(f"row {j + 1}: {results[j]}" for j in group.index)
            problems.extend(
                Problem(f"match {key!r} maps to different results ({seen})",
                        row=int(j) + 1, field="match", file=file)
                for j in group.index
            )
    return problems


@lru_cache(maxsize=16)
def _read_rules(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataMissingError(f"legal form rules file not found: {path}")
    rules = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in RULE_COLUMNS if c not in rules.columns]
    if missing:
        raise ValidationError(
            [Problem(f"missing column {c!r}", field=c, file=path.name) for c in missing]
        )
    rules = rules.loc[:, list(RULE_COLUMNS)].reset_index(drop=True)
    rules[NORMALISED] = [normalise_legal_form(m) for m in rules["match"]]
    problems = _validate_rules(rules, path.name)
    if problems:
        raise ValidationError(problems, summary=f"{path.name} has {len(problems)} problem(s)")
    return rules


@lru_cache(maxsize=16)
def _lookup(path: Path) -> Mapping[str, tuple[str, str]]:
    rules = _read_rules(path).drop_duplicates(NORMALISED)
    return dict(
        zip(rules[NORMALISED], zip(rules["legal_form"], rules["ownership_class"], strict=True),
            strict=True)
    )


def load_legal_form_rules(path: Path | None = None) -> pd.DataFrame:
    """Give the validated legal form rules, one row per spelling.

    The rule table follows CLES (2020) Appendix 1: Definition of generative vs
    extractive, extended to every Companies House form. The file is read once per
    path and cached; each call returns a fresh copy.

    Parameters
    ----------
    path
        The rules CSV; ``None`` means ``legal_forms.csv`` in ``REFERENCE_DIR``.

    Returns
    -------
    pandas.DataFrame
        Columns ``match, legal_form, ownership_class, vocabulary, note`` and
        ``normalised`` (``match`` after :func:`normalise_legal_form`).

    Raises
    ------
    DataMissingError
        If the file does not exist.
    ValidationError
        Listing every bad row: a blank ``match`` or ``legal_form``, an
        ``ownership_class`` outside ``OWNERSHIP_CLASSES``, an unknown
        ``vocabulary``, or one normalised ``match`` mapped to different results.
    """
    return _read_rules(_resolve(path)).copy()


def classify_legal_form(value: str | None, *, rules_path: Path | None = None) -> LegalFormClass:
    """Give the canonical legal form and CLES ownership class of one legal form value.

    Method: exact match of the normalised value against the rule table
    (CLES (2020) Appendix 1: Definition of generative vs extractive). For a
    Companies House record with a ``company_subtype`` (e.g.
    ``community-interest-company``), classify the subtype: it is more specific
    than the ``company_type``.

    Parameters
    ----------
    value
        A legal form as written (e.g. "Ltd", "Community Interest Company", ``llp``).
    rules_path
        The rules CSV; ``None`` means the project's ``data/legal_forms.csv``.

    Returns
    -------
    LegalFormClass
        ``unknown``/``unknown`` with ``matched=False`` for a blank, missing or
        unrecognised value.
    """
    found = _lookup(_resolve(rules_path)).get(normalise_legal_form(value))
    if found is None:
        return LegalFormClass(UNKNOWN, UNKNOWN, matched=False)
    return LegalFormClass(found[0], found[1], matched=True)


def _distinct(values: pd.Series) -> tuple[np.ndarray, list[str | None]]:
    """Give each row's code and the distinct values; code -1 (missing) indexes a final ``None``."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.intp), [*uniques, None]


def _spread(answers: list[str], codes: np.ndarray) -> np.ndarray:
    """Give each row the answer for its distinct value."""
    out = np.empty(len(answers), dtype=object)
    out[:] = answers
    return np.take(out, codes)


def _check_series(values: object, name: str) -> pd.Series:
    if not isinstance(values, pd.Series):
        raise TypeError(f"{name} must be a pandas Series, not {type(values).__name__}")
    return values


def classify_legal_forms(values: pd.Series, *, rules_path: Path | None = None) -> pd.DataFrame:
    """Give the canonical legal form and ownership class of every value in a Series.

    Vectorised form of :func:`classify_legal_form` (same rules, CLES (2020)
    Appendix 1): each distinct value is normalised and looked up once, then the
    answers are spread back over the rows, so a 100,000-row spend file with a
    dozen distinct legal forms does a dozen look-ups.

    Parameters
    ----------
    values
        Legal forms as written; missing values are allowed.
    rules_path
        The rules CSV; ``None`` means the project's ``data/legal_forms.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``legal_form`` and ``ownership_class``, with the index of ``values``.
    """
    values = _check_series(values, "values")
    lookup = _lookup(_resolve(rules_path))
    codes, distinct = _distinct(values)
    found = [lookup.get(normalise_legal_form(v), (UNKNOWN, UNKNOWN)) for v in distinct]
    return pd.DataFrame(
        {
            LEGAL_FORM: _spread([f[0] for f in found], codes),
            OWNERSHIP_CLASS: _spread([f[1] for f in found], codes),
        },
        index=values.index,
    )


def _model_class(ownership_model: str | None) -> str:
    key = normalise_legal_form(ownership_model).replace("_", " ")
    for model in OWNERSHIP_MODELS:
        if key in (model, model.replace("-", " ")):
            return _MODEL_CLASSES[model]
    return UNKNOWN


def ownership_class(
    legal_form_value: str | None,
    ownership_model: str | None = None,
    *,
    rules_path: Path | None = None,
) -> str:
    """Give an organisation's CLES ownership class from its legal form, else its ownership model.

    The legal form's class (CLES (2020) Appendix 1: Definition of generative vs
    extractive) wins when it is known. Otherwise the ownership model decides:
    in-house and municipal enterprise give ``in-house``; worker ownership,
    community ownership and local private with a triple bottom line give
    ``generative``; extractive gives ``extractive``. Anything else is ``unknown``.

    A council-owned company registered as ``ltd`` is therefore ``extractive`` by
    its Companies House form: record its legal form as "Municipal company" (an
    in-house rule) rather than "Ltd". A national charity stays ``generative`` here;
    its weaker local effect is recorded by the ``national_footprint`` flag.

    Parameters
    ----------
    legal_form_value
        The organisation's legal form as written.
    ownership_model
        One of ``OWNERSHIP_MODELS`` (case and spacing are forgiven), or ``None``.
    rules_path
        The rules CSV; ``None`` means the project's ``data/legal_forms.csv``.
    """
    found = classify_legal_form(legal_form_value, rules_path=rules_path).ownership_class
    return found if found != UNKNOWN else _model_class(ownership_model)


def ownership_classes(
    legal_forms: pd.Series,
    ownership_models: pd.Series,
    *,
    rules_path: Path | None = None,
) -> pd.Series:
    """Give each organisation's ownership class; the vectorised :func:`ownership_class`.

    Parameters
    ----------
    legal_forms
        Legal forms as written.
    ownership_models
        Ownership models, on the same index as ``legal_forms``.
    rules_path
        The rules CSV; ``None`` means the project's ``data/legal_forms.csv``.

    Returns
    -------
    pandas.Series
        Named ``ownership_class``, with the index of ``legal_forms``.

    Raises
    ------
    ValidationError
        If the two Series do not share one index.
    """
    legal_forms = _check_series(legal_forms, "legal_forms")
    ownership_models = _check_series(ownership_models, "ownership_models")
    if not legal_forms.index.equals(ownership_models.index):
        raise ValidationError([Problem(
            "legal_forms and ownership_models must have the same index", field=OWNERSHIP_CLASS
        )])
    by_form = classify_legal_forms(legal_forms, rules_path=rules_path)[OWNERSHIP_CLASS]
    codes, distinct = _distinct(ownership_models)
    by_model = pd.Series(
        _spread([_model_class(m) for m in distinct], codes), index=ownership_models.index
    )
    return by_form.where(by_form != UNKNOWN, by_model).rename(OWNERSHIP_CLASS)
