"""Tests for mapping.access.walk_graph: walking networks from OSM XML (offline) and from a place.

Offline only: an autouse fixture makes any socket connection fail, and the online loader is
tested with ``ox.graph_from_place`` replaced. The XML is written by hand in the tests.
"""

from __future__ import annotations

import gzip
import multiprocessing
import os
import textwrap
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import osmnx as ox
import pytest
from shapely.geometry import Point

from mapping.access import walk_graph
from mapping.access.costs import COST_METRES
from mapping.access.network import network_costs
from mapping.access.walk_graph import walking_graph_from_place, walking_graph_from_xml
from mapping.errors import DataMissingError, MappingError, ValidationError
from mapping.schema import METRIC_CRS, STORAGE_CRS
from tests.synthetic_streets import write_street_grid

# --- loading a walking network from OSM XML -------------------------------------------------

# Two crossing streets (ways 10, 11) and a footway (12) are walkable; the others are what
# osmnx's walk filter drops. Nodes are about 70 m apart along 51.6 N.
HAND_WRITTEN = textwrap.dedent("""\
    <?xml version="1.0" encoding="UTF-8"?>
    <osm version="0.6" generator="written by hand for tests">
      <node id="1" lat="51.6000" lon="-0.1010"/>
      <node id="2" lat="51.6000" lon="-0.1000"/>
      <node id="3" lat="51.6000" lon="-0.0990"/>
      <node id="4" lat="51.6006" lon="-0.1000"/>
      <node id="5" lat="51.5994" lon="-0.1000"/>
      <node id="6" lat="51.6006" lon="-0.0990"/>
      <node id="7" lat="51.5994" lon="-0.1010"/>
      <node id="8" lat="51.5994" lon="-0.0990"/>
      <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
      <way id="11"><nd ref="4"/><nd ref="2"/><nd ref="5"/><tag k="highway" v="residential"/>
        <tag k="oneway" v="yes"/></way>
      <way id="12"><nd ref="3"/><nd ref="6"/><tag k="highway" v="footway"/></way>
      <way id="20"><nd ref="5"/><nd ref="8"/><tag k="highway" v="cycleway"/></way>
      <way id="21"><nd ref="1"/><nd ref="7"/><tag k="highway" v="motorway"/></way>
      <way id="22"><nd ref="7"/><nd ref="5"/><tag k="highway" v="footway"/><tag k="foot" v="no"/></way>
      <way id="23"><nd ref="6"/><nd ref="4"/><tag k="highway" v="service"/><tag k="access" v="private"/></way>
      <way id="24"><nd ref="3"/><nd ref="8"/><tag k="building" v="yes"/></way>
      <way id="25"><nd ref="8"/><nd ref="6"/><tag k="highway" v="primary"/>
        <tag k="sidewalk" v="separate"/></way>
    </osm>
""")


@pytest.fixture
def hand_written(tmp_path: Path) -> Path:
    path = tmp_path / "hand_written.osm"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    return path


def way_ids(graph: nx.MultiDiGraph) -> set[int]:
    found: set[int] = set()
    for _, _, osmid in graph.edges(data="osmid"):
        found.update(osmid if isinstance(osmid, list) else [osmid])
    return found


def test_xml_keeps_only_the_walkable_ways_two_way_in_metres(hand_written: Path) -> None:
    names = ("use_cache", "cache_folder", "log_file", "logs_folder", "default_crs", "default_access")
    before = {name: getattr(ox.settings, name) for name in names}

    graph = walking_graph_from_xml(hand_written)

    assert {name: getattr(ox.settings, name) for name in names} == before

    assert graph.graph["crs"] == METRIC_CRS
    assert way_ids(graph) == {10, 11, 12}
    # Simplified to ends and junctions: 3 (where street 10 meets footway 12) goes too.
    assert set(graph.nodes) == {1, 2, 4, 5, 6}
    # The one-way street is walkable both ways.
    assert graph.has_edge(2, 4) and graph.has_edge(4, 2)
    table = network_costs(graph, gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(-0.1010, 51.6)],
                                                  crs=STORAGE_CRS),
                          gpd.GeoDataFrame({"id": ["b"]}, geometry=[Point(-0.0990, 51.6006)],
                                           crs=STORAGE_CRS))
    # 1 -> 2 -> 3 -> 6: about 69 + 69 + 67 m.
    assert table[COST_METRES].iloc[0] == pytest.approx(205, abs=3)


def test_xml_compressed_gives_the_same_graph(hand_written: Path, tmp_path: Path) -> None:
    packed = tmp_path / "hand_written.osm.gz"
    packed.write_bytes(gzip.compress(hand_written.read_bytes()))

    plain, unpacked = walking_graph_from_xml(hand_written), walking_graph_from_xml(packed)

    assert set(unpacked.edges) == set(plain.edges)


def test_xml_ways_cut_at_the_edge_of_the_extract_are_split(tmp_path: Path) -> None:
    # Way 30 runs 1-2-99-3-4, but node 99 is outside the extract; 31 joins the two pieces
    # so that both stay in the largest connected piece.
    path = tmp_path / "clipped.osm"
    path.write_text(textwrap.dedent("""\
        <?xml version="1.0" encoding="UTF-8"?>
        <osm version="0.6">
          <node id="1" lat="51.6000" lon="-0.1010"/>
          <node id="2" lat="51.6000" lon="-0.1000"/>
          <node id="3" lat="51.6000" lon="-0.0980"/>
          <node id="4" lat="51.6000" lon="-0.0970"/>
          <node id="5" lat="51.6010" lon="-0.0990"/>
          <way id="30"><nd ref="1"/><nd ref="2"/><nd ref="99"/><nd ref="3"/><nd ref="4"/>
            <tag k="highway" v="footway"/></way>
          <way id="31"><nd ref="2"/><nd ref="5"/><nd ref="3"/><tag k="highway" v="path"/></way>
        </osm>
    """), encoding="utf-8")

    graph = walking_graph_from_xml(path)

    # 1 -> 4 goes round by 5 (69 + 131 + 131 + 69 m), not straight across the missing node
    # (69 + 139 + 69 m); the second piece of way 30 has a made-up negative id.
    assert nx.shortest_path_length(graph, 1, 4, weight="length") == pytest.approx(400, abs=2)
    assert way_ids(graph) == {30, 31, -1}


def test_xml_graph_is_cached_as_graphml(hand_written: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "graphs"
    first = walking_graph_from_xml(hand_written, cache_dir=cache)
    files = list(cache.glob("*.graphml"))

    def no_rebuild(path: Path) -> nx.MultiDiGraph:
        raise AssertionError("rebuilt instead of reading the cache")

    with monkeypatch.context() as patch:
        patch.setattr(walk_graph, "_graph_from_filtered_xml", no_rebuild)
        second = walking_graph_from_xml(hand_written, cache_dir=cache)

    assert len(files) == 1
    assert (len(second), len(second.edges)) == (len(first), len(first.edges))
    assert second.graph["crs"] == METRIC_CRS
    # A changed file is a new key; a damaged cache file is rebuilt.
    os.utime(hand_written, ns=(1_000_000_000, 1_000_000_000))
    walking_graph_from_xml(hand_written, cache_dir=cache)
    assert len(list(cache.glob("*.graphml"))) == 2
    files[0].write_text("<graphml", encoding="utf-8")
    again = walking_graph_from_xml(hand_written, cache_dir=cache)
    assert len(again) == len(first)


def test_xml_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match="No OSM XML file"):
        walking_graph_from_xml(tmp_path / "nowhere.osm")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("this is not xml", "syntax error"),
        ("<?xml version='1.0'?><gpx></gpx>", "not OSM XML"),
        ("<?xml version='1.0'?><osm><node id='1' lat='51.6' lon='-0.1'/></osm>", "no walkable ways"),
        ("<?xml version='1.0'?><osm><way id='1'><nd ref='1'/><nd ref='2'/>"
         "<tag k='highway' v='footway'/></way></osm>", "no nodes"),
        ("<?xml version='1.0'?><osm><way id='1'><nd/><tag k='highway' v='footway'/></way></osm>",
         "not valid OSM XML"),
    ],
)
def test_xml_unreadable_names_the_file(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "broken.osm"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ValidationError, match=reason) as caught:
        walking_graph_from_xml(path)
    assert isinstance(caught.value, MappingError)
    assert caught.value.problems[0].file == str(path)


def test_place_wraps_osmnx_walk_query_and_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    cache = tmp_path / "graphs"
    folders_before = (ox.settings.cache_folder, ox.settings.logs_folder)

    def fake_graph_from_place(place: str, **kwargs: Any) -> nx.MultiDiGraph:
        calls.append({"place": place, "cache_folder": ox.settings.cache_folder, **kwargs})
        graph = nx.MultiDiGraph(crs=STORAGE_CRS)
        graph.add_node(1, x=-0.10, y=51.6)
        graph.add_node(2, x=-0.099, y=51.6)
        graph.add_edge(1, 2, length=69.0, osmid=5)
        graph.add_edge(2, 1, length=69.0, osmid=5)
        return graph

    monkeypatch.setattr(ox, "graph_from_place", fake_graph_from_place)
    first = walking_graph_from_place("Somewhere, London", cache_dir=cache)
    second = walking_graph_from_place("Somewhere, London", cache_dir=cache)

    assert len(calls) == 1
    assert calls[0]["network_type"] == "walk"
    assert Path(calls[0]["cache_folder"]).is_relative_to(cache)
    assert (ox.settings.cache_folder, ox.settings.logs_folder) == folders_before
    assert first.graph["crs"] == second.graph["crs"] == METRIC_CRS
    assert len(second.edges) == 2
    with pytest.raises(TypeError, match="str, got int"):
        walking_graph_from_place(3, cache_dir=cache)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        walking_graph_from_place("  ", cache_dir=cache)


def _build_when_all_ready(path: Path, cache: Path, ready: Any, results: Any) -> None:
    ready.wait()
    try:
        results.put(len(walking_graph_from_xml(path, cache_dir=cache)))
    except Exception as exc:  # reported to the test, which fails on it
        results.put(repr(exc))


def test_processes_building_the_same_cache_at_once_all_get_the_graph(tmp_path: Path) -> None:
    # A SYNTHETIC grid of streets, big enough that the three builds overlap.
    grid = write_street_grid(tmp_path / "grid.osm", (530_000, 180_000, 536_000, 184_000),
                             spacing_m=60.0)
    context = multiprocessing.get_context("fork")
    ready, results = context.Barrier(3), context.Queue()
    workers = [context.Process(target=_build_when_all_ready,
                               args=(grid, tmp_path / "cache", ready, results)) for _ in range(3)]
    for worker in workers:
        worker.start()
    answers = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join()

    assert len(set(answers)) == 1 and isinstance(answers[0], int) and answers[0] > 1000, answers
    assert [p.suffix for p in (tmp_path / "cache").iterdir() if p.is_file()] == [".graphml"]
