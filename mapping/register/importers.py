"""Importing and exporting assets and organisations: CSV, GeoJSON and GeoPackage.

Every import follows the same steps: read the file as text, map the
headers to our columns (``data/column_aliases.csv`` plus any explicit
mapping), validate every row collecting *all* problems (row, field, reason),
geocode, and write in one transaction. With problems and without
``skip_invalid`` nothing is written; with it, the valid rows are written and
the rest reported. Records are matched on ``external_id``, so importing the
same file again updates instead of duplicating; a file without ids gets
stable ones derived from each row's name and location.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.places.geocode import flag_outside_borough, geocode_frame
from mapping.places.postcodes import PostcodeIndex
from mapping.register.legal_forms import classify_legal_forms, ownership_classes
from mapping.register.records import WriteCounts, organisation_ids, upsert_records
from mapping.register.taxonomy import category_lookup
from mapping.store.database import Store
from mapping.tables import (
    blank,
    clean_text,
    map_columns,
    parse_datetimes,
    parse_flags,
    parse_numbers,
    read_table,
    rows_matching,
    rows_where,
)

_COMPANY_NUMBER = r"^(?:[0-9]{8}|[A-Z]{2}[0-9]{6})$"
_CHARITY_NUMBER = r"^(?:[0-9]{6,7}|SC[0-9]{6})(?:-[0-9]+)?$"


@dataclass
class ImportReport:
    """What an import did: rows read, written, and every problem with its row and field."""

    file: str
    rows: int
    counts: WriteCounts = field(default_factory=WriteCounts)
    problems: list[Problem] = field(default_factory=list)
    skipped_rows: int = 0
    outside_borough: int = 0

    def summary(self) -> str:
        """Give one line for people: what was written and what was not."""
        c = self.counts
        text = (f"{self.file}: {self.rows} rows read; {c.inserted} added, {c.updated} updated, "
                f"{c.unchanged} unchanged")
        if self.skipped_rows:
            text += f"; {self.skipped_rows} invalid rows skipped"
        if self.outside_borough:
            text += f"; {self.outside_borough} outside the borough (flagged, still imported)"
        return text


def _problem_rows(problems: list[Problem], n: int) -> np.ndarray:
    bad = np.zeros(n, dtype=bool)
    rows = [p.row - 1 for p in problems if p.row is not None and 0 < p.row <= n]
    bad[rows] = True
    return bad


def _check_required(frame: pd.DataFrame, required: tuple[str, ...], file: str) -> list[Problem]:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        return [Problem(f"required column '{c}' is missing (found: "
                        f"{', '.join(map(str, frame.columns))})", field=c, file=file)
                for c in missing]
    problems = []
    for column in required:
        for i in rows_where(blank(frame[column]).to_numpy()):
            problems.append(Problem("is required but empty", row=i + 1, field=column, file=file))
    return problems


def _duplicate_ids(ids: pd.Series, file: str) -> list[Problem]:
    dup = ids.duplicated(keep="first") & ids.notna()
    first_row = {v: i + 1 for i, v in reversed(list(enumerate(ids)))}
    return [Problem(f"id '{ids.iloc[i]}' already used on row {first_row[ids.iloc[i]]}",
                    row=i + 1, field=S.EXTERNAL_ID, file=file)
            for i in rows_where(dup.to_numpy())]


def _derived_ids(frame: pd.DataFrame, prefix: str) -> pd.Series:
    """Stable ids from name + location, so a file without ids can be imported again."""
    parts = [frame[c].astype("string").fillna("").str.strip().str.casefold()
             for c in (S.NAME, S.POSTCODE, S.LON, S.LAT, S.EASTING, S.NORTHING)
             if c in frame.columns]
    keys = parts[0].str.cat(parts[1:], sep="|") if len(parts) > 1 else parts[0]
    return keys.map(lambda k: f"{prefix}:{hashlib.sha1(k.encode()).hexdigest()[:16]}")


def _text_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: clean_text(frame[c]) if c in frame.columns
                         else pd.Series(None, index=frame.index, dtype=object)
                         for c in columns}, index=frame.index)


def _choice(frame: pd.DataFrame, column: str, allowed: tuple[str, ...], default: str,
            file: str) -> tuple[pd.Series, list[Problem]]:
    if column not in frame.columns:
        return pd.Series(default, index=frame.index, dtype=object), []
    text = frame[column].astype("string").str.strip().str.casefold()
    value = text.where(~blank(frame[column]), default)
    bad = ~value.isin(allowed)
    problems = [Problem(f"'{frame[column].iloc[i]}' is not one of {', '.join(allowed)}",
                        row=i + 1, field=column, file=file)
                for i in rows_where(bad.to_numpy())]
    return value.astype(object), problems


def _geometry_kind(geometry: object) -> str:
    if geometry is None or getattr(geometry, "is_empty", True):
        return "empty"
    return str(getattr(geometry, "geom_type", type(geometry).__name__))


def _points_from_geometry(frame: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Move a vector file's point geometry into lon/lat columns; non-points are problems."""
    if "geometry" not in frame.columns:
        return frame, []
    geoms = gpd.GeoSeries(frame["geometry"])
    is_point = (geoms.geom_type == "Point") & ~geoms.isna() & ~geoms.is_empty
    out = pd.DataFrame(frame.drop(columns="geometry"))
    if S.LON not in out.columns:
        points = geoms.values[is_point.to_numpy()]
        for column, get in ((S.LON, shapely.get_x), (S.LAT, shapely.get_y)):
            values = np.full(len(geoms), np.nan)
            values[is_point.to_numpy()] = get(points)
            out[column] = values.astype(str)
        out.loc[~is_point.to_numpy(), [S.LON, S.LAT]] = ""
    problems = [Problem(f"geometry is {_geometry_kind(geoms.iloc[i])}; assets must be points",
                        row=i + 1, field="geometry", file=file)
                for i in rows_where((~is_point).to_numpy())]
    return out, problems


def prepare_assets(
    frame: pd.DataFrame,
    *,
    file: str = "input",
    index: PostcodeIndex | None = None,
    boundary: gpd.GeoDataFrame | None = None,
    id_prefix: str = "asset",
) -> tuple[pd.DataFrame, list[Problem]]:
    """Give assets validated and geocoded, in our columns, and every problem found.

    ``frame`` has already had its headers mapped. Rows with problems are kept
    in the result (so row numbers stay true); the caller decides whether to
    drop them or refuse the whole file.
    """
    frame, problems = _points_from_geometry(frame.reset_index(drop=True), file)
    if S.EXTERNAL_ID not in frame.columns and S.NAME in frame.columns:
        frame = frame.assign(**{S.EXTERNAL_ID: _derived_ids(frame, id_prefix)})
    problems += _check_required(frame, S.ASSET_REQUIRED, file)
    if any(p.row is None for p in problems):
        raise ValidationError(problems, summary=f"{file}: cannot import")
    out = _text_columns(frame, (S.EXTERNAL_ID, S.NAME, S.DESCRIPTION, S.ORGANISATION_ID,
                                S.ADDRESS, S.OPENING_TIMES, S.CONTACT, S.WEBSITE,
                                S.ACCESSIBILITY, S.VERIFIED_BY, S.LICENCE, S.ATTRIBUTION,
                                S.CQC_LOCATION_ID, S.CQC_RATING))
    problems += _duplicate_ids(out[S.EXTERNAL_ID], file)

    lookup = category_lookup()
    key = frame[S.CATEGORY].astype("string").str.strip().str.casefold()
    out[S.CATEGORY] = key.map(lookup).astype(object)
    for i in rows_where((out[S.CATEGORY].isna() & ~blank(frame[S.CATEGORY])).to_numpy()):
        problems.append(Problem(f"unknown category '{frame[S.CATEGORY].iloc[i]}' (see the "
                                "category list in data/categories.csv)", row=i + 1,
                                field=S.CATEGORY, file=file))
    out[S.STATUS], found = _choice(frame, S.STATUS, S.ASSET_STATUSES, "active", file)
    problems += found
    out[S.SOURCE], found = _choice(frame, S.SOURCE, S.ASSET_SOURCES, "import", file)
    problems += found
    if S.CAPACITY in frame.columns:
        out[S.CAPACITY], found = parse_numbers(frame[S.CAPACITY], field=S.CAPACITY, file=file,
                                               minimum=0, maximum=S.MAX_CAPACITY)
        problems += found
    if S.VERIFIED_AT in frame.columns:
        out[S.VERIFIED_AT], found = parse_datetimes(frame[S.VERIFIED_AT], field=S.VERIFIED_AT,
                                                    file=file)
        problems += found
    for column in S.CARE_SITE_DATES:
        if column in frame.columns:
            stamps, found = parse_datetimes(frame[column], field=column, file=file)
            out[column] = [None if pd.isna(v) else v.date() for v in stamps]
            problems += found

    located = geocode_frame(frame, index=index)
    for i in rows_where(located["problem"].notna().to_numpy()):
        field_name = located["geocoded_by"].iloc[i] or S.POSTCODE
        field_name = {"lonlat": f"{S.LON}/{S.LAT}", "eastings_northings":
                      f"{S.EASTING}/{S.NORTHING}"}.get(field_name, field_name)
        problems.append(Problem(str(located["problem"].iloc[i]), row=i + 1, field=field_name,
                                file=file))
    out[S.LON] = located[S.LON].to_numpy()
    out[S.LAT] = located[S.LAT].to_numpy()
    # A file that says what first placed a point (our own export) keeps saying it.
    given = _text_columns(frame, (S.LOCATED_BY,))[S.LOCATED_BY]
    placed = pd.Series(located[S.LOCATED_BY].to_numpy(), index=out.index)
    out[S.LOCATED_BY] = given.where(given.notna() & placed.notna(), placed).to_numpy()
    out[S.POSTCODE] = (located[S.POSTCODE] if S.POSTCODE in located.columns
                       else _text_columns(frame, (S.POSTCODE,))[S.POSTCODE]).to_numpy()
    out[S.POSTCODE] = clean_text(pd.Series(out[S.POSTCODE], index=out.index))
    if boundary is not None:
        ok = out[S.LON].notna().to_numpy()
        inside = pd.Series(None, index=out.index, dtype=object)
        if ok.any():
            pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(out[S.LON][ok], out[S.LAT][ok]),
                                   crs=S.STORAGE_CRS)
            inside[ok] = flag_outside_borough(pts, boundary).to_numpy()
        out[S.IN_BOROUGH] = inside
    return out, problems


def prepare_organisations(frame: pd.DataFrame, *, file: str = "input",
                          id_prefix: str = "org") -> tuple[pd.DataFrame, list[Problem]]:
    """Give organisations validated, with legal form and ownership class derived, and every problem.

    The class follows CLES Appendix 1 through the rule table in
    ``data/legal_forms.csv`` (see :mod:`mapping.register.legal_forms`).
    """
    frame = frame.reset_index(drop=True)
    if "geometry" in frame.columns:
        frame = pd.DataFrame(frame.drop(columns="geometry"))
    if S.EXTERNAL_ID not in frame.columns:
        if S.ORGANISATION_ID in frame.columns:
            frame = frame.rename(columns={S.ORGANISATION_ID: S.EXTERNAL_ID})
        elif S.NAME in frame.columns:
            frame = frame.assign(**{S.EXTERNAL_ID: _derived_ids(frame, id_prefix)})
    problems = _check_required(frame, S.ORGANISATION_REQUIRED, file)
    if any(p.row is None for p in problems):
        raise ValidationError(problems, summary=f"{file}: cannot import")
    out = _text_columns(frame, (S.EXTERNAL_ID, S.NAME, S.LEGAL_FORM, S.COMPANY_NUMBER,
                                S.CHARITY_NUMBER, S.CQC_PROVIDER_ID, S.ADDRESS, S.POSTCODE,
                                S.WEBSITE, S.LICENCE, S.ATTRIBUTION))
    problems += _duplicate_ids(out[S.EXTERNAL_ID], file)
    company = out[S.COMPANY_NUMBER].astype("string").str.upper().str.replace(" ", "")
    company = company.where(~company.str.fullmatch(r"[0-9]{1,7}").fillna(False),
                            company.str.zfill(8))
    bad = company.notna() & ~company.str.fullmatch(_COMPANY_NUMBER).fillna(False)
    problems += [Problem(f"'{out[S.COMPANY_NUMBER].iloc[i]}' is not a Companies House number "
                         "(8 digits, or 2 letters and 6 digits)", row=i + 1,
                         field=S.COMPANY_NUMBER, file=file) for i in rows_where(bad)]
    out[S.COMPANY_NUMBER] = company.astype(object).where(company.notna(), None)
    charity = out[S.CHARITY_NUMBER].astype("string").str.upper().str.replace(" ", "")
    bad = charity.notna() & ~charity.str.fullmatch(_CHARITY_NUMBER).fillna(False)
    problems += [Problem(f"'{out[S.CHARITY_NUMBER].iloc[i]}' is not a charity number",
                         row=i + 1, field=S.CHARITY_NUMBER, file=file)
                 for i in rows_where(bad)]
    out[S.CHARITY_NUMBER] = charity.astype(object).where(charity.notna(), None)

    models = frame[S.OWNERSHIP_MODEL] if S.OWNERSHIP_MODEL in frame.columns else None
    if models is not None:
        value = models.astype("string").str.strip().str.casefold()
        bad = ~blank(models) & ~value.isin(S.OWNERSHIP_MODELS)
        problems += [Problem(f"'{models.iloc[i]}' is not one of {', '.join(S.OWNERSHIP_MODELS)}",
                             row=i + 1, field=S.OWNERSHIP_MODEL, file=file)
                     for i in rows_where(bad.to_numpy())]
        out[S.OWNERSHIP_MODEL] = value.where(~blank(models)).astype(object)
    else:
        out[S.OWNERSHIP_MODEL] = None
    out[S.OWNERSHIP_MODEL] = out[S.OWNERSHIP_MODEL].where(out[S.OWNERSHIP_MODEL].notna(), None)
    forms = classify_legal_forms(out[S.LEGAL_FORM].astype("string"))
    out["legal_form_key"] = forms["legal_form"].to_numpy()
    out[S.OWNERSHIP_CLASS] = ownership_classes(
        out[S.LEGAL_FORM].astype("string"), out[S.OWNERSHIP_MODEL].astype("string")
    ).to_numpy()
    for flag in S.ORGANISATION_FLAGS:
        if flag in frame.columns:
            out[flag], found = parse_flags(frame[flag], field=flag, file=file)
            problems += found
    if S.CQC_RATING in frame.columns:
        rating = frame[S.CQC_RATING].astype("string").str.strip()
        canonical = {r.casefold(): r for r in S.CQC_RATINGS}
        out[S.CQC_RATING] = rating.str.casefold().map(canonical).astype(object)
        bad = out[S.CQC_RATING].isna() & ~blank(frame[S.CQC_RATING])
        problems += [Problem(f"'{rating.iloc[i]}' is not a CQC rating "
                             f"({', '.join(S.CQC_RATINGS)})", row=i + 1, field=S.CQC_RATING,
                             file=file) for i in rows_where(bad.to_numpy())]
        out[S.CQC_RATING] = out[S.CQC_RATING].where(out[S.CQC_RATING].notna(), None)
    out[S.SOURCE], found = _choice(frame, S.SOURCE, S.ASSET_SOURCES, "import", file)
    problems += found
    return out, problems


def _finish(prepared: pd.DataFrame, problems: list[Problem], *, file: str, rows: int,
            skip_invalid: bool) -> tuple[pd.DataFrame, ImportReport]:
    report = ImportReport(file=file, rows=rows, problems=problems)
    if problems and not skip_invalid:
        raise ValidationError(problems, summary=f"{file}: nothing imported, {len(problems)} "
                              "problem(s); fix them, or import the valid rows only with "
                              "--skip-invalid")
    bad = _problem_rows(problems, rows)
    report.skipped_rows = int(bad.sum())
    return prepared[~bad], report


def import_assets(
    store: Store,
    path: Path,
    *,
    skip_invalid: bool = False,
    mapping: dict[str, str] | None = None,
    encoding: str = "utf-8",
    changed_by: str = "import",
    boundary: gpd.GeoDataFrame | None = None,
    index: PostcodeIndex | None = None,
    defaults: dict[str, Any] | None = None,
    where: Sequence[tuple[str, str]] = (),
    category: str | None = None,
) -> ImportReport:
    """Import an asset file in one transaction; give what was written and every problem.

    ``where`` keeps only the rows where each ``(header, value)`` holds (e.g. an ODS status
    of ``A``); ``category`` gives every row that category, whatever the file says.

    Raises
    ------
    ValidationError
        With every problem (file, row, field, reason), when any row is invalid
        and ``skip_invalid`` is false. Nothing is written then.
    """
    path = Path(path)
    table = rows_matching(read_table(path, encoding=encoding), where, file=path.name)
    raw = map_columns(table, mapping=mapping, file=path.name)
    for column, value in (defaults or {}).items():
        if column not in raw.columns:
            raw[column] = value
    if category is not None:
        raw[S.CATEGORY] = category
    prepared, problems = prepare_assets(raw, file=path.name, index=index, boundary=boundary)
    if not where:
        return write_assets(store, prepared, problems, file=path.name, rows=len(raw),
                            skip_invalid=skip_invalid, changed_by=changed_by)
    # The problems count the rows the filters kept; people count the file's own rows.
    try:
        report = write_assets(store, prepared, problems, file=path.name, rows=len(raw),
                              skip_invalid=skip_invalid, changed_by=changed_by)
    except ValidationError as exc:
        raise ValidationError(file_rows(exc.problems, table.index), summary=exc.summary) from None
    report.problems = file_rows(report.problems, table.index)
    return report


def file_rows(problems: list[Problem], kept: pd.Index) -> list[Problem]:
    """Give ``problems`` numbered by the file's rows, when they count only the rows a filter kept.

    ``kept`` holds each kept row's position among the file's data rows (0 for the first).
    """
    positions = list(kept)
    return [replace(p, row=int(positions[p.row - 1]) + 1)
            if p.row is not None and 0 < p.row <= len(positions) else p for p in problems]


def write_assets(store: Store, prepared: pd.DataFrame, problems: list[Problem], *, file: str,
                 rows: int, skip_invalid: bool, changed_by: str) -> ImportReport:
    """Write prepared assets in one transaction, resolving their organisations; give the report."""
    with store.transaction() as session:
        return write_assets_in(session, prepared, problems, file=file, rows=rows,
                               skip_invalid=skip_invalid, changed_by=changed_by)


def write_assets_in(session: Session, prepared: pd.DataFrame, problems: list[Problem], *,
                    file: str, rows: int, skip_invalid: bool, changed_by: str) -> ImportReport:
    """Write prepared assets inside the caller's transaction (see :func:`write_assets`)."""
    org_keys = prepared[S.ORGANISATION_ID]
    known = organisation_ids(session, org_keys.dropna())
    for i in rows_where((org_keys.notna() & ~org_keys.isin(list(known))).to_numpy()):
        problems.append(Problem(f"organisation '{org_keys.iloc[i]}' is not in the register; "
                                "import the organisations first", row=i + 1,
                                field=S.ORGANISATION_ID, file=file))
    good, report = _finish(prepared, problems, file=file, rows=rows,
                           skip_invalid=skip_invalid)
    good = good.assign(organisation_id=good[S.ORGANISATION_ID].map(known).astype(object))
    good = good.drop(columns=[S.ORGANISATION_ID])
    good["organisation_id"] = good["organisation_id"].where(good["organisation_id"].notna(),
                                                            None)
    report.counts = upsert_records(session, "asset", good, changed_by=changed_by)
    if S.IN_BOROUGH in good.columns:
        report.outside_borough = int((good[S.IN_BOROUGH] == False).sum())  # noqa: E712
    return report


def import_organisations(
    store: Store,
    path: Path,
    *,
    skip_invalid: bool = False,
    mapping: dict[str, str] | None = None,
    encoding: str = "utf-8",
    changed_by: str = "import",
) -> ImportReport:
    """Import an organisation file in one transaction; give what was written and every problem."""
    path = Path(path)
    raw = map_columns(read_table(path, encoding=encoding), mapping=mapping, file=path.name)
    prepared, problems = prepare_organisations(raw, file=path.name)
    good, report = _finish(prepared, problems, file=path.name, rows=len(raw),
                           skip_invalid=skip_invalid)
    with store.transaction() as session:
        report.counts = upsert_records(session, "organisation", good, changed_by=changed_by)
    return report


EXPORT_ASSET_COLUMNS = (*S.ASSET_COLUMNS, S.IN_BOROUGH)


def export_frame(assets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give assets in the exchange columns (those an import reads back unchanged)."""
    columns = [c for c in EXPORT_ASSET_COLUMNS if c in assets.columns]
    out = gpd.GeoDataFrame(assets[columns].copy(), geometry=assets.geometry, crs=assets.crs)
    if S.VERIFIED_AT in out.columns:
        stamps = pd.to_datetime(out[S.VERIFIED_AT], utc=True)
        out[S.VERIFIED_AT] = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S%z").where(stamps.notna(), None)
    return out


def export_assets(assets: gpd.GeoDataFrame, path: Path) -> int:
    """Write assets to CSV, GeoJSON (RFC 7946, lon/lat) or GeoPackage by the file's suffix; give the count."""
    path = Path(path)
    out = export_frame(assets)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        pd.DataFrame(out.drop(columns="geometry")).to_csv(path, index=False)
    elif suffix in (".geojson", ".json"):
        out.to_file(path, driver="GeoJSON", engine="pyogrio")
    elif suffix == ".gpkg":
        out.to_file(path, driver="GPKG", layer="assets", engine="pyogrio")
    else:
        raise ValidationError([Problem(f"cannot export to '{suffix}': use .csv, .geojson or .gpkg",
                                       file=path.name)])
    return len(out)
