"""Give every record a point: offline geocoding for all of Great Britain.

Three ways in, tried in this order by :func:`geocode_frame`:

1. explicit longitude/latitude (EPSG:4326), checked by :func:`points_from_lonlat`;
2. British National Grid eastings/northings (EPSG:27700), checked and converted by
   :func:`points_from_eastings_northings`;
3. a postcode, looked up in **OS Code-Point Open** by :class:`PostcodeIndex`, then in any
   further sources the index was given, such as the ONS Postcode Directory
   (:func:`mapping.places.onspd.index_with_onspd`), which also knows terminated postcodes.

Postcodes are looked up in OS Code-Point Open (:mod:`mapping.places.postcodes`, OGL v3.0);
coordinates are converted with one cached PROJ transformer (:mod:`mapping.places._transform`).
Every located row says what placed it (``located_by``), and a point to check says why
(``warning``): a terminated postcode is located, at its last point, with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mapping.errors import CRSError
from mapping.places._transform import en_to_lonlat, lonlat_to_en, require_series
from mapping.places.postcodes import (
    CODEPOINT_ATTRIBUTION,
    CODEPOINT_LICENCE,
    PQI,
    PROBLEM,
    SOURCE,
    TERMINATED,
    WARNING,
    PostcodeIndex,
    default_index,
    normalise_postcode,
    normalise_postcodes,
)
from mapping.schema import (
    EASTING,
    GB_BOUNDS_EN,
    IN_BOROUGH,
    LAT,
    LON,
    NORTHING,
    POSTCODE,
    STORAGE_CRS,
    UK_BOUNDS_LONLAT,
)

__all__ = [
    "CODEPOINT_ATTRIBUTION",
    "CODEPOINT_LICENCE",
    "GEOCODED_BY",
    "LOCATED_BY",
    "PQI",
    "PROBLEM",
    "NO_LOCATION",
    "WARNING",
    "PostcodeIndex",
    "default_index",
    "flag_outside_borough",
    "geocode_frame",
    "normalise_postcode",
    "normalise_postcodes",
    "points_from_eastings_northings",
    "points_from_lonlat",
]

# Output columns of this module.
GEOCODED_BY: Final = "geocoded_by"
LOCATED_BY: Final = "located_by"

NO_LOCATION: Final = "no location: give a postcode, lon/lat or easting/northing"

# --------------------------------------------------------------------------------------
# coordinates
# --------------------------------------------------------------------------------------


def _given(values: pd.Series) -> np.ndarray:
    """Give True where a value was supplied: not missing and not blank text."""
    present: np.ndarray = np.array(values.notna(), dtype=bool)  # writable copy
    if present.any() and (values.dtype == object or pd.api.types.is_string_dtype(values)):
        text = values[present].astype(str).str.strip()
        present[present] = (text != "").to_numpy(dtype=bool)
    return present


def _as_float(values: pd.Series) -> np.ndarray:
    """Give the values as float64, NaN where missing or not a finite number."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values
    else:
        numbers = pd.Series(pd.to_numeric(values.astype(object), errors="coerce"), dtype="Float64")
    out: np.ndarray = np.array(numbers.to_numpy(dtype="float64", na_value=np.nan))  # a copy
    out[~np.isfinite(out)] = np.nan
    return out


def _check_pair(x: pd.Series, y: pd.Series, x_name: str, y_name: str) -> None:
    require_series(x, x_name)
    require_series(y, y_name)
    if not x.index.equals(y.index):
        raise ValueError(f"{x_name} and {y_name} must have the same index")


_Rule = tuple[np.ndarray, Callable[[np.ndarray], pd.Series]]


def _first_problem(n: int, rules: list[_Rule]) -> np.ndarray:
    """Give each row the message of the first rule whose mask is True there, else None."""
    problem = np.full(n, None, dtype=object)
    open_ = np.ones(n, dtype=bool)
    for mask, message in rules:
        hit = mask & open_
        if hit.any():
            problem[hit] = message(hit).to_numpy(dtype=object)
            open_ &= ~hit
    return problem


def _text(values: pd.Series) -> pd.Series:
    """Give the values as plain ``str`` for quoting in messages."""
    return values.astype(object).astype(str).reset_index(drop=True)


def _shown(numbers: np.ndarray) -> pd.Series:
    """Give numbers as short text for messages: ``51.5``, ``0`` (not ``0.0``)."""
    return pd.Series(numbers).astype(str).str.replace(r"\.0$", "", regex=True)


def _in_box(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])


def _pair_rules(
    raw_x: pd.Series, raw_y: pd.Series, x: np.ndarray, y: np.ndarray, x_name: str, y_name: str
) -> list[_Rule]:
    """Give the first checks of any coordinate pair: both missing, one missing, not a number."""
    x_given, y_given = _given(raw_x), _given(raw_y)

    def same(message: str) -> Callable[[np.ndarray], pd.Series]:
        return lambda m: pd.Series([message] * int(m.sum()))

    return [
        (~x_given & ~y_given, same(f"no {x_name}/{y_name} given")),
        (~x_given, same(f"{x_name} is missing")),
        (~y_given, same(f"{y_name} is missing")),
        (np.isnan(x), lambda m: f"{x_name} '" + _text(raw_x)[m] + "' is not a number"),
        (np.isnan(y), lambda m: f"{y_name} '" + _text(raw_y)[m] + "' is not a number"),
    ]


def _checked_points(
    problem: np.ndarray, x: np.ndarray, y: np.ndarray, index: pd.Index, *, lonlat: bool
) -> pd.DataFrame:
    """Give the points frame: NaN where a row has a problem, the other pair converted.

    ``x``, ``y`` are longitude/latitude when ``lonlat``, else easting/northing.
    """
    ok = pd.isna(problem)
    x, y = np.where(ok, x, np.nan), np.where(ok, y, np.nan)
    if lonlat:
        (lon, lat), (easting, northing) = (x, y), lonlat_to_en(x, y)
    else:
        (lon, lat), (easting, northing) = en_to_lonlat(x, y), (x, y)
    return pd.DataFrame(
        {
            LON: lon,
            LAT: lat,
            EASTING: easting,
            NORTHING: northing,
            PROBLEM: pd.Series(problem, index=index, dtype=object),
        },
        index=index,
    )


def points_from_lonlat(lon: pd.Series, lat: pd.Series) -> pd.DataFrame:
    """Give checked longitude/latitude points with their eastings/northings, vectorised.

    Each row gets at most one problem, the first of: a value missing; a value that is not a
    number; (0, 0), "null island", which is a missing location saved as zeros; latitude and
    longitude swapped (the longitude looks like a UK latitude and the latitude like a UK
    longitude); a point outside the UK (``UK_BOUNDS_LONLAT``). Rows with a problem get NaN
    coordinates.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in EPSG:4326 degrees, as numbers or text; same index.

    Returns
    -------
    pandas.DataFrame
        Same index, with columns ``lon``, ``lat``, ``easting``, ``northing`` (EPSG:27700) and
        ``problem``.
    """
    _check_pair(lon, lat, "lon", "lat")
    x, y = _as_float(lon), _as_float(lat)
    lon_min, lat_min, lon_max, lat_max = UK_BOUNDS_LONLAT
    swapped = _in_box(y, x, UK_BOUNDS_LONLAT)

    def where(m: np.ndarray) -> pd.Series:
        return "lon=" + _shown(x[m]) + ", lat=" + _shown(y[m])

    problem = _first_problem(
        len(x),
        [
            *_pair_rules(lon, lat, x, y, "lon", "lat"),
            (
                (x == 0) & (y == 0),
                lambda m: where(m) + " is 'null island': a missing location saved as zeros",
            ),
            (swapped, lambda m: "latitude and longitude look swapped: " + where(m)),
            (
                ~_in_box(x, y, UK_BOUNDS_LONLAT),
                lambda m: (
                    where(m) + " is outside the UK "
                    f"(lon {lon_min} to {lon_max}, lat {lat_min} to {lat_max})"
                ),
            ),
        ],
    )
    return _checked_points(problem, x, y, lon.index, lonlat=True)


def points_from_eastings_northings(easting: pd.Series, northing: pd.Series) -> pd.DataFrame:
    """Give checked British National Grid points with their lon/lat, vectorised.

    Each row gets at most one problem, the first of: a value missing; a value that is not a
    number; (0, 0), the grid's own "null island"; a pair that looks like longitude/latitude
    in degrees rather than metres; a point outside Great Britain's grid (``GB_BOUNDS_EN``).
    Rows with a problem get NaN coordinates.

    Parameters
    ----------
    easting, northing
        EPSG:27700 metres, as numbers or text; same index.

    Returns
    -------
    pandas.DataFrame
        Same index, with columns ``lon``, ``lat`` (EPSG:4326), ``easting``, ``northing`` and
        ``problem``.
    """
    _check_pair(easting, northing, "easting", "northing")
    e, n = _as_float(easting), _as_float(northing)

    def where(m: np.ndarray) -> pd.Series:
        return "easting=" + _shown(e[m]) + ", northing=" + _shown(n[m])

    e_min, n_min, e_max, n_max = GB_BOUNDS_EN
    # A real GB point is kilometres from the grid origin; single/double-digit pairs inside
    # the UK's lon/lat box are degrees typed into the wrong columns.
    degrees = _in_box(e, n, UK_BOUNDS_LONLAT) | _in_box(n, e, UK_BOUNDS_LONLAT)
    problem = _first_problem(
        len(e),
        [
            *_pair_rules(easting, northing, e, n, "easting", "northing"),
            (
                (e == 0) & (n == 0),
                lambda m: where(m) + " is the grid origin: a missing location saved as zeros",
            ),
            (
                degrees,
                lambda m: (
                    where(m) + " look like longitude/latitude in degrees, not National Grid metres"
                ),
            ),
            (
                ~_in_box(e, n, GB_BOUNDS_EN),
                lambda m: (
                    where(m) + " is outside Great Britain's "
                    f"National Grid (easting {e_min:.0f} to {e_max:.0f}, northing {n_min:.0f} to "
                    f"{n_max:.0f} m)"
                ),
            ),
        ],
    )
    return _checked_points(problem, e, n, easting.index, lonlat=False)


# --------------------------------------------------------------------------------------
# the borough
# --------------------------------------------------------------------------------------


def flag_outside_borough(
    points: gpd.GeoDataFrame | gpd.GeoSeries, boundary: gpd.GeoDataFrame | gpd.GeoSeries
) -> pd.Series:
    """Give True where a point lies inside the borough boundary (column ``in_borough``).

    The False rows are the ones to flag: a record outside the borough is usually a wrong
    postcode or a provider's head office. A point exactly on the boundary counts as inside
    (``covered_by``, not ``within``). Missing or empty geometries are False.

    Parameters
    ----------
    points
        The points to test; must have a CRS.
    boundary
        The borough outline, one or more polygons; must have a CRS. Reprojected to the
        points' CRS when it differs. Neither input is modified.

    Returns
    -------
    pandas.Series
        Boolean, same index as ``points``, named ``in_borough``.

    Raises
    ------
    CRSError
        If either input has no CRS.
    """
    for name, frame in (("points", points), ("boundary", boundary)):
        if not isinstance(frame, gpd.GeoDataFrame | gpd.GeoSeries):
            raise TypeError(
                f"{name} must be a GeoDataFrame or GeoSeries, not {type(frame).__name__}"
            )
        if frame.crs is None:
            raise CRSError(
                f"{name} has no CRS; set one (e.g. .set_crs('{STORAGE_CRS}')) before "
                "testing points against the borough boundary"
            )
    if not boundary.crs.equals(points.crs):
        boundary = boundary.to_crs(points.crs)
    outline = boundary.union_all()
    shapely.prepare(outline)
    inside = shapely.covered_by(points.geometry.to_numpy(), outline)
    return pd.Series(np.asarray(inside, dtype=bool), index=points.index, name=IN_BOROUGH)


# --------------------------------------------------------------------------------------
# one entry point for importers
# --------------------------------------------------------------------------------------


def geocode_frame(df: pd.DataFrame, *, index: PostcodeIndex | None = None) -> pd.DataFrame:
    """Give a copy of ``df`` with every row's point resolved, and why not where it failed.

    Each row uses the first location it was given: explicit ``lon``/``lat``, then
    ``easting``/``northing``, then ``postcode`` (OS Code-Point Open, then the index's further
    sources such as ONSPD; see :class:`PostcodeIndex`). A row that gave coordinates keeps
    them even when it also has a postcode. A row whose chosen location is wrong (say,
    latitude and longitude swapped) gets that problem and is *not* quietly geocoded from a
    later column instead: the coordinates were the more specific claim, and the person
    importing should see that they are wrong. ``geocoded_by`` then still names the location
    the problem is about.

    Parameters
    ----------
    df
        Records with any of the columns ``lon``, ``lat``, ``easting``, ``northing`` and
        ``postcode``; other columns are carried through. Not modified.
    index
        Where to look postcodes up; ``None`` means :func:`default_index` (Code-Point Open
        only), which is only touched when some row has to be geocoded by postcode. For
        ONSPD too, pass :func:`mapping.places.onspd.index_with_onspd`'s index.

    Returns
    -------
    pandas.DataFrame
        A new frame: ``df``'s columns, with ``lon``, ``lat``, ``easting``, ``northing``
        (floats, NaN where unresolved), ``geocoded_by``, ``located_by``, ``warning`` and
        ``problem`` set or replaced.
        ``geocoded_by`` is the location the row used: ``"lonlat"``,
        ``"eastings_northings"`` or ``"postcode"``, or ``None`` when it gave none.
        ``problem`` is ``None`` when the row has a point, else the reason it has not; so a
        row is located exactly when ``problem`` is ``None``. ``located_by`` says, for a
        located row (else ``None``), what placed it: ``"coordinates (lon/lat)"``,
        ``"coordinates (easting/northing)"`` or ``"postcode (<source>)"``, e.g.
        ``"postcode (OS Code-Point Open)"``, ``"postcode (ONSPD Nov 2025)"``, and
        ``"postcode (ONSPD Nov 2025; terminated 2019-06)"`` for a terminated postcode.
        ``warning`` is ``None``, or why a located row's point needs checking (a terminated
        postcode, or one a source without termination dates alone knows); the row is
        still located. Valid postcodes are put in canonical form (``"E15 4EH"``); anything
        else in ``postcode`` is left as given.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, not {type(df).__name__}")
    n = len(df)
    result = {col: np.full(n, np.nan) for col in (LON, LAT, EASTING, NORTHING)}
    geocoded_by, located_by, warning, problem = (np.full(n, None, dtype=object) for _ in range(4))
    open_ = np.ones(n, dtype=bool)

    def column(name: str) -> pd.Series:
        if name in df.columns:
            return df[name]
        return pd.Series(None, index=df.index, dtype=object)

    def take(rows: np.ndarray, found: pd.DataFrame, method: str, placed_by: pd.Series) -> None:
        for col in result:
            result[col][rows] = found[col].to_numpy(dtype="float64", na_value=np.nan)
        found_problem = found[PROBLEM].to_numpy(dtype=object)
        problem[rows] = found_problem
        geocoded_by[rows] = method
        located_by[rows] = np.where(pd.isna(found_problem), placed_by.to_numpy(dtype=object), None)
        open_[rows] = False

    pairs: list[tuple[str, str, Callable[[pd.Series, pd.Series], pd.DataFrame], str, str]] = [
        (LON, LAT, points_from_lonlat, "lonlat", "coordinates (lon/lat)"),
        (EASTING, NORTHING, points_from_eastings_northings, "eastings_northings",
         "coordinates (easting/northing)"),
    ]
    for x_name, y_name, convert, method, label in pairs:
        if x_name not in df.columns and y_name not in df.columns:
            continue
        x, y = column(x_name), column(y_name)
        rows = np.flatnonzero(open_ & (_given(x) | _given(y)))
        if len(rows):
            found = convert(x.iloc[rows], y.iloc[rows])
            take(rows, found, method, pd.Series(label, index=found.index, dtype=object))

    if POSTCODE in df.columns:
        postcodes = df[POSTCODE]
        rows = np.flatnonzero(open_ & _given(postcodes))
        if len(rows):
            found = (index if index is not None else default_index()).lookup(postcodes.iloc[rows])
            take(rows, found, "postcode", _postcode_located_by(found))
            warning[rows] = found[WARNING].to_numpy(dtype=object)

    problem[open_] = NO_LOCATION
    out = df.copy()
    for col, values in result.items():
        out[col] = values
    if POSTCODE in df.columns:
        canonical = normalise_postcodes(df[POSTCODE])
        valid = canonical.notna().to_numpy(dtype=bool)
        out[POSTCODE] = df[POSTCODE].mask(valid, canonical.to_numpy(dtype=object, na_value=None))
    for col, values in ((GEOCODED_BY, geocoded_by), (LOCATED_BY, located_by), (WARNING, warning),
                        (PROBLEM, problem)):
        out[col] = pd.Series(values, index=df.index, dtype=object)
    return out


def _postcode_located_by(found: pd.DataFrame) -> pd.Series:
    """Give ``"postcode (<source>)"``, with ``"; terminated yyyy-mm"`` when it was, per row of a lookup."""
    month = found[TERMINATED].map(lambda d: "" if d is None else f"; terminated {d:%Y-%m}")
    return "postcode (" + found[SOURCE].astype(str) + month.astype(str) + ")"
