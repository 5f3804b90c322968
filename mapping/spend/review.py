"""The supplier review list: every supplier's match, searched, filtered and paged for an officer.

:func:`supplier_subsectors` reads which subsectors each supplier was paid in (every
imported dataset); :func:`review_frame` and :func:`page_of` are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapping.errors import Problem, ValidationError
from mapping.schema import OWNERSHIP_CLASSES
from mapping.spend.report import assign_subsectors
from mapping.spend.suppliers import METHODS
from mapping.store.models import SpendPayment

#: Match statuses a list can be narrowed to, with what a person reads for each.
STATUSES: Final = {"review": "to review: not matched or similar name",
                   "unmatched": "not matched", "fuzzy": "similar name only",
                   "matched": "matched to the register", "officer": "resolved by an officer",
                   "all": "all suppliers"}
_STATUS_METHODS: Final = {"review": ("unmatched", "fuzzy"), "unmatched": ("unmatched",),
                          "fuzzy": ("fuzzy",),
                          "matched": ("company-number", "charity-number", "name"),
                          "officer": ("officer",), "all": METHODS}
#: Suppliers on one page of the list.
PER_PAGE: Final = 50
#: Unmatched first, then fuzzy, then the rest in ladder order.
_ORDER: Final = {m: i for i, m in enumerate(dict.fromkeys(["unmatched", "fuzzy", *METHODS]))}


@dataclass(frozen=True)
class ReviewFilter:
    """What the officer asked for: a name search, a match status, a class and a subsector."""

    query: str = ""
    status: str = "review"
    ownership_class: str = ""
    subsector: str = ""

    def problems(self, subsectors: list[str]) -> list[Problem]:
        """Give a problem for each value that is not one the page offers."""
        out = []
        if self.status not in STATUSES:
            out.append(Problem(f"'{self.status}' is not one of {', '.join(STATUSES)}",
                               field="status"))
        if self.ownership_class and self.ownership_class not in OWNERSHIP_CLASSES:
            out.append(Problem(f"'{self.ownership_class}' is not one of "
                               f"{', '.join(OWNERSHIP_CLASSES)}", field="class"))
        if self.subsector and self.subsector not in subsectors:
            out.append(Problem(f"no supplier was paid in a subsector called '{self.subsector}'",
                               field="subsector"))
        if len(self.query) > 200:
            out.append(Problem("a search of at most 200 characters", field="q"))
        return out

    def query_args(self) -> dict[str, str]:
        """Give the filter as URL query arguments (for paging links and going back)."""
        args = {"q": self.query, "status": "" if self.status == "review" else self.status,
                "class": self.ownership_class, "subsector": self.subsector}
        return {k: v for k, v in args.items() if v}  # the default status goes without saying


def supplier_subsectors(session: Session) -> pd.DataFrame:
    """Give each paid supplier's subsectors: ``supplier_key, subsectors`` (a sorted list).

    Each distinct supplier, department and service is classed once
    (:func:`mapping.spend.report.assign_subsectors`), over every imported dataset.
    """
    table = SpendPayment.__table__
    pairs = pd.DataFrame(session.execute(
        select(table.c.supplier_key, table.c.department, table.c.service).distinct()).all(),
        columns=["supplier_key", "department", "service"])
    if pairs.empty:
        return pd.DataFrame({"supplier_key": pd.Series(dtype=object),
                             "subsectors": pd.Series(dtype=object)})
    pairs["subsector"] = assign_subsectors(pairs)
    grouped = pairs.groupby("supplier_key")["subsector"].agg(lambda s: sorted(set(s)))
    return grouped.rename("subsectors").reset_index()


def review_frame(matches: pd.DataFrame, subsectors: pd.DataFrame,
                 wanted: ReviewFilter) -> pd.DataFrame:
    """Give the matches the filter asks for, with each supplier's subsectors, in review order.

    The search finds the words of ``query`` anywhere in the supplier's name (any
    case, any order). Order: unmatched first, then fuzzy, then the rest; by name.
    """
    problems = wanted.problems(sorted({s for row in subsectors["subsectors"] for s in row}))
    if problems:
        raise ValidationError(problems, summary="unknown filter value")
    out = matches.merge(subsectors, on="supplier_key", how="left")
    out["subsectors"] = out["subsectors"].map(lambda v: v if isinstance(v, list) else [])
    keep = out["method"].isin(_STATUS_METHODS[wanted.status])
    for word in wanted.query.casefold().split():
        keep &= out["supplier_name"].str.casefold().str.contains(word, regex=False)
    if wanted.ownership_class:
        keep &= out["ownership_class"] == wanted.ownership_class
    if wanted.subsector:
        keep &= out["subsectors"].map(lambda s: wanted.subsector in s)
    out = out[keep]
    order = out["method"].map(_ORDER)
    return out.assign(_o=order, _n=out["supplier_name"].str.casefold()).sort_values(
        ["_o", "_n"]).drop(columns=["_o", "_n"]).reset_index(drop=True)


def page_of(frame: pd.DataFrame, page: int, *, per_page: int = PER_PAGE
            ) -> tuple[pd.DataFrame, int, int]:
    """Give one page of ``frame``, the page number shown (1 to the last) and how many pages."""
    pages = max(1, -(-len(frame) // per_page))
    page = min(max(1, page), pages)
    return frame.iloc[(page - 1) * per_page:page * per_page], page, pages
