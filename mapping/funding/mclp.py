"""Host sites by the maximal covering location problem (MCLP), with the existing sites fixed.

Where should a new group meet? Among the community spaces already in the register, the
ones that bring the most people not yet within reach of the service within reach of it
(Church & ReVelle 1974), solved exactly as an integer programme with PuLP and CBC, ties
broken by site id. :mod:`mapping.funding.plan` uses it for the micro-fund plan.

References
----------
Church, R. & ReVelle, C. (1974) The maximal covering location problem. *Papers of
the Regional Science Association* 32, 101-118.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd
import pulp

from mapping import schema as S
from mapping.errors import MappingError, Problem, ValidationError
from mapping.frames import is_missing, non_negative_problems, require_columns

# The travel-cost table (mapping/access/network.py).
DEMAND_ID: Final = "demand_id"
SUPPLY_ID: Final = "supply_id"
MINUTES: Final = "minutes"
# The host-site result of choose_host_sites.
SITE_ID: Final = "site_id"
NEWLY_COVERED: Final = "newly_covered"
NEWLY_COVERED_AREAS: Final = "newly_covered_areas"
# assets_frame (mapping/register/records.py) labels the organisation's name so.
ORGANISATION_NAME: Final = "organisation_name"

SITE_COLUMNS: Final = (SITE_ID, S.NAME, S.ORGANISATION_ID, ORGANISATION_NAME, NEWLY_COVERED,
                       NEWLY_COVERED_AREAS)
MCLP_METHOD: Final = "MCLP (Church & ReVelle 1974), existing sites fixed; PuLP with CBC"
DEFAULT_COVERAGE_MIN: Final = 10.0


class SolverError(MappingError, RuntimeError):
    """The optimisation solver is missing or did not reach a proven optimum."""


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
    if len(candidates) and not ids:
        # Every candidate already provides the service: none can add a site to it.
        return _empty_sites(attrs, f"every candidate ({len(candidates)}) is already an existing site")
    if len(usable) < len(candidates):
        notes.append(f"{len(candidates) - len(usable)} candidate(s) are existing sites and were left out")
    if not ids or n_sites == 0:
        notes.append("no candidate sites" if not ids else "no sites asked for")
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
    return None if is_missing(value) else value


def _check_host_inputs(
    costs: pd.DataFrame,
    demand: pd.Series,
    candidates: pd.DataFrame,
    *,
    n_sites: int,
    coverage_min: float,
    id_column: str,
) -> None:
    require_columns(costs, [DEMAND_ID, SUPPLY_ID, MINUTES], "costs")
    require_columns(candidates, [id_column], "candidates")
    if not isinstance(demand, pd.Series):
        raise TypeError(f"demand must be a pandas Series indexed by demand id, got {type(demand).__name__}")
    problems = non_negative_problems(demand.to_frame("demand"), ["demand"])
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
