"""The whole gap analysis on the real Newham demo (straight-line fallback: no street network)."""

import pandas as pd
import pytest

from mapping import schema as S
from mapping.area_store import load_area_layer, save_patch_set
from mapping.areas import lookup_by_location, patches_from_lookup
from mapping.errors import ValidationError
from mapping.funding import FundingSettings
from mapping.gap_analysis import GapOptions, analyse_gaps, inputs_from_store, plan_for
from mapping.store import Store


def test_options_list_every_problem() -> None:
    with pytest.raises(ValidationError) as caught:
        GapOptions(category="knitting", measure="cats", cutoff_min=0).check()
    assert {p.field for p in caught.value.problems} == {"category", "measure", "cutoff_min"}


def test_without_a_patch_set_areas_roll_up_to_wards(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        inputs = inputs_from_store(session)
    assert "wards" in inputs.patch_source and "not published" in inputs.patch_source
    assert len(inputs.patches) == 185 and inputs.patches[S.PATCH].nunique() == 24
    analysis = analyse_gaps(inputs.areas, inputs.assets, options=GapOptions("gp_practice"),
                            patches=inputs.patches, patch_source=inputs.patch_source)
    assert analysis.uses_fallback and analysis.method == "straight line × 1.3"
    assert len(analysis.areas) == 185 and len(analysis.rollup) == 24
    assert analysis.rollup["people"].sum() == analysis.areas["people"].sum() == 351_005
    gap_people = analysis.areas.loc[analysis.areas["gap"].astype(bool), "people"].sum()
    assert analysis.rollup["people_in_gap_areas"].sum() == gap_people
    assert len(analysis.sites) == 46


def test_a_stored_patch_set_is_used(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        wards = load_area_layer(session, "wards_2023")
        # A TEST patch set (synthetic, not Newham's): two halves of the ward list.
        codes = sorted(wards[S.AREA_CODE])
        lookup = pd.DataFrame({S.AREA_CODE: codes,
                               S.PATCH: ["TEST A" if i < 12 else "TEST B"
                                         for i in range(len(codes))]})
        save_patch_set(session, "TEST halves", "wards_2023", patches_from_lookup(wards, lookup))
    with demo_store.transaction() as session:
        inputs = inputs_from_store(session)
    assert inputs.patch_source == "patch set 'TEST halves'"


def test_plan_spends_at_most_the_budget(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        inputs = inputs_from_store(session)
    analysis = analyse_gaps(inputs.areas, inputs.assets, options=GapOptions("gp_practice"),
                            patches=inputs.patches, patch_source=inputs.patch_source)
    plan = plan_for(analysis, inputs.areas, inputs.assets,
                    settings=FundingSettings(budget_gbp=1499), patches=inputs.patches)
    assert plan["grants"].sum() == 2 and plan["amount_gbp"].sum() == 1000
    assert set(plan["travel_cost_method"]) == {"straight line × 1.3"}
    hosts = plan["host_site_id"].dropna()
    assert hosts.str.startswith("newham-toilets:").all()  # community spaces host groups


def test_lookup_by_location_puts_each_area_in_one_ward(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        lsoa = load_area_layer(session, "lsoa_2021")
        wards = load_area_layer(session, "wards_2023")
    lookup = lookup_by_location(lsoa, wards)
    assert lookup[S.AREA_CODE].is_unique and len(lookup) == 185
