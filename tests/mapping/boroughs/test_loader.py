"""Loading a borough from a manifest: any vintage, all or nothing, one borough a store."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from mapping.access.analysis import inputs_from_store
from mapping.boroughs.loader import load_borough
from mapping.boroughs.settings import BoroughMismatchError, store_borough
from mapping.config import REFERENCE_DIR
from mapping.errors import DataMissingError, ValidationError
from mapping.places.roles import layer_roles
from mapping.places.store import list_layers
from mapping.store.database import Store
from mapping.store.models import Asset, BoroughRecord

OTHER_VINTAGES = REFERENCE_DIR / "boroughs" / "newham_2011.toml"
QUIET = {"progress": lambda _m: None}


def test_another_vintage_loads_and_the_analysis_runs_on_it(store: Store, data_dir: Path) -> None:
    report = load_borough(store, OTHER_VINTAGES, data_dir, **QUIET)
    assert report.layers == {"wards_2013": 20, "lsoa_2011": 164}
    with store.session() as session:
        roles = layer_roles(session)
        assert (roles.small_areas, roles.wards, roles.guessed) == ("lsoa_2011", "wards_2013", ())
        inputs = inputs_from_store(session)
        assert len(inputs.areas) == 164 and inputs.areas["imd_decile"].between(1, 10).all()
        assert inputs.patches["patch"].nunique() == 20  # rolled up to the 2013 wards
        assert "not published" in inputs.patch_source
        assert session.scalar(select(func.count(Asset.id))) == 46 + 115 + 15


def test_loading_again_changes_nothing(store: Store, data_dir: Path) -> None:
    load_borough(store, OTHER_VINTAGES, data_dir, **QUIET)
    again = load_borough(store, OTHER_VINTAGES, data_dir, **QUIET)
    assert sum(r.counts.inserted + r.counts.updated for r in again.assets.values()) == 0
    with store.session() as session:
        assert session.scalar(select(func.count(BoroughRecord.id))) == 1


def _other_council(tmp_path: Path, **extra: str) -> Path:
    body = "\n".join(f'{k} = "{v}"' for k, v in extra.items())
    path = tmp_path / "testborough.toml"
    path.write_text(f'[borough]\ncode = "E08000011"\nname = "Knowsley"\n{body}\n\n'
                    '[[boundaries]]\nlayer = "w"\npath = "newham/boundaries/wards_2013.geojson"\n',
                    encoding="utf-8")
    return path


def test_a_store_refuses_another_borough_and_stays_as_it_was(store: Store, data_dir: Path,
                                                              tmp_path: Path) -> None:
    load_borough(store, OTHER_VINTAGES, data_dir, **QUIET)
    with pytest.raises(BoroughMismatchError, match="holds Newham"):
        load_borough(store, _other_council(tmp_path), data_dir, **QUIET)
    with store.session() as session:
        assert store_borough(session).name == "Newham"  # type: ignore[union-attr]
        assert "w" not in set(list_layers(session)["name"])


def test_a_bad_file_writes_nothing(store: Store, data_dir: Path, tmp_path: Path) -> None:
    text = OTHER_VINTAGES.read_text(encoding="utf-8").replace(
        'code_column = "LSOA11CD"', 'code_column = "LSOA code"')
    manifest = tmp_path / "bad.toml"
    manifest.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_borough(store, manifest, data_dir, **QUIET)
    assert info.value.problems[0].field == "code_column"
    assert info.value.problems[0].file == "lsoa2011_mid2020_population_by_age.csv"
    with store.session() as session:
        assert store_borough(session) is None and list_layers(session).empty


def test_a_missing_file_says_which_setting_or_path_to_fix(store: Store, tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match="MAPPING_DATA_DIR"):
        load_borough(store, OTHER_VINTAGES, tmp_path, **QUIET)


def test_epraccur_in_its_published_layout_has_no_header(store: Store, data_dir: Path,
                                                        tmp_path: Path) -> None:
    # SYNTHETIC rows in NHS ODS's published epraccur layout: 27 columns, no header row.
    rows = [
        ["Y99991", "SYNTHETIC ACTIVE SURGERY", "Y56", "QMF", "1 TEST ROAD", "", "", "LONDON", "",
         "E6 2RA", "19740401", "", "A", "B", "A3A8R", "20210401", "", "020 0000 0000", "", "", "",
         "0", "", "A3A8R", "", "4", ""],
        ["Y99992", "SYNTHETIC CLOSED SURGERY", "Y56", "QMF", "2 TEST ROAD", "", "", "LONDON", "",
         "E6 2RA", "19740401", "20200101", "C", "B", "A3A8R", "20210401", "", "", "", "", "", "0",
         "", "A3A8R", "", "4", ""],
    ]
    csv = tmp_path / "epraccur.csv"
    csv.write_text("\n".join(",".join(f'"{c}"' for c in r) for r in rows) + "\n", encoding="utf-8")
    manifest = _other_council(tmp_path)
    manifest.write_text(manifest.read_text(encoding="utf-8") + (
        f'\n[[assets]]\nkey = "gp"\nlayout = "epraccur"\npath = "{csv}"\ncategory = "gp_practice"\n'
        'where = ["status_code=A", "prescribing_setting=4"]\n'), encoding="utf-8")
    report = load_borough(store, manifest, data_dir, **QUIET)
    assert report.assets["gp"].counts.inserted == 1
    with store.session() as session:
        names = list(session.scalars(select(Asset.name)))
    assert names == ["Synthetic Active Surgery"]


def test_replacing_the_borough_forgets_the_old_ones_layers(store: Store, data_dir: Path,
                                                          tmp_path: Path) -> None:
    load_borough(store, OTHER_VINTAGES, data_dir, **QUIET)
    load_borough(store, _other_council(tmp_path), data_dir, replace_borough=True, **QUIET)
    with store.session() as session:
        roles = layer_roles(session)
        assert store_borough(session).name == "Knowsley"  # type: ignore[union-attr]
        assert roles.small_areas == "lsoa_2011" and "small_areas" in roles.guessed  # not named
        assert roles.wards == "wards_2013" and "wards" in roles.guessed  # the most areas wins


def test_an_asset_file_in_british_national_grid_is_read_in_its_crs(store: Store, data_dir: Path,
                                                                   tmp_path: Path) -> None:
    import geopandas as gpd

    pofw = gpd.read_file(data_dir / "newham/assets/osm_geofabrik_2019_places_of_worship_newham.geojson")
    path = tmp_path / "pofw_27700.gpkg"
    pofw.drop(columns=["lon", "lat"]).to_crs("EPSG:27700").to_file(path)
    manifest = _other_council(tmp_path)
    manifest.write_text(manifest.read_text(encoding="utf-8") + (
        f'\n[[assets]]\nkey = "pofw"\nlayout = "osm_points"\npath = "{path}"\n'
        'category = "place_of_worship"\n'), encoding="utf-8")
    report = load_borough(store, manifest, data_dir, **QUIET)
    assert report.assets["pofw"].counts.inserted == len(pofw) == 103


def test_a_table_of_another_vintage_is_refused_naming_the_areas(store: Store, data_dir: Path,
                                                                tmp_path: Path) -> None:
    demo = (REFERENCE_DIR / "boroughs" / "newham.toml").read_text(encoding="utf-8")
    # The mid-2020 table is on 2011 LSOAs: pointed at the 2021 layer, 33 areas have no row.
    wrong = demo.replace('[[tables]]\nlayer = "lsoa_2011"', '[[tables]]\nlayer = "lsoa_2021"')
    manifest = tmp_path / "wrong.toml"
    manifest.write_text(wrong, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_borough(store, manifest, data_dir, **QUIET)
    assert "33 areas of 'lsoa_2021' have no row" in info.value.summary
    assert info.value.problems[0].file == "lsoa2011_mid2020_population_by_age.csv"
    with store.session() as session:
        assert list_layers(session).empty


def test_published_figures_with_thousands_separators_are_numbers(store: Store, data_dir: Path,
                                                                 tmp_path: Path) -> None:
    source = data_dir / "newham/population/lsoa2011_mid2020_population_by_age.csv"
    import pandas as pd

    table = pd.read_csv(source, dtype=str)
    table["Persons_All-Ages"] = table["Persons_All-Ages"].map(lambda v: f"{int(v):,}")
    copy = tmp_path / "mid2020.csv"
    table.to_csv(copy, index=False)
    text = OTHER_VINTAGES.read_text(encoding="utf-8").replace(
        'path = "newham/population/lsoa2011_mid2020_population_by_age.csv"', f'path = "{copy}"')
    manifest = tmp_path / "commas.toml"
    manifest.write_text(text, encoding="utf-8")
    load_borough(store, manifest, data_dir, **QUIET)
    with store.session() as session:
        from mapping.places.store import load_area_layer

        got = load_area_layer(session, "lsoa_2011")
    assert got["population"].sum() == pd.to_numeric(
        pd.read_csv(source)["Persons_All-Ages"]).sum()


def test_without_wards_the_roll_up_is_the_whole_borough(store: Store, data_dir: Path,
                                                        tmp_path: Path) -> None:
    manifest = tmp_path / "lsoa_only.toml"
    manifest.write_text('''[borough]
code = "E08000011"
name = "Knowsley"

[[boundaries]]
layer = "small"
path = "newham/boundaries/lsoa_2011.geojson"
code_field = "LSOA11CD"
name_field = "LSOA11CD"

[[tables]]
layer = "small"
path = "newham/population/lsoa2011_mid2020_population_by_age.csv"
code_column = "LSOA11CD"
columns = { "Persons_All-Ages" = "population", "Persons_65+" = "population_65_plus" }
''', encoding="utf-8")
    load_borough(store, manifest, data_dir, **QUIET)
    with store.session() as session:
        inputs = inputs_from_store(session)
    assert inputs.patch_source.startswith("the whole borough (no ward layer is loaded")
    assert set(inputs.patches["patch"]) == {"the whole borough"} and len(inputs.patches) == 164
