"""Designing lots: k contiguous areas-groups balanced on a measure, and compact.

The method is a recombination ("ReCom") Markov chain in GerryChain (DeFord,
Duchin & Solomon 2021, "Recombination: a family of Markov chains for
redistricting", Harvard Data Science Review 3.1), driven as an optimiser by
short bursts (Cannon, Goldbloom-Helzner, Gupta, Matthews & Suwal 2023, "Voting
rights, Markov chains, and optimization by short bursts", Methodology and
Computing in Applied Probability 25). It starts from a random balanced plan
(GerryChain's ``recursive_tree_part``: spanning trees cut at balanced edges).
Each step merges two neighbouring lots and splits them again along a random
spanning tree, so every lot stays one contiguous piece by construction. The score
each burst climbs is first the imbalance beyond the tolerance, then the number
of cut edges (neighbouring areas in different lots), the usual compactness
measure for such plans. The random stream is seeded, so a seed gives one design, unless
the search is cut short by its time limit (:attr:`LotSettings.max_seconds`): where the
clock stops depends on the machine, so such a design may differ from run to run (it says so).

Contiguity is by shared boundary lines (:func:`mapping.places.areas.adjacency_graph`).
This module does no I/O; :mod:`mapping.lots.store` keeps designs in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Final

import geopandas as gpd
import networkx as nx
import pandas as pd

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.lots._search import (
    DesignCancelled,
    LotSettings,
    Progress,
    Report,
    SearchProgress,
    search,
)
from mapping.lots.measures import measure_values
from mapping.places.areas import adjacency_graph, patches_from_lookup, require_crs

#: The method as outputs name it.
METHOD: Final = ("ReCom short bursts (GerryChain; DeFord, Duchin & Solomon 2021; "
                 "Cannon et al. 2023), contiguity by shared boundary")
DEFAULT_K: Final = 8
DEFAULT_TOLERANCE: Final = 0.10
#: Most lots a design may have.
MAX_K: Final = 30
#: A lot name's prefix; lots are numbered from north to south.
LOT_PREFIX: Final = "Lot"

__all__ = ["DesignCancelled", "LotDesign", "LotSettings", "SearchProgress", "design_lots"]


@dataclass
class LotDesign:
    """A design: the lookup, the dissolved lots and how well they are balanced."""

    lookup: pd.DataFrame
    """``code`` → ``patch`` (the lot name), one row per area of the layer."""
    lots: gpd.GeoDataFrame
    """``patch``, ``area_codes``, ``areas``, the measure's total, ``deviation`` (share of the
    ideal, signed), the dissolved outline (EPSG:4326)."""
    measure: str
    k: int
    tolerance: float
    seed: int
    imbalance: float
    """The largest absolute deviation from the ideal total, as a share (0.04 = 4%)."""
    cut_edges: int
    """Pairs of neighbouring areas in different lots (fewer is more compact)."""
    method: str = METHOD
    keep_whole: str | None = None
    """What was kept whole (e.g. "wards_2023"), or None."""
    started_from: str | None = None
    notes: list[str] = field(default_factory=list)
    stopped_at_limit: bool = False
    """True when the search stopped at its time limit (then the seed alone does not fix it)."""

    @property
    def met(self) -> bool:
        """Give True when every lot is within the tolerance."""
        return self.imbalance <= self.tolerance + 1e-12

    def summary(self) -> str:
        """Give one line: lots, measure, achieved imbalance against the tolerance, method."""
        verdict = ("within" if self.met else "NOT within")
        return (f"{self.k} lots balanced on {self.measure}: largest deviation "
                f"{self.imbalance:.1%}, {verdict} ±{self.tolerance * 100:g}%; {self.cut_edges} cut "
                f"edges; method {self.method}; seed {self.seed}")


def _units(areas: gpd.GeoDataFrame, values: pd.Series, keep_whole: pd.DataFrame | None
           ) -> tuple[gpd.GeoDataFrame, pd.Series, nx.Graph, list[str]]:
    """Give the design's units (areas, or groups kept whole), each area's unit, the units'
    adjacency graph and notes.

    Units are adjacent when any of their areas share a boundary. A group whose areas
    are in several pieces by adjacency (an LSOA put in a ward by its inside point, say)
    becomes one unit per piece, so a lot of whole units is always one piece.
    """
    codes = areas[S.AREA_CODE].astype(str)
    area_graph = adjacency_graph(areas)
    notes: list[str] = []
    named = _names(codes, areas)
    if keep_whole is None:
        units = gpd.GeoDataFrame({S.AREA_CODE: codes.to_numpy(), "value": values.to_numpy()},
                                 geometry=areas.geometry.to_numpy(), crs=areas.crs)
        return units, pd.Series(codes.to_numpy(), index=codes.to_numpy()), area_graph, notes
    group = keep_whole.set_index(S.AREA_CODE)[S.PATCH].astype(str)
    missing = sorted(set(codes) - set(group.index))
    if missing:
        raise ValidationError([Problem(f"area {named(c)} lies in none of the areas to keep "
                                       "whole", field="keep_whole") for c in missing])
    group_names = ({p: n for p, n in zip(keep_whole[S.PATCH].astype(str), keep_whole[S.AREA_NAME],
                                         strict=True) if pd.notna(n) and str(n).strip()}
                   if S.AREA_NAME in keep_whole.columns else {})
    unit_map: dict[str, str] = {}
    for name, members in group[codes.to_numpy()].groupby(group[codes.to_numpy()], sort=True):
        pieces = sorted((sorted(p) for p in nx.connected_components(
            area_graph.subgraph(members.index.astype(str)))), key=lambda p: (-len(p), p))
        if len(pieces) > 1:
            notes.append(f"The areas of {group_names.get(str(name), name)} are in "
                         f"{len(pieces)} separate pieces by adjacency; each piece was kept whole.")
        for i, piece in enumerate(pieces):
            unit_map.update({c: name if i == 0 else f"{name}#{i + 1}" for c in piece})
    unit_of = codes.map(unit_map)
    frame = gpd.GeoDataFrame({"unit": unit_of.to_numpy(), "value": values.to_numpy()},
                             geometry=areas.geometry.to_numpy(), crs=areas.crs)
    units = frame.dissolve(by="unit", aggfunc={"value": "sum"}).reset_index()
    units = units.rename(columns={"unit": S.AREA_CODE})
    graph: nx.Graph = nx.Graph()
    graph.add_nodes_from(units[S.AREA_CODE])
    graph.add_edges_from((unit_map[a], unit_map[b]) for a, b in area_graph.edges
                         if unit_map[a] != unit_map[b])
    return units, pd.Series(unit_of.to_numpy(), index=codes.to_numpy()), graph, notes


def _names(codes: pd.Series, areas: pd.DataFrame) -> Callable[[str], str]:
    """Give a function naming an area for a person: "Canning Town North (E05013901)"."""
    if S.AREA_NAME not in areas.columns:
        return lambda code: f"'{code}'"
    names = {c: n for c, n in zip(codes, areas[S.AREA_NAME], strict=True)
             if pd.notna(n) and str(n).strip()}  # an unnamed area goes by its code alone
    return lambda code: f"{names[code]} ({code})" if code in names else f"'{code}'"


def _connected_or_raise(graph: nx.Graph, named: Callable[[str], str]) -> None:
    pieces = sorted(nx.connected_components(graph), key=len, reverse=True)
    if len(pieces) > 1:
        detached = [", ".join(named(str(c)) for c in sorted(p)[:5]) for p in pieces[1:]]
        raise ValidationError([Problem(
            f"areas {d} share no boundary with the rest of the layer, so no contiguous lot can "
            "hold them; give a lookup (`mapping import-patches`) instead, or design without "
            "them", field="geometry") for d in detached],
            summary="the layer is in separate pieces")


def _lot_names(units: gpd.GeoDataFrame, parts: dict[Hashable, set[str]]) -> dict[Hashable, str]:
    """Name lots "Lot 1" … from north to south (then west to east) by their units' mean point."""
    points = units.set_index(S.AREA_CODE).to_crs(S.METRIC_CRS).representative_point()
    order = sorted(parts, key=lambda p: (-round(float(points[list(parts[p])].y.mean()), -2),
                                         float(points[list(parts[p])].x.mean())))
    return {p: f"{LOT_PREFIX} {i}" for i, p in enumerate(order, start=1)}


def design_lots(
    areas: gpd.GeoDataFrame,
    *,
    k: int = DEFAULT_K,
    measure: str = S.POPULATION,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
    start: pd.DataFrame | None = None,
    keep_whole: pd.DataFrame | None = None,
    keep_whole_name: str | None = None,
    settings: LotSettings | None = None,
    progress: Progress | None = None,
    report: Report | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> LotDesign:
    """Give k contiguous lots of the areas, balanced on a measure within a tolerance, compact.

    ReCom optimised by short bursts (GerryChain; DeFord, Duchin & Solomon 2021;
    Cannon et al. 2023): see the module docstring. When the tolerance cannot be
    met, the best design found is returned with its imbalance and a note says so.

    Parameters
    ----------
    areas
        An area layer (``code``, polygons, any CRS) with the measure column.
    k
        Number of lots.
    measure
        A column of ``areas`` (``population``, ``population_65_plus``,
        ``homecare_hours``…) or ``demand_estimate`` (:func:`measure_values`).
    tolerance
        Largest allowed deviation of a lot's total from the ideal (total ÷ k), as
        a share: 0.10 is ±10%.
    seed
        Seed of the random stream: the same inputs and seed give the same design.
    start
        An existing layout to start from (``code`` → ``patch``), each lot contiguous;
        its number of lots replaces ``k`` (and is checked as ``k`` is).
    keep_whole
        ``code`` → ``patch`` grouping to keep whole (e.g. LSOAs → their ward, from
        :func:`mapping.places.areas.lookup_by_location`); lots are then made of whole groups.
    keep_whole_name
        What the groups are, for the outputs (e.g. "wards_2023").
    settings
        Search effort and time limit (:class:`LotSettings`). With a seed the design is
        always the same, except one cut short by ``settings.max_seconds``, which may differ
        (its notes say it stopped at the limit).
    progress
        Called with a line of text as the search goes.
    report
        Called once per burst with a :class:`SearchProgress` (step, best deviation so far…).
    cancelled
        Asked before every ReCom step; once it gives True, :class:`DesignCancelled` is raised.
    """
    require_crs(areas, what="area layer")
    settings = settings or LotSettings()
    problems = []
    if start is not None and S.PATCH in start.columns:
        k = int(start[S.PATCH].astype(str).nunique())
    if not isinstance(k, int) or k < 2:
        problems.append(Problem("give at least 2 lots", field="k"))
    elif k > MAX_K:
        problems.append(Problem(f"give at most {MAX_K} lots, not {k}", field="k"))
    elif k > len(areas):
        problems.append(Problem(f"{k} lots need at least {k} areas; the layer has {len(areas)}",
                                field="k"))
    if not 0 < tolerance < 1:
        problems.append(Problem("give a tolerance between 0 and 1 (0.1 = ±10%)",
                                field="tolerance"))
    if problems:
        raise ValidationError(problems, summary="the design options are not valid")
    say = progress or (lambda _m: None)
    values = measure_values(areas, measure)
    units, unit_of, graph, unit_notes = _units(areas, values, keep_whole)
    if len(units) < k:
        raise ValidationError([Problem(f"{k} lots need at least {k} areas to keep whole; there "
                                       f"are {len(units)}", field="k")])
    _connected_or_raise(graph, _names(areas[S.AREA_CODE].astype(str), areas))
    for node, value in zip(units[S.AREA_CODE], units["value"], strict=True):
        graph.nodes[node]["m"] = float(value)

    start_assignment = None
    if start is not None:
        patches_from_lookup(areas, start, require_contiguous=True, file="starting layout")
        lot_of = start.set_index(S.AREA_CODE)[S.PATCH].astype(str)
        by_unit = pd.DataFrame({"unit": unit_of, "lot": unit_of.index.map(lot_of)})
        start_assignment = by_unit.groupby("unit")["lot"].agg(lambda s: s.mode().iloc[0])
        k = int(start_assignment.nunique())
    best, stopped = search(graph, k=k, tolerance=tolerance, seed=seed, start=start_assignment,
                           settings=settings, say=say, report=report, cancelled=cancelled)
    target = float(units["value"].sum()) / k
    parts: dict[Hashable, set[str]] = {}
    for node, part in best.items():
        parts.setdefault(part, set()).add(str(node))
    names = _lot_names(units, parts)
    unit_lot = {node: names[part] for node, part in best.items()}
    lookup = pd.DataFrame({S.AREA_CODE: unit_of.index,
                           S.PATCH: [unit_lot[u] for u in unit_of.to_numpy()]})
    lots = patches_from_lookup(areas, lookup, require_contiguous=True, file="design")
    totals = pd.Series(values.to_numpy(), index=areas[S.AREA_CODE].astype(str).to_numpy()
                       ).groupby(lookup.set_index(S.AREA_CODE)[S.PATCH]).sum()
    lots[measure] = lots[S.PATCH].map(totals).to_numpy()
    lots["areas"] = lots["area_codes"].map(len)
    lots["deviation"] = lots[measure] / target - 1
    lots = lots.sort_values(S.PATCH, key=lambda s: s.str.extract(r"(\d+)$")[0].astype(int)
                            ).reset_index(drop=True)
    cut = sum(1 for a, b in graph.edges if unit_lot[a] != unit_lot[b])
    design = LotDesign(lookup=lookup.sort_values(S.AREA_CODE).reset_index(drop=True),
                       lots=lots, measure=measure, k=k, tolerance=tolerance, seed=seed,
                       imbalance=float(lots["deviation"].abs().max()), cut_edges=cut,
                       keep_whole=keep_whole_name if keep_whole is not None else None,
                       started_from="an existing layout" if start is not None else None,
                       notes=list(unit_notes), stopped_at_limit=stopped)
    if stopped:
        design.notes.append(
            f"The search stopped at its time limit of {settings.max_seconds:g} s with the best "
            "design found so far; a design cut short by the clock may differ from run to run. "
            "Use the command line (`mapping design-lots`) for a longer search.")
    if not design.met:
        design.notes.append(
            f"The tolerance ±{tolerance * 100:g}% could not be met: the best design found has a "
            f"largest deviation of {design.imbalance:.1%}. Try a wider tolerance, fewer lots, "
            "smaller areas (LSOAs rather than wards), or not keeping wards whole.")
    return design
