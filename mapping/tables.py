"""Reading tabular and vector files the same way everywhere, with row-level problems.

Councils' files are messy: Excel's CSVs in Windows-1252, header spellings that
vary, broken rows. Everything is read as text first (so postcodes and company
numbers keep their leading zeros) and converted column by column, so that each
problem can be reported with its file, row, field and reason.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from mapping import schema as S
from mapping.config import REFERENCE_DIR
from mapping.errors import Problem, ValidationError

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv"}
VECTOR_SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".shp": "shapefile"}
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _key(header: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(header).strip().casefold()).strip("_")


@lru_cache(maxsize=4)
def column_aliases(path: Path | None = None) -> dict[str, str]:
    """Give the header spelling → canonical column table from ``data/column_aliases.csv``."""
    table = pd.read_csv(path or REFERENCE_DIR / "column_aliases.csv", dtype=str)
    return {_key(a): c for a, c in zip(table["alias"], table["column"], strict=True)}


#: Columns whose several source headers are joined (with this separator) rather than refused.
JOINED_COLUMNS: Final = {"contact": "; ", "address": ", ", "description": " ", "accessibility": "; ",
                         "opening_times": "; "}


def rows_matching(frame: pd.DataFrame, where: Sequence[tuple[str, str]], *, file: str | None = None
                  ) -> pd.DataFrame:
    """Give the rows where every ``(header, value)`` holds; headers match without regard to
    case, spaces or punctuation, values are compared as trimmed text.

    Raises
    ------
    ValidationError
        Naming each header the file does not have.
    """
    keys = {_key(c): c for c in frame.columns}
    missing = [Problem(f"no column '{name}' to filter on (--where {name}={value})", field=name,
                       file=file) for name, value in where if _key(name) not in keys]
    if missing:
        raise ValidationError(missing, summary=f"{file or 'input'}: cannot filter the rows")
    keep = pd.Series(True, index=frame.index)
    for name, value in where:
        keep &= frame[keys[_key(name)]].fillna("").astype(str).str.strip() == value.strip()
    return frame.loc[keep]


def map_columns(
    frame: pd.DataFrame, *, mapping: dict[str, str] | None = None, file: str | None = None,
    aliases_path: Path | None = None,
) -> pd.DataFrame:
    """Give a copy of ``frame`` with headers renamed to the canonical column names.

    ``mapping`` (source header → canonical column) wins over the alias table
    (``aliases_path``, default ``data/column_aliases.csv``). Two source headers meaning
    one column are joined when the column holds free text that can hold both
    (:data:`JOINED_COLUMNS`: e.g. Phone and Email both go to ``contact``, as
    "020 7946 0000; info@example.org"); for any other column it is a problem, not a
    silent pick.
    """
    aliases = column_aliases(aliases_path)
    explicit = {_key(k): v for k, v in (mapping or {}).items()}
    rename: dict[str, str] = {}
    seen: dict[str, str] = {}
    joined: dict[str, list[str]] = {}
    problems = []
    for header in frame.columns:
        if header == "geometry":
            continue
        target = explicit.get(_key(header)) or aliases.get(_key(header))
        if target is None:
            continue
        if target in seen and target in JOINED_COLUMNS:
            joined.setdefault(target, [seen[target]]).append(str(header))
            continue
        if target in seen:
            problems.append(
                Problem(
                    f"columns '{seen[target]}' and '{header}' both mean '{target}'; "
                    "rename one or give a column mapping",
                    field=str(header),
                    file=file,
                )
            )
            continue
        seen[target] = str(header)
        rename[header] = target
    if problems:
        raise ValidationError(problems, summary=f"{file or 'input'}: ambiguous columns")
    joined_values = {}
    for target, headers in joined.items():
        parts = frame[headers].fillna("").astype(str).apply(lambda c: c.str.strip())
        sep = JOINED_COLUMNS[target]
        joined_values[target] = parts.agg(lambda r, sep=sep: sep.join(v for v in r if v), axis=1)
    # Every header that went into a joined column leaves; the joined column stands once.
    out = frame.drop(columns=[h for hs in joined.values() for h in hs]).rename(columns=rename)
    for target, values in joined_values.items():
        out[target] = values
    return out


def read_table(path: Path, *, encoding: str = "utf-8") -> pd.DataFrame:
    """Give a file's rows as text columns (CSV) or with a ``geometry`` column (vector files).

    Raises :class:`ValidationError` naming the file, and the line where it can,
    for an empty file, a file that is not in ``encoding``, malformed CSV rows
    (every one of them), or an unreadable vector file. Vector files must carry a
    CRS; they are returned in EPSG:4326.
    """
    path = Path(path)
    label = path.name
    if not path.exists():
        raise ValidationError([Problem("file not found", file=str(path))])
    suffix = path.suffix.lower()
    if suffix in VECTOR_SUFFIXES:
        return _read_vector(path)
    if suffix not in TABLE_SUFFIXES:
        raise ValidationError(
            [Problem(f"unsupported file type '{suffix}': use .csv, .geojson, .gpkg or .shp",
                     file=label)]
        )
    text = read_text(path, encoding=encoding)
    sep = "\t" if suffix == ".tsv" else ","
    frame = _parse_csv(text, sep=sep, label=label)
    if frame.empty:
        raise ValidationError([Problem("the file has a header but no data rows", file=label)])
    return frame


def read_text(path: Path, *, encoding: str = "utf-8") -> str:
    """Give a text file's contents, without a byte-order mark.

    Raises :class:`ValidationError` naming the file for an empty file or an
    ``encoding`` that is not a text encoding, and the line for text that is not
    in ``encoding``.
    """
    label = Path(path).name
    raw = Path(path).read_bytes()
    if not raw.strip():
        raise ValidationError([Problem("the file is empty", file=label)])
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValidationError(
            [
                Problem(
                    f"line {line} is not valid {encoding} text (byte {raw[exc.start]:#04x}); "
                    "save the file as 'CSV UTF-8', or pass --encoding cp1252 if it came "
                    "from older Excel",
                    file=label,
                    row=max(line - 1, 1),
                )
            ]
        ) from None
    except (LookupError, UnicodeError):  # not an encoding, or not one for text (e.g. "base64")
        raise ValidationError(
            [Problem(f"'{encoding[:40]}' is not a text encoding this service reads; use utf-8, "
                     "or cp1252 for older Excel", file=label, field="encoding")]
        ) from None
    return text.removeprefix("\ufeff")


def _parse_csv(text: str, *, sep: str, label: str) -> pd.DataFrame:
    # Check every line's field count first: pandas pads short rows silently and, when the
    # first data row has one field too many, takes the first column as the index.
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        header = next(reader, None)
        if header is None:
            raise ValidationError([Problem("the file has no header row", file=label)])
        for row_number, row in enumerate(reader, start=1):
            if len(row) != len(header) and any(cell.strip() for cell in row):
                problems.append(
                    Problem(
                        f"expected {len(header)} fields, found {len(row)} "
                        "(check for an unquoted comma or a missing quote)",
                        row=row_number,
                        file=label,
                    )
                )
    except csv.Error as exc:
        problems.append(Problem(f"unreadable CSV: {exc}", row=reader.line_num, file=label))
    if problems:
        raise ValidationError(problems, summary=f"{label}: malformed CSV")
    frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                        na_filter=False, index_col=False, skip_blank_lines=False)
    # Blank lines stay rows so row numbers are the spreadsheet's; trailing ones are dropped.
    filled = frame.fillna("").astype(str).apply(lambda c: c.str.strip()).ne("").any(axis=1)
    last = rows_where(filled)
    return frame.iloc[: (last[-1] + 1) if last else 0].fillna("")


def _read_vector(path: Path) -> pd.DataFrame:
    label = path.name
    if path.stat().st_size == 0:
        raise ValidationError([Problem("the file is empty", file=label)])
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise ValidationError(
            [Problem(f"could not read the file as {path.suffix} ({exc})", file=label)]
        ) from None
    if frame.empty:
        raise ValidationError([Problem("the file has no features", file=label)])
    if frame.crs is None:
        raise ValidationError(
            [Problem("the file has no coordinate reference system (e.g. a missing .prj); "
                     "give one or re-export it with its CRS", file=label)]
        )
    return frame.to_crs(S.STORAGE_CRS) if frame.crs != S.STORAGE_CRS else frame


def rows_where(mask: pd.Series | np.ndarray) -> list[int]:
    """Give the 0-based positions where ``mask`` is true (missing counts as false), as ints."""
    if isinstance(mask, pd.Series):
        values = mask.to_numpy(dtype=bool, na_value=False)
    else:
        values = np.asarray(mask, dtype=bool)
    positions: list[int] = np.flatnonzero(values).tolist()
    return positions


def blank(series: pd.Series) -> pd.Series:
    """Give True where a value is missing or only white space."""
    return series.isna() | series.astype("string").str.strip().fillna("").eq("")


def clean_text(series: pd.Series) -> pd.Series:
    """Give stripped text with blanks as ``None`` (object dtype, ready for the store)."""
    out = series.astype("string").str.strip()
    return out.where(~blank(series), None).astype(object).where(lambda s: s.notna(), None)


def parse_numbers(
    series: pd.Series, *, field: str, file: str | None, minimum: float | None = None,
    maximum: float | None = None,
) -> tuple[pd.Series, list[Problem]]:
    """Give floats (NaN for blanks) and a problem for every value that is not a finite number.

    Commas are read as thousands separators only where they group digits in
    threes ("1,250"); "1,5" is not a number here rather than silently 15.
    """
    text = series.astype("string").str.strip()
    grouped = text.str.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?").fillna(False)
    text = text.where(~grouped, text.str.replace(",", "", regex=False))
    values = pd.to_numeric(text.where(~blank(series)), errors="coerce").astype(float)
    values = values.where(np.isfinite(values))
    bad = values.isna() & ~blank(series)
    problems = [
        Problem(f"'{series.iloc[i]}' is not a number", row=i + 1, field=field, file=file)
        for i in rows_where(bad)
    ]
    if minimum is not None:
        low = values < minimum
        problems += [
            Problem(f"{values.iloc[i]:g} is below the minimum {minimum:g}", row=i + 1,
                    field=field, file=file)
            for i in rows_where(low)
        ]
    if maximum is not None:
        high = values > maximum
        problems += [
            Problem(f"{values.iloc[i]:g} is above the maximum {maximum:g}", row=i + 1,
                    field=field, file=file)
            for i in rows_where(high)
        ]
    return values, problems


def parse_flags(series: pd.Series, *, field: str, file: str | None) -> tuple[pd.Series, list[Problem]]:
    """Give True/False/None from yes/no, true/false, y/n, 1/0 (any case); a problem for anything else."""
    text = series.astype("string").str.strip().str.casefold()
    out = pd.Series(None, index=series.index, dtype=object)
    out[text.isin(_TRUE).fillna(False).to_numpy()] = True
    out[text.isin(_FALSE).fillna(False).to_numpy()] = False
    bad = out.isna() & ~blank(series)
    problems = [
        Problem(f"'{series.iloc[i]}' is not yes/no", row=i + 1, field=field, file=file)
        for i in rows_where(bad)
    ]
    return out, problems


def parse_datetimes(
    series: pd.Series, *, field: str, file: str | None, formats: tuple[str, ...] = (),
    rows: pd.Series | None = None,
) -> tuple[pd.Series, list[Problem]]:
    """Give timezone-aware UTC datetimes from ISO 8601 text (or day-first dates); problems for the rest.

    ``formats`` (``strptime`` patterns such as ``"%d/%m/%Y"``) are tried first, each
    vectorised over the values still unread: a million dates in one known format
    parse in well under a second, where guessing each one takes a minute.
    ``rows`` gives each value's row number for the problems (default: position + 1).
    """
    text = series.astype("string").str.strip().where(~blank(series))
    values = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")
    for pattern in formats:
        todo = values.isna() & text.notna()
        if not todo.any():
            break
        values = values.where(~todo, pd.to_datetime(text.where(todo), errors="coerce", utc=True,
                                                     format=pattern))
    todo = values.isna() & text.notna()
    if todo.any():
        values = values.where(~todo, pd.to_datetime(text.where(todo), errors="coerce", utc=True,
                                                    format="ISO8601"))
    retry = values.isna() & ~blank(series)
    if retry.any():
        values = values.where(
            ~retry, pd.to_datetime(text.where(retry), errors="coerce", utc=True, dayfirst=True,
                                   format="mixed")
        )
    bad = values.isna() & ~blank(series)
    problems = [
        Problem(f"'{series.iloc[i]}' is not a date (use YYYY-MM-DD)",
                row=i + 1 if rows is None else int(rows.iloc[i]), field=field, file=file)
        for i in rows_where(bad)
    ]
    return values, problems


_MONEY = re.compile(r"^(?P<open>\()?(?P<minus>-)?(?P<whole>\d+)(?:\.(?P<frac>\d{1,2}))?\)?$")
_MONEY_STRIP = re.compile(r"[£$€\s\u00a0]|GBP", flags=re.IGNORECASE)
# Commas only as thousands separators: "1,250.00" is money, "1,5" is not £15.
_GROUPED = re.compile(r"\(?-?\d{1,3}(?:,\d{3})+(?:\.\d+)?\)?")


def money_pence(text: str) -> int | None:
    """Give one amount of money in pence (the scalar :func:`parse_money`), or ``None``."""
    core = text.strip()
    credit = core.upper().endswith("CR")
    core = _MONEY_STRIP.sub("", core[:-2] if credit else core)
    if "," in core:
        if not _GROUPED.fullmatch(core):
            return None
        core = core.replace(",", "")
    found = _MONEY.fullmatch(core)
    if found is None or (found["open"] is None) != (not core.endswith(")")):
        return None
    pence = int(found["whole"]) * 100 + int((found["frac"] or "0").ljust(2, "0"))
    return -pence if (found["minus"] or found["open"] or credit) else pence


def _money_slow(text: pd.Series) -> pd.Series:
    credit = text.str.contains(r"\s*CR$", case=False, regex=True).fillna(False)
    core = text.str.replace(r"\s*CR$", "", case=False, regex=True)
    core = core.str.replace(_MONEY_STRIP, "", regex=True)
    commas = core.str.contains(",", regex=False).fillna(False)
    badly_grouped = commas & ~core.str.fullmatch(_GROUPED).fillna(False)
    core = core.str.replace(",", "", regex=False).where(~badly_grouped, "x")
    parts = core.str.extract(_MONEY)
    ok = parts["whole"].notna() & (parts["open"].isna() == ~core.str.endswith(")").fillna(False))
    whole = pd.to_numeric(parts["whole"].where(ok), errors="coerce")
    frac = pd.to_numeric(parts["frac"].where(ok).fillna("0").str.ljust(2, "0"), errors="coerce")
    pence = (whole * 100 + frac).astype("Int64")
    negative = (parts["minus"].notna() | parts["open"].notna() | credit).to_numpy()
    return pence.where(~negative, -pence)


def parse_money(
    series: pd.Series, *, field: str, file: str | None, rows: pd.Series | None = None
) -> tuple[pd.Series, list[Problem]]:
    """Give amounts in whole pence (``Int64``, exact) and a problem for every value that is not money.

    Reads what councils publish: ``£1,234.56``, ``1234.5``, ``-12.00``, ``(123.00)``
    (accounting negative) and ``123.00 CR`` (a credit, negative). Pence are kept as
    integers so that totals reconcile to the penny; a value with more than two
    decimal places is a problem rather than silently rounded. ``rows`` gives each
    value's row number for the problems (default: position + 1).
    """
    text = series.astype("string").str.strip()
    # Fast path, vectorised in Arrow: most published amounts are plain "1234.56".
    plain = text.str.fullmatch(r"-?\d+\.\d\d").fillna(False).to_numpy(dtype=bool)
    pence = pd.Series(pd.NA, index=series.index, dtype="Int64")
    if plain.any():
        pence[plain] = pd.to_numeric(text[plain].str.replace(".", "", regex=False)).astype("Int64")
    rest = ~plain & text.notna().to_numpy(dtype=bool)
    if rest.any():
        pence[rest] = _money_slow(text[rest])
    missing = blank(series)
    bad = pence.isna() & ~missing
    problems = [
        Problem(f"'{series.iloc[i]}' is not an amount of money (e.g. 1234.56 or £1,234.56)",
                row=i + 1 if rows is None else int(rows.iloc[i]), field=field, file=file)
        for i in rows_where(bad)
    ]
    return pence.where(~bad), problems
