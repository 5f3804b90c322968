"""The service-category taxonomy, kept as data in ``data/categories.csv``.

Councils extend it by adding rows; no code names a category except the
mapping tables in ``data/`` (OSM tags, demo sources).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from mapping.config import REFERENCE_DIR
from mapping.errors import Problem, ValidationError

CATEGORY_GROUPS = ("care subsector", "community alternative", "community asset")


@lru_cache(maxsize=4)
def load_categories(path: Path | None = None) -> pd.DataFrame:
    """Give the category table (``code``, ``label``, ``group``, ``description``), indexed by code."""
    path = path or REFERENCE_DIR / "categories.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems = [
        Problem(f"unknown group '{g}' (use one of {', '.join(CATEGORY_GROUPS)})", row=i + 1,
                field="group", file=path.name)
        for i, g in enumerate(table["group"]) if g not in CATEGORY_GROUPS
    ]
    problems += [
        Problem(f"code '{c}' appears more than once", row=i + 1, field="code", file=path.name)
        for i, c in enumerate(table["code"]) if (table["code"] == c).sum() > 1
    ]
    if problems:
        raise ValidationError(problems, summary=f"{path.name} is not a valid category table")
    return table.set_index("code", drop=False)


def category_lookup() -> dict[str, str]:
    """Give a map from any accepted spelling (code or label, any case) to the category code."""
    table = load_categories()
    out = {code.casefold(): code for code in table["code"]}
    out.update({label.casefold(): code for code, label in zip(table["code"], table["label"],
                                                             strict=True)})
    return out


def category_label(code: str) -> str:
    """Give a category's label, or the code itself if it is not in the table."""
    table = load_categories()
    return str(table.at[code, "label"]) if code in table.index else code
