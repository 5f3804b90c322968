"""The layout of a council spend file: our column names, the header after any preamble, totals rows.

Headers are mapped to our columns through ``data/spend_column_aliases.csv`` (a
``mapping`` overrides it), and the header is the first of the first
:data:`HEADER_SEARCH_LINES` lines with a supplier and an amount column. A line is a totals
row only when its supplier cell is the label or blank and the label is in a descriptive
column (not the amount, date or an identifier): a payment with "Total" in its service
column is still a payment.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from typing import Final

import pandas as pd

from mapping.config import REFERENCE_DIR
from mapping.errors import Problem, ValidationError
from mapping.store.models import SpendPayment
from mapping.tables import (
    _key,
    column_aliases,
)

ALIASES_PATH: Final = REFERENCE_DIR / "spend_column_aliases.csv"


BODY: Final = "body"


DEPARTMENT: Final = "department"


SERVICE: Final = "service"


SUPPLIER: Final = "supplier_name"


PAID_ON: Final = "paid_on"


AMOUNT: Final = "amount"


COMPANY_NUMBER: Final = "company_number"


CHARITY_NUMBER: Final = "charity_number"


TRANSACTION_ID: Final = "transaction_id"


#: Our spend columns; a file needs at least a supplier and an amount.
SPEND_COLUMNS: Final = (BODY, DEPARTMENT, SERVICE, SUPPLIER, PAID_ON, AMOUNT, COMPANY_NUMBER,
                        CHARITY_NUMBER, TRANSACTION_ID)


SPEND_REQUIRED: Final = (SUPPLIER, AMOUNT)


#: What a person reads for each column (pages, messages, the column mapping); the codes
#: are for CSV exports and the command line.
COLUMN_LABELS: Final = {BODY: "body", DEPARTMENT: "department", SERVICE: "service",
                        SUPPLIER: "supplier", PAID_ON: "payment date", AMOUNT: "amount",
                        COMPANY_NUMBER: "company number", CHARITY_NUMBER: "charity number",
                        TRANSACTION_ID: "transaction number", "amount_pence": "amount",
                        "supplier_key": "supplier", "line": "line"}


def column_label(column: str | None) -> str:
    """Give a spend column's plain name (``paid_on`` → ``payment date``); others as they are."""
    return COLUMN_LABELS.get(column or "", column or "")


def column_from_label(text: str) -> str | None:
    """Give the spend column a person's word names: its plain name or its code, any case."""
    wanted = " ".join(text.replace("_", " ").split()).casefold()
    for code in SPEND_COLUMNS:
        if wanted in (COLUMN_LABELS[code], code.replace("_", " ")):
            return code
    return None


AMOUNT_PENCE: Final = "amount_pence"


LINE: Final = "line"


REPAIRS: Final = "repairs"


#: How each line of a file was accounted for.
LINE_STATUSES: Final = ("imported", "repaired", "rejected", "preamble", "header", "blank", "total",
                        "subtotal")


#: The most characters the store keeps in each text column (``SpendPayment``'s lengths).
MAX_LENGTHS: Final = {name: int(length) for name in (*SPEND_COLUMNS, "supplier_key")
                      if name in SpendPayment.__table__.c
                      and (length := getattr(SpendPayment.__table__.c[name].type, "length", None))}


#: Lines searched for the header row.
HEADER_SEARCH_LINES: Final = 50


#: Characters some exports pad cells with (Lambeth's ``†``), and no-break spaces.
PADDING: Final = "\u2020\u00a0"


_PADDING_RE: Final = re.compile(f"[{PADDING}]")


_SPACES_RE: Final = re.compile(r"\s+")


_TOTAL_RE: Final = re.compile(r"(grand\s+|sub[\s-]?)?totals?:?", re.IGNORECASE)


_SUBTOTAL_RE: Final = re.compile(r"sub[\s-]?totals?:?", re.IGNORECASE)


#: Columns a totals label never sits in (it sits in a leading, descriptive column).
_NOT_LABEL_COLUMNS: Final = (AMOUNT, PAID_ON, COMPANY_NUMBER, CHARITY_NUMBER, TRANSACTION_ID)


def _clean_cell(text: str) -> str:
    return _SPACES_RE.sub(" ", _PADDING_RE.sub(" ", text)).strip()


def _header_columns(cells: list[str], aliases: dict[str, str],
                    explicit: dict[str, str]) -> dict[int, str]:
    out: dict[int, str] = {}
    keys = [_key(_clean_cell(cell)) for cell in cells]
    for table in (explicit, aliases):  # a given mapping wins over the alias table
        for i, key in enumerate(keys):
            target = table.get(key)
            if i not in out and target in SPEND_COLUMNS and target not in out.values():
                out[i] = target
    return dict(sorted(out.items()))


def _unused_headers(header: list[str], columns: dict[int, str],
                    mapping: dict[str, str] | None) -> str:
    """Say which headers also meant a column already taken (the first one wins), if any."""
    aliases = column_aliases(ALIASES_PATH)
    explicit = _explicit(mapping)
    notes = []
    for i, cell in enumerate(header):
        target = explicit.get(_key(_clean_cell(cell))) or aliases.get(_key(_clean_cell(cell)))
        if i not in columns and target in columns.values():
            used = header[next(j for j, c in columns.items() if c == target)]
            notes.append(f"'{_clean_cell(cell)}' also means {column_label(target)}: '{used}' is used "
                         "(choose with the column mapping)")
    return "; " + "; ".join(notes) if notes else ""


def find_header(rows: list[list[str]], *, mapping: dict[str, str] | None = None,
                file: str | None = None) -> tuple[int, dict[int, str]]:
    """Give the 0-based index of the header row and which column each position holds.

    The header is the first of the first ``HEADER_SEARCH_LINES`` rows in which a
    supplier column and an amount column are recognised (``mapping`` first, then
    ``data/spend_column_aliases.csv``).
    """
    aliases = column_aliases(ALIASES_PATH)
    explicit = _explicit(mapping)
    bad = [v for v in explicit.values() if v not in SPEND_COLUMNS]
    if bad:
        raise ValidationError([Problem(f"'{v}' is not one of our columns; use one of "
                                       f"{', '.join(COLUMN_LABELS[c] for c in SPEND_COLUMNS)}",
                                       file=file) for v in bad])
    for i, cells in enumerate(rows[:HEADER_SEARCH_LINES]):
        columns = _header_columns(cells, aliases, explicit)
        if all(c in columns.values() for c in SPEND_REQUIRED):
            return i, columns
    raise ValidationError([Problem(
        f"no header row found in the first {HEADER_SEARCH_LINES} lines: a header needs a supplier "
        "column (e.g. 'Supplier Name') and an amount column (e.g. 'Amount'); map yours to our "
        "columns with 'Their header=supplier' (the column mapping, or --map)", file=file)])


def _explicit(mapping: dict[str, str] | None) -> dict[str, str]:
    """Give a given mapping by header key, each target as our column's code (plain names too)."""
    return {_key(k): column_from_label(v) or v for k, v in (mapping or {}).items()}


DELIMITERS: Final = (",", ";", "\t", "|")


def _delimiter(text: str, mapping: dict[str, str] | None) -> str:
    """Give the delimiter whose first lines hold a recognisable header (comma if none does)."""
    head = "".join(itertools.islice(io.StringIO(text), HEADER_SEARCH_LINES))
    for delimiter in DELIMITERS:
        try:
            find_header(list(csv.reader(io.StringIO(head), delimiter=delimiter)), mapping=mapping)
        except (ValidationError, csv.Error):
            continue
        return delimiter
    return ","


def _totals_rows(cells: pd.DataFrame, columns: dict[int, str]) -> tuple[pd.Series, pd.Series]:
    """Give which rows are totals rows, and which of those are sub-totals.

    A totals row has a totals label (``Total``, ``Grand Total``, ``Sub-total``) in a
    descriptive column (not the amount, the date or an identifier) and, in the
    supplier column, that label or nothing: a payment to a named supplier is never a
    totals row, whatever its other cells say.
    """
    is_total = pd.Series(False, index=cells.index)
    is_subtotal = pd.Series(False, index=cells.index)
    # A cheap substring test first; the exact pattern only on the few lines that say "total".
    maybe = cells.apply(lambda c: c.str.contains("total", case=False, regex=False)).fillna(False)
    if not maybe.any(axis=None):
        return is_total, is_subtotal
    rows = cells[maybe.any(axis=1)]
    label_columns = [c for c in cells.columns if columns.get(c) not in _NOT_LABEL_COLUMNS]
    labels = rows[label_columns]
    labelled = labels.apply(lambda c: c.str.fullmatch(_TOTAL_RE)).fillna(False).any(axis=1)
    supplier = rows[next(i for i, name in columns.items() if name == SUPPLIER)]
    no_supplier = supplier.isna() | supplier.eq("") | supplier.str.fullmatch(_TOTAL_RE).fillna(
        False)
    is_total[rows.index] = (labelled & no_supplier).astype(bool)
    sub = labels.apply(lambda c: c.str.fullmatch(_SUBTOTAL_RE)).fillna(False).any(axis=1)
    is_subtotal[rows.index] = sub.astype(bool)
    return is_total, is_subtotal
