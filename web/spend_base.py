"""The spend blueprint, and the words every spend page uses (plain column names, pounds).

Column codes (``paid_on``) stay in URLs and CSV files; a person reads plain names
(``payment date``), through the helpers given here to every spend template. Totals
are in whole pounds; single payments and reconciliations keep their pence. The
routes are in :mod:`web.spend` (reports), :mod:`web.spend_upload` and
:mod:`web.spend_suppliers`.
"""

from __future__ import annotations

import re
from typing import Any, Final

from flask import Blueprint

from mapping.errors import Problem
from mapping.spend.layout import column_label
from mapping.spend.reading import pounds, whole_pounds
from mapping.spend.report import FILTER_LABELS
from mapping.spend.suppliers import CLASS_SOURCE_LABELS, METHOD_LABELS

bp = Blueprint("spend", __name__, url_prefix="/spend")

#: Rows shown on a drill-down or check page; the CSV has them all.
PAGE_ROWS: Final = 500
#: Words a person reads for a problem's field that is not a spend column (the import form's).
FIELD_LABELS: Final = {"name": "dataset name", "encoding": "text encoding",
                       "mapping": "column mapping", "match_id": "suppliers",
                       "ownership_class": "class"}
_CODES: Final = re.compile(r"\b(paid_on|supplier_name|supplier_key|amount_pence|company_number|"
                           r"charity_number|transaction_id)\b")


def plain_words(text: str | None) -> str:
    """Give a stored note with any column code in it as its plain name (for older imports)."""
    return _CODES.sub(lambda m: column_label(m.group(0)), text or "")


def problem_text(problem: Problem) -> str:
    """Give a problem as a person reads it: the file's line and the column's plain name."""
    where = [problem.file] if problem.file else []
    if problem.row is not None:
        where.append(f"line {problem.row}")
    if problem.field:
        where.append(FIELD_LABELS.get(problem.field) or column_label(problem.field))
    return (", ".join(where) + ": " if where else "") + problem.reason


@bp.context_processor
def _words() -> dict[str, Any]:
    return {"pounds": pounds, "whole_pounds": whole_pounds, "column_label": column_label,
            "plain_words": plain_words, "problem_text": problem_text,
            "method_label": lambda m: METHOD_LABELS.get(m, m),
            "class_source_label": lambda s: CLASS_SOURCE_LABELS.get(s, s),
            "filter_label": lambda f: FILTER_LABELS.get(f, f)}
