"""Tests for mapping.access.network: walking networks, snapping and cost tables.

Offline only: an autouse fixture makes any socket connection fail. Hand-made answers come from a 3×3 grid of
nodes 100 m apart; the end-to-end tests read the real OSM extract in the shared data folder
with SYNTHETIC demand and supply points (graph nodes picked with a fixed seed, moved a few
metres) and compare with networkx's own Dijkstra.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from mapping.access import costs, walk_graph
from mapping.access.costs import (
    COST_COLUMNS,
    COST_DEMAND,
    COST_METRES,
    COST_MINUTES,
    COST_SUPPLY,
    NETWORK_METHOD,
    OLDER_WALK_SPEED_M_PER_MIN,
    TravelSettings,
    UnsnappedPoint,
    fallback_label,
    is_fallback,
    straight_line_costs,
    unsnapped_frame,
)
from mapping.access.network import network_costs, prepare_network, snap_points, travel_costs
from mapping.access.walk_graph import walking_graph_from_xml
from mapping.errors import CRSError, ValidationError
from mapping.schema import METRIC_CRS, STORAGE_CRS

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = Path(os.environ.get("MAPPING_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data"))
WOOD_GREEN = DATA_DIR / "osm_fixtures" / "north_london_overpass_2026-07-26.osm"

# The grid's south-west corner, somewhere in London on the British National Grid.
X0, Y0 = 530_000.0, 180_000.0


# --- a 3×3 grid, 100 m apart: answers by hand ----------------------------------------------
#
#   7 - 8 - 9        node (row r, column c) is 3r + c + 1 at (X0 + 100c, Y0 + 100r)
#   |   |   |
#   4 - 5 - 6
#   |   |   |
#   1 - 2 - 3


def grid_graph(*, one_way: tuple[int, int] | None = None) -> nx.MultiDiGraph:
    """The grid as osmnx builds graphs: crs, x/y per node, both directions, ``length``."""
    graph = nx.MultiDiGraph(crs=METRIC_CRS)
    for r in range(3):
        for c in range(3):
            graph.add_node(3 * r + c + 1, x=X0 + 100 * c, y=Y0 + 100 * r)
    for r in range(3):
        for c in range(3):
            here = 3 * r + c + 1
            for there in ([here + 1] if c < 2 else []) + ([here + 3] if r < 2 else []):
                graph.add_edge(here, there, length=100.0)
                if (here, there) != one_way:
                    graph.add_edge(there, here, length=100.0)
    return graph


def points(coords: dict[str, tuple[float, float]], crs: str | None = METRIC_CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": list(coords)}, geometry=[Point(xy) for xy in coords.values()], crs=crs
    )


def node_xy(node: int, dx: float = 0.0, dy: float = 0.0) -> tuple[float, float]:
    r, c = divmod(node - 1, 3)
    return X0 + 100 * c + dx, Y0 + 100 * r + dy


def as_dict(table: pd.DataFrame) -> dict[tuple[Any, Any], float]:
    return {(d, s): m for d, s, m in zip(table[COST_DEMAND], table[COST_SUPPLY], table[COST_METRES],
                                         strict=True)}


def test_one_pair_by_hand_adds_the_snap_distances_at_both_ends() -> None:
    demand = points({"home": node_xy(1, dx=-10)})  # 10 m west of node 1
    supply = points({"hall": node_xy(9, dy=5)})  # 5 m north of node 9

    table = network_costs(grid_graph(), demand, supply)

    assert list(table.columns) == list(COST_COLUMNS)
    assert table[COST_DEMAND].tolist() == ["home"]
    assert table[COST_SUPPLY].tolist() == ["hall"]
    assert table[COST_METRES].iloc[0] == pytest.approx(10 + 400 + 5, abs=1e-9)
    assert table[COST_MINUTES].iloc[0] == pytest.approx(415 / 80, abs=1e-12)
    assert table.attrs["method"] == NETWORK_METHOD == "network"
    assert table.attrs["walk_speed_m_per_min"] == 80.0
    assert table.attrs["unsnapped"] == ()
    assert not is_fallback(table)


def test_every_node_to_the_centre_by_hand() -> None:
    demand = points({f"n{node}": node_xy(node) for node in range(1, 10)})
    supply = points({"centre": node_xy(5), "corner": node_xy(1)})

    table = network_costs(grid_graph(), demand, supply)

    expected_centre = {1: 200, 2: 100, 3: 200, 4: 100, 5: 0, 6: 100, 7: 200, 8: 100, 9: 200}
    expected_corner = {1: 0, 2: 100, 3: 200, 4: 100, 5: 200, 6: 300, 7: 200, 8: 300, 9: 400}
    expected = {(f"n{n}", "centre"): m for n, m in expected_centre.items()}
    expected |= {(f"n{n}", "corner"): m for n, m in expected_corner.items()}
    assert as_dict(table) == pytest.approx(expected, abs=1e-9)
    # The order is the search's, and the same every time for the same inputs.
    pd.testing.assert_frame_equal(network_costs(grid_graph(), demand, supply), table)


def test_more_sites_than_demand_points_gives_the_same_distances() -> None:
    # The search then starts from the demand side: walking is two-way, so nothing changes.
    demand = points({"home": node_xy(1, dx=-10)})
    supply = points({f"s{node}": node_xy(node, dy=2) for node in range(1, 10)})

    table = network_costs(grid_graph(), demand, supply)

    by_hand = {1: 0, 2: 100, 3: 200, 4: 100, 5: 200, 6: 300, 7: 200, 8: 300, 9: 400}
    assert as_dict(table) == pytest.approx({("home", f"s{n}"): 12.0 + m for n, m in by_hand.items()})
    assert table[COST_SUPPLY].tolist() == [f"s{n}" for n in range(1, 10)]


def test_a_prepared_network_gives_the_same_table() -> None:
    graph = grid_graph()
    demand = points({f"n{node}": node_xy(node, dx=3) for node in range(1, 10)})
    supply = points({"s": node_xy(5, dy=-4)})

    pd.testing.assert_frame_equal(
        network_costs(prepare_network(graph), demand, supply), network_costs(graph, demand, supply)
    )


def test_walking_is_two_way_and_the_shortest_parallel_edge_counts() -> None:
    graph = grid_graph(one_way=(1, 2))  # 1 -> 2 only
    graph.add_edge(2, 1, length=300.0)  # a longer, parallel way back
    demand = points({"at1": node_xy(1)})
    supply = points({"at2": node_xy(2)})

    table = network_costs(graph, demand, supply)

    assert as_dict(table) == {("at1", "at2"): pytest.approx(100.0)}


def test_the_cut_off_leaves_out_far_pairs_and_keeps_the_boundary() -> None:
    demand = points({f"n{node}": node_xy(node) for node in range(1, 10)})
    supply = points({"centre": node_xy(5)})

    # 2 min at 80 m/min = 160 m: the centre and its four neighbours, not the corners.
    near = network_costs(grid_graph(), demand, supply, settings=TravelSettings(cutoff_min=2.0))
    # 1.25 min at 80 m/min = exactly 100 m: the boundary is kept.
    edge = network_costs(grid_graph(), demand, supply, settings=TravelSettings(cutoff_min=1.25))

    assert sorted(near[COST_DEMAND]) == ["n2", "n4", "n5", "n6", "n8"]
    assert sorted(edge[COST_DEMAND]) == ["n2", "n4", "n5", "n6", "n8"]
    assert near.attrs["cutoff_m"] == 160.0


def test_the_cut_off_counts_the_snap_distances() -> None:
    demand = points({"home": node_xy(1, dx=-10)})
    supply = points({"hall": node_xy(2)})

    # 110 m in all: out at 109 m (1.3625 min), in at 110 m (1.375 min).
    assert len(network_costs(grid_graph(), demand, supply, settings=TravelSettings(cutoff_min=1.3625))) == 0
    assert len(network_costs(grid_graph(), demand, supply, settings=TravelSettings(cutoff_min=1.375))) == 1


def test_walking_speed_turns_metres_into_minutes_and_sets_the_reach() -> None:
    demand = points({f"n{node}": node_xy(node) for node in range(1, 10)})
    supply = points({"centre": node_xy(5)})
    older = TravelSettings(walk_speed_m_per_min=OLDER_WALK_SPEED_M_PER_MIN, cutoff_min=2.5)

    at_80 = network_costs(grid_graph(), demand, supply, settings=TravelSettings(cutoff_min=2.5))
    at_70 = network_costs(grid_graph(), demand, supply, settings=older)

    assert OLDER_WALK_SPEED_M_PER_MIN == 70.0
    assert len(at_80) == 9  # 2.5 min × 80 = 200 m reaches the corners
    assert len(at_70) == 5  # 2.5 min × 70 = 175 m does not
    assert at_70.attrs["walk_speed_m_per_min"] == 70.0
    row = at_70.set_index(COST_DEMAND).loc["n2"]
    assert row[COST_MINUTES] == pytest.approx(100 / 70)
    assert at_80.set_index(COST_DEMAND).loc["n9", COST_MINUTES] == pytest.approx(200 / 80)


def test_snap_points_reports_points_beyond_the_limit() -> None:
    pts = points({"on": node_xy(5, dx=3, dy=4), "edge": node_xy(3, dx=250), "far": node_xy(3, dx=300)})

    snapped = snap_points(grid_graph(), pts, max_snap_m=250.0)

    assert snapped.nodes.tolist() == [5, 3, 3]
    assert snapped.snap_m == pytest.approx([5.0, 250.0, 300.0])
    assert snapped.too_far.to_dict("list") == {"id": ["far"], "snap_m": [pytest.approx(300.0)]}


def test_points_too_far_from_the_network_are_left_out_and_listed() -> None:
    demand = points({"near": node_xy(1), "lost": node_xy(1, dx=-400)})
    supply = points({"hall": node_xy(2), "barge": node_xy(9, dy=260)})

    table = network_costs(grid_graph(), demand, supply)

    assert as_dict(table) == {("near", "hall"): pytest.approx(100.0)}
    assert table.attrs["unsnapped"] == (
        UnsnappedPoint("demand", "lost", pytest.approx(400.0)),
        UnsnappedPoint("supply", "barge", pytest.approx(260.0)),
    )
    report = unsnapped_frame(table)
    assert report.to_dict("list") == {
        "role": ["demand", "supply"], "id": ["lost", "barge"], "snap_m": [400.0, 260.0],
    }


def test_cost_table_attrs_survive_concat_and_merge() -> None:
    # pandas compares attrs in concat and merge: a DataFrame in attrs would raise there.
    demand = points({"lost": node_xy(1, dx=-400), "near": node_xy(1)})
    supply = points({"hall": node_xy(2)})
    table = network_costs(grid_graph(), demand, supply)

    both = pd.concat([table, table])
    merged = table.merge(table, on=[COST_DEMAND, COST_SUPPLY])

    assert both.attrs["unsnapped"] == table.attrs["unsnapped"]
    assert merged.attrs["method"] == "network"


def test_points_in_lon_lat_are_measured_in_metres() -> None:
    demand = points({"home": node_xy(1, dx=-10)}).to_crs(STORAGE_CRS)
    supply = points({"hall": node_xy(9, dy=5)}).to_crs(STORAGE_CRS)

    table = network_costs(grid_graph(), demand, supply)

    # Up to the millimetre round-off of pyproj's WGS84 <-> OSGB36 step.
    assert table[COST_METRES].iloc[0] == pytest.approx(415.0, abs=0.01)


def test_crs_is_checked_at_the_boundary() -> None:
    supply = points({"hall": node_xy(2)})
    no_crs_graph = grid_graph()
    del no_crs_graph.graph["crs"]
    lonlat_graph = grid_graph()
    lonlat_graph.graph["crs"] = STORAGE_CRS

    with pytest.raises(CRSError, match="demand has no coordinate reference system"):
        network_costs(grid_graph(), points({"a": node_xy(1)}, crs=None), supply)
    with pytest.raises(CRSError, match="points has no"):
        snap_points(grid_graph(), points({"a": node_xy(1)}, crs=None), max_snap_m=10)
    with pytest.raises(CRSError, match="no 'crs'"):
        network_costs(no_crs_graph, supply, supply)
    with pytest.raises(CRSError, match="not EPSG:27700"):
        network_costs(lonlat_graph, supply, supply)
    with pytest.raises(CRSError):
        straight_line_costs(points({"a": node_xy(1)}, crs=None), supply)
    with pytest.raises(TypeError, match="GeoDataFrame, got DataFrame"):
        network_costs(grid_graph(), pd.DataFrame({"id": ["a"]}), supply)
    with pytest.raises(TypeError, match="networkx graph, got dict"):
        network_costs({}, supply, supply)  # type: ignore[arg-type]


def test_bad_points_report_every_problem_at_once() -> None:
    frame = gpd.GeoDataFrame(
        {"id": ["a", "a", None]},
        geometry=[Point(node_xy(1)), box(X0, Y0, X0 + 10, Y0 + 10), Point(node_xy(2))],
        crs=METRIC_CRS,
    )

    with pytest.raises(ValidationError) as caught:
        network_costs(grid_graph(), frame, points({"s": node_xy(5)}))
    reasons = [(p.row, p.field) for p in caught.value.problems]
    assert reasons == [(2, "id"), (2, "geometry"), (3, "id")]
    with pytest.raises(ValidationError, match="no id column 'code'"):
        straight_line_costs(frame, frame, id_column="code")


def test_edges_without_a_length_are_refused() -> None:
    graph = grid_graph()
    graph.add_edge(1, 5)

    with pytest.raises(ValidationError, match="1 edge"):
        prepare_network(graph)


def test_ids_keep_their_dtype() -> None:
    demand = gpd.GeoDataFrame({"code": [101, 102]}, geometry=[Point(node_xy(1)), Point(node_xy(3))],
                              crs=METRIC_CRS)
    supply = gpd.GeoDataFrame({"code": ["x"]}, geometry=[Point(node_xy(2))], crs=METRIC_CRS)

    for table in (network_costs(grid_graph(), demand, supply, id_column="code"),
                  straight_line_costs(demand, supply, id_column="code")):
        assert table[COST_DEMAND].tolist() == [101, 102]
        assert table[COST_DEMAND].cat.categories.dtype == demand["code"].dtype
        assert table[COST_SUPPLY].cat.categories.dtype == supply["code"].dtype
        assert table[COST_DEMAND].cat.categories.tolist() == [101, 102]  # every input id
        assert (table[COST_DEMAND] == 101).tolist() == [True, False]


def test_empty_inputs_give_an_empty_labelled_table() -> None:
    empty = points({})
    supply = points({"s": node_xy(5)})

    for table in (network_costs(grid_graph(), empty, supply), straight_line_costs(supply, empty)):
        assert list(table.columns) == list(COST_COLUMNS)
        assert len(table) == 0
        assert table[COST_METRES].dtype == "float64"
        assert "method" in table.attrs


# --- the straight-line fallback ---------------------------------------------------------


def test_fallback_label_names_the_factor() -> None:
    assert fallback_label(1.3) == "straight line × 1.3"
    assert fallback_label(1.25) == "straight line × 1.25"
    assert fallback_label(2.0) == "straight line × 2"


def test_straight_line_costs_multiply_by_the_circuity_factor() -> None:
    demand = points({"home": (X0, Y0), "away": (X0 + 3000, Y0)})
    supply = points({"hall": (X0 + 300, Y0 + 400)})  # 500 m in a straight line from home

    table = straight_line_costs(demand, supply)
    wider = straight_line_costs(demand, supply, settings=TravelSettings(circuity_factor=1.5))

    assert as_dict(table) == {("home", "hall"): pytest.approx(650.0)}
    assert table[COST_MINUTES].iloc[0] == pytest.approx(650 / 80)
    assert table.attrs["method"] == "straight line × 1.3"
    assert table.attrs["unsnapped"] == ()
    assert is_fallback(table)
    assert as_dict(wider) == {("home", "hall"): pytest.approx(750.0)}
    assert wider.attrs["method"] == "straight line × 1.5"


def test_straight_line_cut_off_applies_after_the_circuity_factor() -> None:
    demand = points({"home": (X0, Y0)})
    supply = points({"hall": (X0 + 300, Y0 + 400)})  # 650 m after × 1.3

    # 8 min × 80 = 640 m < 650 m; 8.125 min × 80 = 650 m exactly.
    assert len(straight_line_costs(demand, supply, settings=TravelSettings(cutoff_min=8.0))) == 0
    assert len(straight_line_costs(demand, supply, settings=TravelSettings(cutoff_min=8.125))) == 1


def test_a_point_on_a_site_is_zero_metres_away() -> None:
    here = points({"p": (X0, Y0)})

    assert as_dict(straight_line_costs(here, here)) == {("p", "p"): 0.0}
    assert as_dict(network_costs(grid_graph(), here, here)) == {("p", "p"): 0.0}


def test_travel_costs_uses_the_network_only_when_there_is_one() -> None:
    demand = points({"home": node_xy(1)})
    supply = points({"hall": node_xy(9)})

    with_graph = travel_costs(demand, supply, graph=grid_graph())
    without = travel_costs(demand, supply, settings=TravelSettings(circuity_factor=1.2))

    assert with_graph.attrs["method"] == "network"
    assert with_graph[COST_METRES].iloc[0] == pytest.approx(400.0)
    assert without.attrs["method"] == "straight line × 1.2"
    assert without[COST_METRES].iloc[0] == pytest.approx(200 * np.sqrt(2) * 1.2)


# --- settings ---------------------------------------------------------------------------------


def test_travel_settings_defaults() -> None:
    settings = TravelSettings()

    assert (settings.walk_speed_m_per_min, settings.max_snap_m, settings.circuity_factor,
            settings.cutoff_min) == (80.0, 250.0, 1.3, 15.0)
    assert settings.cutoff_m == 1200.0


def test_travel_settings_report_every_bad_value() -> None:
    with pytest.raises(ValidationError) as caught:
        TravelSettings(walk_speed_m_per_min=0, max_snap_m=-1, circuity_factor=0.9,
                       cutoff_min=float("nan"))

    assert [p.field for p in caught.value.problems] == [
        "walk_speed_m_per_min", "max_snap_m", "circuity_factor", "cutoff_min",
    ]


def test_every_travel_setting_has_one_line_of_help() -> None:
    tree = ast.parse(Path(costs.__file__).read_text(encoding="utf-8"))
    body = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)
                and n.name == "TravelSettings").body
    fields = [n.target.id for n in body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]
    documented = [
        here.target.id for here, after in zip(body, body[1:], strict=False)
        if isinstance(here, ast.AnnAssign) and isinstance(here.target, ast.Name)
        and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
    ]
    assert fields == documented == ["walk_speed_m_per_min", "max_snap_m", "circuity_factor",
                                    "cutoff_min"]


# --- end to end on the real OSM extract, SYNTHETIC points ------------------------------------


@pytest.fixture(scope="module")
def wood_green() -> Path:
    if not WOOD_GREEN.is_file():
        pytest.skip(f"real OSM extract not found at {WOOD_GREEN} (set MAPPING_DATA_DIR)")
    return WOOD_GREEN


@pytest.fixture(scope="module")
def real_graph(wood_green: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[nx.MultiDiGraph, Path]:
    cache = tmp_path_factory.mktemp("graph_cache")
    return walking_graph_from_xml(wood_green, cache_dir=cache), cache


def synthetic_points(graph: nx.MultiDiGraph, count: int, *, prefix: str, seed: int) -> gpd.GeoDataFrame:
    """SYNTHETIC points: graph nodes picked with a fixed seed, each moved 3 m in some direction."""
    rng = np.random.default_rng(seed)
    nodes = np.array(sorted(graph.nodes))
    picked = rng.choice(nodes, size=count, replace=False)
    angle = rng.uniform(0, 2 * np.pi, size=count)
    x = np.array([graph.nodes[n]["x"] for n in picked]) + 3 * np.cos(angle)
    y = np.array([graph.nodes[n]["y"] for n in picked]) + 3 * np.sin(angle)
    return gpd.GeoDataFrame({"id": [f"synthetic-{prefix}-{i}" for i in range(count)]},
                            geometry=gpd.points_from_xy(x, y), crs=METRIC_CRS)


def test_real_extract_distances_equal_networkx_dijkstra(real_graph: tuple[nx.MultiDiGraph, Path]) -> None:
    graph, _ = real_graph
    demand = synthetic_points(graph, 40, prefix="demand", seed=7)
    supply = synthetic_points(graph, 5, prefix="site", seed=11)
    settings = TravelSettings(cutoff_min=40.0)  # 3.2 km: most pairs in a 4 km-wide extract

    table = network_costs(graph, demand, supply, settings=settings)
    d_snap = snap_points(graph, demand, max_snap_m=settings.max_snap_m)
    s_snap = snap_points(graph, supply, max_snap_m=settings.max_snap_m)

    assert graph.graph["crs"] == METRIC_CRS
    assert len(graph) > 1000
    assert (d_snap.snap_m <= 3 + 1e-6).all() and (s_snap.snap_m <= 3 + 1e-6).all()
    expected: dict[tuple[str, str], float] = {}
    for j, site in enumerate(supply["id"]):
        lengths = nx.single_source_dijkstra_path_length(graph, s_snap.nodes[j], weight="length")
        for i, home in enumerate(demand["id"]):
            if d_snap.nodes[i] in lengths:
                total = lengths[d_snap.nodes[i]] + d_snap.snap_m[i] + s_snap.snap_m[j]
                if total <= settings.cutoff_m:
                    expected[(home, site)] = total
    found = as_dict(table)
    assert len(expected) > 100
    assert found.keys() == expected.keys()
    assert max(abs(found[k] - expected[k]) for k in expected) < 1e-6


def test_real_extract_graphml_cache_round_trips(
    real_graph: tuple[nx.MultiDiGraph, Path], wood_green: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    graph, cache = real_graph
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # osmnx's cache and log folders are relative to the cwd
    monkeypatch.setattr(walk_graph, "_graph_from_filtered_xml", lambda path: pytest.fail("rebuilt"))

    cached = walking_graph_from_xml(wood_green, cache_dir=cache)

    assert (len(cached), len(cached.edges)) == (len(graph), len(graph.edges))
    assert cached.graph["crs"] == METRIC_CRS
    demand = synthetic_points(graph, 30, prefix="demand", seed=3)
    supply = synthetic_points(graph, 4, prefix="site", seed=4)
    pd.testing.assert_frame_equal(network_costs(cached, demand, supply),
                                  network_costs(graph, demand, supply))
    assert list(work.iterdir()) == []
