"""The Newham demo: real open data from the configured data directory, read in place.

Loads the 24 current wards, the 185 Census 2021 LSOAs with population by
age band, the 164 2011 LSOAs with mid-2020 population and IMD 2019, the
borough outline, and the real asset files as the first asset and
organisation records. Every record carries its source, licence and
attribution from ``data/demo_sources.csv``, which also maps each file to a
service category.

IMD 2019 is published on 2011 LSOAs. On the 2021 layer an LSOA whose code is
unchanged since 2011 takes its own IMD values; an LSOA that is new in 2021
takes those of the 2011 LSOA it overlaps most, and ``imd_method`` says which
was done for each area. Nothing here invents a patch layout: Newham's ward →
community-neighbourhood list is not published, so no patches are loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.config import REFERENCE_DIR
from mapping.errors import DataMissingError, ValidationError
from mapping.places.areas import areas_from_frame
from mapping.places.store import add_area_attributes, borough_outline, save_area_layer
from mapping.register.importers import (
    ImportReport,
    prepare_assets,
    prepare_organisations,
    write_assets_in,
)
from mapping.register.records import upsert_records
from mapping.store.database import Store

Progress = Callable[[str], None]

_LAYERS = {  # layer name → (code field, name field)
    "wards_2023": ("WD23CD", "WD23NM"),
    "lsoa_2021": ("LSOA21CD", "LSOA21NM"),
    "lsoa_2011": ("LSOA11CD", "LSOA11NM"),
    "borough": ("LAD22CD", "LAD22NM"),
}
_CENSUS_BANDS = {
    "Aged 15 years and under": "population_0_15",
    "Aged 16 to 24 years": "population_16_24",
    "Aged 25 to 34 years": "population_25_34",
    "Aged 35 to 49 years": "population_35_49",
    "Aged 50 to 64 years": "population_50_64",
    "Aged 65 years and over": S.POPULATION_65_PLUS,
    "total_usual_residents": S.POPULATION,
}
_COOP_OWNERSHIP = {
    "Workers": "worker ownership",
    "Consumers": "community ownership",
    "Tenants": "community ownership",
    "Multi-stakeholder": "community ownership",
    "Community of Interest": "community ownership",
}


@dataclass
class DemoReport:
    """What the demo load wrote."""

    layers: dict[str, int] = field(default_factory=dict)
    imd_methods: dict[str, int] = field(default_factory=dict)
    organisations: int = 0
    assets: dict[str, ImportReport] = field(default_factory=dict)


def demo_sources(path: Path | None = None) -> pd.DataFrame:
    """Give the demo's source table: file, category, title, publisher, licence, attribution."""
    return pd.read_csv(path or REFERENCE_DIR / "demo_sources.csv", dtype=str,
                       keep_default_na=False).set_index("key", drop=False)


def _path(data_dir: Path, relative: str) -> Path:
    path = data_dir / relative
    if not path.exists():
        raise DataMissingError(
            f"{path} is missing: set MAPPING_DATA_DIR to the folder holding the shared open "
            "data (newham/, reference/ ...)")
    return path


def _stamp(frame: pd.DataFrame, source: pd.Series) -> pd.DataFrame:
    return frame.assign(category=source["category"], licence=source["licence"],
                        attribution=source["attribution"], source="import")


def _imd_on_2021(lsoa21: gpd.GeoDataFrame, lsoa11: gpd.GeoDataFrame,
                 imd: pd.DataFrame) -> pd.DataFrame:
    """IMD per 2021 LSOA: its own 2011 values where the code is unchanged, else the largest overlap."""
    keyed = imd.set_index("lsoa11_code")
    same = lsoa21[S.AREA_CODE].isin(keyed.index)
    donor = pd.Series(lsoa21[S.AREA_CODE].where(same), index=lsoa21.index)
    if (~same).any():
        new = lsoa21.loc[~same, [S.AREA_CODE, "geometry"]].to_crs(S.METRIC_CRS)
        old = lsoa11[[S.AREA_CODE, "geometry"]].to_crs(S.METRIC_CRS)
        pieces = gpd.overlay(new.rename(columns={S.AREA_CODE: "new"}),
                             old.rename(columns={S.AREA_CODE: "old"}), how="intersection")
        pieces["m2"] = pieces.area
        best = pieces.sort_values("m2").drop_duplicates("new", keep="last").set_index("new")
        donor[~same] = lsoa21.loc[~same, S.AREA_CODE].map(best["old"])
    table = pd.DataFrame({
        S.AREA_CODE: lsoa21[S.AREA_CODE],
        S.IMD_RANK: donor.map(keyed["index_of_multiple_deprivation_imd_rank"]).astype("Int64"),
        S.IMD_DECILE: donor.map(keyed["index_of_multiple_deprivation_imd_decile"]).astype("Int64"),
        S.IMD_METHOD: [
            "same LSOA code in 2011" if s else f"largest overlap: 2011 LSOA {d}"
            for s, d in zip(same, donor, strict=True)
        ],
    })
    return table


def load_demo_areas(session: Session, data_dir: Path, *, progress: Progress = print
                    ) -> DemoReport:
    """Load the Newham layers and their population and IMD tables (in the caller's transaction)."""
    sources = demo_sources()
    report = DemoReport()
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name, (code, label) in _LAYERS.items():
        src = sources.loc[name]
        raw = gpd.read_file(_path(data_dir, src["path"]))
        areas, problems = areas_from_frame(raw, code_field=code, name_field=label,
                                           file=Path(src["path"]).name)
        if problems:
            raise ValidationError(problems)
        layers[name] = areas
    census = pd.read_csv(_path(data_dir, sources.loc["census2021_age", "path"]))
    census = census.rename(columns=_CENSUS_BANDS).drop(columns=["lsoa21_name"])
    mid2020 = pd.read_csv(_path(data_dir, sources.loc["mid2020_age", "path"]))
    mid2020 = mid2020[["LSOA11CD", "Persons_All-Ages", "Persons_65+"]].rename(
        columns={"Persons_All-Ages": S.POPULATION, "Persons_65+": S.POPULATION_65_PLUS})
    imd = pd.read_csv(_path(data_dir, sources.loc["imd2019", "path"]))
    imd21 = _imd_on_2021(layers["lsoa_2021"], layers["lsoa_2011"], imd)
    report.imd_methods = {
        "same code": int(imd21[S.IMD_METHOD].str.startswith("same").sum()),
        "largest overlap": int(imd21[S.IMD_METHOD].str.startswith("largest").sum()),
    }
    imd11 = imd.rename(columns={"index_of_multiple_deprivation_imd_rank": S.IMD_RANK,
                                "index_of_multiple_deprivation_imd_decile": S.IMD_DECILE})
    imd11 = imd11[["lsoa11_code", S.IMD_RANK, S.IMD_DECILE]]
    for name, areas in layers.items():
        src = sources.loc[name]
        report.layers[name] = save_area_layer(
            session, name, areas, title=src["title"], source=src["publisher"],
            licence=src["licence"], attribution=src["attribution"])
        progress(f"layer {name}: {report.layers[name]} areas")
    add_area_attributes(session, "lsoa_2021", census, code_column="lsoa21_code")
    add_area_attributes(session, "lsoa_2021", imd21, code_column=S.AREA_CODE)
    add_area_attributes(session, "lsoa_2011", mid2020, code_column="LSOA11CD")
    add_area_attributes(session, "lsoa_2011", imd11, code_column="lsoa11_code")
    progress(f"IMD 2019 on 2021 LSOAs: {report.imd_methods['same code']} by the same code, "
             f"{report.imd_methods['largest overlap']} by largest overlap with a 2011 LSOA")
    return report


def _schools(data_dir: Path, src: pd.Series) -> pd.DataFrame:
    raw = pd.read_csv(_path(data_dir, src["path"]), dtype=str)
    return _stamp(pd.DataFrame({
        S.EXTERNAL_ID: "gias:" + raw["urn"], S.NAME: raw["establishment_name"],
        S.DESCRIPTION: raw["establishment_type"] + " (" + raw["education_phase"] + ")",
        S.EASTING: raw["easting"], S.NORTHING: raw["northing"],
    }), src)


def _places_of_worship(data_dir: Path, src: pd.Series) -> pd.DataFrame:
    raw = gpd.read_file(_path(data_dir, src["path"]))
    names = raw["name"].fillna("").str.strip()
    faith = raw["fclass"].str.replace("_", " ").str.capitalize()
    unnamed = "Unnamed place of worship (OSM " + raw["osm_type"] + " " + raw["osm_id"] + ")"
    return _stamp(pd.DataFrame({
        S.EXTERNAL_ID: "osm:" + raw["osm_type"] + "/" + raw["osm_id"],
        S.NAME: names.where(names != "", unnamed),
        S.DESCRIPTION: faith, S.LON: raw.geometry.x.astype(str),
        S.LAT: raw.geometry.y.astype(str),
    }), src).assign(source="osm")


def _gp_practices(data_dir: Path, src: pd.Series) -> pd.DataFrame:
    raw = pd.read_csv(_path(data_dir, src["path"]), dtype=str)
    # Active (A) practices whose prescribing setting is 4 (GP practice): the 46 real surgeries.
    raw = raw[(raw["status_code"] == "A") & (raw["prescribing_setting"] == "4")]
    address = raw[["address_1", "address_2", "address_3", "address_4"]].fillna("").agg(
        lambda r: ", ".join(p.title() for p in r if p), axis=1)
    return _stamp(pd.DataFrame({
        S.EXTERNAL_ID: "ods:" + raw["org_code"], S.NAME: raw["name"].str.title(),
        S.DESCRIPTION: "GP practice (located at its postcode centroid)",
        S.ADDRESS: address, S.POSTCODE: raw["postcode"], S.CONTACT: raw["telephone"],
        S.LON: raw["pc_lon"], S.LAT: raw["pc_lat"],
    }), src)


def _community_spaces(data_dir: Path, src: pd.Series) -> pd.DataFrame:
    raw = pd.read_csv(_path(data_dir, src["path"]), dtype=str)
    access = raw["wheelchair"].map({"True": "Wheelchair-accessible toilet",
                                    "False": "No wheelchair-accessible toilet listed"})
    opening = raw["opening_hours"].fillna("").str.strip().str.removeprefix("Opening times:")
    return _stamp(pd.DataFrame({
        S.EXTERNAL_ID: "newham-toilets:" + raw["name"].str.casefold().str.replace(
            r"[^a-z0-9]+", "-", regex=True).str.strip("-"),
        S.NAME: raw["name"], S.ADDRESS: raw["address"].str.strip(),
        S.DESCRIPTION: "In Newham's community toilet scheme (position approximate)",
        S.OPENING_TIMES: opening.str.strip(), S.ACCESSIBILITY: access,
        S.LON: raw["longitude"], S.LAT: raw["latitude"],
    }), src)


def _cooperatives(data_dir: Path, src: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = pd.read_csv(_path(data_dir, src["path"]), dtype=str)
    org_ids = "coopsuk:" + raw["Identifier"]
    address = raw[["Street Address", "Locality"]].fillna("").agg(
        lambda r: ", ".join(" ".join(p.split()) for p in r if p), axis=1)
    orgs = pd.DataFrame({
        S.EXTERNAL_ID: org_ids, S.NAME: raw["Name"],
        # Co-operatives UK says "Society" for registered societies; "Company" alone does
        # not say which company form, so the class then comes from the ownership model.
        S.LEGAL_FORM: raw["Legal Form"].replace({"Society": "Registered Society"}),
        S.COMPANY_NUMBER: raw["Companies House Number"],
        S.OWNERSHIP_MODEL: raw["Ownership Classification"].map(_COOP_OWNERSHIP),
        S.OFFICE_IN_BOROUGH: "yes", S.ADDRESS: address, S.POSTCODE: raw["Postcode"],
        S.WEBSITE: raw["Website"], S.LICENCE: src["licence"], S.ATTRIBUTION: src["attribution"],
    })
    assets = _stamp(pd.DataFrame({
        S.EXTERNAL_ID: org_ids, S.NAME: raw["Name"], S.ORGANISATION_ID: org_ids,
        S.DESCRIPTION: "Co-operative or mutual (located at its postcode centroid)",
        S.ADDRESS: address, S.POSTCODE: raw["Postcode"], S.WEBSITE: raw["Website"],
        S.LON: raw["pc_lon"], S.LAT: raw["pc_lat"],
    }), src)
    return orgs, assets


def _food_banks(data_dir: Path, src: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = pd.read_csv(_path(data_dir, src["path"]), dtype=str)
    raw = raw[raw["closed"].str.casefold() != "true"]
    lat, lon = raw["latt_long"].str.split(",", expand=True).T.to_numpy()
    org_ids = "givefood:" + raw["slug"]
    address = raw["address"].str.replace(r"\s*\n\s*", ", ", regex=True)
    orgs = pd.DataFrame({
        S.EXTERNAL_ID: org_ids, S.NAME: raw["name"] + " food bank", S.LEGAL_FORM: "Charity",
        S.CHARITY_NUMBER: raw["charity_number"], S.OFFICE_IN_BOROUGH: "yes",
        S.ADDRESS: address, S.POSTCODE: raw["postcode"], S.WEBSITE: raw["url"],
        S.LICENCE: src["licence"], S.ATTRIBUTION: src["attribution"],
    })
    assets = _stamp(pd.DataFrame({
        S.EXTERNAL_ID: org_ids, S.NAME: raw["name"] + " food bank", S.ORGANISATION_ID: org_ids,
        S.ADDRESS: address, S.POSTCODE: raw["postcode"], S.CONTACT: raw["phone"],
        S.WEBSITE: raw["url"], S.LON: lon, S.LAT: lat,
    }), src)
    return orgs, assets


def load_demo_register(session: Session, data_dir: Path, *, boundary: gpd.GeoDataFrame,
                       progress: Progress = print) -> DemoReport:
    """Load the real Newham asset files as the first organisations and assets.

    Each file goes through the same validation and geocoding as a user's
    import, in the caller's transaction.
    """
    sources = demo_sources()
    report = DemoReport()
    coop_orgs, coop_assets = _cooperatives(data_dir, sources.loc["cooperatives"])
    bank_orgs, bank_assets = _food_banks(data_dir, sources.loc["food_banks"])
    orgs = pd.concat([coop_orgs, bank_orgs], ignore_index=True)
    prepared, problems = prepare_organisations(orgs, file="demo organisations")
    if problems:
        raise ValidationError(problems)
    upsert_records(session, "organisation", prepared, changed_by="demo loader")
    report.organisations = len(prepared)
    progress(f"organisations: {len(prepared)}")
    frames = {
        "schools": _schools(data_dir, sources.loc["schools"]),
        "places_of_worship": _places_of_worship(data_dir, sources.loc["places_of_worship"]),
        "gp_practices": _gp_practices(data_dir, sources.loc["gp_practices"]),
        "community_spaces": _community_spaces(data_dir, sources.loc["community_spaces"]),
        "cooperatives": coop_assets,
        "food_banks": bank_assets,
    }
    for key, frame in frames.items():
        file = Path(sources.loc[key, "path"]).name
        prepared, problems = prepare_assets(frame, file=file, boundary=boundary)
        report.assets[key] = write_assets_in(session, prepared, problems, file=file,
                                             rows=len(frame), skip_invalid=False,
                                             changed_by="demo loader")
        progress(report.assets[key].summary())
    return report


def load_demo(store: Store, data_dir: Path, *, progress: Progress = print) -> DemoReport:
    """Load the whole Newham demo (areas, then register) in one transaction; give what was written.

    All or nothing: a problem in any file leaves the store as it was.
    """
    with store.transaction() as session:
        report = load_demo_areas(session, data_dir, progress=progress)
        boundary = borough_outline(session)
        register = load_demo_register(session, data_dir, boundary=boundary, progress=progress)
    report.organisations, report.assets = register.organisations, register.assets
    return report
