"""The cost table: travel costs between demand points and supply sites, and the straight-line fallback.

A :class:`pandas.DataFrame` in long form, one row per (demand point, supply site) pair that
is reachable within the cut-off (``metres <= cutoff_min * walk_speed_m_per_min``), in the
order the search finds them (the same for the same inputs; sort it to read it):

- :data:`COST_DEMAND` (``"demand_id"``), :data:`COST_SUPPLY` (``"supply_id"``): the ids
  from the inputs' id columns, as categoricals whose categories are all the input ids, in
  input order and with their dtype (a cost table repeats each id many times: codes are
  cheap to build and to look up; they compare, merge and export like the ids);
- :data:`COST_METRES` (``"metres"``), :data:`COST_MINUTES` (``"minutes"``): float64;
  ``minutes = metres / walk_speed_m_per_min``.

Pairs that are not in the table are not reachable within the cut-off. ``table.attrs``:

- ``"method"``: :data:`NETWORK_METHOD` (``"network"``) or :func:`fallback_label`
  (``"straight line × 1.3"``): show it on every page and export built from the table;
- ``"walk_speed_m_per_min"``, ``"cutoff_min"``, ``"cutoff_m"``: floats;
- ``"unsnapped"``: a tuple of :class:`UnsnappedPoint`, the points left out because they
  are further than ``max_snap_m`` from the network (always empty for the fallback);
  :func:`unsnapped_frame` gives them as a DataFrame. It is a tuple, not a DataFrame,
  because pandas compares ``attrs`` in ``concat``/``merge`` and a DataFrame there raises.

:func:`straight_line_costs` is the fallback when there is no network: straight-line
distance (EPSG:27700 metres) × a circuity factor, always labelled so. Straight-line
distance under-states walking distance by about a third in cities (Barthélemy, M. (2011),
Spatial networks, *Physics Reports*, 499, 1-101; Boeing, G. (2019), Urban spatial order,
*Applied Network Science*, 4, 67), hence the default 1.3. :mod:`mapping.access.network`
builds the table on a walking network; :func:`checked_costs` checks a table handed to the
accessibility measures.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree

from mapping.errors import Problem, ValidationError
from mapping.frames import require_columns
from mapping.places.areas import require_crs
from mapping.schema import METRIC_CRS
from mapping.tables import rows_where

# --- the cost-table contract --------------------------------------------------------
COST_DEMAND: Final = "demand_id"


COST_SUPPLY: Final = "supply_id"


COST_METRES: Final = "metres"


COST_MINUTES: Final = "minutes"


COST_COLUMNS: Final = (COST_DEMAND, COST_SUPPLY, COST_METRES, COST_MINUTES)


#: ``table.attrs`` keys.
ATTR_METHOD: Final = "method"


ATTR_WALK_SPEED: Final = "walk_speed_m_per_min"


ATTR_CUTOFF_MIN: Final = "cutoff_min"


ATTR_CUTOFF_M: Final = "cutoff_m"


ATTR_UNSNAPPED: Final = "unsnapped"


#: ``attrs["method"]`` of a table computed on the walking network.
NETWORK_METHOD: Final = "network"


#: A walking speed for people over 65, in metres per minute.
OLDER_WALK_SPEED_M_PER_MIN: Final = 70.0


# Columns of the snapping report.
SNAP_ID: Final = "id"
SNAP_ROLE: Final = "role"
SNAP_M: Final = "snap_m"

_METRIC: Final = pyproj.CRS.from_user_input(METRIC_CRS)


def fallback_label(circuity: float) -> str:
    """Give the ``attrs["method"]`` label of the straight-line fallback, e.g. "straight line × 1.3".

    Parameters
    ----------
    circuity
        The circuity factor the straight-line distances were multiplied by.
    """
    return f"straight line × {circuity:g}"


def is_fallback(table: pd.DataFrame) -> bool:
    """Give whether a cost table was computed without the walking network."""
    return table.attrs.get(ATTR_METHOD) != NETWORK_METHOD


@dataclass(frozen=True)
class TravelSettings:
    """Settings of the travel-cost methods; one line of help per field, units in the names."""

    walk_speed_m_per_min: float = 80.0
    """Walking speed that turns metres into minutes (70 suits people over 65)."""

    max_snap_m: float = 250.0
    """Furthest a point may be from the nearest network node; further points are reported, not used."""

    circuity_factor: float = 1.3
    """Straight-line distance is multiplied by this when there is no network (the fallback)."""

    cutoff_min: float = 15.0
    """Longest walk, in minutes, kept in a cost table; longer pairs are left out."""

    def __post_init__(self) -> None:
        checks = (
            ("walk_speed_m_per_min", self.walk_speed_m_per_min > 0, "must be more than 0"),
            ("max_snap_m", self.max_snap_m >= 0, "must be 0 or more"),
            ("circuity_factor", self.circuity_factor >= 1, "must be 1 or more"),
            ("cutoff_min", self.cutoff_min > 0, "must be more than 0"),
        )
        problems = [
            Problem(f"{reason}, got {getattr(self, name)!r}", field=name)
            for name, ok, reason in checks
            if not (ok and math.isfinite(getattr(self, name)))
        ]
        if problems:
            raise ValidationError(problems, summary="Travel settings are not valid")

    @property
    def cutoff_m(self) -> float:
        """Give the cut-off as a distance: ``cutoff_min * walk_speed_m_per_min`` metres."""
        return self.cutoff_min * self.walk_speed_m_per_min


@dataclass(frozen=True)
class UnsnappedPoint:
    """A point left out of a cost table because it is too far from the walking network."""

    role: str
    """``"demand"`` or ``"supply"``."""
    id: Hashable
    """The point's id, from the input's id column."""
    snap_m: float
    """Distance to the nearest network node, in EPSG:27700 metres."""


class _Points(NamedTuple):
    """Checked points: EPSG:27700 coordinates and the ids, unique, as an index."""

    xy: np.ndarray
    ids: pd.Index


def _point_xy(points: gpd.GeoDataFrame, *, id_column: str, what: str) -> _Points:
    """Give the EPSG:27700 coordinates and ids of ``points``, after checking ids and geometry."""
    require_crs(points, what=what)
    if id_column not in points.columns:
        raise ValidationError([Problem(f"no id column {id_column!r}", field=id_column)],
                              summary=f"{what} is not valid")
    problems: list[Problem] = []
    column = points[id_column]
    # Hashed once: the index keeps is_unique, so the cost table's categories reuse it.
    ids = pd.Index(column.array, name=id_column)
    if ids.hasnans or not ids.is_unique:
        for row in np.flatnonzero(column.isna().to_numpy()):
            problems.append(Problem("id is missing", row=int(row) + 1, field=id_column))
        for row in np.flatnonzero(column.duplicated().to_numpy() & column.notna().to_numpy()):
            problems.append(Problem(f"id {column.iloc[row]!r} is repeated", row=int(row) + 1,
                                    field=id_column))
    geometry = points.geometry
    if not geometry.crs.equals(_METRIC):
        geometry = geometry.to_crs(_METRIC)
    values = geometry.to_numpy()
    not_point = (shapely.get_type_id(values) != 0) | shapely.is_empty(values)
    for row in np.flatnonzero(not_point):
        problems.append(Problem("geometry must be a point (for an area, give its representative "
                                "point or population-weighted centroid)", row=int(row) + 1,
                                field="geometry"))
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise ValidationError(problems, summary=f"{what} is not valid")
    return _Points(shapely.get_coordinates(values).astype("float64").reshape(len(values), 2), ids)


def straight_line_costs(
    demand: gpd.GeoDataFrame,
    supply: gpd.GeoDataFrame,
    *,
    settings: TravelSettings | None = None,
    id_column: str = "id",
) -> pd.DataFrame:
    """Give the cost table by straight-line distance × circuity: the fallback with no network.

    Distances are measured in EPSG:27700 and multiplied by ``settings.circuity_factor``
    (1.3 by default: walking routes in cities are about a third longer than the straight
    line; Barthélemy 2011, Boeing 2019). Vectorised with a k-d tree
    (``cKDTree.sparse_distance_matrix``) bounded at ``cutoff_m / circuity``. The table's
    ``attrs["method"]`` is :func:`fallback_label`, e.g. "straight line × 1.3": show it
    wherever the figures appear.

    Parameters
    ----------
    demand, supply
        Points with a CRS and a unique id column.
    settings
        Walking speed, cut-off and circuity factor; ``None`` means the defaults.
    id_column
        The id column of both frames.

    Returns
    -------
    pandas.DataFrame
        The cost table described in the module docstring; ``attrs["unsnapped"]`` is empty.

    Raises
    ------
    CRSError, ValidationError
        If a frame has no CRS, ids are missing or repeated, or a geometry is not a point.
    """
    settings = TravelSettings() if settings is None else settings
    d_points = _point_xy(demand, id_column=id_column, what="demand")
    s_points = _point_xy(supply, id_column=id_column, what="supply")
    d_xy, s_xy = d_points.xy, s_points.xy
    pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if len(d_xy) and len(s_xy):
        found = cKDTree(d_xy).sparse_distance_matrix(
            cKDTree(s_xy), settings.cutoff_m / settings.circuity_factor, output_type="ndarray"
        )
        metres = found["v"] * settings.circuity_factor
        keep = metres <= settings.cutoff_m
        pairs.append((found["i"][keep], found["j"][keep], metres[keep]))
    table = _cost_table(d_points.ids, s_points.ids, pairs, settings.walk_speed_m_per_min)
    return _label(table, fallback_label(settings.circuity_factor), settings, ())


def unsnapped_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Give a cost table's ``attrs["unsnapped"]`` as a DataFrame (role, id, snap_m)."""
    records = table.attrs.get(ATTR_UNSNAPPED, ())
    return pd.DataFrame(
        {
            SNAP_ROLE: pd.Series([p.role for p in records], dtype="str"),
            SNAP_ID: pd.Series([p.id for p in records], dtype="object"),
            SNAP_M: pd.Series([p.snap_m for p in records], dtype="float64"),
        }
    )


def _unsnapped(
    role: str, ids: pd.Index, snap_m: np.ndarray, max_snap_m: float
) -> tuple[UnsnappedPoint, ...]:
    return tuple(
        UnsnappedPoint(role, ids[i], float(snap_m[i])) for i in np.flatnonzero(snap_m > max_snap_m)
    )


def _cost_table(
    demand_ids: pd.Index,
    supply_ids: pd.Index,
    pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    walk_speed_m_per_min: float,
) -> pd.DataFrame:
    """Give the long table of (demand row, supply row, metres) pairs, in the order found."""
    d = np.concatenate([np.empty(0, "intp")] + [p[0] for p in pairs]).astype("intp")
    s = np.concatenate([np.empty(0, "intp")] + [p[1] for p in pairs]).astype("intp")
    metres = np.concatenate([np.empty(0, "float64")] + [p[2] for p in pairs]).astype("float64")
    return pd.DataFrame(
        {
            COST_DEMAND: _id_column(demand_ids, d),
            COST_SUPPLY: _id_column(supply_ids, s),
            COST_METRES: metres,
            COST_MINUTES: metres / walk_speed_m_per_min,
        },
        copy=False,
    )


def _id_column(ids: pd.Index, rows: np.ndarray) -> pd.Categorical:
    """Give ``ids[rows]`` as a categorical over all ``ids`` (unique, checked by :func:`_point_xy`).

    A cost table repeats every id many times: as categorical codes the column takes no
    string copies to build, and :mod:`mapping.access.catchment` reads the codes instead of hashing
    every row's id again. It compares, merges and writes like the ids themselves.
    """
    return pd.Categorical.from_codes(rows, dtype=pd.CategoricalDtype(ids.rename(None)))


def _label(
    table: pd.DataFrame, method: str, settings: TravelSettings, unsnapped: tuple[UnsnappedPoint, ...]
) -> pd.DataFrame:
    table.attrs.update(
        {
            ATTR_METHOD: method,
            ATTR_WALK_SPEED: float(settings.walk_speed_m_per_min),
            ATTR_CUTOFF_MIN: float(settings.cutoff_min),
            ATTR_CUTOFF_M: float(settings.cutoff_m),
            ATTR_UNSNAPPED: unsnapped,
        }
    )
    return table


# --- checking a cost table -----------------------------------------------------------------


def cost_method(costs: pd.DataFrame) -> str:
    """Give the cost table's method label, e.g. ``"network"`` or ``"straight line × 1.3"``."""
    label = costs.attrs.get("method")
    if not isinstance(label, str) or not label.strip():
        raise ValidationError([Problem(
            "the cost table has no attrs['method'] label; set it to 'network' or, for the "
            "fallback, e.g. 'straight line × 1.3' so results say how travel was measured",
            field="attrs.method")], summary="unlabelled cost table")
    return label


def unsnapped_ids(costs: pd.DataFrame, role: str = "demand") -> list[Any]:
    """Give the ids of the points of ``role`` that the cost table left out as off the network."""
    return [getattr(p, "id", None) for p in costs.attrs.get("unsnapped", ())
            if getattr(p, "role", None) == role]


def _check_reach(costs: pd.DataFrame, minutes: float, *, what: str) -> None:
    """Refuse a measure that needs pairs further than the cost table was built to hold."""
    table_cutoff = costs.attrs.get("cutoff_min")
    if table_cutoff is not None and minutes > float(table_cutoff) + 1e-9:
        raise ValidationError([Problem(
            f"{what} needs pairs up to {minutes:g} minutes but the cost table only holds pairs "
            f"within {float(table_cutoff):g} minutes; build it with a cut-off of at least "
            f"{minutes:g}", field="cutoff_min")], summary="cost table too short")


def checked_costs(costs: pd.DataFrame) -> pd.DataFrame:
    """Give a validated copy of a cost table (the four columns, a fresh index, attrs kept)."""
    require_columns(costs, COST_COLUMNS, "costs")
    cost_method(costs)
    out = costs[list(COST_COLUMNS)].reset_index(drop=True)
    for column in (COST_DEMAND, COST_SUPPLY):
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            # The builders' categorical ids, as plain ids: sorts and ties go by id, not by code.
            out[column] = out[column].astype(out[column].cat.categories.dtype)
    problems: list[Problem] = []
    for column in (COST_METRES, COST_MINUTES):
        values = pd.to_numeric(out[column], errors="coerce").astype(float)
        for i in rows_where((values.isna() | (values < 0)).to_numpy())[:20]:
            problems.append(Problem(f"{column} is missing or negative", row=i + 1, field=column))
        out[column] = values
    # Pairs as one integer each: far cheaper to check for repeats than pairs of strings.
    d_codes, d_uniques = pd.factorize(out[COST_DEMAND])
    s_codes, _ = pd.factorize(out[COST_SUPPLY])
    pair_keys = pd.Series(d_codes.astype(np.int64) * (int(s_codes.max(initial=0)) + 1) + s_codes)
    for i in rows_where(pair_keys.duplicated().to_numpy())[:20]:
        problems.append(Problem(f"pair ({out.at[i, COST_DEMAND]}, {out.at[i, COST_SUPPLY]}) appears "
                                "more than once", row=i + 1))
    if problems:
        raise ValidationError(problems, summary="invalid cost table")
    out.attrs = dict(costs.attrs)
    return out
