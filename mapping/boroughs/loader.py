"""Loading a borough from its manifest: boundaries, tables, IMD, then the register, in one go.

:func:`load_borough` reads every file the manifest names from the data folder, checks it,
and writes it in one transaction: a problem in any file leaves the store as it was, and
running it again refreshes the same records rather than adding new ones. The store
remembers the borough it was loaded for and refuses a manifest for another unless told.

IMD 2019 is published on 2011 LSOAs. On another small-area layer (2021 LSOAs) an area
whose code is unchanged takes its own values; a new one takes those of the 2011 LSOA the
ONS lookup names or, without a lookup, the 2011 LSOA it overlaps most; ``imd_method``
says which for each area.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import geopandas as gpd
import pandas as pd
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.boroughs.layouts import FILE_READERS, READERS, AssetSource, column, epraccur_frame
from mapping.boroughs.manifest import Imd, Manifest, Table, read_manifest
from mapping.boroughs.settings import save_borough
from mapping.boroughs.sources import record_source
from mapping.errors import DataMissingError, Problem, ValidationError
from mapping.places.areas import areas_from_frame
from mapping.places.onspd import ONSPD_ATTRIBUTION, ONSPD_LICENCE, read_onspd
from mapping.places.postcode_store import save_postcodes, stored_index
from mapping.places.postcodes import PostcodeIndex
from mapping.places.roles import borough_outline, set_layer_roles
from mapping.places.store import add_area_attributes, load_area_layer, save_area_layer
from mapping.register.importers import ImportReport, prepare_assets, prepare_organisations, write_assets_in
from mapping.register.records import upsert_records
from mapping.store.database import Store
from mapping.tables import parse_numbers, read_table, read_text, rows_matching

Progress = Callable[[str], None]
IMD_CODE: Final = ("LSOA code (2011)", "lsoa11_code", "LSOA11CD")
IMD_RANK: Final = ("Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
                   "Index of Multiple Deprivation (IMD) Rank", "index_of_multiple_deprivation_imd_rank")
IMD_DECILE: Final = ("Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
                     "Index of Multiple Deprivation (IMD) Decile",
                     "index_of_multiple_deprivation_imd_decile")


@dataclass
class BoroughReport:
    """What a load wrote."""

    layers: dict[str, int] = field(default_factory=dict)
    imd_methods: dict[str, int] = field(default_factory=dict)
    organisations: int = 0
    assets: dict[str, ImportReport] = field(default_factory=dict)


def data_path(data_dir: Path, relative: str) -> Path:
    """Give a manifest path under the data folder (or as given, if absolute), checked to exist."""
    path = Path(relative) if Path(relative).is_absolute() else Path(data_dir) / relative
    if not path.exists():
        raise DataMissingError(
            f"{path} is missing: set MAPPING_DATA_DIR to the folder holding the borough's open "
            "data, or correct the path in the manifest")
    return path


def _read_text_table(path: Path) -> pd.DataFrame:
    """Give a file's rows as text (:func:`mapping.tables.read_table`); a vector file's points
    as ``lon``/``lat`` (EPSG:4326) unless it has those columns."""
    frame = read_table(path)
    if "geometry" not in frame.columns:
        return frame
    points = gpd.GeoSeries(frame.geometry, crs=S.STORAGE_CRS).representative_point()
    out = pd.DataFrame(frame.drop(columns="geometry")).astype(object)
    out = out.where(out.notna(), "").astype(str)
    if "lon" not in out.columns:
        out["lon"], out["lat"] = points.x.astype(str), points.y.astype(str)
    return out


def _headerless_rows(path: Path) -> pd.DataFrame:
    """Give a CSV's rows as text with no header row taken (for NHS ODS files)."""
    return pd.read_csv(io.StringIO(read_text(path)), dtype=str, keep_default_na=False, header=None)


def carry_imd(target: gpd.GeoDataFrame, source: gpd.GeoDataFrame, imd: pd.DataFrame, *,
              lookup: pd.DataFrame | None = None) -> pd.DataFrame:
    """Give IMD per area of ``target``: its own values where the code is in ``imd``, else the
    lookup's 2011 LSOA, else the ``source`` area it overlaps most; with ``imd_method``."""
    keyed = imd.set_index(S.AREA_CODE)
    same = target[S.AREA_CODE].isin(keyed.index)
    donor = pd.Series(target[S.AREA_CODE].where(same), index=target.index)
    how = pd.Series("same LSOA code in 2011", index=target.index)
    if lookup is not None and (~same).any():
        found = target.loc[~same, S.AREA_CODE].map(lookup.drop_duplicates("new").set_index("new")["old"])
        donor[found.dropna().index] = found.dropna()
        how[found.dropna().index] = "ONS lookup: 2011 LSOA " + found.dropna()
    todo = donor.isna()
    if todo.any():
        new = target.loc[todo, [S.AREA_CODE, "geometry"]].to_crs(S.METRIC_CRS)
        old = source[[S.AREA_CODE, "geometry"]].to_crs(S.METRIC_CRS)
        pieces = gpd.overlay(new.rename(columns={S.AREA_CODE: "new"}),
                             old.rename(columns={S.AREA_CODE: "old"}), how="intersection")
        pieces["m2"] = pieces.area
        best = pieces.sort_values("m2").drop_duplicates("new", keep="last").set_index("new")
        donor[todo] = target.loc[todo, S.AREA_CODE].map(best["old"])
        how[todo] = "largest overlap: 2011 LSOA " + donor[todo].astype(str)
    return pd.DataFrame({
        S.AREA_CODE: target[S.AREA_CODE],
        S.IMD_RANK: donor.map(keyed[S.IMD_RANK]).astype("Int64"),
        S.IMD_DECILE: donor.map(keyed[S.IMD_DECILE]).astype("Int64"),
        S.IMD_METHOD: how,
    })


def _table(data_dir: Path, table: Table) -> pd.DataFrame:
    path = data_path(data_dir, table.path)
    raw = read_table(path).fillna("")
    if table.code_column not in raw.columns:
        raise ValidationError([Problem(f"no column '{table.code_column}'", field="code_column",
                                       file=path.name)],
                              summary=f"{path.name}: not the layout the manifest says")
    out = pd.DataFrame({table.code_column: raw[table.code_column]})
    missing = [c for c in [*table.columns, *(h for hs in table.sum.values() for h in hs)]
               if c not in raw.columns]
    if missing:
        raise ValidationError([Problem(f"no column '{c}'", field=c, file=path.name) for c in missing],
                              summary=f"{path.name}: not the layout the manifest says")
    problems: list[Problem] = []
    numbers = {}
    for theirs in dict.fromkeys([*table.columns, *(h for hs in table.sum.values() for h in hs)]):
        # Figures as published: "2,500" is a number; a cell that is not one is a problem.
        numbers[theirs], found = parse_numbers(raw[theirs].str.replace(",", "", regex=False),
                                               field=theirs, file=path.name)
        problems += found
    if problems:
        raise ValidationError(problems, summary=f"{path.name}: nothing was loaded")
    for theirs, ours in table.columns.items():
        out[ours] = numbers[theirs]
    for ours, theirs_list in table.sum.items():
        bands = pd.concat([numbers[h] for h in theirs_list], axis=1)
        out[ours] = bands.sum(axis=1, min_count=len(theirs_list))
    return out


def _join(session: Session, layer: str, rows: pd.DataFrame, code_column: str, file: str) -> None:
    """Join ``rows`` onto ``layer``; every area of the layer must have a row (a national file
    may hold other councils' rows too)."""
    add_area_attributes(session, layer, rows, code_column=code_column)
    codes = set(rows[code_column].astype(str))
    missing = sorted(set(load_area_layer(session, layer)[S.AREA_CODE]) - codes)
    if missing:
        raise ValidationError(
            [Problem(f"area {code} of layer '{layer}' has no row in the table", field=code_column,
                     file=file) for code in missing[:20]],
            summary=f"{file}: {len(missing)} areas of '{layer}' have no row (is it the same "
                    "vintage as the layer?); nothing was loaded")


def _imd(session: Session, data_dir: Path, imd: Imd, report: BoroughReport,
         titles: dict[str, str]) -> None:
    path = data_path(data_dir, imd.path)
    raw = read_table(path).fillna("")
    table = pd.DataFrame({
        S.AREA_CODE: column(raw, *IMD_CODE, file=path.name),
        S.IMD_RANK: pd.to_numeric(column(raw, *IMD_RANK, file=path.name)).astype("Int64"),
        S.IMD_DECILE: pd.to_numeric(column(raw, *IMD_DECILE, file=path.name)).astype("Int64"),
    })
    add_area_attributes(session, imd.layer, table, code_column=S.AREA_CODE)
    record_source(session, key="imd", kind="table", title=imd.title or "IMD 2019", file=path.name,
                  publisher=imd.publisher, licence=imd.licence, attribution=imd.attribution,
                  note=f"on {titles.get(imd.layer, imd.layer)}" + (
                      f", carried onto {', '.join(titles.get(o, o) for o in imd.onto)}"
                      if imd.onto else ""),
                  rows=len(table))
    lookup = None
    if imd.lookup:
        raw_lookup = read_table(data_path(data_dir, imd.lookup))
        lookup = pd.DataFrame({"old": column(raw_lookup, "LSOA11CD", "lsoa11_code"),
                               "new": column(raw_lookup, "LSOA21CD", "lsoa21_code")})
    source = load_area_layer(session, imd.layer)
    for layer in imd.onto:
        carried = carry_imd(load_area_layer(session, layer), source, table, lookup=lookup)
        add_area_attributes(session, layer, carried, code_column=S.AREA_CODE)
        methods = carried[S.IMD_METHOD]
        for how, prefix in (("same code", "same"), ("lookup", "ONS lookup"),
                            ("largest overlap", "largest")):
            found = int(methods.str.startswith(prefix).sum())
            report.imd_methods[how] = report.imd_methods.get(how, 0) + found


def load_areas(session: Session, manifest: Manifest, data_dir: Path, *,
               progress: Progress = print) -> BoroughReport:
    """Load the manifest's boundaries, tables and IMD (in the caller's transaction)."""
    report = BoroughReport()
    # Notes a person reads name a layer by its title ("Census 2021 LSOAs"), not its code.
    titles = {b.layer: b.title or b.layer for b in manifest.boundaries}
    for b in manifest.boundaries:
        path = data_path(data_dir, b.path)
        areas, problems = areas_from_frame(gpd.read_file(path), code_field=b.code_field,
                                           name_field=b.name_field, file=path.name)
        if problems:
            raise ValidationError(problems, summary=f"{path.name}: nothing was loaded")
        report.layers[b.layer] = save_area_layer(session, b.layer, areas, title=b.title or b.layer,
                                                 source=b.publisher, licence=b.licence,
                                                 attribution=b.attribution)
        record_source(session, key=f"boundaries:{b.layer}", kind="boundaries",
                      title=b.title or b.layer, file=path.name, publisher=b.publisher,
                      licence=b.licence, attribution=b.attribution, rows=report.layers[b.layer])
        progress(f"layer {b.layer}: {report.layers[b.layer]} areas")
    for t in manifest.tables:
        rows = _table(data_dir, t)
        _join(session, t.layer, rows, t.code_column, Path(t.path).name)
        record_source(session, key=f"table:{t.layer}:{Path(t.path).name}", kind="table",
                      title=t.title or Path(t.path).name, file=Path(t.path).name,
                      publisher=t.publisher, licence=t.licence, attribution=t.attribution,
                      note=f"joined onto {titles.get(t.layer, t.layer)}", rows=len(rows))
        progress(f"table {Path(t.path).name} onto {t.layer}")
    if manifest.imd is not None:
        _imd(session, data_dir, manifest.imd, report, titles)
        carried = ", ".join(f"{n} by {how}" for how, n in report.imd_methods.items() if n)
        progress(f"IMD 2019 on {manifest.imd.layer}" + (f"; carried on: {carried}" if carried else ""))
    set_layer_roles(session, **{role: name for role, name in manifest.layers.items()})
    return report


def _read_assets(data_dir: Path, src: AssetSource) -> tuple[pd.DataFrame, pd.DataFrame]:
    path = data_path(data_dir, src.path)
    if src.layout in FILE_READERS:
        read = FILE_READERS[src.layout](path, src)
    else:
        raw = (epraccur_frame(_headerless_rows(path)) if src.layout == "epraccur"
               else _read_text_table(path))
        read = READERS[src.layout](rows_matching(raw, src.where, file=path.name), src)
    assets, organisations = read.assets, read.organisations
    if src.only_categories:
        assets = assets[assets[S.CATEGORY].isin(src.only_categories)]
        if not organisations.empty and S.ORGANISATION_ID in assets.columns:
            organisations = organisations[organisations[S.EXTERNAL_ID].isin(assets[S.ORGANISATION_ID])]
    return organisations, assets.reset_index(drop=True)


def _postcodes(session: Session, manifest: Manifest, data_dir: Path, *,
               progress: Progress) -> None:
    pc = manifest.postcodes
    if pc is None:
        return
    path = data_path(data_dir, pc.onspd)
    read = read_onspd(path, local_authorities=pc.local_authorities or (manifest.borough.code,))
    count = save_postcodes(session, read, label=pc.label)
    record_source(session, key="postcodes", kind="postcodes", title=pc.title or pc.label,
                  file=path.name, publisher=pc.publisher or "Office for National Statistics",
                  licence=pc.licence or ONSPD_LICENCE, attribution=pc.attribution or ONSPD_ATTRIBUTION,
                  note=f"a geocoding source after OS Code-Point Open; {read.without_location} rows "
                       "without a location left out", rows=count)
    progress(f"postcodes: {count} from {path.name} ({pc.label})")


def write_register(session: Session, files: list[tuple[AssetSource, pd.DataFrame, pd.DataFrame]], *,
                   boundary: gpd.GeoDataFrame | None, index: PostcodeIndex, label: str,
                   changed_by: str = "borough loader", progress: Progress = print) -> BoroughReport:
    """Write each file's organisations, then its assets, all checked (caller's transaction).

    ``files`` holds per file its source, organisations and assets, as the readers give them.
    """
    report = BoroughReport()
    orgs = [o for _, o, _ in files if not o.empty]
    if orgs:
        prepared, problems = prepare_organisations(pd.concat(orgs, ignore_index=True),
                                                   file=f"{label} organisations")
        if problems:
            raise ValidationError(problems)
        upsert_records(session, "organisation", prepared, changed_by=changed_by)
        report.organisations = len(prepared)
        progress(f"organisations: {len(prepared)}")
    for src, _orgs, frame in files:
        file = Path(src.path).name
        prepared, problems = prepare_assets(frame, file=file, boundary=boundary, index=index)
        report.assets[src.key] = write_assets_in(session, prepared, problems, file=file,
                                                 rows=len(frame), skip_invalid=False,
                                                 changed_by=changed_by)
        record_source(session, key=f"assets:{src.key}", kind="assets", title=src.title or src.key,
                      file=file, publisher=src.publisher, licence=src.licence,
                      attribution=src.attribution, note=src.note, rows=len(frame))
        progress(report.assets[src.key].summary())
    return report


def load_register(session: Session, manifest: Manifest, data_dir: Path, *,
                  progress: Progress = print) -> BoroughReport:
    """Load the manifest's asset files: organisations first, then every asset, all checked."""
    files = [(src, *_read_assets(data_dir, src)) for src in manifest.assets]
    return write_register(session, files, boundary=borough_outline(session),
                          index=stored_index(session), label=manifest.path.name, progress=progress)


def load_borough(store: Store, manifest: Path | Manifest, data_dir: Path, *,
                 progress: Progress = print, replace_borough: bool = False) -> BoroughReport:
    """Load a borough from its manifest in one transaction; give what was written.

    Raises
    ------
    ValidationError
        For any problem in the manifest or a file (nothing is written then).
    BoroughMismatchError
        If the store holds another borough and ``replace_borough`` is false.
    """
    m = manifest if isinstance(manifest, Manifest) else read_manifest(manifest)
    store.upgrade()
    with store.transaction() as session:
        save_borough(session, m.borough, replace=replace_borough)
        progress(f"borough {m.borough.formal_name} ({m.borough.code})")
        report = load_areas(session, m, data_dir, progress=progress)
        _postcodes(session, m, data_dir, progress=progress)
        register = load_register(session, m, data_dir, progress=progress)
    report.organisations, report.assets = register.organisations, register.assets
    return report


def steps_of(manifest: Manifest) -> int:
    """Give how many progress steps a load of ``manifest`` reports."""
    return (1 + len(manifest.boundaries) + len(manifest.tables) + (manifest.imd is not None)
            + (manifest.postcodes is not None)
            + bool(any(s.layout in ("coops_uk", "givefood", "cqc") for s in manifest.assets))
            + len(manifest.assets))
