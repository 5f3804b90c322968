"""Provision gaps: normalised access, gap flags, patch roll-ups, and 'what if' new sites.

Access scores come from :mod:`mapping.access.catchment` (E2SFCA, Luo & Qi 2009; 2SFCA,
Luo & Wang 2003). Here they are compared with the borough: a score is divided
by the borough's population-weighted mean, so 1 is the borough average and 0.5
is half of it. An area is a *gap* (DESIGN.md) when its access is below half
that mean, when it is in the bottom quintile of areas, or when nobody there has
a site within the cut-off. Gaps roll up per patch and service category.

Every function is pure: DataFrames in, a new DataFrame out, inputs never changed.
Results keep the cost ``method`` label in ``attrs`` so every table and map can
say whether travel was measured on the network or by the straight-line fallback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from mapping import schema as S
from mapping.access.catchment import (
    ACCESS,
    NEAREST_MINUTES,
    SNAPPED,
    SUPPLY_ID,
    WITHIN_CUTOFF,
    AccessSettings,
    area_access,
    people_of,
)
from mapping.access.costs import checked_costs, cost_method
from mapping.access.inputs import ID, PEOPLE, SUPPLY, select_assets
from mapping.errors import Problem, ValidationError
from mapping.frames import require_columns
from mapping.places.areas import require_crs
from mapping.tables import rows_where

NORMALISED: Final = "normalised"
BELOW_HALF_MEAN: Final = "below_half_mean"
BOTTOM_QUINTILE: Final = "bottom_quintile"
NONE_WITHIN_CUTOFF: Final = "none_within_cutoff"
GAP: Final = "gap"
GAP_FLAGS: Final = (BELOW_HALF_MEAN, BOTTOM_QUINTILE, NONE_WITHIN_CUTOFF)

#: Computes a cost table (mapping.access.catchment contract) from demand points to new supply points.
CostFunction = Callable[[gpd.GeoDataFrame, gpd.GeoDataFrame], pd.DataFrame]


def weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    """Give the mean of ``values`` weighted by ``weights`` (missing values left out; NaN if no weight)."""
    ok = values.notna() & weights.notna()
    total = float(weights[ok].sum())
    return float((values[ok] * weights[ok]).sum()) / total if total > 0 else math.nan


def normalise_access(access: pd.DataFrame, demand: pd.DataFrame | None = None, *,
                     column: str = ACCESS) -> pd.DataFrame:
    """Give ``access`` with ``normalised``: each score ÷ the borough's population-weighted mean.

    Parameters
    ----------
    access
        Scores indexed by area id (from :func:`mapping.access.catchment.e2sfca` or
        :func:`mapping.access.catchment.area_access`).
    demand
        The demand frame whose ``people`` (or ``demand``) weight the mean; when
        ``None``, ``access`` must carry a ``people`` column itself. People are
        those of the measure (all residents, or 65+), never IMD-weighted.
    column
        The score to normalise.

    Returns
    -------
    pandas.DataFrame
        A copy with ``normalised`` added, so that the population-weighted mean
        of ``normalised`` is 1. When the mean is 0 (no area reaches any site)
        every ``normalised`` value is NaN and ``attrs["note"]`` says why.
        ``attrs["population_weighted_mean"]`` holds the mean.
    """
    require_columns(access, [column] if demand is not None else [column, PEOPLE], "access scores")
    people = people_of(demand) if demand is not None else access[PEOPLE].astype(float)
    weights = people.reindex(access.index)
    missing = access.index[weights.isna().to_numpy()].tolist()
    if missing:
        raise ValidationError([Problem(f"area '{m}' has no people in the demand frame", field=ID)
                               for m in missing[:20]], summary="cannot normalise access")
    mean = weighted_mean(access[column].astype(float), weights)
    out = access.copy()
    note = None
    if mean > 0:
        out[NORMALISED] = access[column].astype(float) / mean
    else:
        out[NORMALISED] = math.nan
        note = ("the population-weighted mean access is 0 (or there are no people): no area "
                "reaches any site, so scores cannot be compared with the borough average")
    out.attrs = {**access.attrs, "normalised_column": column,
                 "population_weighted_mean": mean, "note": note}
    return out


def flag_gaps(area_results: pd.DataFrame, demand: pd.DataFrame | None = None, *,
              column: str = ACCESS, below_ratio: float = 0.5,
              bottom_share: float = 0.2) -> pd.DataFrame:
    """Give the area results with the gap flags and ``gap`` (any flag set).

    The flags are ``below_half_mean``, ``bottom_quintile`` and ``none_within_cutoff``.

    Parameters
    ----------
    area_results
        Per area (from :func:`mapping.access.catchment.area_access`): ``column``,
        ``within_cutoff`` and either ``normalised`` or what
        :func:`normalise_access` needs.
    demand
        Passed to :func:`normalise_access` when ``normalised`` is not there yet.
    column
        The score the quintile is taken over (E2SFCA ``access`` by default).
    below_ratio
        ``below_half_mean`` is ``normalised < below_ratio`` (0.5: half the mean).
    bottom_share
        ``bottom_quintile`` is the areas whose score ranks within the lowest
        ``bottom_share`` of areas (counted in areas, not people). Tied scores
        share the lowest rank, so when many areas tie at 0 they are all flagged.

    Returns
    -------
    pandas.DataFrame
        A copy with the three flags and ``gap`` (any of them). A NaN
        ``normalised`` (mean 0) is never below half the mean; those areas are
        caught by ``none_within_cutoff``. An area left off the network
        (``snapped`` False, scores NaN) is flagged by nothing: its access is
        unknown, and ``attrs["unsnapped"]`` lists it.
    """
    require_columns(area_results, [column, WITHIN_CUTOFF], "area results")
    frame = (area_results if NORMALISED in area_results.columns
             else normalise_access(area_results, demand, column=column))
    out = frame.copy()
    out[BELOW_HALF_MEAN] = (frame[NORMALISED] < below_ratio).fillna(False).astype(bool)
    ranks = frame[column].rank(method="min")
    out[BOTTOM_QUINTILE] = (ranks <= bottom_share * ranks.notna().sum() + 1e-9).astype(bool)
    snapped = (frame[SNAPPED].astype(bool) if SNAPPED in frame.columns
               else pd.Series(True, index=frame.index))
    out[NONE_WITHIN_CUTOFF] = ~frame[WITHIN_CUTOFF].astype(bool) & snapped
    out[GAP] = out[list(GAP_FLAGS)].any(axis=1)
    out.attrs = {**frame.attrs, "below_ratio": below_ratio, "bottom_share": bottom_share}
    return out


def _area_patch(patches: pd.DataFrame) -> pd.Series:
    """Give patch name by area code, from a patch set (``area_codes`` lists) or a lookup."""
    if S.PATCH in patches.columns and "area_codes" in patches.columns:
        pairs = patches[[S.PATCH, "area_codes"]].explode("area_codes")
        lookup = pd.Series(pairs[S.PATCH].to_numpy(), index=pairs["area_codes"].to_numpy())
    elif S.PATCH in patches.columns and S.AREA_CODE in patches.columns:
        lookup = pd.Series(patches[S.PATCH].to_numpy(), index=patches[S.AREA_CODE].to_numpy())
    else:
        raise ValidationError([Problem(
            f"give a patch set (columns '{S.PATCH}', 'area_codes') or a lookup (columns "
            f"'{S.AREA_CODE}', '{S.PATCH}'); columns are {', '.join(map(str, patches.columns))}",
            field=S.PATCH)], summary="not patches")
    dupes = lookup.index[lookup.index.duplicated()].unique().tolist()
    if dupes:
        raise ValidationError([Problem(f"area '{d}' is in more than one patch", field=S.AREA_CODE)
                               for d in dupes[:20]], summary="patches overlap")
    return lookup.rename(S.PATCH)


def _site_patch(sites: gpd.GeoDataFrame, patches: pd.DataFrame,
                areas: gpd.GeoDataFrame | None, lookup: pd.Series) -> pd.Series:
    """Give the patch each site lies in (NaN outside every patch), by patch or area polygons."""
    if isinstance(patches, gpd.GeoDataFrame) and patches.geometry.geom_type.isin(
            ["Polygon", "MultiPolygon"]).all():
        require_crs(patches, what="patches")
        polygons, key = patches[[S.PATCH, "geometry"]], None
    elif areas is not None:
        require_crs(areas, what="areas")
        polygons, key = areas[[S.AREA_CODE, "geometry"]], S.AREA_CODE
    else:
        raise ValidationError([Problem(
            "a patch lookup has no outlines: pass areas= (the area polygons) so sites can be "
            "placed in patches", field="areas")], summary="cannot place sites in patches")
    points = gpd.GeoDataFrame(geometry=sites.geometry.to_crs(polygons.crs).values,
                              index=sites.index, crs=polygons.crs)
    joined = points.sjoin(polygons, how="left", predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")]
    found = joined[S.PATCH] if key is None else joined[key].map(lookup)
    return found.reindex(sites.index)


def patch_rollup(
    area_results: pd.DataFrame,
    patches: pd.DataFrame,
    assets: gpd.GeoDataFrame,
    *,
    category: str | Sequence[str] | None = None,
    areas: gpd.GeoDataFrame | None = None,
    status: Sequence[str] | None = ("active",),
) -> pd.DataFrame:
    """Give one row per patch for one service category: people, access, gaps and sites by ownership.

    Parameters
    ----------
    area_results
        Flagged area results (:func:`flag_gaps`), indexed by area code.
    patches
        A patch set (``load_patches``: ``patch``, ``area_codes``, outlines) or
        a lookup with ``code`` and ``patch`` columns.
    assets
        Assets (``assets_frame``) with ``ownership_class``; those of
        ``category`` and ``status`` are counted in the patch they lie in.
    category
        The service category (or categories) the access scores are for.
    areas
        Area polygons with ``code``; needed to place sites when ``patches`` is
        a lookup without outlines.
    status
        Asset statuses counted as sites (active by default).

    Returns
    -------
    pandas.DataFrame
        Indexed by patch: ``areas``, ``people``, ``mean_access`` and
        ``mean_normalised`` (population-weighted), ``people_in_gap_areas``,
        ``people_beyond_cutoff``, ``sites``, ``sites_<ownership class>`` for
        each class (``in-house`` becomes ``sites_in_house``), and
        ``generative_share``: generative sites ÷ sites whose ownership is
        known (NaN when none is), so unknown ownership neither counts for nor
        against a patch; ``sites_unknown`` shows how many were left out.
        Attrs keep the cost method label and list areas and sites that fall in
        no patch.
    """
    needed = [PEOPLE, ACCESS, NORMALISED, GAP, NONE_WITHIN_CUTOFF]
    require_columns(area_results, needed, "flagged area results (use flag_gaps)")
    lookup = _area_patch(patches)
    res = area_results[needed].join(lookup, how="left")
    outside_areas = res.index[res[S.PATCH].isna().to_numpy()].tolist()
    res = res[res[S.PATCH].notna()]
    people = res[PEOPLE].astype(float)
    by = res[S.PATCH]
    access, normalised = res[ACCESS].astype(float), res[NORMALISED].astype(float)
    weighted = pd.DataFrame({
        "people": people,
        # Means count only areas with a score (not those left off the network).
        "scored_people": people.where(access.notna(), 0.0),
        "normed_people": people.where(normalised.notna(), 0.0),
        "access_x_people": (access * people).fillna(0.0),
        "normalised_x_people": (normalised * people).fillna(0.0),
        "people_in_gap_areas": people.where(res[GAP].astype(bool), 0.0),
        "people_beyond_cutoff": people.where(res[NONE_WITHIN_CUTOFF].astype(bool), 0.0),
    }).groupby(by).sum()
    names = pd.Index(sorted(set(lookup.to_numpy())), name=S.PATCH)
    out = pd.DataFrame(index=names)
    out["areas"] = by.value_counts().reindex(names, fill_value=0).astype(int)
    weighted = weighted.reindex(names, fill_value=0.0)
    out["people"] = weighted["people"]
    scored, normed = weighted["scored_people"], weighted["normed_people"]
    out["mean_access"] = weighted["access_x_people"] / scored.where(scored > 0)
    out["mean_normalised"] = weighted["normalised_x_people"] / normed.where(normed > 0)
    out["people_in_gap_areas"] = weighted["people_in_gap_areas"]
    out["people_beyond_cutoff"] = weighted["people_beyond_cutoff"]
    sites = select_assets(assets, category=category, status=status)
    site_patch = _site_patch(sites, patches, areas, lookup)
    classes = (sites[S.OWNERSHIP_CLASS].fillna("unknown") if S.OWNERSHIP_CLASS in sites.columns
               else pd.Series("unknown", index=sites.index))
    counts = pd.crosstab(site_patch, classes).reindex(index=names, columns=list(S.OWNERSHIP_CLASSES),
                                                      fill_value=0)
    out["sites"] = counts.sum(axis=1).astype(int)
    for cls in S.OWNERSHIP_CLASSES:
        out[f"sites_{cls.replace('-', '_')}"] = counts[cls].astype(int)
    known = (out["sites"] - out["sites_unknown"]).astype(float)
    out["generative_share"] = out["sites_generative"] / known.where(known > 0)
    out.attrs = {**{k: v for k, v in area_results.attrs.items() if k != "note"},
                 "category": category, "areas_outside_patches": outside_areas,
                 "sites_outside_patches": sites.loc[site_patch.isna().to_numpy(), S.EXTERNAL_ID]
                 .astype(str).tolist()}
    return out


def proposed_supply(proposed: gpd.GeoDataFrame, *,
                    existing_ids: Sequence[Any] = ()) -> gpd.GeoDataFrame:
    """Give proposed sites as supply: ``id``, ``supply``, point in EPSG:27700.

    The id is taken from ``id`` or ``external_id`` when present, else
    ``proposed-1``, ``proposed-2``…; supply from ``supply`` or ``capacity``,
    counting 1 when unknown or not above 0 (as for existing sites). Every id
    clashing with an existing site and every missing or non-point location is
    reported together.
    """
    require_crs(proposed, what="proposed sites")
    id_column = next((c for c in (ID, S.EXTERNAL_ID) if c in proposed.columns), None)
    ids = (proposed[id_column].astype(str).to_numpy() if id_column is not None
           else np.array([f"proposed-{i}" for i in range(1, len(proposed) + 1)], dtype=object))
    size_column = next((c for c in (SUPPLY, S.CAPACITY) if c in proposed.columns), None)
    size = (pd.to_numeric(proposed[size_column], errors="coerce").astype(float)
            if size_column is not None else pd.Series(np.nan, index=proposed.index))
    problems: list[Problem] = []
    geoms = proposed.geometry
    for i in rows_where(geoms.isna() | geoms.is_empty | (geoms.geom_type != "Point")):
        problems.append(Problem("a proposed site must be a point", row=i + 1, field="geometry"))
    clash = set(map(str, existing_ids))
    for i, site in enumerate(ids):
        if site in clash:
            problems.append(Problem(f"id '{site}' is already an existing site", row=i + 1, field=ID))
        clash.add(site)
    if problems:
        raise ValidationError(problems, summary="invalid proposed sites")
    return gpd.GeoDataFrame({ID: ids, SUPPLY: size.where(size > 0, 1.0).to_numpy()},
                            geometry=geoms.to_crs(S.METRIC_CRS).values, crs=S.METRIC_CRS)


def what_if(
    costs: pd.DataFrame,
    demand: pd.DataFrame,
    supply: pd.DataFrame,
    proposed: gpd.GeoDataFrame,
    *,
    costs_fn: CostFunction | None = None,
    settings: AccessSettings | None = None,
) -> pd.DataFrame:
    """Give access per area before and after adding proposed sites, and the change.

    Parameters
    ----------
    costs
        The cost table for ``demand`` × the existing ``supply``.
    demand, supply
        As for :func:`mapping.access.catchment.area_access`.
    proposed
        Proposed sites as points (any CRS), optionally with ``id`` and
        ``capacity`` (see :func:`proposed_supply`).
    costs_fn
        Called as ``costs_fn(demand, proposed_supply)`` to give the cost rows
        for the proposed sites only (e.g. a partial of the network or
        straight-line cost function), so a web page can try sites one click at
        a time. ``None`` means ``costs`` already holds rows for the proposed
        ids (e.g. precomputed for every candidate community space).
    settings
        Accessibility settings; ``None`` means the defaults.

    Returns
    -------
    pandas.DataFrame
        Indexed by area id: ``people``, ``access_before``, ``access_after``,
        ``access_change`` (E2SFCA, Luo & Qi 2009), ``normalised_before`` and
        ``normalised_after`` (both ÷ today's population-weighted mean, so a
        rise shows as a rise), ``nearest_minutes_before``/``_after``,
        ``within_cutoff_before``/``_after`` and ``newly_within``. Attrs: the
        cost ``method`` label (both labels when the proposed sites were costed
        differently), ``proposed_ids``, ``people_newly_within``, the means
        before and after, and ``proposed_unreached`` (proposed sites with no
        area within the cut-off).
    """
    settings = settings or AccessSettings()
    require_columns(supply, [ID, SUPPLY], "supply")
    base = checked_costs(costs)
    new_sites = proposed_supply(proposed, existing_ids=supply[ID].tolist())
    new_ids = new_sites[ID].tolist()
    label = cost_method(base)
    if costs_fn is None:
        combined = base.copy()
        combined.attrs = dict(costs.attrs)
    else:
        extra = checked_costs(costs_fn(demand, new_sites))
        if cost_method(extra) != label:
            label = f"{label}; proposed sites: {cost_method(extra)}"
        combined = pd.concat([base[~base[SUPPLY_ID].isin(new_ids)],
                              extra[extra[SUPPLY_ID].isin(new_ids)]], ignore_index=True)
        combined.attrs = {**costs.attrs, "unsnapped": tuple(costs.attrs.get("unsnapped", ()))
                          + tuple(extra.attrs.get("unsnapped", ()))}
        cutoffs = [a.get("cutoff_min") for a in (costs.attrs, extra.attrs)]
        if None not in cutoffs:  # the combined table reaches as far as the shorter of the two
            combined.attrs["cutoff_min"] = min(float(c) for c in cutoffs if c is not None)
    combined.attrs["method"] = label
    before = area_access(costs, demand, supply, settings=settings)
    after_supply = pd.concat([supply[[ID, SUPPLY]], pd.DataFrame(new_sites[[ID, SUPPLY]])],
                             ignore_index=True)
    after = area_access(combined, demand, after_supply, settings=settings)
    mean_before = weighted_mean(before[ACCESS], before[PEOPLE])
    mean_after = weighted_mean(after[ACCESS], after[PEOPLE])
    scale = mean_before if mean_before > 0 else math.nan
    out = pd.DataFrame({
        PEOPLE: before[PEOPLE],
        "access_before": before[ACCESS], "access_after": after[ACCESS],
        "access_change": after[ACCESS] - before[ACCESS],
        "normalised_before": before[ACCESS] / scale, "normalised_after": after[ACCESS] / scale,
        "nearest_minutes_before": before[NEAREST_MINUTES],
        "nearest_minutes_after": after[NEAREST_MINUTES],
        "within_cutoff_before": before[WITHIN_CUTOFF], "within_cutoff_after": after[WITHIN_CUTOFF],
    }, index=before.index)
    out["newly_within"] = out["within_cutoff_after"] & ~out["within_cutoff_before"]
    reached = set(combined.loc[combined[SUPPLY_ID].isin(new_ids), SUPPLY_ID])
    out.attrs = {**after.attrs, "method": label, "proposed_ids": new_ids,
                 "people_newly_within": float(out.loc[out["newly_within"], PEOPLE].sum()),
                 "mean_access_before": mean_before, "mean_access_after": mean_after,
                 "proposed_unreached": [i for i in new_ids if i not in reached]}
    return out
