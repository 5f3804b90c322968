"""Travel costs: walking distances and times between demand points and supply sites.

The walking network comes from :mod:`mapping.walk_graph` (OpenStreetMap through osmnx,
cached as GraphML); :func:`prepare_network` makes it ready for queries. Three pure
functions turn points into a *cost table*:

- :func:`network_costs` snaps points to the network and runs one bounded, multi-source
  Dijkstra from the supply sites (``scipy.sparse.csgraph``);
- :func:`straight_line_costs` is the fallback when there is no network: straight-line
  distance × a circuity factor, always labelled so;
- :func:`travel_costs` is the one entry point: the network when a graph is given, else the
  fallback.

The cost table (the contract with :mod:`mapping.access`)
-------------------------------------------------------
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

Distances
---------
Edge lengths are osmnx's ``length`` attribute: metres along the way, summed from
great-circle segment lengths. Snap distances and straight lines are measured in EPSG:27700
(British National Grid) metres. The two differ by the grid's scale factor, under 0.04 % in
England (0.4 m per km), well below the error of snapping a point to a node.

References
----------
Boeing, G. (2025). Modeling and Analyzing Urban Networks and Amenities with OSMnx.
*Geographical Analysis*, 57(4), 567-577. https://doi.org/10.1111/gean.70009

Dijkstra, E. W. (1959). A note on two problems in connexion with graphs. *Numerische
Mathematik*, 1, 269-271 (bounded multi-source run: ``scipy.sparse.csgraph.dijkstra``).

Walking speeds: 80 m/min (4.8 km/h) is the usual planning figure; about 70 m/min suits
people over 65 (e.g. Bohannon, R. W. (1997), Comfortable and maximum walking speed of
adults aged 20-79 years, *Age and Ageing*, 26(1), 15-19).

Circuity: straight-line distance under-states walking distance by about a third in
cities (Barthélemy, M. (2011), Spatial networks, *Physics Reports*, 499, 1-101; Boeing, G.
(2019), Urban spatial order, *Applied Network Science*, 4, 67), hence the default 1.3.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.sparse import csr_array
from scipy.spatial import cKDTree

from mapping._walk_search import Core, core_of, network_pairs
from mapping.areas import require_crs
from mapping.errors import CRSError, Problem, ValidationError
from mapping.schema import METRIC_CRS

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


class Snapped(NamedTuple):
    """Points snapped to their nearest network node (see :func:`snap_points`)."""

    nodes: np.ndarray
    """Nearest node id of every point, in input order (also for points beyond the limit)."""
    snap_m: np.ndarray
    """Distance from every point to that node, EPSG:27700 metres."""
    too_far: pd.DataFrame
    """Points further than ``max_snap_m``: columns ``id`` and ``snap_m``."""


# --- pure functions ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class WalkingNetwork:
    """A walking graph made ready for many cost queries (see :func:`prepare_network`)."""

    node_ids: pd.Index
    """The graph's node ids; row ``i`` of ``xy`` and of ``adjacency`` is node ``node_ids[i]``."""
    xy: np.ndarray
    """Node coordinates in EPSG:27700 metres, shape (n, 2)."""
    tree: cKDTree
    """A k-d tree over ``xy``, for snapping."""
    adjacency: csr_array
    """Edge lengths in metres, symmetric (walking is two-way), shortest of parallel edges."""
    core: Core
    """The junctions the search runs on, their chains and dead-end trees (:mod:`mapping._walk_search`)."""


def prepare_network(graph: nx.MultiDiGraph) -> WalkingNetwork:
    """Give the graph as node coordinates, a k-d tree, a sparse adjacency matrix and its junctions.

    Converting the graph costs more than a query on it, so a caller that asks for many
    cost tables on one network (the web app, a benchmark) prepares it once and passes the
    result wherever a graph is accepted. Each edge is entered in both directions, and of
    parallel edges the shortest is kept (``nx.to_scipy_sparse_array`` would add them up).
    Self-loops are dropped. The junctions, chains and dead-end trees the search uses are
    found here too (:func:`mapping._walk_search.core_of`).

    Parameters
    ----------
    graph
        A walking network in EPSG:27700: nodes with ``x``/``y``, edges with ``length`` in
        metres (:func:`mapping.walk_graph.walking_graph_from_xml`).

    Raises
    ------
    TypeError
        If ``graph`` is not a networkx graph.
    CRSError
        If the graph has no ``crs`` attribute or is not in EPSG:27700.
    ValidationError
        If the graph has no nodes, or edges without a valid ``length``.
    """
    if not isinstance(graph, nx.Graph):
        raise TypeError(f"graph must be a networkx graph, got {type(graph).__name__}")
    crs = graph.graph.get("crs")
    if crs is None:
        raise CRSError("graph has no 'crs' attribute; load it with walking_graph_from_xml")
    if pyproj.CRS.from_user_input(crs) != _METRIC:
        raise CRSError(f"graph is in {crs}, not {METRIC_CRS}; project it (ox.project_graph)")
    if graph.number_of_nodes() == 0:
        raise ValidationError([Problem("the walking network has no nodes")],
                              summary="Walking network is not valid")
    ids = pd.Index(list(graph.nodes))
    xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)], dtype="float64")
    adjacency = _adjacency(graph, ids)
    return WalkingNetwork(ids, xy, cKDTree(xy), adjacency, core_of(adjacency))


def _adjacency(graph: nx.Graph, ids: pd.Index) -> csr_array:
    u: list[Hashable] = []
    v: list[Hashable] = []
    lengths: list[Any] = []
    multi = graph.is_multigraph()
    # Walk the adjacency dicts directly: much faster than graph.edges(data=...).
    for a, neighbours in graph.adjacency():
        for b, data in neighbours.items():
            for attrs in data.values() if multi else (data,):
                u.append(a)
                v.append(b)
                lengths.append(attrs.get("length"))
    weights = np.array([np.nan if w is None else w for w in lengths], dtype="float64")
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        raise ValidationError([Problem(f"{int(bad.sum())} edge(s) have no valid 'length' in metres")],
                              summary="Walking network is not valid")
    ui, vi = ids.get_indexer(u), ids.get_indexer(v)
    rows, cols = np.concatenate([ui, vi]), np.concatenate([vi, ui])
    both = np.concatenate([weights, weights])
    keep = rows != cols
    rows, cols, both = rows[keep], cols[keep], both[keep]
    order = np.lexsort((both, cols, rows))
    rows, cols, both = rows[order], cols[order], both[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    n = len(ids)
    return csr_array((both[first], (rows[first], cols[first])), shape=(n, n))


def _network(graph: nx.MultiDiGraph | WalkingNetwork) -> WalkingNetwork:
    return graph if isinstance(graph, WalkingNetwork) else prepare_network(graph)


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


def _snap(network: WalkingNetwork, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Give the row of each point's nearest node and the distance to it."""
    if len(xy) == 0:
        return np.empty(0, dtype="intp"), np.empty(0, dtype="float64")
    distance, position = network.tree.query(xy, k=1)
    return np.asarray(position, dtype="intp"), np.asarray(distance, dtype="float64")


def snap_points(
    graph: nx.MultiDiGraph | WalkingNetwork,
    points: gpd.GeoDataFrame,
    *,
    max_snap_m: float,
    id_column: str = "id",
) -> Snapped:
    """Give each point's nearest network node and distance, and the points too far to snap.

    Nearest-node snapping with a maximum snap distance, vectorised with a k-d tree
    (``scipy.spatial.cKDTree``) over the node coordinates in EPSG:27700.

    Parameters
    ----------
    graph
        A walking network in EPSG:27700, or one made by :func:`prepare_network`.
    points
        Points with a CRS and an id column; they are reprojected to EPSG:27700.
    max_snap_m
        Points further than this from every node are listed in ``too_far``.
    id_column
        The column with each point's unique id.

    Returns
    -------
    Snapped
        ``nodes`` and ``snap_m`` for every point in input order, and ``too_far``.

    Raises
    ------
    CRSError
        If ``points`` or ``graph`` has no CRS, or the graph is not in EPSG:27700.
    ValidationError
        If ids are missing or repeated, or a geometry is not a point.
    """
    network = _network(graph)
    checked = _point_xy(points, id_column=id_column, what="points")
    position, snap_m = _snap(network, checked.xy)
    far = snap_m > max_snap_m
    too_far = pd.DataFrame({SNAP_ID: checked.ids.to_numpy()[far], SNAP_M: snap_m[far]})
    return Snapped(network.node_ids.to_numpy()[position], snap_m, too_far)


def network_costs(
    graph: nx.MultiDiGraph | WalkingNetwork,
    demand: gpd.GeoDataFrame,
    supply: gpd.GeoDataFrame,
    *,
    settings: TravelSettings | None = None,
    id_column: str = "id",
) -> pd.DataFrame:
    """Give the walking cost table over the network (one bounded multi-source Dijkstra).

    Both sets of points are snapped to their nearest node (:func:`snap_points`); points
    further than ``settings.max_snap_m`` are left out and listed in ``attrs["unsnapped"]``.
    ``scipy.sparse.csgraph.dijkstra`` then runs once from all the nodes of one side
    together (the side with fewer distinct nodes: usually the supply sites), stopped at the
    cut-off distance (Dijkstra 1959), in chunks of sources to bound memory. It searches the
    network's junctions only: dead-end trees and chains of two-neighbour nodes are walked
    once, when the network is prepared (:mod:`mapping._walk_search`), with the same
    distances as a search over every node (summed in another order, so equal to about
    1e-12 m; a pair within 1 µm of the cut-off counts as on it). A pair's distance is the
    demand point's snap distance + the network path + the supply site's snap distance, and
    the pair is kept when that total is within the cut-off. Snapping is to nodes, not edges: on a
    simplified graph a point mid-block is charged the straight line to the nearer
    intersection, so a distance can be out by up to about half a block.

    Parameters
    ----------
    graph
        A walking network in EPSG:27700 with edge ``length`` in metres, or one made by
        :func:`prepare_network` (faster when there are many queries).
    demand, supply
        Points with a CRS and a unique id column (e.g. LSOA population-weighted
        centroids; community sites).
    settings
        Walking speed, cut-off and maximum snap distance; ``None`` means the defaults.
    id_column
        The id column of both frames.

    Returns
    -------
    pandas.DataFrame
        The cost table described in the module docstring, ``attrs["method"] == "network"``.

    Raises
    ------
    CRSError, ValidationError
        As :func:`prepare_network` and :func:`snap_points`.
    """
    settings = TravelSettings() if settings is None else settings
    network = _network(graph)
    d_points = _point_xy(demand, id_column=id_column, what="demand")
    s_points = _point_xy(supply, id_column=id_column, what="supply")
    position, snap_m = _snap(network, np.concatenate([d_points.xy, s_points.xy]))  # one query
    d_pos, s_pos = np.split(position, [len(d_points.xy)])
    d_snap, s_snap = np.split(snap_m, [len(d_points.xy)])
    limit = settings.max_snap_m
    d_ids, s_ids = d_points.ids, s_points.ids
    unsnapped = (_unsnapped("demand", d_ids, d_snap, limit)
                 + _unsnapped("supply", s_ids, s_snap, limit))
    d_keep, s_keep = np.flatnonzero(d_snap <= limit), np.flatnonzero(s_snap <= limit)
    pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if len(d_keep) and len(s_keep):
        pairs = network_pairs(network.core, d_pos[d_keep], d_snap[d_keep], s_pos[s_keep],
                              s_snap[s_keep], settings.cutoff_m)
        pairs = [(d_keep[d], s_keep[s], metres) for d, s, metres in pairs]
    table = _cost_table(d_ids, s_ids, pairs, settings.walk_speed_m_per_min)
    return _label(table, NETWORK_METHOD, settings, unsnapped)


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


def travel_costs(
    demand: gpd.GeoDataFrame,
    supply: gpd.GeoDataFrame,
    *,
    graph: nx.MultiDiGraph | WalkingNetwork | None = None,
    settings: TravelSettings | None = None,
    id_column: str = "id",
) -> pd.DataFrame:
    """Give the cost table: over the walking network when ``graph`` is given, else the fallback.

    The one entry point for callers: :func:`network_costs` with a graph,
    :func:`straight_line_costs` (labelled "straight line × <factor>") without. Read
    ``attrs["method"]`` (or :func:`is_fallback`) to label pages and exports.
    """
    if graph is None:
        return straight_line_costs(demand, supply, settings=settings, id_column=id_column)
    return network_costs(graph, demand, supply, settings=settings, id_column=id_column)


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
    string copies to build, and :mod:`mapping.access` reads the codes instead of hashing
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
