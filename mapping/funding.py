"""Micro-fund plans: rank the gaps, suggest host sites, export the grants.

Knowsley's micro-fund gives grants of up to £500 to help new small groups start
where provision is missing (DESIGN.md, "Targeting micro-funds"). This module
turns a gap roll-up (one row per patch × category) and a budget into a ranked
plan, and suggests where each funded group could meet: a community space already
in the register, chosen by the maximal covering location problem (MCLP, Church &
ReVelle 1974) with the sites that already provide the category kept fixed. The
plan exports as CSV and as a 360Giving Standard JSON package.

The functions take plain inputs, not other analysis modules: the travel-cost
table is a long frame with columns ``demand_id``, ``supply_id`` and ``minutes``
(the shape ``mapping/network.py`` gives), and the roll-up has the columns named
below (the shape of the patch roll-up in ``mapping/gaps.py``).

References
----------
Church, R. & ReVelle, C. (1974) The maximal covering location problem. *Papers of
the Regional Science Association* 32, 101-118.

360Giving (2024) The 360Giving Data Standard, https://standard.threesixtygiving.org/
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pulp

from mapping import schema as S
from mapping.errors import MappingError, Problem, ValidationError
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
# The travel-cost table (mapping/network.py).
DEMAND_ID: Final = "demand_id"
SUPPLY_ID: Final = "supply_id"
MINUTES: Final = "minutes"
# The host-site result of choose_host_sites.
SITE_ID: Final = "site_id"
NEWLY_COVERED: Final = "newly_covered"
NEWLY_COVERED_AREAS: Final = "newly_covered_areas"
# assets_frame (mapping/register.py) labels the organisation's name so.
ORGANISATION_NAME: Final = "organisation_name"

SITE_COLUMNS: Final = (SITE_ID, S.NAME, S.ORGANISATION_ID, ORGANISATION_NAME, NEWLY_COVERED,
                       NEWLY_COVERED_AREAS)
PLAN_COLUMNS: Final = (
    RANK, S.PATCH, S.CATEGORY, PEOPLE_IN_GAP_AREAS, PEOPLE_BEYOND_CUTOFF, UNMET_DEMAND, GRANTS,
    AMOUNT_GBP, HOST_SITE_ID, HOST_SITE_NAME, HOST_ORGANISATION_ID, HOST_ORGANISATION_NAME,
    NEWLY_COVERED_PEOPLE, NEWLY_COVERED_DEMAND, NOTE, TRAVEL_COST_METHOD,
)
MCLP_METHOD: Final = "MCLP (Church & ReVelle 1974), existing sites fixed; PuLP with CBC"
DEFAULT_GRANT_SIZE_GBP: Final = 500.0
DEFAULT_COVERAGE_MIN: Final = 10.0


class SolverError(MappingError, RuntimeError):
    """The optimisation solver is missing or did not reach a proven optimum."""


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
    _require_columns(rollup, needed, "rollup")
    numbers = needed[2:]
    problems = _non_negative_problems(rollup, numbers)
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


# --- choosing host sites (MCLP) ---------------------------------------------------------


def choose_host_sites(
    costs: pd.DataFrame,
    demand: pd.Series,
    candidates: pd.DataFrame,
    existing: Iterable[Hashable],
    *,
    n_sites: int,
    coverage_min: float | None = None,
    id_column: str = S.EXTERNAL_ID,
) -> pd.DataFrame:
    """Give the host sites that newly cover the most demand, with what each newly covers.

    This is the maximal covering location problem (MCLP, Church & ReVelle 1974)
    with the existing sites fixed: a demand area is covered when some site is
    at most ``coverage_min`` minutes away; the existing sites' coverage counts
    already, so only demand they do not cover can be newly covered; choose
    exactly ``n_sites`` candidates to maximise the newly covered demand::

        max  sum_i w_i y_i
        s.t. y_i <= sum_{j in N_i} x_j   for each area i not covered by an existing site
             sum_j x_j = n_sites,   x_j in {0, 1},   0 <= y_i <= 1

    where ``N_i`` are the candidates within ``coverage_min`` of area ``i``. The
    ``y_i`` may be continuous: with binary ``x`` an optimum has them at 0 or 1.
    The integer programme is written here with PuLP and solved exactly by CBC.
    spopt 0.7's ``MCLP`` can fix predefined sites, but it builds its variables
    with ``pulp.LpVariable(...)``, which PuLP 3.3 deprecates (a warning per
    variable), and it has no way to break ties; dropping the demand the
    existing sites cover before modelling also keeps the model small.

    Ties are broken by candidate id: of all optimal sets, the one that is
    smallest when the sorted ids are compared in order (ids sort numerically
    when they are numbers). Each newly covered area is attributed to the
    nearest chosen site that covers it (then the smaller id), so the column
    ``newly_covered`` sums to ``attrs['total_newly_covered']``.

    Parameters
    ----------
    costs
        Travel costs with columns ``demand_id``, ``supply_id`` and ``minutes``
        for the candidates and the existing sites. A missing pair, or
        ``minutes`` missing, means "not reachable".
    demand
        Demand per area (people, optionally weighted), indexed by demand id.
    candidates
        Community spaces that could host a new group: column ``id_column`` (the
        cost table's ``supply_id``) and, optionally, ``name``,
        ``organisation_external_id`` and ``organisation_name``. Candidates that
        are also existing sites are left out (they add nothing).
    existing
        Ids of the sites that already provide the service; kept fixed.
    n_sites
        How many host sites to choose; all candidates when there are no more.
    coverage_min
        Coverage cut-off in minutes; ``None`` means the FundingSettings default.
    id_column
        Column of ``candidates`` holding the site id.

    Returns
    -------
    pandas.DataFrame
        One row per chosen site (most newly covered first): ``site_id``,
        ``name``, ``organisation_external_id``, ``organisation_name``,
        ``newly_covered`` (demand) and ``newly_covered_areas`` (a tuple of
        demand ids). ``attrs`` has ``total_newly_covered``, ``already_covered``
        (demand the existing sites reach), ``out_of_reach`` (demand no site
        reaches), ``method``, ``coverage_min``, ``n_sites`` and a ``note``.

    Raises
    ------
    ValidationError
        With every problem found in the inputs.
    SolverError
        If CBC is missing or does not prove an optimum.
    """
    cutoff = DEFAULT_COVERAGE_MIN if coverage_min is None else coverage_min
    _check_host_inputs(costs, demand, candidates, n_sites=n_sites, coverage_min=cutoff, id_column=id_column)
    existing_ids = {existing} if isinstance(existing, str) else set(existing)
    minutes = _minutes_within(costs, cutoff)
    weight = {area: float(w) for area, w in demand.items() if w > 0}

    reach: dict[Hashable, set[Hashable]] = {}
    for area, site in minutes:
        if area in weight:
            reach.setdefault(site, set()).add(area)
    already = set().union(*(reach.get(site, set()) for site in existing_ids))
    usable = candidates[~candidates[id_column].isin(existing_ids)]
    ids = sorted(usable[id_column].tolist(), key=_id_key)
    covers = tuple(frozenset(reach.get(j, set()) - already) for j in ids)
    reachable: frozenset[Hashable] = frozenset().union(*covers)
    attrs: dict[str, Any] = {
        "method": MCLP_METHOD,
        "coverage_min": float(cutoff),
        "n_sites": n_sites,
        "already_covered": float(sum(weight[a] for a in already)),
        "out_of_reach": float(sum(w for a, w in weight.items() if a not in already and a not in reachable)),
        "travel_cost_method": costs.attrs.get("method"),
    }
    notes = []
    if len(usable) < len(candidates):
        notes.append(f"{len(candidates) - len(usable)} candidate(s) are existing sites and were left out")
    if not ids or n_sites == 0:
        notes.append("no candidate community spaces" if not ids else "no sites asked for")
        return _empty_sites(attrs, "; ".join(notes))

    p = min(n_sites, len(ids))
    if p == len(ids):
        if n_sites > p:
            notes.append(f"only {p} candidate(s), all chosen (asked for {n_sites})")
        chosen: tuple[int, ...] = tuple(range(p))
    elif not reachable:
        notes.append("no candidate reaches demand that existing sites leave uncovered")
        chosen = tuple(range(p))
    else:
        chosen = _lexicographic_optimum(_Instance(covers, weight), p)

    chosen_ids = [ids[j] for j in chosen]
    attributed = _attribute(minutes, [covers[j] for j in chosen], chosen_ids)
    rows = []
    lookup = usable.set_index(id_column)
    for site, areas in zip(chosen_ids, attributed, strict=True):
        rows.append({
            SITE_ID: site,
            S.NAME: _optional(lookup, site, S.NAME),
            S.ORGANISATION_ID: _optional(lookup, site, S.ORGANISATION_ID),
            ORGANISATION_NAME: _optional(lookup, site, ORGANISATION_NAME),
            NEWLY_COVERED: sum(weight[a] for a in areas),
            NEWLY_COVERED_AREAS: tuple(sorted(areas, key=_id_key)),
        })
    rows.sort(key=lambda r: (-r[NEWLY_COVERED], _id_key(r[SITE_ID])))
    result = pd.DataFrame(rows, columns=list(SITE_COLUMNS))
    attrs["total_newly_covered"] = float(result[NEWLY_COVERED].sum())
    attrs["note"] = "; ".join(notes)
    result.attrs = attrs
    return result


@dataclass(frozen=True)
class _Instance:
    """An MCLP reduced to what matters: which uncovered demand each candidate reaches."""

    covers: tuple[frozenset[Hashable], ...]
    weight: Mapping[Hashable, float]

    def value(self, chosen: Iterable[int]) -> float:
        covered: set[Hashable] = set()
        for j in chosen:
            covered |= self.covers[j]
        return sum(self.weight[a] for a in covered)


def _lexicographic_optimum(inst: _Instance, p: int) -> tuple[int, ...]:
    """Give the optimal set of ``p`` candidates that comes first in id order.

    One CBC solve finds the optimum. Candidates are then fixed in id order:
    each is taken if some optimal set agrees with the choices so far and
    contains it. Most checks need no solve: the current optimal set may contain
    the candidate, swapping it in may keep the optimum, or a submodular upper
    bound may rule it out; only the rest go back to CBC.
    """
    n = len(inst.covers)
    incumbent = _solve_ilp(inst, p, fixed_one=(), fixed_zero=())
    best = inst.value(incumbent)
    tol = 1e-9 * max(1.0, best)
    taken: list[int] = []
    for j in range(n):
        if len(taken) == p:
            break
        if n - j == p - len(taken):
            taken.extend(range(j, n))
            break
        if j in incumbent:
            taken.append(j)
            continue
        fixed_one = (*taken, j)
        if _upper_bound(inst, fixed_one, range(j + 1, n), p) < best - tol:
            continue
        swapped = None
        for k in sorted(incumbent - set(taken)):
            if inst.value((incumbent - {k}) | {j}) >= best - tol:
                swapped = (incumbent - {k}) | {j}
                break
        if swapped is None:
            # The earlier candidates left out are in no optimal set that agrees with
            # the choices so far; fixing them at 0 only helps CBC prune.
            fixed_zero = tuple(i for i in range(j) if i not in taken)
            trial = _solve_ilp(inst, p, fixed_one=fixed_one, fixed_zero=fixed_zero)
            if inst.value(trial) < best - tol:
                continue
            swapped = trial
        incumbent = swapped
        taken.append(j)
    if len(taken) != p or inst.value(taken) < best - tol:  # pragma: no cover - a solver fault
        raise SolverError("the tie-break lost the optimum; the solver result is not reliable")
    return tuple(taken)


def _upper_bound(inst: _Instance, fixed: Sequence[int], rest: Iterable[int], p: int) -> float:
    # Coverage is submodular: what the fixed sites cover, plus the largest single
    # additions the remaining picks could each make, bounds any completion.
    covered: set[Hashable] = set()
    for j in fixed:
        covered |= inst.covers[j]
    gains = sorted((sum(inst.weight[a] for a in inst.covers[r] - covered) for r in rest), reverse=True)
    return sum(inst.weight[a] for a in covered) + sum(gains[: p - len(fixed)])


def _solve_ilp(
    inst: _Instance, p: int, *, fixed_one: Sequence[int], fixed_zero: Sequence[int]
) -> frozenset[int]:
    """Solve the MCLP integer programme with CBC and give the chosen candidate positions."""
    areas = sorted(frozenset[Hashable]().union(*inst.covers), key=_id_key)
    problem = pulp.LpProblem("mclp", pulp.LpMaximize)
    x = [problem.add_variable(f"x_{j}", 0, 1, cat=pulp.LpBinary) for j in range(len(inst.covers))]
    y = [problem.add_variable(f"y_{i}", 0, 1) for i in range(len(areas))]
    problem += pulp.lpSum(inst.weight[a] * y[i] for i, a in enumerate(areas))
    for i, a in enumerate(areas):
        problem += y[i] <= pulp.lpSum(x[j] for j, c in enumerate(inst.covers) if a in c)
    problem += pulp.lpSum(x) == p
    for j in fixed_one:
        problem += x[j] == 1
    for j in fixed_zero:
        problem += x[j] == 0
    status = problem.solve(_cbc())
    if pulp.LpStatus[status] != "Optimal":
        raise SolverError(f"CBC did not prove an optimum (status {pulp.LpStatus[status]})")
    return frozenset(j for j, var in enumerate(x) if (var.value() or 0) > 0.5)


def _cbc() -> pulp.LpSolver:
    """Give CBC as bundled with PuLP, or one on the PATH.

    ``PULP_CBC_CMD`` is the bundled binary, but PuLP 3.3 deprecates the class
    (a DeprecationWarning on every use); ``COIN_CMD`` pointed at the same binary
    is the spelling PuLP recommends and does not warn. PuLP 4.0 drops the bundled
    binary; then a CBC on the PATH (``pip install pulp[cbc]``) is used.
    """
    bundled = getattr(getattr(pulp, "PULP_CBC_CMD", None), "pulp_cbc_path", None)
    for path in (bundled, None):
        solver = pulp.COIN_CMD(msg=False, path=path)
        if solver.available():
            return solver
    raise SolverError("CBC is not available: install PuLP with its bundled CBC, or `pip install pulp[cbc]`")


def _attribute(
    minutes: Mapping[tuple[Hashable, Hashable], float],
    covers: Sequence[frozenset[Hashable]],
    ids: Sequence[Hashable],
) -> list[set[Hashable]]:
    """Give, per chosen site, the newly covered areas nearest to it (ties: the smaller id)."""
    owner: dict[Hashable, tuple[float, tuple[int, Any], int]] = {}
    for k, (site, areas) in enumerate(zip(ids, covers, strict=True)):
        for a in areas:
            key = (minutes[(a, site)], _id_key(site), k)
            if a not in owner or key < owner[a]:
                owner[a] = key
    result: list[set[Hashable]] = [set() for _ in ids]
    for a, (_, _, k) in owner.items():
        result[k].add(a)
    return result


def _minutes_within(costs: pd.DataFrame, cutoff: float) -> dict[tuple[Hashable, Hashable], float]:
    """Give the shortest minutes of each (demand, supply) pair within the cut-off."""
    near = costs.loc[costs[MINUTES].notna() & (costs[MINUTES] <= cutoff), [DEMAND_ID, SUPPLY_ID, MINUTES]]
    shortest = near.groupby([DEMAND_ID, SUPPLY_ID], sort=False)[MINUTES].min()
    return {(a, s): float(m) for (a, s), m in shortest.items()}


def _empty_sites(attrs: dict[str, Any], note: str) -> pd.DataFrame:
    result = pd.DataFrame({c: pd.Series(dtype=float if c == NEWLY_COVERED else object) for c in SITE_COLUMNS})
    result.attrs = {**attrs, "total_newly_covered": 0.0, "note": note}
    return result


def _optional(lookup: pd.DataFrame, site: Hashable, column: str) -> Any:
    if column not in lookup.columns:
        return None
    value = lookup.at[site, column]
    return None if _missing(value) else value


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
        :func:`rank_gaps`, plus ``coverage_min`` and the travel-cost method.
    """
    ranked = rank_gaps(rollup, settings=settings, categories=categories,
                       weight_by_deprivation=weight_by_deprivation)
    area_columns = [S.AREA_CODE, S.PATCH, population_column]
    if weight_by_deprivation:
        area_columns.append(DEPRIVATION_WEIGHT)
    _require_columns(areas, area_columns, "areas")
    _require_columns(existing, [id_column, S.CATEGORY], "existing")
    problems = _non_negative_problems(areas, area_columns[2:])
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
    plan.attrs = {**ranked.attrs, "coverage_min": float(settings.coverage_min),
                  "host_method": MCLP_METHOD, "travel_cost_method": costs.attrs.get("method")}
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
        reason = sites.attrs["note"] if sites.empty else (
            f"no community space within {settings.coverage_min:g} min reaches people "
            "the existing sites leave out")
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


_ORG_ID = re.compile(r"^(?:[A-Z]{2}-[A-Z0-9]{2,10}|360G)-\S+$")
_GSS = re.compile(r"^[ENSW]\d{8}$")
_GEO_CODE_TYPES: Final = {
    "E00": "OA", "W00": "OA", "S00": "OA", "E01": "LSOA", "W01": "LSOA", "E02": "MSOA", "W02": "MSOA",
    "S01": "DZ", "E04": "PAR", "E05": "WD", "W05": "WD", "S13": "WD", "E06": "UA", "W06": "UA",
    "E07": "NMD", "E08": "MD", "E09": "LONB", "S12": "CA",
}


def grants_to_360giving(
    plan: pd.DataFrame,
    *,
    funder_org_id: str,
    funder_name: str,
    award_date: date | str,
    id_prefix: str,
    currency: str = "GBP",
) -> dict[str, Any]:
    """Give the plan's funded rows as a 360Giving Standard package: ``{"grants": [...]}``.

    Each grant has the fields the 360Giving Standard requires: ``id``,
    ``title``, ``description``, ``currency``, ``amountAwarded``, ``awardDate``,
    ``recipientOrganization`` and ``fundingOrganization`` (each ``[{id,
    name}]``), and a ``beneficiaryLocation`` for the patch (with ``geoCode`` and
    ``geoCodeType`` when the patch is an ONS GSS code).

    Ids use the funder's registered 360Giving prefix: ``360G-<prefix>-...``
    (``id_prefix`` may be given with or without ``360G-``). A planned grant has
    no recipient yet. Until the new group is known, the recipient is the host
    site's organisation when there is one (its org-id if it has one in an
    org-id scheme such as GB-CHC, else ``360G-<prefix>-ORG-<id>``). Otherwise it
    is a placeholder named "To be awarded: ..." with id ``360G-<prefix>-TBA-...``.
    Replace it with the real group when the grant is awarded.

    Raises
    ------
    ValidationError
        If an argument is empty or malformed, or no row of the plan is funded
        (the package schema needs at least one grant).
    """
    local_prefix = re.sub(r"^360G-", "", str(id_prefix).strip(), flags=re.IGNORECASE)
    problems = [Problem("must not be empty", field=name) for name, value in
                (("funder_org_id", funder_org_id), ("funder_name", funder_name), ("id_prefix", local_prefix))
                if not str(value).strip()]
    if not re.fullmatch(r"[A-Z]{3}", currency):
        problems.append(Problem("must be an ISO 4217 code such as GBP", field="currency"))
    when = _iso_date(award_date, problems)
    _require_columns(plan, [RANK, S.PATCH, S.CATEGORY, GRANTS, AMOUNT_GBP], "plan")
    funded = plan[plan[GRANTS] > 0]
    if funded.empty:
        problems.append(Problem("no row of the plan has a grant; a 360Giving package needs one"))
    if problems:
        raise ValidationError(problems, summary="cannot export 360Giving grants")

    prefix = f"360G-{local_prefix}"
    funder = [{"id": funder_org_id.strip(), "name": funder_name.strip()}]
    grants = []
    for row in funded.to_dict("records"):
        patch, category = str(row[S.PATCH]), str(row[S.CATEGORY])
        local = f"{when}-{int(row[RANK]):03d}-{_slug(patch)}-{_slug(category)}"
        host_name = _text(row.get(HOST_SITE_NAME)) or _text(row.get(HOST_SITE_ID))
        description = f"Planned micro-grant to help a new {category} group start in {patch}"
        people = row.get(PEOPLE_IN_GAP_AREAS)
        if not _missing(people):
            description += f", where {float(people):,.0f} people live in areas with a gap in provision"
        description += f" (rank {int(row[RANK])} of the micro-fund plan)."
        if host_name:
            description += f" Suggested host site: {host_name}."
        grant: dict[str, Any] = {
            "id": f"{prefix}-{local}",
            "title": f"Micro-grant: new {category} group in {patch}"[:140],
            "description": description,
            "currency": currency,
            "amountAwarded": float(row[AMOUNT_GBP]),
            "awardDate": when,
            "recipientOrganization": [_recipient(row, prefix, local, category, patch, host_name)],
            "fundingOrganization": funder,
            "beneficiaryLocation": [_location(patch)],
        }
        grants.append(grant)
    return {"grants": grants}


def _recipient(
    row: Mapping[str, Any], prefix: str, local: str, category: str, patch: str, host_name: str
) -> dict[str, str]:
    org_id = _text(row.get(HOST_ORGANISATION_ID))
    if org_id:
        name = _text(row.get(HOST_ORGANISATION_NAME)) or host_name or org_id
        return {"id": org_id if _ORG_ID.match(org_id) else f"{prefix}-ORG-{_slug(org_id)}", "name": name}
    where = f"meeting at {host_name}" if host_name else f"in {patch}"
    return {"id": f"{prefix}-TBA-{local}", "name": f"To be awarded: new {category} group {where}"}


def _location(patch: str) -> dict[str, str]:
    location = {"name": patch, "countryCode": "GB"}
    if _GSS.match(patch) and patch[:3] in _GEO_CODE_TYPES:
        location.update(geoCode=patch, geoCodeType=_GEO_CODE_TYPES[patch[:3]])
    return location


def _iso_date(value: date | str, problems: list[Problem]) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        problems.append(Problem(f"must be a date YYYY-MM-DD, got {value!r}", field="award_date"))
        return ""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "x"


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value).strip()


# --- shared checks ----------------------------------------------------------------------


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [Problem("column is missing", field=c) for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(missing, summary=f"{what} lacks required columns")


def _non_negative_problems(frame: pd.DataFrame, columns: Sequence[str]) -> list[Problem]:
    problems = []
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        for i, (raw, number) in enumerate(zip(frame[column], values, strict=True)):
            if pd.isna(number) or not math.isfinite(number):
                problems.append(Problem(f"not a number: {raw!r}", row=i + 1, field=column))
            elif number < 0:
                problems.append(Problem(f"negative: {raw!r}", row=i + 1, field=column))
    return problems


def _check_host_inputs(
    costs: pd.DataFrame,
    demand: pd.Series,
    candidates: pd.DataFrame,
    *,
    n_sites: int,
    coverage_min: float,
    id_column: str,
) -> None:
    _require_columns(costs, [DEMAND_ID, SUPPLY_ID, MINUTES], "costs")
    _require_columns(candidates, [id_column], "candidates")
    if not isinstance(demand, pd.Series):
        raise TypeError(f"demand must be a pandas Series indexed by demand id, got {type(demand).__name__}")
    problems = _non_negative_problems(demand.to_frame("demand"), ["demand"])
    if demand.index.has_duplicates:
        problems.append(Problem("demand ids are repeated", field="demand"))
    if candidates[id_column].isna().any() or candidates[id_column].duplicated().any():
        problems.append(Problem("candidate ids must be present and unique", field=id_column))
    if isinstance(n_sites, bool) or not isinstance(n_sites, int) or n_sites < 0:
        problems.append(Problem(f"must be a whole number of at least 0, got {n_sites!r}", field="n_sites"))
    if not (isinstance(coverage_min, int | float) and math.isfinite(coverage_min) and coverage_min > 0):
        problems.append(Problem(f"must be a number of minutes above 0, got {coverage_min!r}",
                                field="coverage_min"))
    if problems:
        raise ValidationError(problems, summary="cannot choose host sites")


def _id_key(value: Any) -> tuple[int, Any]:
    """Sort ids numerically when they are numbers, else as text, so mixed ids still sort."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def _as_list(values: Sequence[str]) -> list[str]:
    # A lone category name is a sequence of letters too; take it as one category.
    return [values] if isinstance(values, str) else list(values)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
