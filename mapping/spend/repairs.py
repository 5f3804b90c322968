"""Repairs of broken spend rows, made only where exactly one reading is valid.

Lambeth's June 2012 file, for example, has whole-pound and decimal amounts run into the
date (``25/06/2012900``) and supplier names run into the date (``Catch2212/06/2012``).
A row is repaired only when exactly one split of a run-together cell gives a valid row in
the file's own date format (:data:`DATE_FORMATS`); anything else is rejected with its
reason, never guessed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

import pandas as pd

from mapping.spend.layout import (
    AMOUNT,
    PAID_ON,
    SUPPLIER,
    column_label,
)
from mapping.tables import (
    blank,
    money_pence,
)

#: Date shapes a repair may cut out of a run-together cell, by how the file writes dates.
_DATE_SHAPES: Final = {
    "dd/mm/yyyy": (r"\d{2}/\d{2}/\d{4}", "%d/%m/%Y"),
    "d/m/yyyy": (r"\d{1,2}/\d{1,2}/\d{4}", "%d/%m/%Y"),
    "yyyy-mm-dd": (r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"),
    "dd-mmm-yyyy": (r"\d{2}-[A-Za-z]{3}-\d{4}", "%d-%b-%Y"),
}


DATE_FORMATS: Final = ("%d/%m/%Y", "%Y-%m-%d", "%d-%b-%Y", "%d-%b-%y", "%d.%m.%Y", "%d/%m/%y")


def _date_shape(values: pd.Series) -> str:
    """Give the date shape most of the well-formed dates in a file have."""
    text = values[~blank(values)].astype(str)
    if text.empty:
        return "d/m/yyyy"
    for name, (pattern, _fmt) in _DATE_SHAPES.items():
        if text.str.fullmatch(pattern).mean() >= 0.99:
            return name
    return "d/m/yyyy"


def _valid_date(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _readable_money(text: str) -> bool:
    return money_pence(text) is not None


def repair_row(cells: list[str], n_fields: int, columns: dict[int, str], *,
               date_shape: str = "dd/mm/yyyy") -> tuple[list[str] | None, str]:
    """Give a broken row's cells repaired and a note saying how, or ``None`` and why not.

    A row with too few fields is repaired when exactly one cell holds a date run
    together with the amount and/or the supplier name, and cutting the date out
    (in the file's own ``date_shape``) gives a row with the right number of
    fields, a valid date in the date column, a readable amount and a supplier.
    Surplus empty fields at the end of a row are dropped. Anything else is not
    repaired: two possible readings are a rejection, never a guess.
    """
    if len(cells) > n_fields:
        extra = cells[n_fields:]
        if all(not c.strip() for c in extra):
            return cells[:n_fields], f"dropped {len(extra)} empty field(s) after the last column"
        return None, (f"expected {n_fields} fields, found {len(cells)} (an unquoted comma in a "
                      "name?); fix the line or quote the field")
    position = {name: i for i, name in columns.items()}
    if PAID_ON not in position:
        return None, (f"expected {n_fields} fields, found {len(cells)}, and the file has no date "
                      "column to repair around")
    pattern, fmt = _DATE_SHAPES[date_shape]
    date_re = re.compile(f"(?=({pattern}))")
    readings: list[tuple[list[str], str]] = []
    for j, cell in enumerate(cells):
        for found in date_re.finditer(cell):
            start, text = found.start(), found.group(1)
            pre, post = cell[:start], cell[start + len(text):]
            if not (pre or post) or not _valid_date(text, fmt):
                continue
            pieces = [p for p in (pre, text, post) if p]
            new = cells[:j] + pieces + cells[j + 1:]
            if len(new) != n_fields or new[position[PAID_ON]] != text:
                continue
            if not _readable_money(new[position[AMOUNT]]) or not new[position[SUPPLIER]].strip():
                continue
            kinds = (["supplier name"] if pre else []) + (["amount"] if post else [])
            read_as = ", ".join(f"{column_label(columns.get(j + k)) or f'field {j + k + 1}'} '{piece}'"
                                for k, piece in enumerate(pieces))
            readings.append((new, f"{' and '.join(kinds)} run into the date: '{cell}' read as "
                                  f"{read_as}"))
    if len(readings) == 1:
        return readings[0]
    if len(readings) > 1:
        options = "; ".join(note for _, note in readings)
        return None, f"ambiguous: the line can be read more than one way ({options})"
    return None, (f"expected {n_fields} fields, found {len(cells)}, and no unambiguous repair "
                  "(the date, amount and supplier could not be separated)")
