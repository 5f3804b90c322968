"""Walking networks from OpenStreetMap: osmnx graphs in EPSG:27700, cached as GraphML.

Two loaders build a walking network with osmnx and hand it to one core
(:func:`_walking_graph`), which projects it to EPSG:27700 and caches it as GraphML:

- :func:`walking_graph_from_xml` reads a local ``.osm`` file (offline);
- :func:`walking_graph_from_place` queries Overpass for a named place (online).

:mod:`mapping.access.network` turns a graph into travel costs.

References
----------
Boeing, G. (2025). Modeling and Analyzing Urban Networks and Amenities with OSMnx.
*Geographical Analysis*, 57(4), 567-577. https://doi.org/10.1111/gean.70009
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final
from xml.etree.ElementTree import Element, ParseError, iterparse
from xml.sax import SAXException
from xml.sax.saxutils import quoteattr

import networkx as nx
import osmnx as ox
from osmnx import _overpass

from mapping.errors import DataMissingError, Problem, ValidationError
from mapping.osm_files import open_osm_file
from mapping.schema import METRIC_CRS

# Bump when the way the cached graph is built changes: old cache files are then ignored.
_CACHE_FORMAT: Final = "1"
_OSMNX_FILES_LOCK = threading.Lock()


def walking_graph_from_xml(path: Path, *, cache_dir: Path | None = None) -> nx.MultiDiGraph:
    """Give the walking network in a local OSM XML file, projected to EPSG:27700.

    Offline. The file's ways are first filtered with osmnx's own ``network_type="walk"``
    Overpass filter (``["highway"]``, not ``area=yes``, not ``access=private``, no
    motorways, cycleways, ``foot=no``, separately mapped sidewalks, ...), re-implemented
    over the XML tags because ``osmnx.graph_from_xml`` keeps every way in the file
    (buildings and railways included). The filtered XML goes to a temporary file, which
    ``ox.graph_from_xml(bidirectional=True, simplify=True, retain_all=False)`` reads: two-way
    like osmnx's walk networks, simplified to intersections and dead ends, largest
    connected piece only. Ways cut at the edge of an extract are split at the missing
    nodes; pieces after the first get negative ids (OSM's "not a real id").

    Parameters
    ----------
    path
        The ``.osm`` XML file (plain, ``.gz`` or ``.bz2``).
    cache_dir
        Folder for the GraphML cache; ``None`` means no cache. A cache file is keyed by the
        file's name, size and modification time, the walk filter and the osmnx version.

    Returns
    -------
    networkx.MultiDiGraph
        An osmnx graph: graph attribute ``crs`` = EPSG:27700, nodes with ``x``/``y`` in
        metres, edges with ``length`` in metres.

    Raises
    ------
    DataMissingError
        If ``path`` is not a file.
    ValidationError
        If the file is not readable OSM XML or has no walkable ways (names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"No OSM XML file at {path}")
    stat = path.stat()
    key = f"xml|{path.name}|{stat.st_size}|{stat.st_mtime_ns}"
    return _walking_graph(lambda: _graph_from_filtered_xml(path), key=key, name=path.stem,
                          cache_dir=cache_dir)


def walking_graph_from_place(place: str, *, cache_dir: Path) -> nx.MultiDiGraph:
    """Give the walking network of a named place from Overpass, projected to EPSG:27700.

    Online: wraps ``ox.graph_from_place(place, network_type="walk")``. The result is cached
    as GraphML in ``cache_dir`` keyed by the place name, so later runs need no network;
    delete the file to fetch fresh data. While it runs, osmnx's HTTP cache and log folders
    point inside ``cache_dir`` (they default to ``./cache`` and ``./logs`` under the working
    directory) and are restored after.

    Parameters
    ----------
    place
        A place Nominatim knows with a boundary, e.g. ``"London Borough of Newham, London"``.
    cache_dir
        Folder for the GraphML cache and osmnx's HTTP cache.

    Returns
    -------
    networkx.MultiDiGraph
        As :func:`walking_graph_from_xml`.

    Raises
    ------
    TypeError, ValueError
        If ``place`` is not a non-empty string.

    Notes
    -----
    Network and geocoding errors from osmnx are not wrapped.
    """
    if not isinstance(place, str):
        raise TypeError(f"place must be a str, got {type(place).__name__}")
    if not place.strip():
        raise ValueError("place must not be empty")
    slug = re.sub(r"[^A-Za-z0-9]+", "_", place).strip("_")[:40] or "place"

    def fetch() -> nx.MultiDiGraph:
        with _osmnx_files_in(Path(cache_dir)):
            return ox.graph_from_place(place, network_type="walk", simplify=True, retain_all=False)

    return _walking_graph(fetch, key=f"place|{place}", name=slug, cache_dir=cache_dir)


def _walking_graph(
    build: Callable[[], nx.MultiDiGraph], *, key: str, name: str, cache_dir: Path | None
) -> nx.MultiDiGraph:
    """Give ``build()`` projected to EPSG:27700, through the GraphML cache when there is one."""
    if cache_dir is None:
        return ox.project_graph(build(), to_crs=METRIC_CRS)
    cache_dir = Path(cache_dir)
    full_key = "|".join([key, _walk_filter(), version("osmnx"), _CACHE_FORMAT])
    digest = hashlib.sha256(full_key.encode("utf-8")).hexdigest()[:16]
    cached = cache_dir / f"walk-{name}-{digest}.graphml"
    if cached.is_file():
        try:
            return ox.load_graphml(cached)
        except (OSError, ValueError, KeyError, TypeError, SyntaxError, nx.NetworkXError):
            pass  # a damaged cache file is rebuilt below
    graph = ox.project_graph(build(), to_crs=METRIC_CRS)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write beside the target under a name of its own and rename, so a crash never leaves
    # half a cache file and processes building the same graph at once never clash.
    handle, name_ = tempfile.mkstemp(prefix=cached.stem + ".", suffix=".partial", dir=cache_dir)
    os.close(handle)
    partial = Path(name_)
    try:
        with _osmnx_files_in(cache_dir):
            ox.save_graphml(graph, partial)
        os.replace(partial, cached)
    finally:
        partial.unlink(missing_ok=True)
    return graph


@contextmanager
def _osmnx_files_in(folder: Path) -> Iterator[None]:
    """Point osmnx's HTTP-cache and log folders inside ``folder`` for the duration."""
    with _OSMNX_FILES_LOCK:
        saved = (ox.settings.cache_folder, ox.settings.logs_folder)
        ox.settings.cache_folder = folder / "osmnx-http"
        ox.settings.logs_folder = folder / "osmnx-logs"
        try:
            yield
        finally:
            ox.settings.cache_folder, ox.settings.logs_folder = saved


def _walk_filter() -> str:
    # osmnx's own Overpass filter for network_type="walk" (it reads settings.default_access).
    return _overpass._get_network_filter("walk")


_CONDITION = re.compile(r'\["([^"]+)"(?:(!?~)"([^"]*)")?\]')


def _walk_conditions() -> list[tuple[str, str | None, re.Pattern[str] | None]]:
    """Give the walk filter as (key, operator, regex) conditions, all of which must hold."""
    text = _walk_filter()
    found = list(_CONDITION.finditer(text))
    if "".join(m.group(0) for m in found) != text:
        raise RuntimeError(f"osmnx's walk filter has a form this module cannot read: {text}")
    return [(m[1], m[2], re.compile(m[3]) if m[3] is not None else None) for m in found]


def _is_walkable(tags: dict[str, str], conditions: list[tuple[str, str | None, Any]]) -> bool:
    # Overpass semantics: ["k"] needs the tag; ["k"!~"re"] holds when k is absent or does
    # not match; ["k"~"re"] needs k present and matching (regexes unanchored, as here).
    for key, operator, pattern in conditions:
        value = tags.get(key)
        if operator is None:
            ok = value is not None
        elif operator == "!~":
            ok = value is None or pattern.search(value) is None
        else:
            ok = value is not None and pattern.search(value) is not None
        if not ok:
            return False
    return True


def _unreadable(path: Path, reason: str) -> ValidationError:
    return ValidationError([Problem(reason, file=str(path))], summary="Cannot read OSM XML file")


def _graph_from_filtered_xml(path: Path) -> nx.MultiDiGraph:
    """Give osmnx's graph of the walkable ways in ``path`` (unprojected, lon/lat)."""
    try:
        ways, needed = _walkable_ways(path)
        if not ways:
            raise _unreadable(path, "no walkable ways (osmnx's 'walk' filter) in the file")
        with tempfile.TemporaryDirectory(prefix="mapping-walk-") as work:
            filtered = Path(work) / "walk.osm"
            present = _write_filtered(path, filtered, ways, needed)
            if len(present) < 2:
                raise _unreadable(path, "the walkable ways have no nodes in the file")
            with _osmnx_files_in(Path(work)):
                return ox.graph_from_xml(filtered, bidirectional=True, simplify=True,
                                         retain_all=False)
    except ValidationError:
        raise
    except (ParseError, SAXException, UnicodeDecodeError, EOFError, OSError) as exc:
        raise _unreadable(path, str(exc)) from exc
    except (KeyError, TypeError, ValueError) as exc:
        # Elements without required attributes (a node with no lat, a <tag> with no k, ...).
        raise _unreadable(path, f"not valid OSM XML ({type(exc).__name__}: {exc})") from exc


def _walkable_ways(path: Path) -> tuple[list[tuple[int, list[int], dict[str, str]]], set[int]]:
    """Give the walkable ways (id, node refs, tags) in ``path`` and every node they use."""
    conditions = _walk_conditions()
    ways: list[tuple[int, list[int], dict[str, str]]] = []
    needed: set[int] = set()
    with open_osm_file(path) as file:
        events = iterparse(file, events=("start", "end"))
        _, root = next(events)
        if root.tag != "osm":
            raise _unreadable(path, f"the root element is <{root.tag}>, not <osm>: not OSM XML")
        for event, element in events:
            if event != "end" or element.tag not in ("node", "way", "relation"):
                continue
            if element.tag == "way":
                tags = {t.attrib["k"]: t.attrib["v"] for t in element.iter("tag")}
                if _is_walkable(tags, conditions):
                    refs = [int(nd.attrib["ref"]) for nd in element.iter("nd")]
                    ways.append((int(element.attrib["id"]), refs, tags))
                    needed.update(refs)
            root.clear()  # keep memory flat on large extracts
    return ways, needed


def _write_filtered(
    source: Path, target: Path, ways: list[tuple[int, list[int], dict[str, str]]], needed: set[int]
) -> set[int]:
    """Write the needed nodes and the walkable ways as OSM XML; give the node ids written."""
    present: set[int] = set()
    with target.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="mapping">\n')
        with open_osm_file(source) as file:
            events = iterparse(file, events=("start", "end"))
            _, root = next(events)
            for event, element in events:
                if event != "end" or element.tag not in ("node", "way", "relation"):
                    continue
                if element.tag == "node" and int(element.attrib["id"]) in needed:
                    present.add(int(element.attrib["id"]))
                    out.write(_node_xml(element))
                root.clear()
        next_id = -1
        for way_id, refs, tags in ways:
            for piece in _runs_present(refs, present):
                out.write(_way_xml(way_id, piece, tags))
                way_id, next_id = next_id, next_id - 1
        out.write("</osm>\n")
    return present


def _runs_present(refs: list[int], present: set[int]) -> Iterator[list[int]]:
    """Give the runs of consecutive refs whose nodes are in the file (2 nodes or more)."""
    run: list[int] = []
    for ref in [*refs, None]:
        if ref is not None and ref in present:
            run.append(ref)
            continue
        if len(run) >= 2:
            yield run
        run = []


def _node_xml(element: Element) -> str:
    a = element.attrib
    tags = "".join(
        f"<tag k={quoteattr(t.attrib['k'])} v={quoteattr(t.attrib['v'])}/>" for t in element.iter("tag")
    )
    return f'<node id="{a["id"]}" lat="{a["lat"]}" lon="{a["lon"]}">{tags}</node>\n'


def _way_xml(way_id: int, refs: list[int], tags: dict[str, str]) -> str:
    nds = "".join(f'<nd ref="{ref}"/>' for ref in refs)
    tag_xml = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
    return f'<way id="{way_id}">{nds}{tag_xml}</way>\n'
