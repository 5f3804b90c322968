"""Lot profiles, side-by-side comparison and the lotting rules on crafted registers."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from mapping import schema as S
from mapping.errors import ValidationError
from mapping.lots.profile import (
    ProfileInputs,
    check_lot_rules,
    compare_designs,
    lot_profile,
    read_allocation,
)
from mapping.places.areas import patches_from_lookup
from tests.mapping.lots.test_design import grid


def orgs() -> pd.DataFrame:
    return pd.DataFrame({
        S.EXTERNAL_ID: ["good", "twolots", "away", "unknown"],
        S.NAME: ["Good Care", "Two Lots Ltd", "Away Care", "Quiet Care"],
        S.OFFICE_IN_BOROUGH: [True, True, False, None],
        S.LIVING_WAGE: [True, True, True, None],
        S.ETHICAL_CARE_CHARTER: [True, True, False, True],
    })


def test_rule_checks_find_each_violation_on_a_crafted_register() -> None:
    allocation = read_allocation(pd.DataFrame({
        S.ORGANISATION_ID: ["good", "twolots", "twolots", "away", "unknown"],
        "lot": ["Lot 1", "Lot 2", "Lot 3", "Lot 4", "Lot 4"]}),
        lots=["Lot 1", "Lot 2", "Lot 3", "Lot 4"])
    found = check_lot_rules(orgs(), allocation, living_wage_rule="pays the London Living Wage")
    got = set(zip(found[S.ORGANISATION_ID], found["rule"], found["status"], strict=True))
    assert got == {
        ("twolots", "one lot per provider", "violation"),
        ("away", "office in the borough", "violation"),
        ("away", "follows UNISON's ethical care charter", "violation"),
        ("unknown", "office in the borough", "unknown"),
        ("unknown", "pays the London Living Wage", "unknown"),
    }
    assert found["status"].iloc[0] == "violation"  # violations listed first
    assert "Lot 2, Lot 3" in found.loc[found["rule"] == "one lot per provider", "detail"].iloc[0]


def test_allocations_with_bad_rows_or_unknown_providers_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        read_allocation(pd.DataFrame({S.ORGANISATION_ID: ["good", ""], "lot": ["Lot 9", "Lot 1"]}),
                        file="alloc.csv", lots=["Lot 1"])
    text = str(caught.value)
    assert "alloc.csv, row 1, field 'lot': lot 'Lot 9' is not in the design" in text
    assert "alloc.csv, row 2, field 'organisation_external_id': organisation id is empty" in text
    with pytest.raises(ValidationError, match="'ghost' is not in the register"):
        check_lot_rules(orgs(), pd.DataFrame({S.ORGANISATION_ID: ["ghost"], "lot": ["Lot 1"]}))


def test_profile_counts_people_sites_offices_and_gaps_per_lot() -> None:
    areas = grid(2, 1).to_crs(S.STORAGE_CRS)
    areas[S.POPULATION_65_PLUS] = [10.0, 30.0]
    areas[S.IMD_DECILE] = [1, 6]
    lots = patches_from_lookup(areas, pd.DataFrame({S.AREA_CODE: ["G00", "G01"],
                                                    S.PATCH: ["West", "East"]}))
    west = Point(530_500, 180_500)
    east = Point(531_500, 180_500)
    assets = gpd.GeoDataFrame({
        S.CATEGORY: ["school", "school", "gp_practice"],
        S.OWNERSHIP_CLASS: ["generative", "extractive", "unknown"]},
        geometry=[west, west, east], crs=S.METRIC_CRS).to_crs(S.STORAGE_CRS)
    offices = gpd.GeoDataFrame({S.EXTERNAL_ID: ["a"], S.NAME: ["<b>Care</b>"]},
                               geometry=[east], crs=S.METRIC_CRS).to_crs(S.STORAGE_CRS)
    gaps = {"school": pd.DataFrame({S.AREA_CODE: ["G00", "G01"], "people": [100.0, 100.0],
                                    "gap": [False, True]})}
    profile = lot_profile(lots, ProfileInputs(areas, assets, offices, gaps)).loc[["West", "East"]]
    assert profile[S.POPULATION].tolist() == [100, 100]
    assert profile["share_65_plus"].tolist() == [0.1, 0.3]
    assert profile["imd_q1"].tolist() == [100, 0] and profile["imd_q3"].tolist() == [0, 100]
    assert profile["area_km2"].tolist() == [1.0, 1.0]
    assert profile["sites_school"].tolist() == [2, 0]
    assert profile["sites_gp_practice"].tolist() == [0, 1]
    assert profile["generative_share"].iloc[0] == 0.5 and pd.isna(profile["generative_share"].iloc[1])
    assert profile["providers_with_office"].tolist() == [0, 1]
    assert profile["gap_people_school"].tolist() == [0, 100]
    other = profile.assign(population=[150, 50])
    table = compare_designs(profile, other, label_a="now", label_b="designed")
    assert table.loc["population: largest deviation from an equal share"].tolist() == [0.0, 0.5]


def test_a_set_compared_with_itself_keeps_both_columns() -> None:
    profile = pd.DataFrame({S.POPULATION: [100, 300]}, index=pd.Index(["Lot 1", "Lot 2"]))
    table = compare_designs(profile, profile.assign(population=[200, 200]),
                            label_a="Eight", label_b="Eight")
    assert table.columns.tolist() == ["Eight", "Eight (2)"]
    assert table.loc["population: largest deviation from an equal share"].tolist() == [0.5, 0.0]
    assert table.loc["lots"].tolist() == [2, 2]
