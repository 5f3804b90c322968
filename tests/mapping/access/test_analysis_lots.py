"""Rolling gaps up to saved lots at any level, and which grouping is the default.

The real Newham demo: 185 LSOAs (2021) in 24 wards. A lot design made of wards rolls the
LSOAs up by the ward holding each one's inside point, so its totals are the ward roll-up's.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mapping import schema as S
from mapping.access.analysis import GapOptions, analyse_gaps, inputs_from_store, plan_for
from mapping.errors import NotFoundError
from mapping.funding.plan import FundingSettings
from mapping.lots.design import LotSettings, design_lots
from mapping.lots.store import design_inputs, save_lot_design
from mapping.places.areas import patches_from_lookup
from mapping.places.store import (
    default_patch_set,
    load_area_layer,
    public_patch_set,
    save_patch_set,
    set_default_patch_set,
)
from mapping.store.database import Store


def _save_ward_design(store: Store, name: str, k: int = 8) -> None:
    with store.transaction() as session:
        wards, _groups, _start = design_inputs(session, "wards_2023")
        design = design_lots(wards, k=k, tolerance=0.2, seed=0,
                             settings=LotSettings(bursts=5, attempts=1))
        save_lot_design(session, name, "wards_2023", design, created_by="test")


def _rollup(store: Store, patch_set: str | None = None) -> tuple[pd.DataFrame, str]:
    with store.transaction() as session:
        inputs = inputs_from_store(session, patch_set=patch_set)
    analysis = analyse_gaps(inputs.areas, inputs.assets, options=GapOptions("gp_practice"),
                            patches=inputs.patches, patch_source=inputs.patch_source)
    return analysis.rollup, inputs.patch_source


def test_a_ward_design_rolls_up_the_small_areas_to_the_same_totals_as_the_wards(
        demo_store: Store) -> None:
    by_ward, ward_source = _rollup(demo_store)
    _save_ward_design(demo_store, "Eight of wards")
    by_lot, lot_source = _rollup(demo_store, "Eight of wards")

    assert ward_source.startswith("wards (")
    assert lot_source == "patch set 'Eight of wards' (a lot design saved here)"
    assert len(by_lot) == 8 and (by_lot["areas"] > 0).all() and (by_lot["people"] > 0).all()
    for column in ("areas", "people", "people_in_gap_areas", "people_beyond_cutoff", "sites"):
        assert by_lot[column].sum() == pytest.approx(by_ward[column].sum()), column
    assert by_ward["areas"].sum() == 185 and by_ward["people_in_gap_areas"].sum() > 0
    assert by_lot.attrs["areas_outside_patches"] == []


def test_each_lot_holds_the_small_areas_of_its_wards(demo_store: Store) -> None:
    _save_ward_design(demo_store, "Four of wards", k=4)
    with demo_store.transaction() as session:
        inputs = inputs_from_store(session, patch_set="Four of wards")
        by_ward = inputs_from_store(session).lookup  # LSOA → ward name, by inside point
        wards = load_area_layer(session, "wards_2023")
    lots = inputs.lookup.set_index(S.AREA_CODE)[S.PATCH]
    ward_code = dict(zip(wards[S.AREA_NAME], wards[S.AREA_CODE], strict=True))
    from mapping.lots.store import lookup_of
    with demo_store.transaction() as session:
        ward_lot = lookup_of(session, "Four of wards").set_index(S.AREA_CODE)[S.PATCH]
    expected = by_ward.set_index(S.AREA_CODE)[S.PATCH].map(ward_code).map(ward_lot)
    assert len(lots) == 185
    assert lots.sort_index().equals(expected.sort_index().rename(S.PATCH))


def test_the_plan_funds_gaps_in_a_ward_design(demo_store: Store) -> None:
    _save_ward_design(demo_store, "Eight of wards")
    with demo_store.transaction() as session:
        inputs = inputs_from_store(session, patch_set="Eight of wards")
    analysis = analyse_gaps(inputs.areas, inputs.assets, options=GapOptions("gp_practice"),
                            patches=inputs.patches, patch_source=inputs.patch_source)
    plan = plan_for(analysis, inputs.areas, inputs.assets,
                    settings=FundingSettings(budget_gbp=1499), patches=inputs.patches)
    assert plan["grants"].sum() == 2  # "No gaps to fund" was the symptom
    assert set(plan[S.PATCH]) <= set(inputs.patches[S.PATCH])


def test_an_imported_ward_lookup_rolls_up_too(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        wards = load_area_layer(session, "wards_2023")
        codes = sorted(wards[S.AREA_CODE])
        # A TEST lookup (synthetic, not Newham's): two halves of the ward list.
        lookup = pd.DataFrame({S.AREA_CODE: codes,
                               S.PATCH: ["TEST A" if i < 12 else "TEST B"
                                         for i in range(len(codes))]})
        save_patch_set(session, "TEST halves", "wards_2023", patches_from_lookup(wards, lookup))
    rollup, source = _rollup(demo_store)
    assert source == "patch set 'TEST halves'"
    assert rollup["areas"].sum() == 185 and (rollup["areas"] > 0).all()


def test_only_an_officers_choice_makes_a_design_the_default(demo_store: Store) -> None:
    _save_ward_design(demo_store, "Eight of wards")
    with demo_store.transaction() as session:
        assert default_patch_set(session) is None and public_patch_set(session) is None
        set_default_patch_set(session, "Eight of wards")
    rollup, source = _rollup(demo_store)
    assert source == "patch set 'Eight of wards' (made the default grouping by an officer)"
    assert len(rollup) == 8 and rollup["areas"].sum() == 185
    with demo_store.transaction() as session:
        assert public_patch_set(session) == "Eight of wards"
        set_default_patch_set(session, None)
        assert public_patch_set(session) is None
        with pytest.raises(NotFoundError):
            set_default_patch_set(session, "No such set")
    assert _rollup(demo_store)[1].startswith("wards (")


def test_the_default_stays_with_the_set_and_is_only_one(demo_store: Store) -> None:
    _save_ward_design(demo_store, "A", k=4)
    _save_ward_design(demo_store, "B", k=4)
    with demo_store.transaction() as session:
        set_default_patch_set(session, "A")
        set_default_patch_set(session, "B")
        assert default_patch_set(session) == "B"
    # Saving a design again under its name replaces the set: it is no longer the default.
    with demo_store.transaction() as session:
        wards, _groups, _start = design_inputs(session, "wards_2023")
        design = design_lots(wards, k=3, tolerance=0.3, seed=1,
                             settings=LotSettings(bursts=3, attempts=1))
        save_lot_design(session, "B", "wards_2023", design, replace=True)
    with demo_store.transaction() as session:
        assert default_patch_set(session) is None


def test_reimporting_a_council_patch_set_keeps_it_the_default(demo_store: Store) -> None:
    from mapping.places.store import load_patches, save_patch_set

    _save_ward_design(demo_store, "A", k=4)
    with demo_store.transaction() as session:
        patches = load_patches(session, "A")
        save_patch_set(session, "Council patches", "wards_2023", patches, source="lookup.csv")
        set_default_patch_set(session, "Council patches")
        save_patch_set(session, "Council patches", "wards_2023", patches, source="lookup.csv")
        assert default_patch_set(session) == "Council patches"
