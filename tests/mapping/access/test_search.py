"""Tests for mapping.access._search: the search on the network's core and its hanging trees.

Hand-made answers on a square with a tree hanging off one corner; random graphs (SYNTHETIC:
random trees, extra edges and lengths from a fixed seed) checked pair by pair against
networkx's own Dijkstra through the public :func:`mapping.access.network.network_costs`.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from scipy.sparse import csr_array

from mapping.access import _search
from mapping.access._search import core_of
from mapping.access.costs import COST_DEMAND, COST_METRES, COST_SUPPLY, TravelSettings
from mapping.access.network import network_costs, prepare_network, snap_points
from mapping.schema import METRIC_CRS

X0, Y0 = 530_000.0, 180_000.0


def graph_of(edges: list[tuple[int, int, float]], nodes: int) -> nx.MultiDiGraph:
    """A walking graph as osmnx builds them (both directions, ``length``); nodes on a line."""
    graph = nx.MultiDiGraph(crs=METRIC_CRS)
    for n in range(nodes):
        graph.add_node(n, x=X0 + 1000.0 * n, y=Y0)
    for u, v, length in edges:
        graph.add_edge(u, v, length=length)
        graph.add_edge(v, u, length=length)
    return graph


def points_at(graph: nx.MultiDiGraph, nodes: list[int], prefix: str,
              north_m: dict[int, float] | None = None) -> gpd.GeoDataFrame:
    """Points on the given nodes, or ``north_m[node]`` metres north of them."""
    north_m = north_m or {}
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{n}" for n in nodes]},
        geometry=gpd.points_from_xy([graph.nodes[n]["x"] for n in nodes],
                                    [graph.nodes[n]["y"] + north_m.get(n, 0.0) for n in nodes]),
        crs=METRIC_CRS,
    )


def table_of(graph: nx.MultiDiGraph, demand: list[int], supply: list[int], cutoff_m: float,
             north_m: dict[int, float] | None = None) -> dict[tuple[str, str], float]:
    # 1 m a minute: the cut-off in metres is exactly the one given.
    settings = TravelSettings(cutoff_min=cutoff_m, walk_speed_m_per_min=1.0, max_snap_m=50.0)
    table = network_costs(graph, points_at(graph, demand, "d", north_m),
                          points_at(graph, supply, "s", north_m), settings=settings)
    return {(d, s): m for d, s, m in zip(table[COST_DEMAND], table[COST_SUPPLY],
                                         table[COST_METRES], strict=True)}


def networkx_table(graph: nx.MultiDiGraph, demand: list[int], supply: list[int], cutoff_m: float,
                   north_m: dict[int, float] | None = None) -> dict[tuple[str, str], float]:
    """The same pairs by networkx's Dijkstra: path + the two snap distances, within the cut-off."""
    d_snap = snap_points(graph, points_at(graph, demand, "d", north_m), max_snap_m=50.0).snap_m
    s_snap = snap_points(graph, points_at(graph, supply, "s", north_m), max_snap_m=50.0).snap_m
    expected = {}
    for s, s_off in zip(supply, s_snap, strict=True):
        lengths = nx.single_source_dijkstra_path_length(graph, s, cutoff=cutoff_m, weight="length")
        for d, d_off in zip(demand, d_snap, strict=True):
            if d in lengths and lengths[d] + d_off + s_off <= cutoff_m:
                expected[(f"d{d}", f"s{s}")] = lengths[d] + d_off + s_off
    return expected


# A 100 m square 0-1-2-3 with a tree off corner 0: 0-4 (50 m), 4-5 (30 m), 4-6 (40 m),
# 6-7 (10 m); and a second branch off 0: 0-8 (20 m).
SQUARE_AND_TREE = [(0, 1, 100.0), (1, 2, 100.0), (2, 3, 100.0), (3, 0, 100.0),
                   (0, 4, 50.0), (4, 5, 30.0), (4, 6, 40.0), (6, 7, 10.0), (0, 8, 20.0)]


def test_the_core_is_the_square_and_the_tree_hangs_from_its_corner() -> None:
    network = prepare_network(graph_of(SQUARE_AND_TREE, 9))
    core = network.core
    square = [network.node_ids.get_loc(n) for n in (0, 1, 2, 3)]
    at = {n: network.node_ids.get_loc(n) for n in range(9)}

    assert len(core.chain) == 4  # the square is the core, a cycle with no junction:
    assert (core.chain == -1).sum() == 1  # one node stands for one
    assert sorted(core.root[square]) == [0, 1, 2, 3]
    assert {int(core.root[at[n]]) for n in (4, 5, 6, 7, 8)} == {int(core.root[at[0]])}
    assert [float(core.to_root[at[n]]) for n in (0, 4, 5, 6, 7, 8)] == [0.0, 50.0, 80.0, 90.0, 100.0, 20.0]
    assert [int(core.depth[at[n]]) for n in (0, 4, 5, 6, 7, 8)] == [0, 1, 2, 2, 3, 1]
    assert core.parent[at[7]] == at[6] and core.parent[at[0]] == -1


# Junctions 0 and 1 joined three ways: 0-2-3-1 (10 m each), 0-4-1 (20 m, 50 m) and 0-1
# (100 m); a loop 0-5-6-0 (5 m each); a dead end 3-7 (15 m).
THETA = [(0, 2, 10.0), (2, 3, 10.0), (3, 1, 10.0), (0, 4, 20.0), (4, 1, 50.0), (0, 1, 100.0),
         (0, 5, 5.0), (5, 6, 5.0), (6, 0, 5.0), (3, 7, 15.0)]


def test_chains_between_junctions_are_searched_as_their_shortest_edge() -> None:
    network = prepare_network(graph_of(THETA, 8))
    core = network.core
    at = {n: int(core.root[network.node_ids.get_loc(n)]) for n in range(7)}

    search = core.adjacency.toarray()
    assert search.shape == (7, 7)
    assert core.chain[at[0]] == -1 and core.chain[at[1]] == -1 and (core.chain == -1).sum() == 2
    assert search[at[0], at[1]] == search[at[1], at[0]] == 30.0  # the shortest of three ways
    assert search[at[3]].tolist() == [{at[0]: 20.0, at[1]: 10.0}.get(i, 0.0) for i in range(7)]
    assert search[at[5]].tolist() == [{at[0]: 5.0}.get(i, 0.0) for i in range(7)]  # the loop
    assert not search[:, [at[n] for n in (2, 3, 4, 5, 6)]].any()  # nothing leads into a chain
    assert core.chain[at[2]] == core.chain[at[3]] != core.chain[at[4]]
    assert sorted(core.to_ends[at[3]].tolist()) == [10.0, 20.0]
    assert sorted(core.to_ends[at[5]].tolist()) == [5.0, 10.0]
    assert core.ends[at[5]].tolist() == [core.ends[at[0]][0]] * 2  # the loop's ends: junction 0


def test_points_on_chains_reach_each_other_along_them_or_through_their_ends() -> None:
    found = table_of(graph_of(THETA, 8), [2, 3, 4, 5, 6, 7, 1], [2, 4, 5, 7], cutoff_m=1000.0)

    assert found[("d3", "s2")] == 10.0  # along their chain
    assert found[("d2", "s4")] == 30.0  # through junction 0
    assert found[("d3", "s4")] == 40.0  # through junction 0, not 1 (10 + 50)
    assert found[("d6", "s5")] == 5.0  # along the loop, not round through 0
    assert found[("d1", "s5")] == 35.0  # out of the loop, then the 30 m chain
    assert found[("d7", "s2")] == 25.0  # the dead end hangs off the chain
    assert found[("d7", "s7")] == 0.0 and found[("d2", "s2")] == 0.0


def test_two_points_in_one_tree_meet_where_their_branches_part() -> None:
    graph = graph_of(SQUARE_AND_TREE, 9)
    core = prepare_network(graph).core
    nodes = prepare_network(graph).node_ids

    meet = core.meeting_points(nodes.get_indexer([5, 7, 5, 8, 4]), nodes.get_indexer([7, 5, 4, 7, 4]))

    assert nodes[meet].tolist() == [4, 4, 4, 0, 4]
    found = table_of(graph, [5, 7, 8, 2], [7, 5], cutoff_m=1000.0)
    assert found[("d5", "s7")] == pytest.approx(30 + 40 + 10)  # via 4, not via the corner
    assert found[("d7", "s7")] == 0.0
    assert found[("d8", "s7")] == pytest.approx(20 + 50 + 40 + 10)  # other branch: via 0
    assert found[("d2", "s5")] == pytest.approx(200 + 50 + 30)  # from the core into the tree


def test_pairs_within_one_tree_keep_to_the_cut_off_after_the_correction() -> None:
    graph = graph_of(SQUARE_AND_TREE, 9)

    # 5 and 7 are 80 m apart in the tree but 180 m apart by way of the corner.
    assert table_of(graph, [5], [7], cutoff_m=80.0) == {("d5", "s7"): pytest.approx(80.0)}
    assert table_of(graph, [5], [7], cutoff_m=79.0) == {}


def test_a_tree_on_its_own_and_a_lone_node_keep_one_node_as_their_core() -> None:
    # 0-1-2 a path (a tree with no cycle), 3 alone, 4-5-6-4 a triangle.
    edges = [(0, 1, 10.0), (1, 2, 15.0), (4, 5, 5.0), (5, 6, 5.0), (6, 4, 5.0)]
    graph = graph_of(edges, 7)
    core = prepare_network(graph).core

    assert len(core.chain) == 5  # the core: one node of the path, the lone node, the triangle
    assert (core.chain == -1).sum() == 3  # junctions: in the triangle, one node stands for one
    assert table_of(graph, [0, 2, 3, 4], [0, 2, 3, 6], cutoff_m=1000.0) == {
        ("d0", "s0"): 0.0, ("d0", "s2"): 25.0, ("d2", "s0"): 25.0, ("d2", "s2"): 0.0,
        ("d3", "s3"): 0.0, ("d4", "s6"): 5.0,
    }


def test_core_of_an_empty_network_is_empty() -> None:
    core = core_of(csr_array((0, 0)))

    assert core.adjacency.shape == (0, 0) and len(core.root) == 0


@pytest.mark.parametrize("seed", range(12))
def test_random_networks_with_trees_give_networkx_distances(seed: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """SYNTHETIC graphs: a random tree and extra edges, a separate tree and cycle, chains."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 80))
    edges = [(i, int(rng.integers(0, i)), float(rng.uniform(5, 120))) for i in range(1, n)]
    for _ in range(int(rng.integers(0, n // 3))):
        u, v = (int(x) for x in rng.choice(n, size=2, replace=False))
        edges.append((u, v, float(rng.uniform(5, 120))))
    extra = int(rng.integers(2, 8))  # a component that is a tree, and a lone node after it
    edges += [(n + i, n + int(rng.integers(0, i)), float(rng.uniform(5, 120))) for i in range(1, extra)]
    size = n + extra + 1
    ring = int(rng.integers(3, 7))  # a cycle with no junction
    edges += [(size + i, size + (i + 1) % ring, float(rng.uniform(5, 120))) for i in range(ring)]
    size += ring
    chains = []  # some edges become chains of up to three more nodes
    for u, v, length in edges:
        inner = int(rng.integers(0, 4)) if rng.random() < 0.4 else 0
        path = [u, *range(size, size + inner), v]
        size += inner
        chains += [(a, b, length / (inner + 1)) for a, b in zip(path, path[1:], strict=False)]
    graph = graph_of(chains, size)
    everyone = list(range(size))
    demand = [int(x) for x in rng.choice(everyone, size=len(everyone) // 2, replace=False)]
    supply = [int(x) for x in rng.choice(everyone, size=max(2, len(everyone) // 6), replace=False)]
    cutoff = float(rng.uniform(20, 600))
    # Half the seeds put the points up to 30 m off their nodes; half search one root at a time.
    north = {v: float(rng.uniform(0, 30)) for v in everyone} if seed % 2 else None
    if seed % 3 == 0:
        monkeypatch.setattr(_search, "_CHUNK_CELLS", 1)

    found = table_of(graph, demand, supply, cutoff, north)
    expected = networkx_table(graph, demand, supply, cutoff, north)

    assert found.keys() == expected.keys()
    assert max((abs(found[k] - expected[k]) for k in expected), default=0.0) < 1e-9
    # The other way round (fewer demand points than sites) searches from the demand side.
    flipped = table_of(graph, supply, demand, cutoff, north)
    assert {(f"d{b[1:]}", f"s{a[1:]}"): m for (a, b), m in flipped.items()} == pytest.approx(expected)


@pytest.mark.parametrize(("edges", "demand", "supply", "cutoff"), [
    # Along a chain of a square: 66.2 m, summed from the chain's end as 66.20000000000005.
    ([(0, 1, 209.6), (1, 2, 380.7), (2, 3, 66.2), (3, 0, 380.0)], 2, 3, 66.2),
    # Within a tree off a triangle: 297.8 m, 297.80000000000007 from the root.
    ([(0, 1, 10.0), (1, 2, 10.0), (2, 0, 10.0), (0, 3, 177.9), (3, 4, 238.9), (4, 5, 297.8)],
     4, 5, 297.8),
])
def test_a_pair_exactly_at_the_cut_off_is_kept_at_it(edges: list[tuple[int, int, float]],
                                                     demand: int, supply: int, cutoff: float) -> None:
    graph = graph_of(edges, 1 + max(max(u, v) for u, v, _ in edges))

    assert table_of(graph, [demand], [supply], cutoff) == {(f"d{demand}", f"s{supply}"): cutoff}
    assert table_of(graph, [demand], [supply], cutoff - 1e-5) == {}
