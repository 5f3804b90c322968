"""The whole gap analysis on the real Newham demo (straight-line fallback: no street network)."""

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from mapping import schema as S
from mapping.area_store import load_area_layer, save_patch_set
from mapping.areas import lookup_by_location, patches_from_lookup
from mapping.cli import main
from mapping.errors import ValidationError
from mapping.funding import FundingSettings
from mapping.gap_analysis import (
    GapAnalysis,
    GapOptions,
    analyse_gaps,
    inputs_from_store,
    plan_for,
)
from mapping.lot_store import design_inputs, save_lot_design
from mapping.lots import LotSettings, design_lots
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


def test_a_saved_lot_design_never_displaces_an_imported_patch_set(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        wards, _groups, _start = design_inputs(session, "wards_2023")
        draft = design_lots(wards, k=2, tolerance=0.5, seed=0,
                            settings=LotSettings(bursts=2, attempts=1))
        save_lot_design(session, "A draft", "wards_2023", draft)
    with demo_store.transaction() as session:
        only_design = inputs_from_store(session).patch_source
    assert only_design.startswith("patch set 'A draft'") and "lot design" in only_design
    with demo_store.transaction() as session:
        lookup = pd.DataFrame({S.AREA_CODE: sorted(wards[S.AREA_CODE]), S.PATCH: "Council"})
        save_patch_set(session, "Council lookup", "wards_2023",
                       patches_from_lookup(wards, lookup))
    with demo_store.transaction() as session:
        inputs = inputs_from_store(session)
    assert inputs.patch_source == "patch set 'Council lookup'"  # not 'A draft', first by name
    assert inputs.patches[S.PATCH].tolist() == ["Council"]


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


def _worst_gap_centroid(analysis: GapAnalysis) -> tuple[float, float]:
    """Give (lon, lat) of the centroid of the gap area with the lowest access."""
    gaps = analysis.areas[analysis.areas["gap"].astype(bool)]
    worst = gaps.sort_values(["normalised", "people"], ascending=[True, False]).iloc[0]
    centre = gpd.GeoSeries([worst.geometry], crs=analysis.areas.crs).to_crs(27700).centroid
    point = centre.to_crs(4326).iloc[0]
    return float(point.x), float(point.y)


def test_options_check_method_and_proposed_sites() -> None:
    with pytest.raises(ValidationError) as caught:
        GapOptions("gp_practice", method="3sfca",
                   proposed=((0.0, 51.5), (40.0, 51.5), (float("nan"), 51.5))).check()
    problems = caught.value.problems
    assert {p.field for p in problems} == {"method", "proposed"}
    assert [p.row for p in problems if p.field == "proposed"] == [2, 3]
    with pytest.raises(ValidationError, match="at most 10"):
        GapOptions("gp_practice", proposed=((0.0, 51.5),) * 11).check()


def test_2sfca_scores_the_areas_and_labels_the_measure(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        inputs = inputs_from_store(session)
    kwargs = {"patches": inputs.patches, "patch_source": inputs.patch_source}
    e2 = analyse_gaps(inputs.areas, inputs.assets, options=GapOptions("gp_practice"), **kwargs)
    two = analyse_gaps(inputs.areas, inputs.assets,
                       options=GapOptions("gp_practice", method="2sfca"), **kwargs)
    assert set(e2.areas["measure"]) == {"E2SFCA (Luo & Qi 2009)"}
    assert set(two.areas["measure"]) == {"2SFCA (Luo & Wang 2003)"} and two.measure.startswith("2")
    pd.testing.assert_series_equal(two.areas["access"], two.areas["access_2sfca"],
                                   check_names=False)
    assert not e2.areas["access"].equals(two.areas["access"])


@pytest.mark.parametrize("method", ["e2sfca", "2sfca"])
def test_a_proposed_site_in_the_worst_gap_closes_gaps(demo_store: Store, method: str) -> None:
    with demo_store.transaction() as session:
        inputs = inputs_from_store(session)
    kwargs = {"patches": inputs.patches, "patch_source": inputs.patch_source}
    before = analyse_gaps(inputs.areas, inputs.assets,
                          options=GapOptions("gp_practice", method=method), **kwargs)
    site = _worst_gap_centroid(before)
    after = analyse_gaps(inputs.areas, inputs.assets,
                         options=GapOptions("gp_practice", method=method, proposed=(site,)),
                         **kwargs)
    assert after.before_areas is not None and after.proposed_sites is not None
    assert list(after.proposed_sites["id"]) == ["proposed-1"]
    assert after.gap_totals(before=True) == before.gap_totals()
    (areas_after, people_after), (areas_before, people_before) = (
        after.gap_totals(), after.gap_totals(before=True))
    assert areas_after < areas_before or people_after < people_before
    assert (after.areas["change"] >= -1e-9).all() and after.areas["change"].max() > 0
    line = after.what_if_line()
    assert line is not None and f"(was {areas_before})" in line
    assert before.what_if_line() is None
    assert len(after.sites) == len(before.sites)  # proposed sites are not register sites


def test_cli_add_site_prints_before_and_after(runner: CliRunner, demo_store: Store) -> None:
    with demo_store.transaction() as session:
        inputs = inputs_from_store(session)
    before = analyse_gaps(inputs.areas, inputs.assets, options=GapOptions("gp_practice"),
                          patches=inputs.patches, patch_source=inputs.patch_source)
    lon, lat = _worst_gap_centroid(before)
    areas_before, people_before = before.gap_totals()
    result = runner.invoke(main, ["--database-url", demo_store.url, "analyse-gaps",
                                  "--category", "gp_practice", "--method", "2sfca",
                                  "--add-site", f"{lon},{lat}"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "With the proposed site(s):" in result.output
    assert "2SFCA (Luo & Wang 2003)" in result.output
    result = runner.invoke(main, ["--database-url", demo_store.url, "analyse-gaps",
                                  "--category", "gp_practice", "--add-site", f"{lon},{lat}"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"gap areas (was {areas_before}), " in result.output
    assert f"people in gap areas (was {people_before:,.0f})" in result.output
    bad = runner.invoke(main, ["--database-url", demo_store.url, "analyse-gaps",
                               "--category", "gp_practice", "--add-site", "here"])
    assert bad.exit_code == 2 and "--add-site" in bad.output
    outside = runner.invoke(main, ["--database-url", demo_store.url, "analyse-gaps",
                                   "--category", "gp_practice", "--add-site", "40,51.5"])
    assert outside.exit_code == 1 and "inside the UK" in outside.output
