"""A whole gap analysis in one call: demand, supply, travel costs, access, gaps, roll-up.

The pieces are in :mod:`mapping.access.network` (travel costs), :mod:`mapping.access.catchment`
(E2SFCA, Luo & Qi 2009; 2SFCA, Luo & Wang 2003) and :mod:`mapping.access.gaps`; the CLI
and the web page both call :func:`analyse_gaps`, so they always agree. Every
result carries the travel-cost method, so the straight-line fallback is labelled
wherever it is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, cast

import geopandas as gpd
import networkx as nx
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.access.catchment import AccessSettings, area_access
from mapping.access.costs import SNAP_ID, SNAP_ROLE, TravelSettings, unsnapped_frame
from mapping.access.gaps import flag_gaps, patch_rollup, what_if
from mapping.access.inputs import Measure, demand_from_areas, supply_from_assets
from mapping.access.network import WalkingNetwork, travel_costs
from mapping.boroughs.settings import store_borough
from mapping.errors import NotFoundError, Problem, ValidationError
from mapping.funding.plan import FundingSettings, plan_microfund
from mapping.places.areas import lookup_by_location
from mapping.places.roles import borough_outline, layer_roles
from mapping.places.store import (
    default_patch_set,
    designed_sets,
    list_patch_sets,
    load_area_layer,
    load_patches_over,
    public_patch_set,
)
from mapping.register.records import assets_frame
from mapping.register.taxonomy import load_categories

#: The access measures a gap analysis can use, and how each is named on pages and exports.
METHODS: Final = {"e2sfca": "E2SFCA (Luo & Qi 2009)", "2sfca": "2SFCA (Luo & Wang 2003)"}
#: Most proposed sites one 'what if' run may add.
MAX_PROPOSED: Final = 10
#: A generous lon/lat box around the UK (west, south, east, north): proposed sites lie inside.
UK_BOUNDS: Final = (-9.0, 49.0, 2.5, 61.0)


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

    method: str = "e2sfca"
    """Access measure: ``e2sfca`` (Luo & Qi 2009, stepped weights) or ``2sfca`` (binary)."""

    proposed: tuple[tuple[float, float], ...] = ()
    """'What if' sites as (longitude, latitude) in EPSG:4326, at most 10; each supplies 1."""

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
        if self.method not in METHODS:
            problems.append(Problem(f"use one of {', '.join(METHODS)}", field="method"))
        if len(self.proposed) > MAX_PROPOSED:
            problems.append(Problem(f"add at most {MAX_PROPOSED} proposed sites, "
                                    f"got {len(self.proposed)}", field="proposed"))
        west, south, east, north = UK_BOUNDS
        for i, point in enumerate(self.proposed, start=1):
            lon, lat = (float(v) for v in point)
            if not (math.isfinite(lon) and math.isfinite(lat)
                    and west <= lon <= east and south <= lat <= north):
                problems.append(Problem(f"proposed site {i} ({lon:g}, {lat:g}) is not a "
                                        "longitude, latitude inside the UK", row=i,
                                        field="proposed"))
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
    before_areas: gpd.GeoDataFrame | None = None
    """Without the proposed sites (``None`` when none were proposed); ``areas`` is with them."""
    proposed_sites: gpd.GeoDataFrame | None = None
    """The proposed sites (``id``, ``supply``, points in EPSG:4326), or ``None``."""

    @property
    def uses_fallback(self) -> bool:
        """Give True when distances are straight-line estimates, not walking routes."""
        return not self.method.startswith("network")

    @property
    def measure(self) -> str:
        """Give the access measure in words, e.g. "E2SFCA (Luo & Qi 2009)"."""
        return METHODS[self.options.method]

    def gap_totals(self, *, before: bool = False) -> tuple[int, float]:
        """Give (gap areas, people in gap areas), with the proposed sites or ``before`` them."""
        areas = self.before_areas if before and self.before_areas is not None else self.areas
        gap = areas["gap"].fillna(False).astype(bool)
        return int(gap.sum()), float(areas.loc[gap, "people"].sum())

    def what_if_line(self) -> str | None:
        """Give "With the proposed site(s): N gap areas (was M), …", or None without any."""
        if self.before_areas is None:
            return None
        after, before = self.gap_totals(), self.gap_totals(before=True)
        return (f"With the proposed site(s): {after[0]} gap areas (was {before[0]}), "
                f"{after[1]:,.0f} people in gap areas (was {before[1]:,.0f})")


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
    notes.extend(unsnapped_notes(costs, travel.max_snap_m))
    scores = area_access(costs, demand, supply,
                         settings=AccessSettings(cutoff_min=options.cutoff_min))
    if options.method == "2sfca":  # flag_gaps and patch_rollup read ``access``
        scores = scores.assign(access=scores["access_2sfca"])
    flagged = flag_gaps(scores).assign(measure=METHODS[options.method])
    shapes = areas[[S.AREA_CODE, S.AREA_NAME, "geometry"]].to_crs(S.STORAGE_CRS)

    def framed(frame: pd.DataFrame) -> gpd.GeoDataFrame:
        result = shapes.merge(frame, left_on=S.AREA_CODE, right_index=True, how="left")
        return gpd.GeoDataFrame(result, geometry="geometry", crs=S.STORAGE_CRS)

    before_areas = proposed_sites = None
    if options.proposed:
        after, proposed_sites, off = _with_proposed(scores, costs, demand, supply,
                                                    options=options, graph=graph, travel=travel)
        if off:
            notes.append(f"{len(off)} proposed site(s) are more than {travel.max_snap_m:g} m from "
                         f"the walking network ({_listed(off)}), so they change nothing: "
                         "propose a site nearer a street.")
        before_areas = framed(flagged)
        flagged = after.assign(gap_before=flagged["gap"])
    rollup = patch_rollup(flagged, patches, assets, category=options.category, areas=areas)
    sites = supply.to_crs(S.STORAGE_CRS)
    return GapAnalysis(areas=framed(flagged), rollup=rollup, sites=sites, costs=costs,
                       method=str(costs.attrs.get("method", "")), patch_source=patch_source,
                       options=options, notes=notes, before_areas=before_areas,
                       proposed_sites=proposed_sites)


def unsnapped_notes(costs: pd.DataFrame, max_snap_m: float) -> list[str]:
    """Give a line each for the areas and the sites left out as too far from the walking network."""
    off = unsnapped_frame(costs)
    notes = []
    for role, what, consequence in (
            ("demand", "areas", "their access is unknown, so they are not counted as gaps"),
            ("supply", "sites", "they are not counted as provision")):
        ids = off.loc[off[SNAP_ROLE] == role, SNAP_ID].astype(str).tolist()
        if ids:
            notes.append(f"{len(ids)} {what} are more than {max_snap_m:g} m from the walking "
                         f"network and are left out ({_listed(ids)}): {consequence}.")
    return notes


def _listed(ids: list[str]) -> str:
    """Give the first five ids, and how many more: "a, b, c, d, e and 3 more"."""
    return ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def _with_proposed(
    scores: pd.DataFrame,
    costs: pd.DataFrame,
    demand: gpd.GeoDataFrame,
    supply: gpd.GeoDataFrame,
    *,
    options: GapOptions,
    graph: nx.MultiDiGraph | WalkingNetwork | None,
    travel: TravelSettings,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, list[str]]:
    """Give the flagged areas with the proposed sites added, those sites (via ``what_if``), and
    the ids of those too far from the walking network to count.

    ``change`` is the rise in normalised access; both before and after are ÷ today's
    mean, so a rise shows as a rise. 2SFCA (Luo & Wang 2003) is E2SFCA with one
    step of weight 1 at the cut-off, so one call serves both measures.
    """
    cutoff = options.cutoff_min
    settings = (AccessSettings(cutoff_min=cutoff, step_weights=((cutoff, 1.0),))
                if options.method == "2sfca" else AccessSettings(cutoff_min=cutoff))
    points = gpd.GeoDataFrame(geometry=shapely.points(list(options.proposed)),
                              crs=S.STORAGE_CRS)
    change = what_if(costs, demand, supply, points, settings=settings,
                     costs_fn=lambda d, s: travel_costs(d, s, graph=graph, settings=travel))
    moved = change["nearest_minutes_after"] < change["nearest_minutes_before"]
    after = scores.assign(
        access=change["access_after"], normalised=change["normalised_after"],
        nearest_minutes=change["nearest_minutes_after"],
        within_cutoff=change["within_cutoff_after"],
        nearest_site=scores["nearest_site"].astype(object).where(~moved, "a proposed site"),
        nearest_metres=scores["nearest_metres"].where(~moved),
    )
    flagged = flag_gaps(after).assign(
        measure=METHODS[options.method],
        normalised_before=change["normalised_before"],
        change=change["normalised_after"] - change["normalised_before"])
    ids = change.attrs.get("proposed_ids", [])
    off = [str(p.id) for p in change.attrs.get("unsnapped", ())
           if p.role == "supply" and p.id in set(ids)]
    return flagged, gpd.GeoDataFrame({"id": ids, "supply": 1.0},
                                     geometry=points.geometry.to_numpy(), crs=S.STORAGE_CRS), off


#: The category of existing community spaces that could host a new group.
HOST_CATEGORY = "community_space"


def plan_for(
    analysis: GapAnalysis,
    areas: gpd.GeoDataFrame,
    assets: gpd.GeoDataFrame,
    *,
    settings: FundingSettings,
    patches: pd.DataFrame,
    graph: nx.MultiDiGraph | WalkingNetwork | None = None,
) -> pd.DataFrame:
    """Give the micro-fund plan for an analysis: ranked gaps, grants and suggested hosts.

    Candidates are the register's active community spaces; the existing sites are
    the analysed category's. Host sites are chosen by the MCLP (Church & ReVelle
    1974, :func:`mapping.funding.plan.plan_microfund`) over the same travel costs as the
    analysis (so the fallback label carries through to the plan and its exports).
    """
    options = analysis.options
    lookup = area_patch_lookup(patches)
    demand = demand_from_areas(areas, measure=cast(Measure, options.measure),
                               imd_weighting=options.imd_weighting)
    candidates = supply_from_assets(assets, category=HOST_CATEGORY)
    existing = supply_from_assets(assets, category=options.category,
                                  generative_only=options.generative_only)
    sites = pd.concat([candidates, existing[~existing["id"].isin(candidates["id"])]])
    # The table must reach as far as the hosts' coverage, whichever cut-off is longer.
    travel = TravelSettings(walk_speed_m_per_min=options.walk_speed_m_per_min,
                            cutoff_min=max(options.cutoff_min, settings.coverage_min))
    costs = travel_costs(demand, gpd.GeoDataFrame(sites, crs=candidates.crs), graph=graph,
                         settings=travel)
    rollup = analysis.rollup.assign(category=options.category)
    demand_areas = pd.DataFrame({
        S.AREA_CODE: demand["id"].astype(str).to_numpy(),
        S.POPULATION: demand["people"].to_numpy(),
    }).merge(lookup, on=S.AREA_CODE, how="inner")
    named = assets.drop_duplicates(S.EXTERNAL_ID).set_index(S.EXTERNAL_ID)
    host_frame = pd.DataFrame({
        S.EXTERNAL_ID: candidates["id"].astype(str).to_numpy(),
        S.NAME: candidates["id"].astype(str).map(named[S.NAME]).to_numpy(),
        S.ORGANISATION_ID: candidates["id"].astype(str).map(named[S.ORGANISATION_ID]).to_numpy(),
        "organisation_name": candidates["id"].astype(str).map(named["organisation_name"]).to_numpy(),
    })
    existing_frame = pd.DataFrame({S.EXTERNAL_ID: existing["id"].astype(str).to_numpy(),
                                   S.CATEGORY: options.category})
    plan = plan_microfund(rollup.reset_index(), costs, demand_areas, host_frame, existing_frame,
                          settings=settings, categories=[options.category])
    off = unsnapped_frame(costs)
    hosts_off = off.loc[(off[SNAP_ROLE] == "supply") & off[SNAP_ID].isin(candidates["id"]), SNAP_ID]
    plan.attrs["notes"] = ([f"{len(hosts_off)} community spaces are more than {travel.max_snap_m:g} m "
                            f"from the walking network, so they are not suggested as hosts "
                            f"({_listed(hosts_off.astype(str).tolist())})."]
                           if len(hosts_off) else [])
    return plan


def area_patch_lookup(patches: pd.DataFrame) -> pd.DataFrame:
    """Give ``code`` → ``patch`` from a patch set (``area_codes`` lists) or a lookup."""
    if "area_codes" in patches.columns:
        return patches[[S.PATCH, "area_codes"]].explode("area_codes").rename(
            columns={"area_codes": S.AREA_CODE})[[S.AREA_CODE, S.PATCH]]
    return patches[[S.AREA_CODE, S.PATCH]]


#: What the roll-up by ward says, unless the borough's manifest words it (``no_patches``).
NO_PATCHES: Final = "no patch set is loaded; import the council's with 'mapping import-patches'"


@dataclass
class GapInputs:
    """What an analysis reads from the store: small areas, the register, the patches."""

    areas: gpd.GeoDataFrame
    assets: gpd.GeoDataFrame
    patches: pd.DataFrame
    patch_source: str
    outlines: gpd.GeoDataFrame
    """The patches' (or wards') outlines, with a ``patch`` column, for maps."""
    patch_set: str | None = None
    """The patch set's name (``None``: by ward)."""

    @property
    def lookup(self) -> pd.DataFrame:
        """Give the ``code`` → ``patch`` lookup of the small areas."""
        return area_patch_lookup(self.patches)


def inputs_from_store(session: Session, *, layer: str | None = None,
                      patch_set: str | None = None) -> GapInputs:
    """Give the inputs from the store: a patch set, else small areas by ward.

    ``layer`` is the small-area layer demand is counted on (default: the store's,
    :func:`mapping.places.roles.layer_roles`).

    ``patch_set`` names the patch set to roll up to. Without it, the one an officer made the
    default grouping, else the first by name of those imported (a council's lookup):
    :func:`mapping.places.store.public_patch_set`. A lot design saved on the lots page is
    never the default by itself, so with no default and no import the roll-up is by ward, and
    ``patch_source`` says so, in the borough's own words when its manifest gives them.

    A set made of another layer than the small areas (a design of wards, say) rolls up
    each small area to the patch of the area holding its inside point, as the roll-up by
    ward does (:func:`mapping.places.store.load_patches_over`), so its totals are the wards'.

    Raises
    ------
    ValidationError
        If ``patch_set`` is not stored (the message lists those that are).
    """
    sets = list_patch_sets(session)
    if patch_set is not None and patch_set not in sets:
        raise ValidationError([Problem(
            f"there is no patch set '{patch_set}'; stored: "
            f"{', '.join(repr(s) for s in sets) if sets else 'none (the roll-up is by ward)'}",
            field="patches")], summary="unknown patch set")
    roles = layer_roles(session)
    areas = load_area_layer(session, layer or roles.require("small_areas"))
    assets = assets_frame(session, status=["active"])
    chosen = patch_set or public_patch_set(session)
    designed = designed_sets(session)
    if chosen is not None:
        source = f"patch set '{chosen}'"
        if patch_set is None and chosen == default_patch_set(session):
            source += " (made the default grouping by an officer)"
        elif chosen in designed:
            source += " (a lot design saved here)"
        elif patch_set is None and len(sets) - len(designed) > 1:
            source += f" (the first by name of {len(sets) - len(designed)} imported patch sets)"
        patches = load_patches_over(session, chosen, areas)
        return GapInputs(areas, assets, patches, source, patches, chosen)
    if roles.wards is None:
        # No wards either: one roll-up for the whole borough, said so.
        whole = borough_outline(session)
        if whole is None:
            raise NotFoundError("no ward layer and no outline is loaded: load the borough with "
                                "'mapping load-borough MANIFEST'")
        zones = gpd.GeoDataFrame({S.AREA_CODE: ["borough"], S.AREA_NAME: ["the whole borough"]},
                                 geometry=[whole.union_all()],
                                 crs=whole.crs)
        source = f"the whole borough (no ward layer is loaded; {_no_patches(session)})"
    else:
        zones = load_area_layer(session, roles.wards)
        source = f"wards ({_no_patches(session)})"
    if designed:
        source += (f"; the {len(designed)} lot design{'s' if len(designed) > 1 else ''} saved "
                   "here count only when chosen, or when an officer makes one the default")
    outlines = gpd.GeoDataFrame({S.PATCH: zones[S.AREA_NAME].astype(str).to_numpy()},
                                geometry=zones.geometry.to_numpy(), crs=zones.crs)
    return GapInputs(areas, assets, lookup_by_location(areas, zones), source, outlines)


def _no_patches(session: Session) -> str:
    borough = store_borough(session)
    said = borough.wording.get("no_patches") if borough is not None else None
    return f"no patch set is loaded; {said}" if said else NO_PATCHES
