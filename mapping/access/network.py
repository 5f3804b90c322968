"""Travel costs: walking distances and times between demand points and supply sites.

The walking network comes from :mod:`mapping.access.walk_graph` (OpenStreetMap through osmnx,
cached as GraphML); :func:`prepare_network` makes it ready for queries. Three pure
functions turn points into a *cost table*:

- :func:`network_costs` snaps points to the network and runs one bounded, multi-source
  Dijkstra from the supply sites (``scipy.sparse.csgraph``);
- :func:`mapping.access.costs.straight_line_costs` is the fallback when there is no
  network: straight-line distance × a circuity factor, always labelled so;
- :func:`travel_costs` is the one entry point: the network when a graph is given, else the
  fallback.

The cost table each gives, and the straight-line fallback, are described in
:mod:`mapping.access.costs`.

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
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, NamedTuple

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
from scipy.sparse import csr_array
from scipy.spatial import cKDTree

from mapping.access._search import Core, core_of, network_pairs
from mapping.access.costs import (
    _METRIC,
    NETWORK_METHOD,
    SNAP_ID,
    SNAP_M,
    TravelSettings,
    _cost_table,
    _label,
    _point_xy,
    _unsnapped,
    straight_line_costs,
)
from mapping.errors import CRSError, Problem, ValidationError
from mapping.schema import METRIC_CRS


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
    """The junctions the search runs on, their chains and dead-end trees (:mod:`mapping.access._search`)."""


def prepare_network(graph: nx.MultiDiGraph) -> WalkingNetwork:
    """Give the graph as node coordinates, a k-d tree, a sparse adjacency matrix and its junctions.

    Converting the graph costs more than a query on it, so a caller that asks for many
    cost tables on one network (the web app, a benchmark) prepares it once and passes the
    result wherever a graph is accepted. Each edge is entered in both directions, and of
    parallel edges the shortest is kept (``nx.to_scipy_sparse_array`` would add them up).
    Self-loops are dropped. The junctions, chains and dead-end trees the search uses are
    found here too (:func:`mapping.access._search.core_of`).

    Parameters
    ----------
    graph
        A walking network in EPSG:27700: nodes with ``x``/``y``, edges with ``length`` in
        metres (:func:`mapping.access.walk_graph.walking_graph_from_xml`).

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
    once, when the network is prepared (:mod:`mapping.access._search`), with the same
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


