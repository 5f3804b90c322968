"""The whole gap analysis on the real Newham demo: the straight-line fallback (no street network
is available offline), and the network path over a SYNTHETIC street grid laid on the demo areas."""

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from mapping import schema as S
from mapping.access.analysis import (
    GapAnalysis,
    GapOptions,
    analyse_gaps,
    inputs_from_store,
    plan_for,
)
from mapping.access.inputs import demand_from_areas
from mapping.access.network import prepare_network
from mapping.access.walk_graph import walking_graph_from_xml
from mapping.cli.main import main
from mapping.errors import ValidationError
from mapping.funding.plan import FundingSettings
from mapping.lots.design import LotSettings, design_lots
from mapping.lots.store import design_inputs, save_lot_design
from mapping.places.areas import lookup_by_location, patches_from_lookup
from mapping.places.store import load_area_layer, save_patch_set
from mapping.schema import METRIC_CRS
from mapping.store.database import Store
from tests.synthetic_streets import grid_over_west_half


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
        only_design = inputs_from_store(session)
    # A saved design is never the default by itself: the roll-up stays by ward, and says why.
    assert only_design.patch_set is None and only_design.patch_source.startswith("wards (")
    assert "1 lot design saved here count only when chosen" in only_design.patch_source
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


# --- the walking-network path over the demo areas: a SYNTHETIC street grid -------------------


def test_areas_off_the_walking_network_are_listed_not_counted_as_gaps(
        demo_store: Store, tmp_path: Path) -> None:
    grid, stop = grid_over_west_half(demo_store, tmp_path)
    graph = prepare_network(walking_graph_from_xml(grid, cache_dir=tmp_path / "cache"))
    with demo_store.transaction() as session:
        inputs = inputs_from_store(session)

    analysis = analyse_gaps(inputs.areas, inputs.assets, options=GapOptions("gp_practice"),
                            patches=inputs.patches, patch_source=inputs.patch_source, graph=graph)

    assert analysis.method == "network" and not analysis.uses_fallback
    points = demand_from_areas(inputs.areas, measure="population").to_crs(METRIC_CRS)
    far = set(points.loc[points.geometry.x > stop + 250 + 1e-6, "id"])  # beyond the snap limit
    areas = analysis.areas.set_index(S.AREA_CODE)
    off = set(areas.index[~areas["snapped"].astype(bool)])
    assert len(far) > 40 and far <= off and off <= set(points.loc[points.geometry.x > stop, "id"])
    assert not areas.loc[list(off), "gap"].astype(bool).any()  # unknown, not a gap
    assert areas.loc[list(off), "access"].isna().all()
    assert areas.loc[~areas.index.isin(off), "access"].notna().all()
    note = next(n for n in analysis.notes if " areas are more than 250 m" in n)
    assert note.startswith(f"{len(off)} areas are more than 250 m from the walking network")
    assert "not counted as gaps" in note and f"and {len(off) - 5} more" in note
    sites_off = [n for n in analysis.notes if " sites are more than 250 m" in n]
    assert len(sites_off) == 1 and "not counted as provision" in sites_off[0]


def test_cli_uses_the_walking_network_setting_and_prints_the_notes(
        runner: CliRunner, demo_store: Store, tmp_path: Path) -> None:
    grid, _ = grid_over_west_half(demo_store, tmp_path)
    env = {"MAPPING_INSTANCE_DIR": str(tmp_path / "instance"), "MAPPING_WALKING_NETWORK": str(grid)}

    result = runner.invoke(main, ["--database-url", demo_store.url, "analyse-gaps",
                                  "--category", "gp_practice"], env=env, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "distances: network" in result.output
    assert "Note: " in result.output and "areas are more than 250 m from the walking network" in result.output
    assert list((tmp_path / "instance" / "cache").glob("*.graphml"))  # cached for next time
    plan = runner.invoke(main, ["--database-url", demo_store.url, "plan-microfund",
                                "--category", "gp_practice", "--budget", "2000"], env=env,
                         catch_exceptions=False)
    assert plan.exit_code == 0, plan.output
    assert "distances: network" in plan.output and "from the walking network" in plan.output
    missing = runner.invoke(main, ["--database-url", demo_store.url, "analyse-gaps",
                                   "--category", "gp_practice"],
                            env={**env, "MAPPING_WALKING_NETWORK": str(tmp_path / "gone.osm")})
    assert missing.exit_code == 1 and "Traceback" not in missing.output
    assert "gone.osm" in missing.output and "MAPPING_WALKING_NETWORK setting" in missing.output


def test_the_patch_set_to_roll_up_to_can_be_chosen(demo_store: Store, runner: CliRunner) -> None:
    with demo_store.transaction() as session:
        wards, _groups, _start = design_inputs(session, "wards_2023")
        draft = design_lots(wards, k=2, tolerance=0.5, seed=0,
                            settings=LotSettings(bursts=2, attempts=1))
        save_lot_design(session, "A draft", "wards_2023", draft)
        lookup = pd.DataFrame({S.AREA_CODE: sorted(wards[S.AREA_CODE]), S.PATCH: "Council"})
        save_patch_set(session, "Council lookup", "wards_2023", patches_from_lookup(wards, lookup))
    with demo_store.transaction() as session:
        chosen = inputs_from_store(session, patch_set="A draft")
        with pytest.raises(ValidationError) as unknown:
            inputs_from_store(session, patch_set="Lots 2019")

    assert chosen.patch_set == "A draft"
    assert chosen.patch_source == "patch set 'A draft' (a lot design saved here)"
    assert sorted(chosen.patches[S.PATCH]) == sorted(draft.lookup[S.PATCH].unique())
    assert unknown.value.problems[0].field == "patches"
    assert "'A draft', 'Council lookup'" in unknown.value.problems[0].reason
    result = runner.invoke(main, ["--database-url", demo_store.url, "analyse-gaps",
                                  "--category", "gp_practice", "--patches", "A draft"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Roll-up by patch set 'A draft' (a lot design saved here)" in result.output
    wrong = runner.invoke(main, ["--database-url", demo_store.url, "analyse-gaps",
                                 "--category", "gp_practice", "--patches", "Lots 2019"])
    assert wrong.exit_code == 1 and "there is no patch set 'Lots 2019'" in wrong.output


@pytest.mark.parametrize(("category", "active"), [("homecare", 62), ("supported_living", 33)])
def test_care_gaps_run_on_the_real_cqc_sites(demo_store: Store, category: str, active: int) -> None:
    with demo_store.transaction() as session:
        inputs = inputs_from_store(session)
    analysis = analyse_gaps(inputs.areas, inputs.assets, options=GapOptions(category),
                            patches=inputs.patches, patch_source=inputs.patch_source)
    assert len(analysis.sites) == active  # registered locations only; deregistered are closed
    assert analysis.sites["id"].str.startswith("cqc:").all()
    assert analysis.areas["access"].notna().all() and analysis.areas["access"].gt(0).any()
