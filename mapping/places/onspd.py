"""The ONS Postcode Directory (ONSPD): reading it, and making it a postcode source.

ONSPD lists every UK postcode, live and terminated, with its introduction and termination
month (``dointr``, ``doterm``: ``yyyymm``, ``doterm`` blank while live), a grid reference to
1 m and its quality indicator (1-8; **9 = no grid reference**, when ``lat`` is the sentinel
``99.999999``), ``lat``/``long`` (WGS84, computed by ONS) and the areas it falls in. ONS has
published two header spellings of the same fields, and both are read:

* to 2024: ``pcd, pcd2, pcds, dointr, doterm, oscty, ced, oslaua, osward, parish, usertype,
  oseast1m, osnrth1m, osgrdind, …, oa21, lsoa21, msoa21, …, lat, long, …, imd, …``;
* from 2025: ``pcd7, pcd8, pcds, dointr, doterm, usrtypind, east1m, north1m, gridind,
  oa21cd, cty25cd, ced25cd, lad25cd, wd25cd, …, lsoa21cd, msoa21cd, …, lat, long, …``.

Headers are matched case-insensitively, the local authority as ``laua``, ``oslaua`` or
``ladNNcd``, longitude as ``long`` or ``lon``; cut-down copies with fewer columns (such as the
Newham demo's ``pcds, pcd7, laua, oseast1m, osnrth1m, lon, lat``) are read too. What is not
read: Northern Ireland's easting/northing are on the Irish Grid, not the British National
Grid, so ``BT`` postcodes are placed by ``lat``/``long``; the Channel Islands and the Isle of
Man have no location in ONSPD. Rows without a usable location are left out and counted.

ONSPD is published by ONS under the Open Government Licence v3.0 (:data:`ONSPD_ATTRIBUTION`);
ONS's terms restrict Northern Ireland postcodes (Land & Property Services data) further, so
check them before publishing ``BT`` points.

:func:`postcode_source` turns the rows (from :func:`read_onspd`, or read back from the
store) into a :class:`~mapping.places.postcodes.PostcodeSource` for
:meth:`PostcodeIndex.with_source <mapping.places.postcodes.PostcodeIndex.with_source>`;
:func:`index_with_onspd` does both steps.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from mapping.errors import Problem, ValidationError
from mapping.places._transform import en_to_lonlat, lonlat_to_en
from mapping.places.geocode import points_from_eastings_northings, points_from_lonlat
from mapping.places.postcodes import (
    PROBLEM,
    TERMINATED,
    PostcodeIndex,
    PostcodeSource,
    default_index,
    normalise_postcodes,
)
from mapping.schema import EASTING, LAT, LON, NORTHING, POSTCODE, UK_BOUNDS_LONLAT

__all__ = [
    "LOCAL_AUTHORITY",
    "ONSPD_ATTRIBUTION",
    "ONSPD_LICENCE",
    "OnspdPostcodes",
    "index_with_onspd",
    "onspd_from_frame",
    "postcode_source",
    "read_onspd",
]

ONSPD_ATTRIBUTION: Final = (
    "Source: Office for National Statistics licensed under the Open Government Licence v3.0. "
    "Contains OS data © Crown copyright and database right; Contains Royal Mail data © Royal "
    "Mail copyright and database right; Contains GeoPlace data © Local Government Information "
    "House Limited copyright and database right."
)
ONSPD_LICENCE: Final = "OGL-UK-3.0"
#: Output column: the local authority district (GSS code) ONSPD assigns the postcode to.
LOCAL_AUTHORITY: Final = "local_authority"

_DOTERM: Final = "doterm"
_GRID: Final = "grid indicator"
#: Our field → ONSPD header spellings, lower case, first found wins (all hold the same data).
_HEADERS: Final[dict[str, tuple[str, ...]]] = {
    POSTCODE: ("pcds", "pcd", "pcd7", "pcd2", "pcd8"),
    EASTING: ("oseast1m", "east1m"),
    NORTHING: ("osnrth1m", "north1m"),
    LAT: ("lat",),
    LON: ("long", "lon"),
    _DOTERM: ("doterm",),
    _GRID: ("osgrdind", "gridind"),
    LOCAL_AUTHORITY: ("laua", "oslaua"),
}
_LAD_VINTAGED: Final = re.compile(r"lad\d{2}cd")
_NO_GRID_REFERENCE: Final = "9"
_NO_LOCATION_LAT: Final = 99.999999
# Not on the British National Grid in ONSPD: Northern Ireland (Irish Grid) and the Crown
# dependencies (no location at all).
_OFF_GRID_AREAS: Final = ("BT", "GY", "JE", "IM")
_NOT_ONSPD: Final = "this does not look like the ONS Postcode Directory"


@dataclass(frozen=True)
class OnspdPostcodes:
    """ONSPD rows read, with the count of every row left out.

    Attributes
    ----------
    points
        One row per postcode with a location: ``postcode`` (canonical), ``lon``, ``lat``
        (EPSG:4326), ``easting``, ``northing`` (EPSG:27700; for Northern Ireland computed
        from ``lat``/``long``), ``terminated`` (:class:`datetime.date`, first day of the
        ``doterm`` month, or ``None``) and, when the file has it, ``local_authority``.
    file
        The file (or label) read, as named in problems.
    rows
        Data rows in the input: ``len(points) + without_location + elsewhere``.
    without_location
        Rows left out because ONSPD gives no location (grid indicator 9, ``lat`` 99.999999,
        the Channel Islands and the Isle of Man, or no coordinates at all).
    elsewhere
        Rows left out because their local authority was not asked for.
    has_termination_dates
        Whether the input had ``doterm``; if not, ``terminated`` is ``None`` throughout and
        says nothing (pass this on to :func:`postcode_source`).
    """

    points: pd.DataFrame
    file: str
    rows: int
    without_location: int
    elsewhere: int
    has_termination_dates: bool


def read_onspd(
    path: str | os.PathLike[str],
    *,
    local_authorities: Collection[str] | None = None,
    chunk_rows: int = 250_000,
) -> OnspdPostcodes:
    """Give the postcodes of an ONSPD CSV file with their locations and termination months.

    The file is read in chunks of ``chunk_rows`` and only the columns used, so the full
    UK file (2.7 million rows) fits in memory, more so with ``local_authorities``.

    Parameters
    ----------
    path
        An ONSPD CSV (``Data/ONSPD_<MON>_<YEAR>_UK.csv``, one of its ``multi_csv`` files, or
        a cut-down copy with the same headers); ``.gz`` and single-file ``.zip`` are fine.
    local_authorities
        GSS codes (``E09000025``) to keep; ``None`` keeps every row. Needs a ``laua`` /
        ``oslaua`` / ``ladNNcd`` column.
    chunk_rows
        Rows per chunk.

    Returns
    -------
    OnspdPostcodes

    Raises
    ------
    ValidationError
        If the file is not ONSPD: every problem with file, row (1-based data row), field and
        reason; all or nothing.
    """
    file = Path(path).name
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
        names = _resolve_headers(header.columns, file, local_authorities)
        chunks = pd.read_csv(path, usecols=list(names.values()), dtype=str, keep_default_na=False,
                             encoding="utf-8-sig", chunksize=max(1, int(chunk_rows)))
        return _assemble(chunks, names, file, local_authorities)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValidationError([Problem(f"cannot be read as a UTF-8 CSV ({exc}); {_NOT_ONSPD}",
                                       file=file)], summary=f"{file}: not ONSPD") from exc


def onspd_from_frame(
    raw: pd.DataFrame, *, file: str = "input", local_authorities: Collection[str] | None = None
) -> OnspdPostcodes:
    """Give the postcodes of ONSPD rows already in a frame, as :func:`read_onspd` does.

    Parameters
    ----------
    raw
        ONSPD columns under their published headers (any case), as text or numbers; not
        modified.
    file
        How problems name the input.
    local_authorities
        As for :func:`read_onspd`.

    Returns
    -------
    OnspdPostcodes
        Rows as :func:`read_onspd` gives them; a :class:`ValidationError` if they are not
        ONSPD, likewise.
    """
    if not isinstance(raw, pd.DataFrame):
        raise TypeError(f"raw must be a pandas DataFrame, not {type(raw).__name__}")
    names = _resolve_headers(raw.columns, file, local_authorities)
    return _assemble([raw[list(names.values())]], names, file, local_authorities)


def _resolve_headers(
    columns: Iterable[object], file: str, local_authorities: Collection[str] | None
) -> dict[str, str]:
    """Give our field → the input's header, or raise naming what is missing."""
    by_key = {str(c).strip().lower(): str(c) for c in columns}
    names = {field: by_key[h] for field, spellings in _HEADERS.items()
             for h in reversed(spellings) if h in by_key}  # reversed: the first spelling wins
    vintaged = sorted(k for k in by_key if _LAD_VINTAGED.fullmatch(k))
    if LOCAL_AUTHORITY not in names and vintaged:
        names[LOCAL_AUTHORITY] = by_key[vintaged[-1]]  # the newest boundaries
    problems = []
    if POSTCODE not in names:
        problems.append(Problem(f"no postcode column ({', '.join(_HEADERS[POSTCODE])}); "
                                f"{_NOT_ONSPD}", field="pcds", file=file))
    if not ({EASTING, NORTHING} <= names.keys() or {LAT, LON} <= names.keys()):
        problems.append(Problem(f"no location columns (oseast1m/osnrth1m, east1m/north1m or "
                                f"lat/long); {_NOT_ONSPD}", field="oseast1m", file=file))
    if local_authorities is not None and LOCAL_AUTHORITY not in names:
        problems.append(Problem("no local authority column (laua, oslaua or ladNNcd) to keep "
                                "only the local authorities asked for", field="laua", file=file))
    if problems:
        raise ValidationError(problems, summary=f"{file}: not ONSPD")
    return names


def _assemble(
    chunks: Iterable[pd.DataFrame], names: dict[str, str], file: str,
    local_authorities: Collection[str] | None,
) -> OnspdPostcodes:
    """Give the chunks converted and joined, or raise every problem found in any of them."""
    wanted = None if local_authorities is None else {str(c).strip().upper() for c in local_authorities}
    parts: list[pd.DataFrame] = []
    problems: list[Problem] = []
    rows = without_location = elsewhere = 0
    for chunk in chunks:
        part, found, no_location, outside = _convert(chunk, names, file, rows + 1, wanted)
        parts.append(part)
        problems += found
        rows += len(chunk)
        without_location += no_location
        elsewhere += outside
    points = pd.concat(parts, ignore_index=True) if parts else _convert(
        pd.DataFrame(columns=list(names.values())), names, file, 1, wanted)[0]
    twice = points[POSTCODE].duplicated(keep=False).to_numpy(dtype=bool)
    problems += [Problem(f"postcode '{p}' appears more than once", row=int(r),
                         field=names[POSTCODE], file=file)
                 for p, r in zip(points[POSTCODE][twice], points["_row"][twice], strict=True)]
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise ValidationError(problems, summary=f"{file}: cannot read as ONSPD")
    return OnspdPostcodes(points.drop(columns="_row"), file, rows, without_location, elsewhere,
                          _DOTERM in names)


def _convert(
    raw: pd.DataFrame, names: dict[str, str], file: str, first_row: int, wanted: set[str] | None
) -> tuple[pd.DataFrame, list[Problem], int, int]:
    """Give one chunk's located rows, its problems and its counts left out (no location, elsewhere)."""
    raw = raw.reset_index(drop=True)
    row_numbers = np.arange(first_row, first_row + len(raw))

    def text(field: str) -> pd.Series:
        if field not in names:
            return pd.Series("", index=raw.index, dtype=object)
        return raw[names[field]].astype("string").fillna("").str.strip().astype(object)

    keep = np.ones(len(raw), dtype=bool)
    if wanted is not None:
        keep = text(LOCAL_AUTHORITY).str.upper().isin(wanted).to_numpy(dtype=bool)
    elsewhere = int((~keep).sum())
    raw, row_numbers = raw[keep].reset_index(drop=True), row_numbers[keep]
    problems: list[Problem] = []

    def report(mask: np.ndarray, field: str, reasons: Iterable[object]) -> None:
        problems.extend(Problem(str(r), row=int(n), field=field, file=file)
                        for n, r in zip(row_numbers[mask], reasons, strict=True))

    given = text(POSTCODE)
    postcode = normalise_postcodes(given)
    bad_postcode = postcode.isna().to_numpy(dtype=bool)
    report(bad_postcode, names[POSTCODE], "'" + given[bad_postcode] + "' is not a valid UK postcode")

    doterm = text(_DOTERM)
    is_month = doterm.str.fullmatch(r"\d{4}(0[1-9]|1[0-2])(\.0+)?").to_numpy(dtype=bool)
    bad_date = (doterm != "").to_numpy(dtype=bool) & ~is_month
    if _DOTERM in names:
        report(bad_date, names[_DOTERM], "'" + doterm[bad_date] + "' is not a termination month (yyyymm)")
    terminated = np.full(len(raw), None, dtype=object)
    if is_month.any():
        first_day = pd.to_datetime(doterm[is_month].str.slice(stop=6), format="%Y%m")
        terminated[is_month] = first_day.dt.date.to_numpy(dtype=object)

    lat, lon = text(LAT), text(LON)
    sentinel = pd.to_numeric(lat, errors="coerce").to_numpy(dtype="float64") == _NO_LOCATION_LAT
    lonlat_given = ((lat != "") & (lon != "")).to_numpy(dtype=bool) & ~sentinel
    on_grid = ~postcode.str.slice(stop=2).isin(_OFF_GRID_AREAS).fillna(False).to_numpy(dtype=bool)
    en_given = ((text(EASTING) != "") | (text(NORTHING) != "")).to_numpy(dtype=bool)
    grid = text(_GRID).str.replace(r"\.0+$", "", regex=True)  # "9.0" from a numeric column
    located = ~bad_postcode & (grid != _NO_GRID_REFERENCE).to_numpy(dtype=bool)
    by_en = located & on_grid & en_given
    by_lonlat = located & ~by_en & lonlat_given
    without_location = int((~bad_postcode & ~by_en & ~by_lonlat).sum())

    out = np.full((len(raw), 4), np.nan)  # lon, lat, easting, northing
    for mask, convert, x, y in ((by_en, points_from_eastings_northings, EASTING, NORTHING),
                                (by_lonlat, points_from_lonlat, LON, LAT)):
        if mask.any():
            found = convert(text(x)[mask], text(y)[mask])
            out[mask] = found[[LON, LAT, EASTING, NORTHING]].to_numpy(dtype="float64")
            wrong = found[PROBLEM].notna().to_numpy(dtype=bool)
            where = np.zeros(len(raw), dtype=bool)
            where[np.flatnonzero(mask)[wrong]] = True
            report(where, f"{names[x]}/{names[y]}", found[PROBLEM][wrong])
    good = (by_en | by_lonlat) & ~np.isnan(out[:, 0]) & ~bad_date
    columns = {"_row": row_numbers, POSTCODE: postcode.to_numpy(dtype=object, na_value=None),
               LON: out[:, 0], LAT: out[:, 1], EASTING: out[:, 2], NORTHING: out[:, 3],
               TERMINATED: terminated}
    if LOCAL_AUTHORITY in names:
        code = text(LOCAL_AUTHORITY)
        columns[LOCAL_AUTHORITY] = code.where(code != "", None).to_numpy(dtype=object)
    return pd.DataFrame(columns)[good].reset_index(drop=True), problems, without_location, elsewhere


def postcode_source(points: pd.DataFrame, *, label: str, has_termination_dates: bool) -> PostcodeSource:
    """Give postcode rows checked, as a source for :meth:`PostcodeIndex.with_source`.

    Parameters
    ----------
    points
        One row per postcode: ``postcode`` (any spacing), ``lon``/``lat`` (EPSG:4326) or
        ``easting``/``northing`` (EPSG:27700) or both (a missing pair is computed), and
        optionally ``terminated`` (dates, ``None`` or ``NaT``): :attr:`OnspdPostcodes.points`,
        or the same rows read back from the store. Other columns are ignored; not modified.
    label
        How the source is named in messages and ``located_by``, e.g. ``"ONSPD Nov 2025"``;
        give the edition, since terminations are as of it.
    has_termination_dates
        True when a missing ``terminated`` means live (ONSPD read with ``doterm``:
        :attr:`OnspdPostcodes.has_termination_dates`); False when the rows do not say, so
        that a postcode only they place is located with a warning that it may be terminated.

    Returns
    -------
    PostcodeSource

    Raises
    ------
    ValidationError
        Naming every row whose postcode is not one or appears twice, that has no usable point
        or one outside the UK, or whose ``terminated`` is not a date; or the columns missing.
    """
    if not isinstance(points, pd.DataFrame):
        raise TypeError(f"points must be a pandas DataFrame, not {type(points).__name__}")
    what = f"postcode source '{label}'"
    columns = set(points.columns)
    missing = [Problem("column 'postcode' is missing", field=POSTCODE)] if POSTCODE not in columns else []
    if not ({LON, LAT} <= columns or {EASTING, NORTHING} <= columns):
        missing.append(Problem("needs columns lon/lat or easting/northing", field=f"{LON}/{LAT}"))
    if missing:
        raise ValidationError(missing, summary=f"{what} lacks required columns")

    def numbers(col: str) -> np.ndarray:
        if col not in columns:
            return np.full(len(points), np.nan)
        out: np.ndarray = np.array(pd.to_numeric(points[col].astype(object), errors="coerce"),
                                   dtype="float64")
        out[~np.isfinite(out)] = np.nan
        return out

    x, y, e, n = numbers(LON), numbers(LAT), numbers(EASTING), numbers(NORTHING)
    no_lonlat = np.isnan(x) | np.isnan(y)
    if no_lonlat.any():
        x[no_lonlat], y[no_lonlat] = en_to_lonlat(e[no_lonlat], n[no_lonlat])
    no_en = np.isnan(e) | np.isnan(n)
    if no_en.any():
        e[no_en], n[no_en] = lonlat_to_en(x[no_en], y[no_en])
    given = points[POSTCODE].astype(object).reset_index(drop=True)
    keys = normalise_postcodes(given)
    terminated = np.full(len(points), None, dtype=object)
    bad_date = np.zeros(len(points), dtype=bool)
    if TERMINATED in columns:
        raw = points[TERMINATED].astype(object).reset_index(drop=True)
        when = pd.to_datetime(raw, errors="coerce", format="ISO8601")
        bad_date = (raw.notna() & when.isna()).to_numpy(dtype=bool)
        terminated = np.array(when.dt.date.to_numpy(dtype=object))
        terminated[when.isna().to_numpy(dtype=bool)] = None
    lon_min, lat_min, lon_max, lat_max = UK_BOUNDS_LONLAT
    with np.errstate(invalid="ignore"):
        outside = (x < lon_min) | (x > lon_max) | (y < lat_min) | (y > lat_max)
    rules: list[tuple[np.ndarray, str, str]] = [
        (keys.isna().to_numpy(dtype=bool), POSTCODE, "'{p}' is not a valid UK postcode"),
        (keys.duplicated(keep=False).to_numpy(dtype=bool) & keys.notna().to_numpy(dtype=bool),
         POSTCODE, "postcode '{p}' appears more than once"),
        (np.isnan(x) | np.isnan(y), f"{LON}/{LAT}", "postcode '{p}' has no usable point"),
        (outside, f"{LON}/{LAT}", "postcode '{p}' is placed outside the UK"),
        (bad_date, TERMINATED, "postcode '{p}': terminated is not a date"),
    ]
    problems = [Problem(reason.format(p=given.iloc[i]), row=int(i) + 1, field=field)
                for mask, field, reason in rules for i in np.flatnonzero(mask)]
    if problems:
        raise ValidationError(problems, summary=f"{what} cannot be used")
    table = pd.DataFrame({EASTING: e, NORTHING: n, LON: x, LAT: y, TERMINATED: terminated},
                         index=pd.Index(keys.to_numpy(dtype=object), name=POSTCODE, dtype="str"))
    return PostcodeSource(label, table, bool(has_termination_dates))


def index_with_onspd(
    points: pd.DataFrame,
    *,
    label: str,
    has_termination_dates: bool,
    index: PostcodeIndex | None = None,
) -> PostcodeIndex:
    """Give ``index`` with ``points`` added as a further source, looked up after Code-Point Open.

    :func:`postcode_source` then :meth:`PostcodeIndex.with_source`; ``index`` is not changed.

    Parameters
    ----------
    points, label, has_termination_dates
        As for :func:`postcode_source`.
    index
        The index to extend; ``None`` means :func:`~mapping.places.postcodes.default_index`.

    Returns
    -------
    PostcodeIndex
    """
    source = postcode_source(points, label=label, has_termination_dates=has_termination_dates)
    return (index if index is not None else default_index()).with_source(source)
