"""Finding assets: filters, patches, and distance from a postcode (the directory's core).

Pure functions over the register's GeoDataFrame; distances are measured in
EPSG:27700. Distances here are straight-line ("as the crow flies") and are
labelled so; network distances come from :mod:`mapping.access.network` when a street
network is available.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box
from shapely.geometry.base import BaseGeometry

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.places.areas import require_crs
from mapping.places.postcodes import PostcodeIndex, default_index

DISTANCE_M = "distance_m"
DISTANCE_METHOD = "distance_method"
STRAIGHT_LINE = "straight line"


def filter_assets(
    assets: gpd.GeoDataFrame,
    *,
    category: Sequence[str] | None = None,
    ownership_class: Sequence[str] | None = None,
    status: Sequence[str] | None = None,
    within: BaseGeometry | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    text: str | None = None,
) -> gpd.GeoDataFrame:
    """Give the assets that pass every filter given (a new frame; ``None`` means no filter).

    ``within`` is a (patch) polygon and ``bbox`` is (min lon, min lat, max lon,
    max lat), both in EPSG:4326; ``text`` matches name or description, any case.
    """
    require_crs(assets, what="assets")
    keep = pd.Series(True, index=assets.index)
    if category:
        keep &= assets[S.CATEGORY].isin(list(category))
    if ownership_class:
        keep &= assets[S.OWNERSHIP_CLASS].isin(list(ownership_class))
    if status:
        keep &= assets[S.STATUS].isin(list(status))
    if text:
        needle = text.strip().casefold()
        haystack = (assets[S.NAME].fillna("") + " " + assets[S.DESCRIPTION].fillna("")).str.casefold()
        keep &= haystack.str.contains(needle, regex=False)
    points = assets.geometry.to_crs(S.STORAGE_CRS) if assets.crs != S.STORAGE_CRS else assets.geometry
    if bbox is not None:
        keep &= points.intersects(box(*bbox))
    if within is not None:
        keep &= points.covered_by(within)
    return assets[keep.to_numpy()].copy()


def point_for_postcode(postcode: str, *, index: PostcodeIndex | None = None) -> Point:
    """Give a postcode's point (EPSG:4326), or raise :class:`ValidationError` saying why not."""
    found = (index or default_index()).lookup(pd.Series([postcode]))
    problem = found["problem"].iloc[0]
    if problem:
        raise ValidationError([Problem(str(problem), field=S.POSTCODE)],
                              summary=f"cannot find '{postcode}'")
    return Point(float(found[S.LON].iloc[0]), float(found[S.LAT].iloc[0]))


def assets_near(
    assets: gpd.GeoDataFrame, origin: Point, *, radius_m: float | None = None
) -> gpd.GeoDataFrame:
    """Give assets with their straight-line distance in metres from ``origin``, nearest first.

    ``origin`` is in EPSG:4326. With ``radius_m``, only assets within it. The
    ``distance_method`` column says "straight line" so that pages and exports
    can label the distances honestly.
    """
    require_crs(assets, what="assets")
    if radius_m is not None and radius_m < 0:
        raise ValidationError([Problem("must not be negative", field="radius_m")])
    metric = assets.geometry.to_crs(S.METRIC_CRS)
    here = gpd.GeoSeries([origin], crs=S.STORAGE_CRS).to_crs(S.METRIC_CRS).iloc[0]
    out = assets.copy()
    out[DISTANCE_M] = np.round(metric.distance(here).to_numpy(), 1)
    out[DISTANCE_METHOD] = STRAIGHT_LINE
    if radius_m is not None:
        out = out[out[DISTANCE_M] <= radius_m]
    return out.sort_values([DISTANCE_M, S.NAME], kind="stable")
