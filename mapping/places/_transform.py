"""Converting between British National Grid and lon/lat with one cached PROJ transformer,
and the argument check the geocoding functions share.

Without the OSTN15 grid (PROJ's network access is off) PROJ uses the published Helmert
transformation, good to a few metres: ample for postcode points and asset locations.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pyproj
from pyproj.enums import TransformDirection

from mapping.schema import METRIC_CRS, STORAGE_CRS


@functools.lru_cache(maxsize=1)
def _transformer() -> pyproj.Transformer:
    """Give the one EPSG:27700 → EPSG:4326 transformer (lon/lat order); inverse for EN."""
    return pyproj.Transformer.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True)


def en_to_lonlat(easting: np.ndarray, northing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Give lon/lat for eastings/northings; NaN in, NaN out (PROJ would give inf)."""
    lon = np.full(easting.shape, np.nan)
    lat = np.full(easting.shape, np.nan)
    ok = np.isfinite(easting) & np.isfinite(northing)
    if ok.any():
        lon[ok], lat[ok] = _transformer().transform(easting[ok], northing[ok])
    return lon, lat


def lonlat_to_en(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Give eastings/northings for lon/lat; NaN in, NaN out."""
    easting = np.full(lon.shape, np.nan)
    northing = np.full(lon.shape, np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if ok.any():
        easting[ok], northing[ok] = _transformer().transform(
            lon[ok], lat[ok], direction=TransformDirection.INVERSE
        )
    return easting, northing

def require_series(values: object, name: str) -> None:
    if not isinstance(values, pd.Series):
        raise TypeError(f"{name} must be a pandas Series, not {type(values).__name__}")
