"""Gaps: normalised access, the gap flags, patch roll-ups and 'what if' new sites, on hand
examples, and one end-to-end run on the real Newham demo."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from mapping import schema as S
from mapping.access.catchment import ACCESS, WITHIN_CUTOFF, area_access
from mapping.access.costs import straight_line_costs
from mapping.access.gaps import (
    BELOW_HALF_MEAN,
    BOTTOM_QUINTILE,
    GAP,
    NONE_WITHIN_CUTOFF,
    NORMALISED,
    flag_gaps,
    normalise_access,
    patch_rollup,
    weighted_mean,
    what_if,
)
from mapping.access.inputs import DEMAND, ID, PEOPLE, SUPPLY, demand_from_areas, supply_from_assets
from mapping.errors import ValidationError
from mapping.places.store import load_area_layer
from mapping.register.records import assets_frame
from mapping.store.database import Store


def test_normalise_access_by_hand() -> None:
    access = pd.DataFrame({ACCESS: [1.0, 2.0, 4.0]}, index=pd.Index(["a", "b", "c"], name=ID))
    access.attrs = {"method": "network"}
    demand = pd.DataFrame({ID: ["c", "a", "b"], PEOPLE: [200.0, 100.0, 100.0],
                           DEMAND: [400.0, 100.0, 100.0]})
    # Mean weighted by people (not the IMD-weighted demand): (100·1 + 100·2 + 200·4)/400 = 2.75.
    out = normalise_access(access, demand)
    assert out[NORMALISED].tolist() == pytest.approx([1 / 2.75, 2 / 2.75, 4 / 2.75], rel=1e-12)
    assert out.attrs["population_weighted_mean"] == pytest.approx(2.75, rel=1e-12)
    assert out.attrs["method"] == "network" and out.attrs["note"] is None
    assert weighted_mean(out[NORMALISED], demand.set_index(ID)[PEOPLE].reindex(out.index)) == (
        pytest.approx(1.0, rel=1e-12))
    # The same with people carried on the access frame itself.
    with_people = access.assign(people=[100.0, 100.0, 200.0])
    assert normalise_access(with_people)[NORMALISED].tolist() == out[NORMALISED].tolist()
    assert NORMALISED not in access.columns  # the input is not changed


def test_normalise_access_with_a_zero_mean() -> None:
    access = pd.DataFrame({ACCESS: [0.0, 0.0], PEOPLE: [10.0, 20.0]}, index=["a", "b"])
    out = normalise_access(access)
    assert out[NORMALISED].isna().all()
    assert "no area reaches any site" in out.attrs["note"]
    with pytest.raises(ValidationError, match="no people"):
        normalise_access(access, pd.DataFrame({ID: ["a"], PEOPLE: [1.0]}))


def _area_results(access: list[float], within: list[bool]) -> pd.DataFrame:
    ids = pd.Index([f"a{i}" for i in range(1, len(access) + 1)], name=ID)
    return pd.DataFrame({PEOPLE: 100.0, ACCESS: access, WITHIN_CUTOFF: within}, index=ids)


def test_each_gap_flag_on_a_crafted_example() -> None:
    # Ten areas of 100 people; mean access = (0 + 0.1 + 0.4 + 0.6 + 1 + 1 + 1.2 + 1.4 + 1.6 + 1.7)/10
    # = 0.9, so half the mean is 0.45: a1, a2, a3 are below it. The bottom quintile is the lowest
    # 2 of 10 areas: a1, a2. a1 and a5 have no site within the cut-off (a5 is crafted so that only
    # this flag is set for it).
    results = _area_results([0, 0.1, 0.4, 0.6, 1, 1, 1.2, 1.4, 1.6, 1.7],
                            [False, True, True, True, False, True, True, True, True, True])
    flagged = flag_gaps(results)
    assert flagged[NORMALISED].tolist()[:3] == pytest.approx([0, 0.1 / 0.9, 0.4 / 0.9], rel=1e-12)
    assert flagged.index[flagged[BELOW_HALF_MEAN]].tolist() == ["a1", "a2", "a3"]
    assert flagged.index[flagged[BOTTOM_QUINTILE]].tolist() == ["a1", "a2"]
    assert flagged.index[flagged[NONE_WITHIN_CUTOFF]].tolist() == ["a1", "a5"]
    assert flagged.index[flagged[GAP]].tolist() == ["a1", "a2", "a3", "a5"]
    assert list(results.columns) == [PEOPLE, ACCESS, WITHIN_CUTOFF]  # input unchanged


def test_bottom_quintile_with_ties_and_other_thresholds() -> None:
    # Ranks with ties sharing the lowest rank: 1, 1, 1, 4, 5; the lowest 20% of 5 is rank ≤ 1.
    flagged = flag_gaps(_area_results([0, 0, 0, 1, 2], [True] * 5))
    assert flagged[BOTTOM_QUINTILE].tolist() == [True, True, True, False, False]
    # Mean 0.6; with below_ratio 1, areas under 0.6 are flagged; bottom_share 0.4 → ranks ≤ 2.
    other = flag_gaps(_area_results([0.2, 0.4, 0.6, 0.8, 1.0], [True] * 5), below_ratio=1.0,
                      bottom_share=0.4)
    assert other[BELOW_HALF_MEAN].tolist() == [True, True, False, False, False]
    assert other[BOTTOM_QUINTILE].tolist() == [True, True, False, False, False]


def test_an_area_off_the_network_is_not_a_gap() -> None:
    results = _area_results([0.0, 1.0, 2.0, 3.0, 4.0, math.nan], [False] + [True] * 4 + [False])
    results["snapped"] = [True] * 5 + [False]
    flagged = flag_gaps(results)
    assert not flagged.loc["a6", [BELOW_HALF_MEAN, BOTTOM_QUINTILE, NONE_WITHIN_CUTOFF, GAP]].any()
    assert flagged.at["a1", NONE_WITHIN_CUTOFF] and flagged.at["a1", GAP]
    # The mean leaves the unknown area out: (0 + 1 + 2 + 3 + 4)/5 = 2.
    assert flagged.attrs["population_weighted_mean"] == pytest.approx(2.0, rel=1e-12)


# --- patch roll-up ----------------------------------------------------------------------------


@pytest.fixture
def patch_example() -> tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Areas a, b in patch P; c, d in Q; e in R (each area a 500 m × 1000 m strip)."""
    flagged = pd.DataFrame({
        PEOPLE: [100.0, 300.0, 50.0, 40.0, 10.0],
        ACCESS: [0.004, 0.008, 0.0, 0.002, 0.001],
        NORMALISED: [0.8, 1.6, 0.0, 0.4, 0.2],
        GAP: [False, False, True, True, True],
        NONE_WITHIN_CUTOFF: [False, False, True, False, False],
    }, index=pd.Index(list("abcde"), name=ID))
    x0, y0 = 530_000, 180_000
    areas = gpd.GeoDataFrame({S.AREA_CODE: list("abcde")},
                             geometry=[box(x0 + 500 * i, y0, x0 + 500 * (i + 1), y0 + 1000)
                                       for i in range(5)], crs=S.METRIC_CRS).to_crs(S.STORAGE_CRS)
    patches = gpd.GeoDataFrame(
        {S.PATCH: ["P", "Q", "R"], "area_codes": [["a", "b"], ["c", "d"], ["e"]]},
        geometry=[box(x0, y0, x0 + 1000, y0 + 1000), box(x0 + 1000, y0, x0 + 2000, y0 + 1000),
                  box(x0 + 2000, y0, x0 + 2500, y0 + 1000)], crs=S.METRIC_CRS,
    ).to_crs(S.STORAGE_CRS)
    sites = [  # id, x, y, category, status, ownership class
        ("g1", 100, 100, "gp_practice", "active", "generative"),
        ("g2", 600, 500, "gp_practice", "active", "generative"),
        ("e1", 300, 800, "gp_practice", "active", "extractive"),
        ("closed", 200, 200, "gp_practice", "closed", "generative"),
        ("library", 400, 400, "library", "active", "generative"),
        ("u1", 1200, 500, "gp_practice", "active", "unknown"),
        ("h1", 1800, 200, "gp_practice", "active", "in-house"),
        ("u2", 2200, 500, "gp_practice", "active", "unknown"),
        ("o1", 3000, 500, "gp_practice", "active", "generative"),
    ]
    assets = gpd.GeoDataFrame(
        {S.EXTERNAL_ID: [s[0] for s in sites], S.CATEGORY: [s[3] for s in sites],
         S.STATUS: [s[4] for s in sites], S.OWNERSHIP_CLASS: [s[5] for s in sites]},
        geometry=[Point(x0 + s[1], y0 + s[2]) for s in sites], crs=S.METRIC_CRS,
    ).to_crs(S.STORAGE_CRS)
    return flagged, patches, areas, assets


def test_patch_rollup_by_hand(
        patch_example: tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    flagged, patches, _, assets = patch_example
    flagged.attrs = {"method": "straight line × 1.3"}
    rollup = patch_rollup(flagged, patches, assets, category="gp_practice")
    assert rollup.index.tolist() == ["P", "Q", "R"]
    assert rollup["areas"].tolist() == [2, 2, 1]
    assert rollup["people"].tolist() == [400.0, 90.0, 10.0]
    # P: (100·0.004 + 300·0.008)/400 = 0.007; (100·0.8 + 300·1.6)/400 = 1.4.
    # Q: (50·0 + 40·0.002)/90;  (50·0 + 40·0.4)/90.
    assert rollup["mean_access"].tolist() == pytest.approx([0.007, 0.08 / 90, 0.001], rel=1e-12)
    assert rollup["mean_normalised"].tolist() == pytest.approx([1.4, 16 / 90, 0.2], rel=1e-12)
    assert rollup["people_in_gap_areas"].tolist() == [0.0, 90.0, 10.0]
    assert rollup["people_beyond_cutoff"].tolist() == [0.0, 50.0, 0.0]
    # Active GP sites only: P has g1, g2 (generative) and e1 (extractive); Q u1 and h1; R u2.
    assert rollup["sites"].tolist() == [3, 2, 1]
    assert rollup["sites_generative"].tolist() == [2, 0, 0]
    assert rollup["sites_extractive"].tolist() == [1, 0, 0]
    assert rollup["sites_in_house"].tolist() == [0, 1, 0]
    assert rollup["sites_unknown"].tolist() == [0, 1, 1]
    # Share of the sites whose ownership is known: 2/3, 0/1, and none known in R.
    assert rollup["generative_share"].iloc[0] == pytest.approx(2 / 3, rel=1e-12)
    assert rollup["generative_share"].iloc[1] == 0.0
    assert math.isnan(rollup["generative_share"].iloc[2])
    assert rollup.attrs["sites_outside_patches"] == ["o1"]
    assert rollup.attrs["method"] == "straight line × 1.3"
    assert rollup.attrs["category"] == "gp_practice"


def test_patch_rollup_from_a_lookup_gives_the_same(
        patch_example: tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    flagged, patches, areas, assets = patch_example
    lookup = pd.DataFrame({S.AREA_CODE: list("abcde"), S.PATCH: list("PPQQR")})
    from_patches = patch_rollup(flagged, patches, assets, category="gp_practice")
    from_lookup = patch_rollup(flagged, lookup, assets, category="gp_practice", areas=areas)
    pd.testing.assert_frame_equal(from_lookup, from_patches)
    with pytest.raises(ValidationError, match="areas="):
        patch_rollup(flagged, lookup, assets, category="gp_practice")
    with pytest.raises(ValidationError, match="more than one patch"):
        patch_rollup(flagged, pd.concat([lookup, lookup.head(1).assign(patch="Q")]), assets,
                     areas=areas)


# --- what if ---------------------------------------------------------------------------------


@pytest.fixture
def street() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Three areas 1 km apart on a line, one site beside the first; a proposal beside the third."""
    x0, y0 = 530_000, 180_000
    demand = gpd.GeoDataFrame({ID: ["west", "middle", "east"], PEOPLE: [100.0, 200.0, 300.0],
                               DEMAND: [100.0, 200.0, 300.0]},
                              geometry=[Point(x0, y0), Point(x0 + 1000, y0), Point(x0 + 2000, y0)],
                              crs=S.METRIC_CRS)
    supply = gpd.GeoDataFrame({ID: ["s0"], SUPPLY: [1.0]}, geometry=[Point(x0, y0 + 100)],
                              crs=S.METRIC_CRS)
    proposed = gpd.GeoDataFrame(geometry=[Point(x0 + 2000, y0 + 100)],
                                crs=S.METRIC_CRS).to_crs(S.STORAGE_CRS)
    return demand, supply, proposed


def test_what_if_raises_access_near_a_new_site(
        street: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    demand, supply, proposed = street
    costs = straight_line_costs(demand, supply)
    # Straight line × 1.3 at 80 m/min: 100 m → 1.6 min (weight 1). The middle area is
    # 1005 m × 1.3 = 1306 m from either site, beyond the 1200 m (15 min) cut-off.
    # Before: A_west = 1/100. After: the new site's catchment holds only east (300), so
    # A_east = 1/300 and west is unchanged. Mean before = 100·0.01/600 = 1/600.
    result = what_if(costs, demand, supply, proposed, costs_fn=straight_line_costs)
    assert result["access_before"].tolist() == pytest.approx([0.01, 0.0, 0.0], rel=1e-12)
    assert result["access_after"].tolist() == pytest.approx([0.01, 0.0, 1 / 300], rel=1e-12)
    assert result["access_change"].tolist() == pytest.approx([0.0, 0.0, 1 / 300], rel=1e-12)
    assert result["normalised_before"].tolist() == pytest.approx([6.0, 0.0, 0.0], rel=1e-12)
    assert result["normalised_after"].tolist() == pytest.approx([6.0, 0.0, 2.0], rel=1e-12)
    assert result["newly_within"].tolist() == [False, False, True]
    # The proposal came in lon/lat: the round trip through EPSG:4326 moves it by under 1 mm.
    assert result["nearest_minutes_after"].iloc[2] == pytest.approx(130 / 80, abs=1e-4)
    assert result.attrs["people_newly_within"] == 300.0
    assert result.attrs["proposed_ids"] == ["proposed-1"]
    assert result.attrs["proposed_unreached"] == []
    assert result.attrs["method"] == "straight line × 1.3"
    # Costs that were measured differently are labelled both ways.
    network = costs.copy()
    network.attrs = {**costs.attrs, "method": "network"}
    mixed = what_if(network, demand, supply, proposed, costs_fn=straight_line_costs)
    assert mixed.attrs["method"] == "network; proposed sites: straight line × 1.3"


def test_what_if_with_precomputed_candidate_costs(
        street: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    demand, supply, proposed = street
    candidate = proposed.assign(id="hall-7", capacity=3.0)
    both = pd.concat([supply, candidate.to_crs(S.METRIC_CRS)[[ID, "geometry"]]], ignore_index=True)
    costs = straight_line_costs(demand, gpd.GeoDataFrame(both, crs=S.METRIC_CRS))
    before = [f.copy() for f in (costs, demand, supply, candidate)]
    result = what_if(costs, demand, supply, candidate)  # the rows for hall-7 are already there
    assert result["access_after"].iloc[2] == pytest.approx(3 / 300, rel=1e-12)
    assert result["access_before"].iloc[2] == 0.0  # rows for a site not in supply do not count
    for old, new in zip(before, (costs, demand, supply, candidate), strict=True):
        pd.testing.assert_frame_equal(old, new)
    with pytest.raises(ValidationError, match="already an existing site"):
        what_if(costs, demand, supply, candidate.assign(id="s0"))


def test_what_if_reports_a_proposal_nobody_reaches(
        street: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    demand, supply, _ = street
    remote = gpd.GeoDataFrame({ID: ["remote"]}, geometry=[Point(540_000, 190_000)],
                              crs=S.METRIC_CRS)
    result = what_if(straight_line_costs(demand, supply), demand, supply, remote,
                     costs_fn=straight_line_costs)
    assert result.attrs["proposed_unreached"] == ["remote"]
    assert (result["access_change"] == 0).all() and not result["newly_within"].any()


# --- the real Newham demo ------------------------------------------------------------------------


def test_newham_gp_access_end_to_end(demo_store: Store) -> None:
    with demo_store.session() as session:
        areas = load_area_layer(session, "lsoa_2021")
        assets = assets_frame(session)
    demand = demand_from_areas(areas)
    supply = supply_from_assets(assets, category="gp_practice")
    assert len(supply) == 46 and (supply[SUPPLY] == 1.0).all()  # no capacities: 1 each
    costs = straight_line_costs(demand, supply)  # Newham has no street network offline
    results = flag_gaps(area_access(costs, demand, supply))

    assert len(results) == 185
    assert results[PEOPLE].sum() == pytest.approx(areas[S.POPULATION].sum())
    assert weighted_mean(results[NORMALISED], results[PEOPLE]) == pytest.approx(1.0, abs=1e-9)
    assert results.attrs["method"] == "straight line × 1.3"
    assert results.attrs["method"].startswith("straight line")
    assert results[ACCESS].notna().all() and (results[ACCESS] >= 0).all()
    assert results[NONE_WITHIN_CUTOFF].tolist() == results["nearest_minutes"].isna().tolist()
    assert results[BOTTOM_QUINTILE].sum() >= 37  # a fifth of 185, more only with ties
    assert 0 < results[GAP].sum() < 185
    # With a binary catchment supply is conserved: Σ demand × 2SFCA = the sites anyone reaches.
    reached = costs["supply_id"].nunique()
    assert (results["access_2sfca"] * results[DEMAND]).sum() == pytest.approx(reached, rel=1e-9)

    older = flag_gaps(area_access(costs, demand_from_areas(areas, measure="population_65_plus",
                                                           imd_weighting=True), supply))
    assert weighted_mean(older[NORMALISED], older[PEOPLE]) == pytest.approx(1.0, abs=1e-9)
    assert older[PEOPLE].sum() == pytest.approx(areas[S.POPULATION_65_PLUS].sum())

    # Test-only grouping of LSOAs by their MSOA name ("Newham 035A" → "Newham 035"): a real
    # grouping, not Newham's eight community neighbourhoods (whose ward lists are unpublished).
    lookup = pd.DataFrame({S.AREA_CODE: areas[S.AREA_CODE], S.PATCH: areas[S.AREA_NAME].str[:-1]})
    rollup = patch_rollup(results, lookup, assets, category="gp_practice", areas=areas)
    assert rollup["people"].sum() == pytest.approx(areas[S.POPULATION].sum())
    assert rollup["sites"].sum() + len(rollup.attrs["sites_outside_patches"]) == 46
    assert rollup["people_in_gap_areas"].sum() == pytest.approx(
        results.loc[results[GAP], PEOPLE].sum())
    assert np.isnan(rollup["generative_share"]).all()  # the GP records carry no ownership yet
