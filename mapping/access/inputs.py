"""Demand and supply for the accessibility measures: people per small area, sites per category.

:func:`demand_from_areas` gives each small area a demand point (its centroid or a point
inside it) and its people (everyone, or those 65+, optionally weighted by IMD decile);
:func:`supply_from_assets` gives each active site of the chosen categories its capacity.
Both are pure: frames in, a new frame out, with the column names below, which
:mod:`mapping.access.catchment` reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.places.areas import require_crs
from mapping.tables import rows_where

# --- demand and supply columns ---------------------------------------------------------
ID: Final = "id"


DEMAND: Final = "demand"


PEOPLE: Final = "people"


IMD_WEIGHT: Final = "imd_weight"


POINT_METHOD: Final = "point_method"


SUPPLY: Final = "supply"


Measure = Literal["population", "population_65_plus"]


MEASURES: Final = (S.POPULATION, S.POPULATION_65_PLUS)


CentroidMethod = Literal["geometric", "representative"]


CENTROID_METHODS: Final = ("geometric", "representative")


def demand_from_areas(
    areas: gpd.GeoDataFrame,
    *,
    measure: Measure = "population",
    imd_weighting: bool = False,
    centroid: CentroidMethod = "geometric",
) -> gpd.GeoDataFrame:
    """Give each area's demand at one point: ``id``, ``people``, ``imd_weight``, ``demand``, point.

    Parameters
    ----------
    areas
        Small areas (LSOA 2021 from ``load_area_layer``) with ``code``, the
        ``measure`` column and, for IMD weighting, ``imd_decile``.
    measure
        ``"population"`` (all usual residents) or ``"population_65_plus"``.
    imd_weighting
        Weight demand by deprivation: ``weight = 1 + (10 - decile) / 9``, so an
        area in IMD decile 1 (most deprived) counts double, decile 10 counts
        once, and the steps between are equal. ``people`` stays unweighted.
    centroid
        Where an area's demand sits. ``"geometric"``: the polygon's centroid in
        EPSG:27700, moved to shapely's representative point (always inside the
        polygon) where the centroid falls outside its own area (8 of Newham's
        185 LSOAs), so demand never snaps to a street in the next area.
        ``"representative"``: the representative point for every area.
        Population-weighted centroids are not offered: they need Output Area
        populations as weights, and those are not in the data for 2021.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per area in input order, points in EPSG:27700; ``point_method``
        says which point each area got. Attrs: ``measure``, ``imd_weighting``,
        ``centroid``.

    Raises
    ------
    ValidationError
        Every missing column, duplicate or blank code, and missing, negative
        or out-of-range value, at once.
    """
    require_crs(areas, what="area layer")
    problems: list[Problem] = []
    if measure not in MEASURES:
        problems.append(Problem(f"measure '{measure}' is not one of {', '.join(MEASURES)}",
                                field="measure"))
    if centroid not in CENTROID_METHODS:
        extra = (" (population-weighted centroids need 2021 Output Area populations, which "
                 "are not in the data)" if "pop" in str(centroid) else "")
        problems.append(Problem(f"centroid '{centroid}' is not one of "
                                f"{', '.join(CENTROID_METHODS)}{extra}", field="centroid"))
    needed = [S.AREA_CODE, measure] + ([S.IMD_DECILE] if imd_weighting else [])
    problems += [Problem(f"column '{c}' is missing", field=c) for c in needed
                 if c not in areas.columns]
    if problems:
        raise ValidationError(problems, summary="cannot compute demand")
    codes = areas[S.AREA_CODE].astype("string")
    for i in rows_where(codes.isna() | (codes.str.strip() == "")):
        problems.append(Problem("area code is empty", row=i + 1, field=S.AREA_CODE))
    for i in rows_where(codes.duplicated() & codes.notna()):
        problems.append(Problem(f"area code '{codes.iloc[i]}' appears more than once", row=i + 1,
                                field=S.AREA_CODE))
    people = pd.to_numeric(areas[measure], errors="coerce").astype(float)
    for i in rows_where((people.isna() | (people < 0)).to_numpy()):
        problems.append(Problem(f"{measure} is missing or negative", row=i + 1, field=measure))
    weight = pd.Series(1.0, index=areas.index)
    if imd_weighting:
        decile = pd.to_numeric(areas[S.IMD_DECILE], errors="coerce").astype(float)
        bad = decile.isna() | ~decile.isin(list(range(1, 11)))
        for i in rows_where(bad.to_numpy()):
            problems.append(Problem("IMD decile must be a whole number from 1 to 10", row=i + 1,
                                    field=S.IMD_DECILE))
        weight = 1.0 + (10.0 - decile) / 9.0
    empty = areas.geometry.isna() | areas.geometry.is_empty
    for i in rows_where(empty.to_numpy()):
        problems.append(Problem("geometry is empty", row=i + 1, field="geometry"))
    if problems:
        raise ValidationError(problems, summary="cannot compute demand")
    metric = areas.geometry.to_crs(S.METRIC_CRS)
    inner = metric.representative_point()
    if centroid == "geometric":
        centres = metric.centroid
        use_centre = centres.within(metric).to_numpy()
        points = np.where(use_centre, np.asarray(centres.array), np.asarray(inner.array))
        method = np.where(use_centre, "centroid", "representative point (centroid outside)")
    else:
        points = np.asarray(inner.array)
        method = np.full(len(areas), "representative point")
    out = gpd.GeoDataFrame(
        {ID: codes.astype(object).to_numpy(), PEOPLE: people.to_numpy(),
         IMD_WEIGHT: weight.to_numpy(dtype=float), DEMAND: (people * weight).to_numpy(),
         POINT_METHOD: method},
        geometry=gpd.GeoSeries(points, crs=S.METRIC_CRS).values, crs=S.METRIC_CRS,
    )
    out.attrs = {"measure": measure, "imd_weighting": imd_weighting, "centroid": centroid}
    return out


def select_assets(
    assets: gpd.GeoDataFrame,
    *,
    category: str | Sequence[str] | None = None,
    generative_only: bool = False,
    include_national: bool = False,
    status: Sequence[str] | None = ("active",),
) -> gpd.GeoDataFrame:
    """Give the assets that pass the filters (a new frame; each filter left as ``None`` is off).

    ``generative_only`` keeps ownership class ``generative`` ("access to locally
    generative provision"); nationally operating organisations are generative
    by legal form but less *locally* generative (DESIGN.md), so they are left
    out unless ``include_national``.
    """
    require_crs(assets, what="assets")
    wanted = {S.EXTERNAL_ID: True, S.CATEGORY: category is not None,
              S.OWNERSHIP_CLASS: generative_only, S.STATUS: status is not None}
    problems = [Problem(f"column '{c}' is missing", field=c) for c, need in wanted.items()
                if need and c not in assets.columns]
    if problems:
        raise ValidationError(problems, summary="cannot select assets")
    keep = pd.Series(True, index=assets.index)
    if category is not None:
        keep &= assets[S.CATEGORY].isin([category] if isinstance(category, str) else list(category))
    if status is not None:
        keep &= assets[S.STATUS].isin(list(status))
    if generative_only:
        keep &= assets[S.OWNERSHIP_CLASS] == "generative"
        if not include_national and S.NATIONAL_FOOTPRINT in assets.columns:
            keep &= ~assets[S.NATIONAL_FOOTPRINT].fillna(False).astype(bool)
    return assets.loc[keep.to_numpy()].copy()


def supply_from_assets(
    assets: gpd.GeoDataFrame,
    *,
    category: str | Sequence[str] | None = None,
    generative_only: bool = False,
    include_national: bool = False,
    status: Sequence[str] | None = ("active",),
) -> gpd.GeoDataFrame:
    """Give each site's supply: ``id`` (external id), ``supply``, category, ownership, point.

    Supply is the asset's ``capacity``; when it is unknown, not a number, or
    not above 0, the site counts as 1 (DESIGN.md). The filters are those of
    :func:`select_assets` (active sites only by default). Assets with no
    location cannot be reached and are left out; their ids are listed in
    ``attrs["no_location"]``. Points are in EPSG:27700.
    """
    chosen = select_assets(assets, category=category, generative_only=generative_only,
                           include_national=include_national, status=status)
    ids = chosen[S.EXTERNAL_ID].astype("string")
    dupes = ids[ids.duplicated()].dropna().unique().tolist()
    if dupes:
        raise ValidationError([Problem(f"asset id '{d}' appears more than once",
                                       field=S.EXTERNAL_ID) for d in dupes],
                              summary="cannot compute supply")
    geoms = chosen.geometry
    located = ~(geoms.isna() | geoms.is_empty)
    if located.any():
        xy = geoms[located].get_coordinates()
        located.loc[located] = np.isfinite(xy.to_numpy()).all(axis=1)
    capacity = (pd.to_numeric(chosen[S.CAPACITY], errors="coerce").astype(float)
                if S.CAPACITY in chosen.columns else pd.Series(np.nan, index=chosen.index))
    supply = capacity.where(capacity > 0, 1.0)
    data: dict[str, Any] = {ID: ids.astype(object), SUPPLY: supply}
    for column in (S.CATEGORY, S.OWNERSHIP_CLASS):
        if column in chosen.columns:
            data[column] = chosen[column]
    frame = pd.DataFrame(data)[located.to_numpy()]
    out = gpd.GeoDataFrame(frame.reset_index(drop=True),
                           geometry=geoms[located].to_crs(S.METRIC_CRS).values,
                           crs=S.METRIC_CRS)
    out.attrs = {"category": category, "generative_only": generative_only,
                 "no_location": ids[~located.to_numpy()].dropna().tolist()}
    return out
