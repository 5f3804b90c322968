"""Micro-fund plans: rank the gaps, suggest host sites, export the grants.

Knowsley's micro-fund gives grants of up to £500 to help new small groups start
where provision is missing (DESIGN.md, "Targeting micro-funds"). This module
turns a gap roll-up (one row per patch × category) and a budget into a ranked
plan, and suggests where each funded group could meet: a community space already
in the register, chosen by the maximal covering location problem (MCLP, Church &
ReVelle 1974; :mod:`mapping.funding.mclp`) with the sites that already provide the category
kept fixed. The plan exports as CSV, and its funded rows as a 360Giving Standard JSON
package (:mod:`mapping.funding.giving360`).

The functions take plain inputs, not other analysis modules: the travel-cost
table is a long frame with columns ``demand_id``, ``supply_id`` and ``minutes``
(the shape ``mapping/access/network.py`` gives), and the roll-up has the columns named
below (the shape of the patch roll-up in ``mapping/access/gaps.py``).

References
----------
Church, R. & ReVelle, C. (1974) The maximal covering location problem. *Papers of
the Regional Science Association* 32, 101-118.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.frames import non_negative_problems, require_columns
from mapping.funding.mclp import (
    DEFAULT_COVERAGE_MIN,
    DEMAND_ID,
    MCLP_METHOD,
    NEWLY_COVERED,
    NEWLY_COVERED_AREAS,
    ORGANISATION_NAME,
    SITE_ID,
    choose_host_sites,
)
from mapping.spreadsheets import write_safe_csv

# Column names this module reads or writes that are not (yet) in mapping/schema.py.
PEOPLE_IN_GAP_AREAS: Final = "people_in_gap_areas"
PEOPLE_BEYOND_CUTOFF: Final = "people_beyond_cutoff"
DEPRIVATION_WEIGHT: Final = "deprivation_weight"
UNMET_DEMAND: Final = "unmet_demand"
RANK: Final = "rank"
GRANTS: Final = "grants"
AMOUNT_GBP: Final = "amount_gbp"
HOST_SITE_ID: Final = "host_site_id"
HOST_SITE_NAME: Final = "host_site_name"
HOST_ORGANISATION_ID: Final = "host_organisation_id"
HOST_ORGANISATION_NAME: Final = "host_organisation_name"
NEWLY_COVERED_PEOPLE: Final = "newly_covered_people"
NEWLY_COVERED_DEMAND: Final = "newly_covered_demand"
NOTE: Final = "note"
TRAVEL_COST_METHOD: Final = "travel_cost_method"
PLAN_COLUMNS: Final = (
    RANK, S.PATCH, S.CATEGORY, PEOPLE_IN_GAP_AREAS, PEOPLE_BEYOND_CUTOFF, UNMET_DEMAND, GRANTS,
    AMOUNT_GBP, HOST_SITE_ID, HOST_SITE_NAME, HOST_ORGANISATION_ID, HOST_ORGANISATION_NAME,
    NEWLY_COVERED_PEOPLE, NEWLY_COVERED_DEMAND, NOTE, TRAVEL_COST_METHOD,
)
DEFAULT_GRANT_SIZE_GBP: Final = 500.0


@dataclass(frozen=True)
class FundingSettings:
    """Settings of a micro-fund plan; one line of help per field, units in the names."""

    budget_gbp: float
    """Money in the fund for this round, in pounds."""

    grant_size_gbp: float = DEFAULT_GRANT_SIZE_GBP
    """Size of one micro-grant, in pounds (Knowsley: up to £500)."""

    coverage_min: float = DEFAULT_COVERAGE_MIN
    """A site covers a demand area when the travel time to it is at most this many minutes."""

    def __post_init__(self) -> None:
        problems = []
        for name, value, positive in (
            ("budget_gbp", self.budget_gbp, False),
            ("grant_size_gbp", self.grant_size_gbp, True),
            ("coverage_min", self.coverage_min, True),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                problems.append(Problem(f"must be a finite number, got {value!r}", field=name))
            elif value < 0 or (positive and value == 0):
                problems.append(Problem(f"must be {'above' if positive else 'at least'} 0", field=name))
        if problems:
            raise ValidationError(problems, summary="invalid funding settings")

    @property
    def grants_affordable(self) -> int:
        """Give how many whole grants the budget pays for: floor(budget / grant size), in pence."""
        # Whole pence, so that 0.3 / 0.1 is 3 and not 2.999...
        return round(self.budget_gbp * 100) // round(self.grant_size_gbp * 100)


# --- ranking the gaps -------------------------------------------------------------------


def rank_gaps(
    rollup: pd.DataFrame,
    *,
    settings: FundingSettings,
    categories: Sequence[str] | None = None,
    weight_by_deprivation: bool = False,
) -> pd.DataFrame:
    """Give the patch × category gaps ranked by unmet demand, with the grants the budget allows.

    **Unmet demand** of a row is the number of people living in the patch's gap
    areas for the category (``people_in_gap_areas``); with
    ``weight_by_deprivation`` it is that number times the row's
    ``deprivation_weight`` (a non-negative multiplier derived from IMD by the
    caller, 1 meaning "average"). Rows with no unmet demand are not gaps and
    are left out. Rows are ranked by unmet demand (largest first), then by
    ``people_beyond_cutoff`` (people with no site at all within the cut-off are
    worse off), then by patch and category (alphabetical), so the order is total.

    **Allocation rule.** The budget pays for ``floor(budget / grant size)``
    grants. They go down the ranking, **one grant per row**, until they run
    out: a micro-grant helps one new group start, and a second grant to the same
    gap would fund a competitor before the first group exists. Grants left over
    when every gap has one are reported in ``attrs['unallocated_grants']``, and
    money that does not make a whole grant in ``attrs['remainder_gbp']``.

    Parameters
    ----------
    rollup
        One row per patch × category with columns ``patch``, ``category``,
        ``people_in_gap_areas``, ``people_beyond_cutoff`` and, for weighting,
        ``deprivation_weight``. A one-category roll-up indexed by ``patch``
        with ``attrs['category']`` is accepted too. Not changed.
    settings
        Budget and grant size.
    categories
        Categories in scope; ``None`` means every category in ``rollup``.
    weight_by_deprivation
        Multiply people by ``deprivation_weight`` to get unmet demand.

    Returns
    -------
    pandas.DataFrame
        ``rank`` (1 = most unmet demand), the input columns, ``unmet_demand``,
        ``grants`` (0 or 1) and ``amount_gbp``. ``attrs`` records the budget,
        the rule and what was left over.

    Raises
    ------
    ValidationError
        With every problem found: missing columns, negative or missing numbers,
        duplicated patch × category rows.
    """
    if not isinstance(rollup, pd.DataFrame):
        raise TypeError(f"rollup must be a pandas DataFrame, got {type(rollup).__name__}")
    rollup = _with_patch_and_category(rollup)
    needed = [S.PATCH, S.CATEGORY, PEOPLE_IN_GAP_AREAS, PEOPLE_BEYOND_CUTOFF]
    if weight_by_deprivation:
        needed.append(DEPRIVATION_WEIGHT)
    require_columns(rollup, needed, "rollup")
    numbers = needed[2:]
    problems = non_negative_problems(rollup, numbers)
    duplicated = rollup.duplicated([S.PATCH, S.CATEGORY], keep="first")
    problems += [Problem("patch × category appears more than once", row=i + 1)
                 for i in range(len(rollup)) if duplicated.iloc[i]]
    if problems:
        raise ValidationError(problems, summary="the gap roll-up is not valid")

    frame = rollup.copy()
    in_scope = None if categories is None else _as_list(categories)
    if in_scope is not None:
        frame = frame[frame[S.CATEGORY].isin(in_scope)]
    frame[numbers] = frame[numbers].astype(float)
    unmet = frame[PEOPLE_IN_GAP_AREAS]
    if weight_by_deprivation:
        unmet = unmet * frame[DEPRIVATION_WEIGHT]
    frame[UNMET_DEMAND] = unmet
    frame = frame[frame[UNMET_DEMAND] > 0]
    frame = frame.sort_values(
        [UNMET_DEMAND, PEOPLE_BEYOND_CUTOFF, S.PATCH, S.CATEGORY],
        ascending=[False, False, True, True],
        kind="mergesort",
    ).reset_index(drop=True)
    frame.insert(0, RANK, range(1, len(frame) + 1))
    affordable = settings.grants_affordable
    frame[GRANTS] = (frame[RANK] <= affordable).astype(int)
    frame[AMOUNT_GBP] = frame[GRANTS] * float(settings.grant_size_gbp)
    allocated = int(frame[GRANTS].sum())
    frame.attrs = {
        "method": "ranked by unmet demand; one grant per patch × category down the ranking",
        "budget_gbp": float(settings.budget_gbp),
        "grant_size_gbp": float(settings.grant_size_gbp),
        "grants_affordable": affordable,
        "grants_allocated": allocated,
        "unallocated_grants": affordable - allocated,
        "remainder_gbp": round(settings.budget_gbp - allocated * settings.grant_size_gbp, 2),
        "weighted_by_deprivation": weight_by_deprivation,
        "categories_without_gaps": sorted(set(in_scope or []) - set(frame[S.CATEGORY])),
    }
    return frame


def _with_patch_and_category(rollup: pd.DataFrame) -> pd.DataFrame:
    # A one-category roll-up comes indexed by patch, with its category in attrs.
    if S.PATCH not in rollup.columns and rollup.index.name == S.PATCH:
        rollup = rollup.reset_index()
    category = rollup.attrs.get("category")
    if S.CATEGORY not in rollup.columns and isinstance(category, str):
        rollup = rollup.assign(**{S.CATEGORY: category})
    return rollup


# --- the plan ---------------------------------------------------------------------------


def plan_microfund(
    rollup: pd.DataFrame,
    costs: pd.DataFrame,
    areas: pd.DataFrame,
    candidates: pd.DataFrame,
    existing: pd.DataFrame,
    *,
    settings: FundingSettings,
    categories: Sequence[str] | None = None,
    weight_by_deprivation: bool = False,
    population_column: str = S.POPULATION,
    id_column: str = S.EXTERNAL_ID,
) -> pd.DataFrame:
    """Give the micro-fund plan: ranked gaps, grants, and a suggested host site for each grant.

    The gaps are ranked and the grants allocated by :func:`rank_gaps`. Then,
    down the ranking, each funded row gets one host site by the MCLP
    (:func:`choose_host_sites`, Church & ReVelle 1974, one site per grant): the
    demand is the people (times ``deprivation_weight`` when weighting) in the
    row's patch; the fixed existing sites are those of the row's category, plus
    the hosts already chosen for that category higher up the ranking (the new
    group there will serve the category too). A host that newly covers nobody
    is not suggested; the grant stays, with a note.

    ``newly_covered_people`` counts people in the patch's areas that no existing
    site of the category reaches within ``coverage_min`` and the host does. It
    uses the coverage cut-off, so it need not equal ``people_in_gap_areas``,
    which comes from the gap analysis.

    Parameters
    ----------
    rollup
        The gap roll-up, as for :func:`rank_gaps`.
    costs
        Travel costs (``demand_id``, ``supply_id``, ``minutes``) from every
        area to every candidate and existing site.
    areas
        Demand areas: ``code`` (the cost table's ``demand_id``), ``patch``,
        ``population_column`` and, for weighting, ``deprivation_weight``.
    candidates
        Community spaces that could host a group, as for :func:`choose_host_sites`
        (e.g. active ``community_space`` assets from ``assets_frame``).
    existing
        Sites that provide a category now: ``id_column`` and ``category``.
    settings
        Budget, grant size and coverage cut-off.
    categories
        Categories in scope; ``None`` means all.
    weight_by_deprivation
        Weight people by ``deprivation_weight`` when ranking and choosing hosts.
    population_column
        Column of ``areas`` with the people (e.g. ``population_65_plus``).
    id_column
        Column of ``candidates`` and ``existing`` holding the site id.

    Returns
    -------
    pandas.DataFrame
        Columns ``PLAN_COLUMNS`` (plus ``deprivation_weight`` when given):
        rank, patch, category, unmet demand, grants, amount, host site and
        organisation, newly covered people and demand, a note, and the
        travel-cost method (``costs.attrs['method']``). Unfunded rows have no
        host and missing newly covered values. ``attrs`` as in
        :func:`rank_gaps`, plus ``coverage_min``, the travel-cost method,
        ``candidates`` (how many), ``candidates_already_sites`` (those that
        already provide a category in the plan, and so cannot be suggested) and
        ``hosts_suggested``. A funded row without a host says why in ``note``.
    """
    ranked = rank_gaps(rollup, settings=settings, categories=categories,
                       weight_by_deprivation=weight_by_deprivation)
    area_columns = [S.AREA_CODE, S.PATCH, population_column]
    if weight_by_deprivation:
        area_columns.append(DEPRIVATION_WEIGHT)
    require_columns(areas, area_columns, "areas")
    require_columns(existing, [id_column, S.CATEGORY], "existing")
    problems = non_negative_problems(areas, area_columns[2:])
    if areas[S.AREA_CODE].duplicated().any():
        problems.append(Problem("area codes are repeated", field=S.AREA_CODE))
    if problems:
        raise ValidationError(problems, summary="the demand areas are not valid")
    people = areas.set_index(S.AREA_CODE)[population_column].astype(float)
    weighted = people * areas.set_index(S.AREA_CODE)[DEPRIVATION_WEIGHT] if weight_by_deprivation else people

    hosts_so_far: dict[Hashable, list[Hashable]] = {}
    extra: dict[str, list[Any]] = {c: [] for c in PLAN_COLUMNS[PLAN_COLUMNS.index(HOST_SITE_ID):-1]}
    for row in ranked.itertuples(index=False):
        patch, category, grants = getattr(row, S.PATCH), getattr(row, S.CATEGORY), getattr(row, GRANTS)
        found: dict[str, Any] = dict.fromkeys(extra)
        found.update({NEWLY_COVERED_PEOPLE: math.nan, NEWLY_COVERED_DEMAND: math.nan, NOTE: ""})
        if grants > 0:  # one grant per row (rank_gaps), so one host
            found.update(_host_for(
                patch, category, costs, areas, people, weighted, candidates, existing,
                hosts_so_far, settings=settings, id_column=id_column,
            ))
        for column, value in found.items():
            extra[column].append(value)
    # The label travels with every row, so a CSV export still says when the
    # coverage rests on the straight-line fallback rather than the network.
    plan = ranked.assign(**extra, **{TRAVEL_COST_METHOD: costs.attrs.get("method")})
    ordered = [c for c in PLAN_COLUMNS if c in plan.columns]
    plan = plan[ordered + [c for c in plan.columns if c not in ordered]]
    in_scope = existing[S.CATEGORY].isin(ranked[S.CATEGORY].unique())
    plan.attrs = {**ranked.attrs, "coverage_min": float(settings.coverage_min),
                  "host_method": MCLP_METHOD, "travel_cost_method": costs.attrs.get("method"),
                  "candidates": len(candidates),
                  # Candidates that already provide a category in the plan add nothing to it.
                  "candidates_already_sites": int(candidates[id_column].isin(
                      existing.loc[in_scope, id_column]).sum()),
                  "hosts_suggested": int(plan[HOST_SITE_ID].notna().sum())}
    return plan


def _host_for(
    patch: Any,
    category: Any,
    costs: pd.DataFrame,
    areas: pd.DataFrame,
    people: pd.Series,
    weighted: pd.Series,
    candidates: pd.DataFrame,
    existing: pd.DataFrame,
    hosts_so_far: dict[Hashable, list[Hashable]],
    *,
    settings: FundingSettings,
    id_column: str,
) -> dict[str, Any]:
    codes = areas.loc[areas[S.PATCH] == patch, S.AREA_CODE]
    if codes.empty:
        return {NOTE: "no host suggested: the patch has no areas in the demand table",
                NEWLY_COVERED_PEOPLE: 0.0, NEWLY_COVERED_DEMAND: 0.0}
    fixed = existing.loc[existing[S.CATEGORY] == category, id_column].tolist()
    fixed += hosts_so_far.get(category, [])
    # Only this patch's areas count, so only their rows of the cost table matter.
    local_costs = costs[costs[DEMAND_ID].isin(codes)]
    sites = choose_host_sites(local_costs, weighted.loc[codes], candidates, fixed, n_sites=1,
                              coverage_min=settings.coverage_min, id_column=id_column)
    useful = sites[sites[NEWLY_COVERED] > 0]
    if useful.empty:
        existing_ids = existing.loc[existing[S.CATEGORY] == category, id_column]
        if len(candidates) and candidates[id_column].isin(existing_ids).all():
            reason = "every candidate community space is already a site of this category"
        elif len(candidates) and candidates[id_column].isin(fixed).all():
            reason = "every community space is already a site of this category or a host above"
        elif sites.empty:
            reason = sites.attrs["note"]
        else:
            reason = (f"no community space within {settings.coverage_min:g} minutes' walk "
                      "reaches people that the existing sites leave out")
        return {NOTE: f"no host suggested: {reason}", NEWLY_COVERED_PEOPLE: 0.0, NEWLY_COVERED_DEMAND: 0.0}
    host = useful.iloc[0]
    hosts_so_far.setdefault(category, []).append(host[SITE_ID])
    return {
        HOST_SITE_ID: host[SITE_ID],
        HOST_SITE_NAME: host[S.NAME],
        HOST_ORGANISATION_ID: host[S.ORGANISATION_ID],
        HOST_ORGANISATION_NAME: host[ORGANISATION_NAME],
        NEWLY_COVERED_PEOPLE: float(people.loc[list(host[NEWLY_COVERED_AREAS])].sum()),
        NEWLY_COVERED_DEMAND: float(host[NEWLY_COVERED]),
        NOTE: "",
    }


# --- exports ----------------------------------------------------------------------------


def plan_to_csv(plan: pd.DataFrame, path: str | Path) -> Path:
    """Write the plan as a UTF-8 CSV file (one row per ranked gap) and give its path."""
    target = Path(path)
    write_safe_csv(plan, target)
    return target


def _as_list(values: Sequence[str]) -> list[str]:
    # A lone category name is a sequence of letters too; take it as one category.
    return [values] if isinstance(values, str) else list(values)
