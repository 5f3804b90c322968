"""Spatial accessibility per small area: 2SFCA, E2SFCA, the nearest site and people within reach.

Methods
-------
- **2SFCA**, the two-step floating catchment area (Luo & Wang 2003): each site's
  supply is divided by all the demand inside its catchment, and each area sums
  those ratios over the sites inside its own catchment. The catchment is a
  binary cut-off in minutes.
- **E2SFCA**, the enhanced 2SFCA (Luo & Qi 2009): the same two steps, with a step
  distance-decay weight applied to each pair in both steps (by default
  {5 min: 1.0, 10 min: 0.68, 15 min: 0.22} for walking).
- **Nearest site** and **people within X minutes**, read off the same cost table.

Every function is pure: DataFrames in, a new DataFrame out, inputs never changed.
They all read one *cost table*: a long DataFrame with columns ``demand_id``,
``supply_id``, ``metres`` and ``minutes``, one row per pair that can be reached
within the cut-off it was built with, labelled ``attrs["method"]`` (``"network"``,
or e.g. ``"straight line × 1.3"``) and ``attrs["walk_speed_m_per_min"]``. The
label is carried onto every result so a map or table can always say how travel
was measured. When the table says it was built with a cut-off
(``attrs["cutoff_min"]``), a measure that would need to see further is refused.
Areas whose demand point could not be snapped to the network (listed by
``mapping.access.network`` in ``attrs["unsnapped"]``) get NaN scores: their access is
unknown, not zero, so they are never reported as gaps by mistake.

The arithmetic matches PySAL ``access`` (``Access.two_stage_fca`` and
``Access.enhanced_two_stage_fca`` with ``weights.step_fn``, ``normalize=False``)
on the same cost table; ``tests/mapping/access/test_catchment.py`` checks it to 1e-9.
Two documented differences in presentation, not arithmetic: an area that
reaches no site gets access 0 here (PySAL leaves it missing), and a site whose
catchment holds no demand adds nothing (PySAL would divide by zero).

References
----------
Luo, W. & Wang, F. (2003). Measures of spatial accessibility to health care in a
GIS environment. *Environment and Planning B* 30(6), 865-884.

Luo, W. & Qi, Y. (2009). An enhanced two-step floating catchment area (E2SFCA)
method for measuring spatial accessibility to primary care physicians. *Health &
Place* 15(4), 1100-1107.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from mapping.access.costs import (
    COST_COLUMNS,
    COST_DEMAND,
    COST_METRES,
    COST_MINUTES,
    COST_SUPPLY,
    _check_reach,
    checked_costs,
    cost_method,
    unsnapped_ids,
)
from mapping.access.inputs import DEMAND, ID, PEOPLE, SUPPLY
from mapping.errors import Problem, ValidationError
from mapping.frames import require_columns
from mapping.tables import rows_where

# --- the cost-table contract: mapping.access.network owns the names --------------------------
DEMAND_ID: Final = COST_DEMAND
SUPPLY_ID: Final = COST_SUPPLY
METRES: Final = COST_METRES
MINUTES: Final = COST_MINUTES

ACCESS: Final = "access"
ACCESS_2SFCA: Final = "access_2sfca"
NEAREST_MINUTES: Final = "nearest_minutes"
NEAREST_METRES: Final = "nearest_metres"
NEAREST_SITE: Final = "nearest_site"
WITHIN: Final = "within"
PEOPLE_WITHIN: Final = "people_within"
WITHIN_CUTOFF: Final = "within_cutoff"
SNAPPED: Final = "snapped"


@dataclass(frozen=True)
class AccessSettings:
    """Settings of the accessibility measures; one line of help per field, units in the names.

    A travel time t takes the weight of the first step whose upper bound is at or
    above t, as PySAL ``access.weights.step_fn`` does: by default 5.0 minutes
    weighs 1.0 and 5.1 minutes 0.68. The weights 1, 0.68, 0.22 are Luo & Qi's
    (2009) Gaussian-derived steps; their 10/20/30-minute driving zones become
    5/10/15 minutes on foot here.
    """

    step_weights: tuple[tuple[float, float], ...] = ((5.0, 1.0), (10.0, 0.68), (15.0, 0.22))
    """E2SFCA steps (upper bound in minutes, weight), bounds rising; beyond the last, weight 0."""

    cutoff_min: float = 15.0
    """Catchment in minutes: binary 2SFCA cut-off, 'nobody within reach' test, E2SFCA outer limit."""

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        steps = self.step_weights
        if not steps:
            problems.append(Problem("give at least one (minutes, weight) step",
                                    field="step_weights"))
        bounds = [float(b) for b, _ in steps]
        for i, (bound, weight) in enumerate(steps, start=1):
            if not (math.isfinite(bound) and bound > 0):
                problems.append(Problem(f"step {i}: upper bound {bound} must be a positive "
                                        "number of minutes", field="step_weights"))
            if not (math.isfinite(weight) and weight >= 0):
                problems.append(Problem(f"step {i}: weight {weight} must be 0 or more",
                                        field="step_weights"))
        if any(b >= a for a, b in zip(bounds[1:], bounds[:-1], strict=True)):
            problems.append(Problem(f"step bounds {bounds} must increase", field="step_weights"))
        if not (math.isfinite(self.cutoff_min) and self.cutoff_min > 0):
            problems.append(Problem(f"cutoff_min {self.cutoff_min} must be a positive number "
                                    "of minutes", field="cutoff_min"))
        if problems:
            raise ValidationError(problems, summary="invalid accessibility settings")

    def weight(self, minutes: pd.Series | np.ndarray) -> np.ndarray:
        """Give the E2SFCA step weight of each travel time (0 beyond the last step or the cut-off).

        Same semantics as PySAL ``access.weights.step_fn``: the weight of the
        first step whose upper bound is at or above the time.
        """
        times = np.asarray(minutes, dtype=float)
        bounds = np.array([b for b, _ in self.step_weights], dtype=float)
        values = np.append(np.array([w for _, w in self.step_weights], dtype=float), 0.0)
        out = values[np.searchsorted(bounds, times, side="left")]
        return np.where(times <= self.cutoff_min, out, 0.0)

    def describe(self) -> dict[str, Any]:
        """Give the settings as plain JSON-ready values (for result attrs and the web)."""
        return {"step_weights": [[float(b), float(w)] for b, w in self.step_weights],
                "cutoff_min": float(self.cutoff_min)}


def _keyed(frame: pd.DataFrame, value: str, *, what: str) -> pd.Series:
    """Give ``frame[value]`` indexed by ``id``, after checking ids are unique and values usable."""
    return _keyed_known(frame, value, what=what, known=None)[0]


def _keyed_known(frame: pd.DataFrame, value: str, *, what: str, known: pd.Series | None
                 ) -> tuple[pd.Series, bool]:
    """Give :func:`_keyed`'s answer, and whether ``known`` is categorical over exactly its ids.

    ``known``: a cost table's categorical id column; when its categories are exactly these
    ids, in order (a table built from this frame), they are known to be unique already.
    """
    require_columns(frame, (ID, value), what)
    problems: list[Problem] = []
    column, id_values = frame[value], frame[ID]
    if pd.api.types.is_float_dtype(column.dtype) or pd.api.types.is_integer_dtype(column.dtype):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
    else:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    # One hash of the ids: the index keeps its table, so later lookups in it reuse it.
    index = pd.Index(id_values, name=ID)
    bad = np.isnan(values) | (values < 0)
    same = _same_ids(known, index)
    if bad.any() or not (same or index.is_unique):
        for i in rows_where(bad)[:20]:
            problems.append(Problem(f"{value} is missing or negative", row=i + 1, field=value))
        for i in rows_where(id_values.duplicated().to_numpy())[:20]:
            problems.append(Problem(f"id '{id_values.iloc[i]}' appears more than once", row=i + 1,
                                    field=ID))
        raise ValidationError(problems, summary=f"invalid {what} frame")
    return pd.Series(values, index=index, name=value, copy=False), same


def people_of(demand: pd.DataFrame) -> pd.Series:
    """Give people per area indexed by id: ``people``, or ``demand`` when there is no ``people``."""
    return _keyed(demand, PEOPLE if PEOPLE in demand.columns else DEMAND, what="demand")


def _labelled(frame: pd.DataFrame, costs: pd.DataFrame, **attrs: Any) -> pd.DataFrame:
    frame.attrs = {"method": cost_method(costs),
                   "walk_speed_m_per_min": costs.attrs.get("walk_speed_m_per_min"),
                   "cost_cutoff_min": costs.attrs.get("cutoff_min"),
                   "unsnapped": costs.attrs.get("unsnapped", ()), **attrs}
    return frame


# --- the measures -----------------------------------------------------------------------------


def _same_ids(column: pd.Series | None, index: pd.Index) -> bool:
    """Give whether ``column`` is categorical over exactly ``index``'s ids, in the same order."""
    return (column is not None and isinstance(column.dtype, pd.CategoricalDtype)
            and column.array.categories.equals(index))


def _positions(ids: pd.Series, index: pd.Index, *, same: bool | None = None) -> np.ndarray:
    """Give the position in ``index`` of every id (-1 where absent), as ``index.get_indexer``.

    The ids are factorised first, so each distinct id is hashed against ``index`` once:
    a cost table repeats every id many times, and a lookup per row is ~7× slower.
    ``same``: :func:`_same_ids` of the two, when the caller knows it already.
    """
    if _same_ids(ids, index) if same is None else same:
        return ids.array.codes.astype(np.intp)  # built from this frame: codes are positions
    if isinstance(ids.dtype, pd.CategoricalDtype):
        # The builders' id columns: the codes are there already; -1 (missing) stays -1.
        found = np.append(index.get_indexer(ids.array.categories), -1)
        return found[ids.array.codes]
    codes, uniques = pd.factorize(ids, use_na_sentinel=False)
    return index.get_indexer(uniques)[codes]


def _pair_weights(costs: pd.DataFrame, minutes_weight: Any, demand: pd.DataFrame,
                  supply: pd.DataFrame, *, reach_min: float, what: str
                  ) -> tuple[pd.Series, pd.Series, np.ndarray, np.ndarray, np.ndarray]:
    """Check the cost table, demand and supply once; give them as positions and weights.

    The same checks, in the same order of precedence, as :func:`checked_costs` then
    :func:`_check_reach` then the demand and supply frames, without copying the table:
    the fast path reads the columns as arrays and looks every id up once. Any problem
    is re-raised through :func:`checked_costs` so the messages are exactly its own.
    Gives demand and supply keyed by id, and per cost row the demand position, the
    supply position (-1 where the frame does not list the id) and the weight.
    """
    try:
        return _fast_pair_weights(costs, minutes_weight, demand, supply, reach_min=reach_min,
                                  what=what)
    except _TableProblem:
        pass  # an unusual table (or a bad one): checked_costs converts it or says what is wrong
    except ValidationError:
        checked_costs(costs)  # a bad table is reported first, in checked_costs's words
        raise
    return _fast_pair_weights(checked_costs(costs), minutes_weight, demand, supply,
                              reach_min=reach_min, what=what)


def _fast_pair_weights(costs: pd.DataFrame, minutes_weight: Any, demand: pd.DataFrame,
                       supply: pd.DataFrame, *, reach_min: float, what: str
                       ) -> tuple[pd.Series, pd.Series, np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(costs, pd.DataFrame) or not set(COST_COLUMNS).issubset(costs.columns):
        raise _TableProblem
    cost_method(costs)
    minutes = _nonnegative(costs[MINUTES])
    _nonnegative(costs[METRES])
    _check_reach(costs, reach_min, what=what)
    demand_ids, supply_ids = costs[DEMAND_ID], costs[SUPPLY_ID]
    d, d_same = _keyed_known(demand, DEMAND, what="demand", known=demand_ids)
    s, s_same = _keyed_known(supply, SUPPLY, what="supply", known=supply_ids)
    dk = _positions(demand_ids, d.index, same=d_same)
    sk = _positions(supply_ids, s.index, same=s_same)
    if _has_repeated_pairs(costs, dk, sk, len(d), len(s)):
        raise _TableProblem
    return d, s, dk, sk, np.asarray(minutes_weight(minutes), dtype=float)


class _TableProblem(Exception):
    """The fast checks found a problem; :func:`checked_costs` describes it."""


def _nonnegative(column: pd.Series) -> np.ndarray:
    """Give a float64 column as an array; raise :class:`_TableProblem` if missing or negative."""
    if column.dtype != np.float64:
        raise _TableProblem  # not the builders' dtype: the slow path converts and checks it
    values = column.to_numpy()
    if np.isnan(values).any() or (values < 0).any():
        raise _TableProblem
    return values


# A bitmap of every (demand, supply) position pair up to this many bytes finds repeats
# in one pass; beyond it, pandas' hashing does.
_PAIR_BITMAP_BYTES: Final = 1 << 27


def _has_repeated_pairs(costs: pd.DataFrame, dk: np.ndarray, sk: np.ndarray, n_demand: int,
                        n_supply: int) -> bool:
    """Give whether a (demand id, supply id) pair appears twice in the cost table.

    Positions in the (unique-id) demand and supply frames identify ids one-to-one, so rows
    found in both are checked as integer keys; rows with an id missing from a frame (rare)
    are checked by factorising their ids.
    """
    both = (dk >= 0) & (sk >= 0)
    keys = dk[both].astype(np.int64) * max(n_supply, 1) + sk[both]
    if len(keys):
        cells = max(n_demand, 1) * max(n_supply, 1)
        if cells <= _PAIR_BITMAP_BYTES:
            seen = np.zeros(cells, dtype=bool)
            seen[keys] = True
            if int(np.count_nonzero(seen)) != len(keys):
                return True
        elif pd.Series(keys).duplicated().any():
            return True
    if both.all():
        return False
    rest = ~both
    d_codes, _ = pd.factorize(costs[DEMAND_ID].to_numpy()[rest])
    s_codes, _ = pd.factorize(costs[SUPPLY_ID].to_numpy()[rest])
    pair = d_codes.astype(np.int64) * (int(s_codes.max(initial=0)) + 2) + s_codes
    return bool(pd.Series(pair).duplicated().any())


def _floating_catchment(costs: pd.DataFrame, d: pd.Series, s: pd.Series, dk: np.ndarray,
                        sk: np.ndarray, weights: np.ndarray) -> pd.Series:
    """The two FCA steps, vectorised over the pairs: R_j = S_j / Σ_k D_k W_kj; A_i = Σ_j R_j W_ij.

    ``d``/``s``: demand and supply by id; ``dk``/``sk``: each cost row's position in them
    (-1: not listed, ignored); ``weights``: each cost row's weight.
    """
    # Positions instead of ids, then sums by np.bincount: the same arithmetic as grouping
    # by id, in pair order, without hashing every id again for each step.
    keep = (weights > 0) & (dk >= 0) & (sk >= 0)
    w = weights
    if not keep.all():  # usually every pair counts: then no copies
        dk, sk, w = dk[keep], sk[keep], weights[keep]
    catchment_demand = np.bincount(sk, weights=w * d.to_numpy()[dk], minlength=len(s))
    # A site whose catchment holds no demand has no defined ratio; it adds nothing.
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(catchment_demand > 0, s.to_numpy() / catchment_demand, 0.0)
    summed = np.bincount(dk, weights=ratio[sk] * w, minlength=len(d))
    off_network = unsnapped_ids(costs)
    if off_network:
        summed[d.index.isin(off_network)] = np.nan
    return pd.Series(summed, index=d.index, dtype=float, copy=False)


def two_step_fca(costs: pd.DataFrame, demand: pd.DataFrame, supply: pd.DataFrame, *,
                 cutoff_min: float | None = None) -> pd.DataFrame:
    """Give 2SFCA access per area (Luo & Wang 2003): supply per head within a binary catchment.

    Parameters
    ----------
    costs
        The cost table (see the module docstring).
    demand
        ``id`` and ``demand`` per area (:func:`demand_from_areas`).
    supply
        ``id`` and ``supply`` per site (:func:`supply_from_assets`); cost rows
        for sites not listed here are ignored, so one table can serve every
        category.
    cutoff_min
        The catchment in minutes; ``None`` means ``AccessSettings().cutoff_min``.

    Returns
    -------
    pandas.DataFrame
        Indexed by area id, one column ``access``: Σ over sites j within the
        cut-off of S_j / (demand within the cut-off of j). 0 where no site is
        within the cut-off, NaN for an area left off the network (see the module
        docstring). Attrs carry the cost ``method`` label.
    """
    cutoff = AccessSettings().cutoff_min if cutoff_min is None else float(cutoff_min)
    AccessSettings(cutoff_min=cutoff, step_weights=((cutoff, 1.0),))  # validates the cut-off
    d, s, dk, sk, weights = _pair_weights(costs, lambda t: (t <= cutoff).astype(float), demand,
                                          supply, reach_min=cutoff, what="2SFCA")
    access = _floating_catchment(costs, d, s, dk, sk, weights)
    return _labelled(access.to_frame(ACCESS), costs, measure="2SFCA (Luo & Wang 2003)",
                     cutoff_min=cutoff)


def e2sfca(costs: pd.DataFrame, demand: pd.DataFrame, supply: pd.DataFrame, *,
           settings: AccessSettings | None = None) -> pd.DataFrame:
    """Give E2SFCA access per area (Luo & Qi 2009): step-weighted supply per head.

    R_j = S_j / Σ_k D_k W(t_kj) and A_i = Σ_j R_j W(t_ij), with W the step
    weights of ``settings`` (0 beyond the last step and beyond ``cutoff_min``).
    Parameters and result as :func:`two_step_fca`; ``settings`` ``None`` means
    the defaults of :class:`AccessSettings`.
    """
    settings = settings or AccessSettings()
    d, s, dk, sk, weights = _pair_weights(
        costs, settings.weight, demand, supply,
        reach_min=min(settings.cutoff_min, settings.step_weights[-1][0]), what="E2SFCA")
    access = _floating_catchment(costs, d, s, dk, sk, weights)
    return _labelled(access.to_frame(ACCESS), costs, measure="E2SFCA (Luo & Qi 2009)",
                     **settings.describe())


def nearest_minutes(costs: pd.DataFrame, demand: pd.DataFrame, *,
                    supply: pd.DataFrame | None = None) -> pd.DataFrame:
    """Give each area's travel time to its nearest site: ``nearest_minutes``, ``_metres``, ``_site``.

    The cost table holds only the pairs within the cut-off it was built with,
    so a missing value (NaN) means *no site within that cut-off*, not an
    unknown time, unless the area is listed in ``attrs["unsnapped"]`` (left off
    the network). ``supply``, when given, limits the sites to those it lists.
    Ties go to the smaller site id.
    """
    c = checked_costs(costs)
    ids = people_of(demand).index
    if supply is not None:
        c = c[c[SUPPLY_ID].isin(_keyed(supply, SUPPLY, what="supply").index)]
    best = (c[c[DEMAND_ID].isin(ids)].sort_values([MINUTES, SUPPLY_ID], kind="stable")
            .drop_duplicates(DEMAND_ID).set_index(DEMAND_ID))
    out = pd.DataFrame({NEAREST_MINUTES: best[MINUTES], NEAREST_METRES: best[METRES],
                        NEAREST_SITE: best[SUPPLY_ID].astype(object)}).reindex(ids)
    out.index.name = ID
    return _labelled(out, costs, measure="nearest site")


def people_within(costs: pd.DataFrame, demand: pd.DataFrame, *, minutes: float | None = None,
                  supply: pd.DataFrame | None = None) -> pd.DataFrame:
    """Give, per area, whether a site is within ``minutes`` and the people that counts.

    An area's people all count when its demand point reaches a site within
    ``minutes`` (``None``: ``AccessSettings().cutoff_min``), which may not exceed the
    cut-off the cost table was built with (``attrs["cutoff_min"]``).
    Columns ``within`` (bool) and ``people_within``; attrs ``people_total``,
    ``people_within_total`` and ``share_within`` (NaN when there are no people).
    Areas left off the network are not within, and are left out of
    ``people_total`` (their reach is unknown): ``people_unsnapped`` counts them.
    """
    limit = AccessSettings().cutoff_min if minutes is None else float(minutes)
    _check_reach(costs, limit, what=f"people within {limit:g} minutes")
    people = people_of(demand)
    nearest = nearest_minutes(costs, demand, supply=supply)[NEAREST_MINUTES]
    within = (nearest <= limit).to_numpy()
    out = pd.DataFrame({WITHIN: within, PEOPLE_WITHIN: np.where(within, people.to_numpy(), 0.0)},
                       index=people.index)
    off = people.index.isin(unsnapped_ids(costs))
    total, reached = float(people[~off].sum()), float(out[PEOPLE_WITHIN].sum())
    return _labelled(out, costs, measure=f"people within {limit:g} minutes", minutes=limit,
                     people_total=total, people_within_total=reached,
                     people_unsnapped=float(people[off].sum()),
                     share_within=reached / total if total > 0 else math.nan)


def area_access(costs: pd.DataFrame, demand: pd.DataFrame, supply: pd.DataFrame, *,
                settings: AccessSettings | None = None) -> pd.DataFrame:
    """Give every measure per area in one frame, ready for :mod:`mapping.access.gaps`.

    Columns: ``people``, ``demand``, ``access`` (E2SFCA, Luo & Qi 2009),
    ``access_2sfca`` (2SFCA, Luo & Wang 2003, binary at ``cutoff_min``),
    ``nearest_minutes``, ``nearest_metres``, ``nearest_site``, ``within_cutoff``
    and ``snapped`` (False for an area the cost table left off the network: its
    scores are NaN and it is not within the cut-off, but it is not a known gap).
    Attrs carry the cost ``method`` label and the settings.
    """
    settings = settings or AccessSettings()
    people = people_of(demand)
    nearest = nearest_minutes(costs, demand, supply=supply)
    out = pd.DataFrame({
        PEOPLE: people,
        DEMAND: _keyed(demand, DEMAND, what="demand"),
        ACCESS: e2sfca(costs, demand, supply, settings=settings)[ACCESS],
        ACCESS_2SFCA: two_step_fca(costs, demand, supply, cutoff_min=settings.cutoff_min)[ACCESS],
    }, index=people.index).join(nearest)
    out[WITHIN_CUTOFF] = (out[NEAREST_MINUTES] <= settings.cutoff_min).to_numpy()
    out[SNAPPED] = ~out.index.isin(unsnapped_ids(costs))
    return _labelled(out, costs, measure="E2SFCA (Luo & Qi 2009)", **settings.describe())
