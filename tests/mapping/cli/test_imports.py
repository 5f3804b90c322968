"""Import options real files need: a category and row filters, table column maps, joined aliases."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from mapping import schema as S
from mapping.places.store import load_area_layer, save_area_layer
from mapping.register.records import assets_frame, organisations_frame
from mapping.store.database import Store
from tests.mapping.cli.test_main import run


def test_active_gp_practices_from_the_raw_ods_file(runner: CliRunner, store: Store,
                                                   data_dir: Path) -> None:
    path = data_dir / "newham/assets/nhs_ods_epraccur_newham_postcodes.csv"
    raw = pd.read_csv(path, dtype=str)
    active = raw[(raw["status_code"] == "A") & (raw["prescribing_setting"] == "4")]
    result = run(runner, store, "import-assets", str(path), "--category", "gp_practice",
                 "--where", "status_code=A", "--where", "prescribing_setting=4",
                 "--map", "org_code=external_id", "--map", "pc_lon=lon", "--map", "pc_lat=lat")
    assert result.exit_code == 0, result.output
    with store.session() as session:
        assets = assets_frame(session)
    assert len(assets) == len(active) == 46
    assert set(assets[S.CATEGORY]) == {"gp_practice"}
    assert set(assets[S.EXTERNAL_ID]) == set(active["org_code"])


def test_a_filter_on_a_column_the_file_lacks_names_it(runner: CliRunner, store: Store,
                                                      data_dir: Path) -> None:
    path = data_dir / "newham/assets/nhs_ods_epraccur_newham_postcodes.csv"
    result = run(runner, store, "import-assets", str(path), "--where", "status=A")
    assert result.exit_code == 1
    assert "no column 'status' to filter on" in result.output
    result = run(runner, store, "import-assets", str(path), "--where", "statusA")
    assert result.exit_code == 2 and "is not COLUMN=VALUE" in result.output


def test_the_raw_co_operatives_uk_file_imports_with_phone_and_email_joined(
        runner: CliRunner, store: Store, data_dir: Path) -> None:
    path = data_dir / "newham/assets/coopsuk_open_data_2023-03_newham.csv"
    result = run(runner, store, "import-assets", str(path), "--category", "cooperative",
                 "--map", "Identifier=external_id", "--map", "pc_lon=lon", "--map", "pc_lat=lat",
                 "--map", "Latitude=ignored_lat", "--map", "Longitude=ignored_lon")
    assert result.exit_code == 0, result.output
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    with store.session() as session:
        assets = assets_frame(session).set_index(S.EXTERNAL_ID)
    for _, row in raw.iterrows():  # contact is the phone and the email, whichever are given
        given = "; ".join(v for v in (row["Phone"], row["Email"]) if v) or None
        assert assets.loc[row["Identifier"], S.CONTACT] == given
    result = run(runner, store, "import-organisations", str(path),
                 "--map", "Identifier=external_id")
    assert result.exit_code == 0, result.output
    with store.session() as session:
        assert len(organisations_frame(session)) == len(raw)


def test_a_census_table_joins_through_its_own_headers(runner: CliRunner, store: Store,
                                                      data_dir: Path, tmp_path: Path) -> None:
    import geopandas as gpd

    layer = gpd.read_file(data_dir / "newham/boundaries/lsoa_2021.geojson")
    from mapping.places.areas import areas_from_frame
    areas, _ = areas_from_frame(layer, code_field="LSOA21CD", name_field="LSOA21NM")
    with store.transaction() as session:
        save_area_layer(session, "small", areas, title="small")
    path = data_dir / "newham/population/census2021_lsoa2021_usual_residents_by_age6.csv"
    result = run(runner, store, "import-table", str(path), "--layer", "small",
                 "--code-column", "lsoa21_code", "--map", "Aged 50 to 64 years=people_50_64")
    assert result.exit_code == 0, result.output
    census = pd.read_csv(path)
    with store.session() as session:
        got = load_area_layer(session, "small")
    # total_usual_residents and "Aged 65 years and over" are known headers (data/table_aliases.csv)
    assert got[S.POPULATION].sum() == census["total_usual_residents"].sum()
    assert got[S.POPULATION_65_PLUS].sum() == census["Aged 65 years and over"].sum()
    assert got["people_50_64"].sum() == census["Aged 50 to 64 years"].sum()


def test_problems_after_a_filter_name_the_files_own_rows(runner: CliRunner, store: Store,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("name,category,status_code,postcode\n"
                    "SYNTHETIC one,community_space,A,E15 4EH\n"
                    "SYNTHETIC two,community_space,C,E15 4EH\n"
                    "SYNTHETIC three,community_space,A,NOT A POSTCODE\n", encoding="utf-8")
    result = run(runner, store, "import-assets", str(path), "--where", "status_code=A")
    assert result.exit_code == 1
    assert "row 3, field 'postcode'" in result.output  # the file's row 3, the second kept


def test_cqc_locations_import_with_their_providers(runner: CliRunner, store: Store) -> None:
    fixture = Path(__file__).resolve().parents[2] / "data" / "cqc" / "hsca_active_locations_SYNTHETIC.csv"
    result = run(runner, store, "import-cqc", str(fixture), "--category", "homecare")
    assert result.exit_code == 0, result.output
    from mapping.register.cqc import cqc_locations

    expected = cqc_locations(fixture).assets
    expected = expected[expected[S.CATEGORY] == "homecare"]
    with store.session() as session:
        assets = assets_frame(session, status=["active", "closed"])
        orgs = organisations_frame(session)
    assert sorted(assets[S.EXTERNAL_ID]) == sorted(expected[S.EXTERNAL_ID]) != []
    assert set(assets[S.CATEGORY]) == {"homecare"}
    assert set(assets[S.ORGANISATION_ID].dropna()) <= set(orgs[S.EXTERNAL_ID])
    again = run(runner, store, "import-cqc", str(fixture), "--category", "homecare")
    assert "0 added" in again.output  # matched on the CQC ids: refreshed, not duplicated
