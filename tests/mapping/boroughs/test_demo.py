"""The Newham demo, end to end on the real open data in ../shared/data."""

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from mapping import schema as S
from mapping.boroughs.demo import load_demo
from mapping.boroughs.sources import sources_frame
from mapping.errors import DataMissingError
from mapping.places.store import list_layers, load_area_layer
from mapping.register.records import assets_frame, organisations_frame
from mapping.store.database import Store
from mapping.store.models import Asset, Organisation, RecordHistory


def test_layers_have_the_published_counts(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        layers = list_layers(session).set_index("name")["areas"].to_dict()
    assert layers == {"wards_2023": 24, "lsoa_2021": 185, "lsoa_2011": 164, "borough": 1}


def test_census_population_is_joined_to_every_2021_lsoa(demo_store: Store, data_dir) -> None:
    with demo_store.transaction() as session:
        lsoa = load_area_layer(session, "lsoa_2021")
    census = pd.read_csv(data_dir / "newham/population/census2021_lsoa2021_usual_residents_by_age6.csv")
    assert lsoa[S.POPULATION].notna().all()
    assert lsoa[S.POPULATION].sum() == census["total_usual_residents"].sum() == 351_005
    assert lsoa[S.POPULATION_65_PLUS].sum() == census["Aged 65 years and over"].sum()


def test_imd_on_2021_lsoas_says_how_it_was_mapped(demo_store: Store, data_dir) -> None:
    with demo_store.transaction() as session:
        lsoa = load_area_layer(session, "lsoa_2021")
    imd = pd.read_csv(data_dir / "newham/deprivation/iod2019_lsoa2011_ranks_deciles.csv")
    same = lsoa[S.IMD_METHOD].eq("same LSOA code in 2011")
    assert same.sum() == 152 and (~same).sum() == 33
    assert lsoa.loc[~same, S.IMD_METHOD].str.match(r"largest overlap: 2011 LSOA E01\d{6}$").all()
    # An unchanged LSOA carries exactly its own published decile.
    row = lsoa[same].iloc[0]
    published = imd.set_index("lsoa11_code").loc[row[S.AREA_CODE]]
    assert row[S.IMD_DECILE] == published["index_of_multiple_deprivation_imd_decile"]
    assert lsoa[S.IMD_DECILE].between(1, 10).all()


def test_every_real_asset_file_is_loaded_with_its_category_and_licence(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        assets = assets_frame(session)
    counts = assets[S.CATEGORY].value_counts().to_dict()
    # CQC care services (registered and deregistered) beside the community assets
    assert counts == {"school": 115, "place_of_worship": 103, "gp_practice": 46,
                      "cooperative": 15, "community_space": 12, "food_bank": 2,
                      "homecare": 158, "supported_living": 48, "residential": 53, "nursing": 3,
                      "extra_care": 5, "shared_lives": 4, "reablement": 2}
    assert assets[S.LICENCE].notna().all() and assets[S.ATTRIBUTION].notna().all()
    pofw = assets[assets[S.CATEGORY] == "place_of_worship"]
    assert (pofw[S.SOURCE] == "osm").all() and (pofw[S.LICENCE] == "ODbL 1.0").all()
    community = assets[~assets[S.EXTERNAL_ID].str.startswith("cqc:")]
    assert community[S.IN_BOROUGH].all()
    assert assets.crs == S.STORAGE_CRS


def test_care_providers_are_the_real_cqc_locations(demo_store: Store, data_dir: Path) -> None:
    import json

    rows = json.loads((data_dir / "newham/care_providers/cqc_api_newham_2026-08-22.json")
                      .read_text(encoding="utf-8"))
    homecare = [r for r in rows if r["gacServiceTypes"] == ["Homecare agencies"]]
    with demo_store.transaction() as session:
        assets = assets_frame(session).set_index(S.EXTERNAL_ID)
    for row in homecare:
        got = assets.loc[f"cqc:{row['locationId']}"]
        assert got[S.CATEGORY] == "homecare"
        assert got[S.STATUS] == ("active" if row["registrationStatus"] == "Registered" else "closed")
        assert str(got[S.REGISTERED_ON]) == row["registrationDate"]
    care = assets[assets[S.CQC_LOCATION_ID].notna()]
    assert (care[S.STATUS] == "active").sum() == 117  # of the 195 registered, the care services
    assert (care[S.SOURCE] == "import").all() and care[S.ATTRIBUTION].str.contains("CQC").all()


def test_cooperatives_keep_legal_form_company_number_and_class(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        orgs = organisations_frame(session).set_index(S.EXTERNAL_ID)
    kids_club = orgs.loc["coopsuk:R001756"]
    assert kids_club[S.COMPANY_NUMBER] == "04733715"  # leading zero kept
    assert kids_club[S.OWNERSHIP_MODEL] == "worker ownership"
    assert kids_club[S.OWNERSHIP_CLASS] == "generative"
    societies = orgs[orgs[S.LEGAL_FORM] == "Registered Society"]
    assert len(societies) == 12 and (societies[S.OWNERSHIP_CLASS] == "generative").all()
    assert orgs.loc["givefood:newham", S.LEGAL_FORM] == "Charity"


def test_loading_again_changes_nothing(demo_store: Store, data_dir) -> None:
    with demo_store.transaction() as session:
        before = (session.scalar(select(func.count(Asset.id))),
                  session.scalar(select(func.count(Organisation.id))),
                  session.scalar(select(func.count(RecordHistory.id))))
    report = load_demo(demo_store, data_dir, progress=lambda _m: None)
    assert sum(r.counts.inserted + r.counts.updated for r in report.assets.values()) == 0
    with demo_store.transaction() as session:
        after = (session.scalar(select(func.count(Asset.id))),
                 session.scalar(select(func.count(Organisation.id))),
                 session.scalar(select(func.count(RecordHistory.id))))
    assert after == before


def test_a_missing_data_dir_says_which_setting_to_change(store: Store, tmp_path) -> None:
    with pytest.raises(DataMissingError, match="MAPPING_DATA_DIR"):
        load_demo(store, tmp_path / "nowhere", progress=lambda _m: None)


def test_every_loaded_file_names_its_licence_and_attribution(demo_store: Store) -> None:
    with demo_store.session() as session:
        sources = sources_frame(session)
    # 4 boundary layers, 2 population tables, IMD, 7 asset files, ONSPD
    assert sorted(sources["kind"].value_counts().items()) == [
        ("assets", 7), ("boundaries", 4), ("postcodes", 1), ("table", 3)]
    assert (sources["licence"] != "").all()
    assert (sources["attribution"] != "").all()
    assert sources.loc[sources["title"] == "GP practices (epraccur)", "rows"].item() == 46


def test_organisations_carry_org_id_identifiers(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        orgs = organisations_frame(session).set_index(S.EXTERNAL_ID)
    assert orgs.loc["coopsuk:R001756", "org_id"] == "GB-COH-04733715"
    assert orgs.loc["givefood:newham", "org_id"].startswith("GB-CHC-")
    assert orgs.loc["coopsuk:R002410", "org_id"] == "GB-COH-01754656"


def test_a_bad_file_leaves_the_store_as_it_was(store: Store, data_dir, tmp_path) -> None:
    import shutil

    from mapping.errors import ValidationError

    copy = tmp_path / "data"
    shutil.copytree(data_dir / "newham", copy / "newham")  # a temporary copy, for this test only
    banks = copy / "newham/assets/givefood_foodbanks_newham_partial.csv"
    banks.write_text(banks.read_text(encoding="utf-8").replace("51.", "91.", 1), encoding="utf-8")
    with pytest.raises(ValidationError, match="givefood"):
        load_demo(store, copy, progress=lambda _m: None)
    with store.transaction() as session:
        assert session.scalar(select(func.count(Asset.id))) == 0
        assert session.scalar(select(func.count(Organisation.id))) == 0
        assert list_layers(session).empty
