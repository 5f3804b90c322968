"""Which OpenStreetMap tags count as which service category: the tag table ``data/osm_tags.csv``.

Columns ``key,value,category,note``. ``value`` is one OSM value, or ``*`` for any value of
``key``; ``category`` is a ``code`` of ``data/categories.csv``. **The first matching row, in
file order, wins** (see :mod:`mapping.register.osm`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from mapping.config import REFERENCE_DIR
from mapping.errors import DataMissingError, Problem, ValidationError
from mapping.register.taxonomy import load_categories

#: A tag-table ``value`` that matches any value of the key.
ANY_VALUE: Final = "*"


TAG_TABLE_COLUMNS: Final = ("key", "value", "category", "note")


@dataclass(frozen=True)
class _TagRule:
    """One row of the tag table; ``row`` is the 1-based data row, for messages."""

    key: str
    value: str
    category: str
    row: int


def osm_tags(*, tag_table: Path | None = None) -> dict[str, list[str] | bool]:
    """Give the osmnx ``tags`` query that fetches every feature the tag table can categorise.

    Parameters
    ----------
    tag_table
        The tag table CSV; ``None`` means ``data/osm_tags.csv`` in the project.

    Returns
    -------
    dict
        OSM key to the list of its values in the table (in file order), or
        ``True`` when the table has a ``*`` row for that key.

    Raises
    ------
    DataMissingError
        If the tag table or the category table is missing.
    ValidationError
        If the tag table has problems (all of them are reported at once).
    """
    return _query_tags(_read_tag_rules(tag_table, _read_category_labels()))


def _categorise(features: pd.DataFrame, rules: Sequence[_TagRule]) -> np.ndarray:
    """Give each feature's category code by first matching rule, ``""`` where none matches."""
    conditions: list[np.ndarray] = []
    choices: list[str] = []
    for rule in rules:
        if rule.key not in features.columns:
            continue
        column = features[rule.key]
        if rule.value == ANY_VALUE:
            matched = column.notna()
        else:
            # OSM separates several values with ";" (amenity=community_centre;library).
            pattern = rf"(?:^|;)\s*{re.escape(rule.value)}\s*(?:;|$)"
            text = column.astype("str").where(column.notna())
            matched = text.str.contains(pattern, regex=True, na=False)
        conditions.append(matched.to_numpy(dtype=bool))
        choices.append(rule.category)
    if not conditions:
        return np.full(len(features), "", dtype=object)
    # np.select takes the first true condition: exactly the file-order precedence.
    return np.select(conditions, choices, default="").astype(object)


def _lower_first(label: str) -> str:
    """Lower-case a label's first letter unless it starts an acronym ("GP practice")."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def _read_category_labels() -> dict[str, str]:
    """Give the service-category labels by code (the taxonomy in ``data/categories.csv``)."""
    table = load_categories()
    return dict(zip(table["code"], table["label"], strict=True))


def _read_tag_rules(tag_table: Path | None, labels: Mapping[str, str]) -> list[_TagRule]:
    """Give the tag table's rows in file order, after checking every row."""
    path = REFERENCE_DIR / "osm_tags.csv" if tag_table is None else Path(tag_table)
    if not path.is_file():
        raise DataMissingError(f"No OSM tag table at {path}")
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    missing = [name for name in TAG_TABLE_COLUMNS if name not in header]
    if missing:
        raise ValidationError(
            [Problem(f"missing column(s) {', '.join(missing)}", file=str(path))],
            summary="OSM tag table is not valid",
        )

    problems: list[Problem] = []
    rules: list[_TagRule] = []
    first_row: dict[tuple[str, str], int] = {}
    for number, row in enumerate(rows, start=1):
        key, value, category = (
            (row.get(name) or "").strip() for name in ("key", "value", "category")
        )
        for name, text in (("key", key), ("value", value), ("category", category)):
            if not text:
                problems.append(Problem("is empty", row=number, field=name, file=str(path)))
        if category and category not in labels:
            problems.append(Problem(f"{category!r} is not a code in categories.csv",
                                    row=number, field="category", file=str(path)))
        if not (key and value and category):
            continue
        earlier = first_row.get((key, value)) or first_row.get((key, ANY_VALUE))
        if earlier is not None:
            problems.append(Problem(f"{key}={value} is never used: row {earlier} matches it first",
                                    row=number, field="value", file=str(path)))
        first_row.setdefault((key, value), number)
        rules.append(_TagRule(key, value, category, number))
    if problems:
        raise ValidationError(problems, summary="OSM tag table is not valid")
    return rules


def _query_tags(rules: Sequence[_TagRule]) -> dict[str, list[str] | bool]:
    tags: dict[str, list[str] | bool] = {}
    for rule in rules:
        current = tags.setdefault(rule.key, [])
        if rule.value == ANY_VALUE:
            tags[rule.key] = True
        elif isinstance(current, list) and rule.value not in current:
            current.append(rule.value)
    return tags


def _osmnx_tags(rules: Sequence[_TagRule]) -> dict[str, bool | str | list[str]]:
    # The same dict, typed the way osmnx's signature asks for it.
    return dict(_query_tags(rules).items())
