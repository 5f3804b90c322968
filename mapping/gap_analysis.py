"""A whole gap analysis in one call: demand, supply, travel costs, access, gaps, roll-up.

The pieces are in :mod:`mapping.network` (travel costs), :mod:`mapping.access`
(E2SFCA, Luo & Qi 2009; 2SFCA, Luo & Wang 2003) and :mod:`mapping.gaps`; the CLI
and the web page both call :func:`analyse_gaps`, so they always agree. Every
result carries the travel-cost method, so the straight-line fallback is labelled
wherever it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import geopandas as gpd
import networkx as nx
import pandas as pd

from mapping import schema as S
from mapping.access import (
    AccessSettings,
    Measure,
    area_access,
    demand_from_areas,
    supply_from_assets,
)
from mapping.errors import Problem, ValidationError
from mapping.gaps import flag_gaps, patch_rollup
from mapping.network import TravelSettings, WalkingNetwork, travel_costs
from mapping.taxonomy import load_categories


@dataclass(frozen=True)
class GapOptions:
    """What a gap analysis is asked; one line of help per field, units in the names."""

    category: str
    """The service category whose sites are the supply (a code from data/categories.csv)."""

    measure: str = S.POPULATION
    """Demand: ``population`` (all residents) or ``population_65_plus``."""

    imd_weighting: bool = False
    """Weight demand by deprivation (IMD decile 1 counts double)."""

    generative_only: bool = False
    """Count only locally generative providers' sites as supply."""

    cutoff_min: float = 15.0
    """Walking time beyond which a site does not serve an area."""

    walk_speed_m_per_min: float = 80.0
    """Walking speed; about 70 for people over 65."""

    def check(self) -> None:
        """Raise :class:`ValidationError` listing every option that is not valid."""
        problems = []
        if self.category not in set(load_categories()["code"]):
            problems.append(Problem(f"unknown category '{self.category}'", field="category"))
        if self.measure not in (S.POPULATION, S.POPULATION_65_PLUS):
            problems.append(Problem(f"use {S.POPULATION} or {S.POPULATION_65_PLUS}",
                                    field="measure"))
        if not 0 < self.cutoff_min <= 60:
            problems.append(Problem("give a cut-off between 0 and 60 minutes", field="cutoff_min"))
        if not 20 <= self.walk_speed_m_per_min <= 150:
            problems.append(Problem("give a walking speed between 20 and 150 m/min",
                                    field="walk_speed_m_per_min"))
        if problems:
            raise ValidationError(problems, summary="the gap analysis options are not valid")


@dataclass
class GapAnalysis:
    """The results: areas with scores and flags, the patch roll-up, the sites, the method."""

    areas: gpd.GeoDataFrame
    rollup: pd.DataFrame
    sites: gpd.GeoDataFrame
    costs: pd.DataFrame
    method: str
    patch_source: str
    options: GapOptions
    notes: list[str] = field(default_factory=list)

    @property
    def uses_fallback(self) -> bool:
        """Give True when distances are straight-line estimates, not walking routes."""
        return not self.method.startswith("network")


def analyse_gaps(
    areas: gpd.GeoDataFrame,
    assets: gpd.GeoDataFrame,
    *,
    options: GapOptions,
    patches: pd.DataFrame,
    patch_source: str,
    graph: nx.MultiDiGraph | WalkingNetwork | None = None,
) -> GapAnalysis:
    """Give the gap analysis of one service category over small areas.

    Parameters
    ----------
    areas
        Small areas (e.g. 2021 LSOAs) with ``code``, ``area_name``, population columns
        and ``imd_decile``.
    assets
        The register (``assets_frame``); sites of ``options.category`` are the supply.
    options
        What to analyse.
    patches
        A patch set (``load_patches``) or a ``code`` → ``patch`` lookup to roll up to.
    patch_source
        Plain words for what the patches are (shown with the roll-up).
    graph
        A walking network; without one, straight-line distance × circuity is used
        and labelled so.
    """
    options.check()
    measure = cast(Measure, options.measure)  # checked above
    demand = demand_from_areas(areas, measure=measure, imd_weighting=options.imd_weighting)
    supply = supply_from_assets(assets, category=options.category,
                                generative_only=options.generative_only)
    notes = []
    if supply.empty:
        notes.append(f"There are no active sites of this category"
                     f"{' run by generative providers' if options.generative_only else ''}: "
                     "every area is a gap.")
    travel = TravelSettings(walk_speed_m_per_min=options.walk_speed_m_per_min,
                            cutoff_min=options.cutoff_min)
    costs = travel_costs(demand, supply, graph=graph, settings=travel)
    scores = area_access(costs, demand, supply,
                         settings=AccessSettings(cutoff_min=options.cutoff_min))
    flagged = flag_gaps(scores)
    rollup = patch_rollup(flagged, patches, assets, category=options.category, areas=areas)
    shapes = areas[[S.AREA_CODE, S.AREA_NAME, "geometry"]].to_crs(S.STORAGE_CRS)
    result = shapes.merge(flagged, left_on=S.AREA_CODE, right_index=True, how="left")
    sites = supply.to_crs(S.STORAGE_CRS)
    return GapAnalysis(areas=gpd.GeoDataFrame(result, geometry="geometry", crs=S.STORAGE_CRS),
                       rollup=rollup, sites=sites, costs=costs,
                       method=str(costs.attrs.get("method", "")), patch_source=patch_source,
                       options=options, notes=notes)
