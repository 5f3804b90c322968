"""Accessibility: 2SFCA, E2SFCA, nearest site and people within reach, on grids worked by hand,
and agreement with PySAL ``access`` on the same cost matrix."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from mapping import schema as S
from mapping.access.catchment import (
    ACCESS,
    ACCESS_2SFCA,
    DEMAND_ID,
    METRES,
    MINUTES,
    NEAREST_METRES,
    NEAREST_MINUTES,
    NEAREST_SITE,
    PEOPLE_WITHIN,
    SNAPPED,
    SUPPLY_ID,
    WITHIN,
    WITHIN_CUTOFF,
    AccessSettings,
    area_access,
    e2sfca,
    nearest_minutes,
    people_within,
    two_step_fca,
)
from mapping.access.costs import TravelSettings, straight_line_costs
from mapping.access.inputs import (
    DEMAND,
    ID,
    IMD_WEIGHT,
    PEOPLE,
    POINT_METHOD,
    SUPPLY,
    demand_from_areas,
    supply_from_assets,
)
from mapping.access.network import network_costs
from mapping.errors import ValidationError

WALK_M_PER_MIN = 80.0


def _costs(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[DEMAND_ID, SUPPLY_ID, MINUTES])
    frame[METRES] = frame[MINUTES] * WALK_M_PER_MIN
    frame.attrs = {"method": "network", "walk_speed_m_per_min": WALK_M_PER_MIN}
    return frame


@pytest.fixture
def grid() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Four areas, two sites. Minutes: a-x 5 (exactly on a step bound), b-x 8, a-y 12, b-y 3,
    c-x 16 (beyond the 15-minute cut-off); d reaches nothing."""
    costs = _costs([("a", "x", 5.0), ("b", "x", 8.0), ("a", "y", 12.0), ("b", "y", 3.0),
                    ("c", "x", 16.0)])
    demand = pd.DataFrame({ID: ["a", "b", "c", "d"], DEMAND: [100.0, 300.0, 50.0, 40.0]})
    supply = pd.DataFrame({ID: ["x", "y"], SUPPLY: [1.0, 2.0]})
    return costs, demand, supply


def test_e2sfca_by_hand(grid: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    costs, demand, supply = grid
    # Weights {5: 1.0, 10: 0.68, 15: 0.22}: a-x 5 → 1.0 (the bound is inclusive), b-x 8 → 0.68,
    # a-y 12 → 0.22, b-y 3 → 1.0, c-x 16 → 0 (beyond the last step).
    # Step 1: D_x = 100·1.0 + 300·0.68 = 304, so R_x = 1/304;
    #         D_y = 100·0.22 + 300·1.0 = 322, so R_y = 2/322.
    # Step 2: A_a = 1.0·(1/304) + 0.22·(2/322) = 0.0046559333…;  A_b = 0.68/304 + 2/322 = 0.0084480…
    result = e2sfca(costs, demand, supply)
    assert result.index.tolist() == ["a", "b", "c", "d"]
    assert result.at["a", ACCESS] == pytest.approx(1 / 304 + 0.44 / 322, rel=1e-12)
    assert result.at["b", ACCESS] == pytest.approx(0.68 / 304 + 2 / 322, rel=1e-12)
    assert result.at["a", ACCESS] == pytest.approx(0.0046559333, rel=1e-8)
    assert result.at["c", ACCESS] == 0.0 and result.at["d", ACCESS] == 0.0
    assert result.attrs["method"] == "network"
    assert result.attrs["walk_speed_m_per_min"] == WALK_M_PER_MIN
    assert "Luo & Qi 2009" in result.attrs["measure"]


def test_e2sfca_custom_steps(grid: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    costs, demand, supply = grid
    # Steps {8: 1.0, 20: 0.5}, cut-off 20: a-x 1, b-x 1 (8 is on the bound), a-y 0.5, b-y 1, c-x 0.5.
    # D_x = 100 + 300 + 50·0.5 = 425; D_y = 100·0.5 + 300 = 350.
    # A_a = 1/425 + 0.5·2/350; A_b = 1/425 + 2/350; A_c = 0.5/425.
    settings = AccessSettings(step_weights=((8, 1.0), (20, 0.5)), cutoff_min=20)
    result = e2sfca(costs, demand, supply, settings=settings)
    assert result.at["a", ACCESS] == pytest.approx(1 / 425 + 1 / 350, rel=1e-12)
    assert result.at["b", ACCESS] == pytest.approx(1 / 425 + 2 / 350, rel=1e-12)
    assert result.at["c", ACCESS] == pytest.approx(0.5 / 425, rel=1e-12)
    # A cut-off inside the last step drops c-x (16 > 15) even though its step would weigh 0.5.
    capped = e2sfca(costs, demand, supply,
                    settings=AccessSettings(step_weights=((8, 1.0), (20, 0.5)), cutoff_min=15))
    assert capped.at["c", ACCESS] == 0.0


def test_two_step_fca_by_hand(grid: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    costs, demand, supply = grid
    # Cut-off 15: D_x = D_y = 100 + 300 = 400; A_a = A_b = 1/400 + 2/400 = 0.0075.
    result = two_step_fca(costs, demand, supply, cutoff_min=15)
    assert result.at["a", ACCESS] == pytest.approx(3 / 400, rel=1e-12)
    assert result.at["b", ACCESS] == pytest.approx(3 / 400, rel=1e-12)
    assert result.at["c", ACCESS] == 0.0
    # With a binary catchment the supply is conserved: Σ D_i A_i = 1 + 2 reachable places.
    assert (result[ACCESS] * demand.set_index(ID)[DEMAND]).sum() == pytest.approx(3, rel=1e-12)
    # Cut-off 10 drops a-y: D_x = 400, D_y = 300; A_a = 1/400, A_b = 1/400 + 2/300.
    ten = two_step_fca(costs, demand, supply, cutoff_min=10)
    assert ten.at["a", ACCESS] == pytest.approx(1 / 400, rel=1e-12)
    assert ten.at["b", ACCESS] == pytest.approx(1 / 400 + 2 / 300, rel=1e-12)
    # Cut-off 16 takes c in: D_x = 450; A_c = 1/450.
    assert two_step_fca(costs, demand, supply, cutoff_min=16).at["c", ACCESS] == pytest.approx(
        1 / 450, rel=1e-12)
    # The default cut-off is AccessSettings().cutoff_min (15).
    pd.testing.assert_frame_equal(two_step_fca(costs, demand, supply), result)


def test_sites_not_in_supply_and_areas_not_in_demand_are_ignored(
        grid: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    costs, demand, supply = grid
    # One cost table for every category: rows for other sites and areas do not count.
    extra = pd.concat([costs, _costs([("a", "z", 1.0), ("zz", "x", 1.0)])], ignore_index=True)
    extra.attrs = costs.attrs
    pd.testing.assert_frame_equal(e2sfca(extra, demand, supply), e2sfca(costs, demand, supply))
    # Only site x: D_x = 304, A_a = 1/304, A_b = 0.68/304.
    only_x = e2sfca(costs, demand, supply[supply[ID] == "x"])
    assert only_x.at["a", ACCESS] == pytest.approx(1 / 304, rel=1e-12)
    assert only_x.at["b", ACCESS] == pytest.approx(0.68 / 304, rel=1e-12)


def test_site_with_no_demand_adds_nothing() -> None:
    costs = _costs([("a", "x", 2.0), ("b", "y", 2.0)])
    demand = pd.DataFrame({ID: ["a", "b"], DEMAND: [0.0, 10.0]})
    supply = pd.DataFrame({ID: ["x", "y"], SUPPLY: [1.0, 1.0]})
    result = e2sfca(costs, demand, supply)
    assert result.at["a", ACCESS] == 0.0
    assert result.at["b", ACCESS] == pytest.approx(0.1, rel=1e-12)


def test_nearest_minutes_and_people_within(
        grid: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    costs, demand, supply = grid
    nearest = nearest_minutes(costs, demand)
    assert nearest[NEAREST_MINUTES].tolist()[:3] == [5.0, 3.0, 16.0]
    assert nearest[NEAREST_SITE].tolist()[:3] == ["x", "y", "x"]
    assert nearest.at["b", NEAREST_METRES] == 3.0 * WALK_M_PER_MIN
    assert math.isnan(nearest.at["d", NEAREST_MINUTES])  # no site within the table's cut-off
    assert nearest.attrs["method"] == "network"
    only_y = nearest_minutes(costs, demand, supply=supply[supply[ID] == "y"])
    assert only_y.at["a", NEAREST_MINUTES] == 12.0 and math.isnan(only_y.at["c", NEAREST_MINUTES])

    within = people_within(costs, demand, minutes=10)
    assert within[WITHIN].tolist() == [True, True, False, False]
    assert within[PEOPLE_WITHIN].tolist() == [100.0, 300.0, 0.0, 0.0]
    assert within.attrs["people_total"] == 490.0
    assert within.attrs["share_within"] == pytest.approx(400 / 490, rel=1e-12)
    assert people_within(costs, demand, minutes=4)[WITHIN].tolist() == [False, True, False, False]
    assert people_within(costs, demand)[WITHIN].tolist() == [True, True, False, False]  # 15 min


def test_nearest_tie_goes_to_the_smaller_site_id() -> None:
    costs = _costs([("a", "y", 4.0), ("a", "x", 4.0)])
    demand = pd.DataFrame({ID: ["a"], DEMAND: [1.0]})
    assert nearest_minutes(costs, demand).at["a", NEAREST_SITE] == "x"


def test_nearest_tie_goes_to_the_smaller_site_id_in_a_built_table() -> None:
    # The builders' id columns are categorical in input order ("y" first): ties still go by id.
    demand = gpd.GeoDataFrame({ID: ["a"], DEMAND: [1.0]}, geometry=[Point(0, 0)], crs="EPSG:27700")
    supply = gpd.GeoDataFrame({ID: ["y", "x"], SUPPLY: [1.0, 1.0]},
                              geometry=[Point(0, 100), Point(100, 0)], crs="EPSG:27700")
    costs = straight_line_costs(demand, supply)
    assert isinstance(costs[SUPPLY_ID].dtype, pd.CategoricalDtype)
    assert nearest_minutes(costs, demand).at["a", NEAREST_SITE] == "x"


def test_area_access_combines_the_measures(
        grid: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    costs, demand, supply = grid
    table = area_access(costs, demand, supply)
    pd.testing.assert_series_equal(table[ACCESS], e2sfca(costs, demand, supply)[ACCESS])
    pd.testing.assert_series_equal(table[ACCESS_2SFCA], two_step_fca(costs, demand, supply)[ACCESS],
                                   check_names=False)
    assert table[WITHIN_CUTOFF].tolist() == [True, True, False, False]  # c's site is 16 min away
    assert table[PEOPLE].tolist() == [100.0, 300.0, 50.0, 40.0]  # no people column: demand
    assert table.attrs["method"] == "network" and table.attrs["cutoff_min"] == 15.0


def test_inputs_are_not_changed(grid: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    costs, demand, supply = grid
    before = [f.copy(deep=True) for f in grid]
    attrs = dict(costs.attrs)
    area_access(costs, demand, supply)
    e2sfca(costs, demand, supply)
    people_within(costs, demand, minutes=5)
    for old, new in zip(before, grid, strict=True):
        pd.testing.assert_frame_equal(old, new)
    assert costs.attrs == attrs


def test_bad_cost_tables_are_refused(grid: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    costs, demand, supply = grid
    unlabelled = costs.copy()
    unlabelled.attrs = {}
    with pytest.raises(ValidationError, match="attrs\\['method'\\]"):
        e2sfca(unlabelled, demand, supply)
    broken = pd.concat([costs, costs.head(1)], ignore_index=True).assign(
        minutes=lambda f: f[MINUTES].where(f.index != 1, -1.0))
    broken.attrs = costs.attrs
    with pytest.raises(ValidationError) as info:
        e2sfca(broken, demand, supply)
    reasons = " ".join(p.reason for p in info.value.problems)
    assert "negative" in reasons and "more than once" in reasons
    with pytest.raises(ValidationError, match="supply_id"):
        e2sfca(costs.drop(columns=[SUPPLY_ID]), demand, supply)
    with pytest.raises(TypeError, match="ndarray"):
        e2sfca(costs.to_numpy(), demand, supply)  # type: ignore[arg-type]


def test_every_access_setting_has_one_line_of_help() -> None:
    import ast
    import inspect

    import mapping.access.catchment

    tree = ast.parse(inspect.getsource(mapping.access.catchment))
    body = next(n for n in ast.walk(tree)
                if isinstance(n, ast.ClassDef) and n.name == "AccessSettings").body
    helped = {here.target.id for here, after in zip(body, body[1:], strict=False)
              if isinstance(here, ast.AnnAssign) and isinstance(here.target, ast.Name)
              and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)}
    assert helped == set(AccessSettings.__dataclass_fields__)


def test_settings_are_checked_all_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        AccessSettings(step_weights=((10, 1.0), (5, -0.5)), cutoff_min=0)
    assert len(info.value.problems) == 3
    assert AccessSettings().weight(np.array([0, 5, 5.01, 10, 15, 15.01])).tolist() == [
        1.0, 1.0, 0.68, 0.68, 0.22, 0.0]


# --- demand and supply ---------------------------------------------------------------------


def _square(x: float, y: float, size: float = 100.0) -> Polygon:
    return Polygon([(x, y), (x + size, y), (x + size, y + size), (x, y + size)])


@pytest.fixture
def areas() -> gpd.GeoDataFrame:
    # A square (centroid inside) and a U shape whose centroid falls in its empty middle.
    u_shape = Polygon([(0, 0), (300, 0), (300, 300), (200, 300), (200, 100), (100, 100), (100, 300),
                       (0, 300)])
    return gpd.GeoDataFrame({
        S.AREA_CODE: ["E01000001", "E01000002", "E01000003"],
        S.POPULATION: [900, 1800, 450],
        S.POPULATION_65_PLUS: [90, 180, 45],
        S.IMD_DECILE: [1, 10, 4],
    }, geometry=[_square(530_000, 180_000), Polygon([(530_000 + x, 181_000 + y) for x, y in
                                                       u_shape.exterior.coords]),
                 _square(531_000, 180_000)], crs=S.METRIC_CRS)


def test_demand_from_areas(areas: gpd.GeoDataFrame) -> None:
    demand = demand_from_areas(areas)
    assert demand[ID].tolist() == ["E01000001", "E01000002", "E01000003"]
    assert demand[DEMAND].tolist() == [900.0, 1800.0, 450.0]
    assert demand.crs == S.METRIC_CRS
    assert demand.geometry.iloc[0].equals(Point(530_050, 180_050))  # the square's centroid
    assert demand[POINT_METHOD].iloc[0] == "centroid"
    assert demand[POINT_METHOD].iloc[1].startswith("representative point")
    assert demand.geometry.iloc[1].within(areas.geometry.iloc[1])
    assert (demand.geometry.within(areas.geometry)).all()
    older = demand_from_areas(areas, measure="population_65_plus", centroid="representative")
    assert older[PEOPLE].tolist() == [90.0, 180.0, 45.0]
    assert older.attrs["measure"] == "population_65_plus"


def test_imd_weighting(areas: gpd.GeoDataFrame) -> None:
    # weight = 1 + (10 - decile)/9: decile 1 → 2, decile 10 → 1, decile 4 → 1 + 6/9 = 5/3.
    demand = demand_from_areas(areas, imd_weighting=True)
    assert demand[IMD_WEIGHT].tolist() == pytest.approx([2.0, 1.0, 5 / 3], rel=1e-12)
    assert demand[DEMAND].tolist() == pytest.approx([1800.0, 1800.0, 750.0], rel=1e-12)
    assert demand[PEOPLE].tolist() == [900.0, 1800.0, 450.0]  # people stay unweighted
    with pytest.raises(ValidationError, match="IMD decile"):
        demand_from_areas(areas.assign(imd_decile=[1, None, 11]), imd_weighting=True)


def test_demand_problems_are_reported_together(areas: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValidationError) as info:
        demand_from_areas(areas, measure="population_85_plus",  # type: ignore[arg-type]
                          centroid="population-weighted")  # type: ignore[arg-type]
    reasons = " ".join(p.reason for p in info.value.problems)
    assert "population_85_plus" in reasons and "Output Area" in reasons
    bad = areas.assign(code=["E01000001", "E01000001", None], population=[1, -5, None])
    with pytest.raises(ValidationError) as info:
        demand_from_areas(bad)
    assert len(info.value.problems) == 4  # duplicate, empty code, negative, missing
    with pytest.raises(TypeError, match="DataFrame"):
        demand_from_areas(pd.DataFrame(areas.drop(columns="geometry")))


@pytest.fixture
def assets() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        S.EXTERNAL_ID: ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"],
        S.CATEGORY: ["gp_practice"] * 6 + ["library", "gp_practice"],
        S.CAPACITY: [np.nan, 0.0, -2.0, 2.5, 3.0, 4.0, 9.0, 1.0],
        S.STATUS: ["active", "active", "active", "active", "closed", "active", "active", "active"],
        S.OWNERSHIP_CLASS: ["unknown", "generative", "extractive", "generative", "generative",
                            "generative", "generative", "generative"],
        S.NATIONAL_FOOTPRINT: [None, False, None, None, None, True, None, None],
    }, geometry=[Point(0.01 * i, 51.5) for i in range(7)] + [Point(np.nan, np.nan)],
        crs=S.STORAGE_CRS)


def test_supply_from_assets(assets: gpd.GeoDataFrame) -> None:
    supply = supply_from_assets(assets, category="gp_practice")
    # s5 is closed and s7 a library; s8 has no location. Unknown, 0 or negative capacity → 1.
    assert supply[ID].tolist() == ["s1", "s2", "s3", "s4", "s6"]
    assert supply[SUPPLY].tolist() == [1.0, 1.0, 1.0, 2.5, 4.0]
    assert supply.crs == S.METRIC_CRS
    assert supply.attrs["no_location"] == ["s8"]
    everything = supply_from_assets(assets, status=None)
    assert "s5" in everything[ID].tolist() and "s7" in everything[ID].tolist()


def test_generative_only(assets: gpd.GeoDataFrame) -> None:
    local = supply_from_assets(assets, category="gp_practice", generative_only=True)
    assert local[ID].tolist() == ["s2", "s4"]  # s6 is national: generative but not locally
    national_too = supply_from_assets(assets, category="gp_practice", generative_only=True,
                                      include_national=True)
    assert national_too[ID].tolist() == ["s2", "s4", "s6"]
    with pytest.raises(ValidationError, match="ownership_class"):
        supply_from_assets(assets.drop(columns=[S.OWNERSHIP_CLASS]), generative_only=True)


def test_demand_and_supply_leave_inputs_alone(areas: gpd.GeoDataFrame,
                                              assets: gpd.GeoDataFrame) -> None:
    areas_before, assets_before = areas.copy(), assets.copy()
    demand_from_areas(areas, imd_weighting=True)
    supply_from_assets(assets, category="gp_practice", generative_only=True)
    pd.testing.assert_frame_equal(areas, areas_before)
    pd.testing.assert_frame_equal(assets, assets_before)


# --- agreement with PySAL access --------------------------------------------------------------


def _pysal(costs: pd.DataFrame, demand: pd.DataFrame, supply: pd.DataFrame) -> object:
    from access import Access

    # Frames already indexed by id (index=True): access's own set_index(inplace=True) is
    # deprecated in pandas 3.1 and our warnings are errors.
    return Access(demand_df=pd.DataFrame(demand[[ID, DEMAND]]).set_index(ID), demand_index=True,
                  demand_value=DEMAND, supply_df=pd.DataFrame(supply[[ID, SUPPLY]]).set_index(ID),
                  supply_index=True, supply_value=SUPPLY, cost_df=costs.copy(),
                  cost_origin=DEMAND_ID, cost_dest=SUPPLY_ID, cost_name=MINUTES)


@pytest.fixture
def random_points() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(20240601)
    n_areas, n_sites = 40, 12
    demand = gpd.GeoDataFrame(
        {ID: [f"E01{i:06d}" for i in range(n_areas)],
         DEMAND: rng.integers(800, 3000, n_areas).astype(float)},
        geometry=gpd.points_from_xy(538_000 + rng.uniform(0, 3000, n_areas),
                                    183_000 + rng.uniform(0, 3000, n_areas)), crs=S.METRIC_CRS)
    supply = gpd.GeoDataFrame(
        {ID: [f"site-{j}" for j in range(n_sites)], SUPPLY: rng.integers(1, 6, n_sites).astype(float)},
        geometry=gpd.points_from_xy(538_000 + rng.uniform(0, 3000, n_sites),
                                    183_000 + rng.uniform(0, 3000, n_sites)), crs=S.METRIC_CRS)
    return demand, supply


def _street_grid(n: int = 12, spacing_m: float = 250.0) -> nx.MultiDiGraph:
    """A square street grid in EPSG:27700 over the same 3 km box as ``random_points``."""
    graph = nx.MultiDiGraph(crs=S.METRIC_CRS)
    for i in range(n):
        for j in range(n):
            graph.add_node(i * n + j, x=538_000 + i * spacing_m, y=183_000 + j * spacing_m)
    for i in range(n):
        for j in range(n):
            if i + 1 < n:
                graph.add_edge(i * n + j, (i + 1) * n + j, length=spacing_m)
            if j + 1 < n:
                graph.add_edge(i * n + j, i * n + j + 1, length=spacing_m)
    return graph


def _cost_table(kind: str, demand: gpd.GeoDataFrame, supply: gpd.GeoDataFrame) -> pd.DataFrame:
    if kind == "network":
        return network_costs(_street_grid(), demand, supply)
    # A table built with a wider cut-off than the measure's holds pairs the measure must ignore.
    return straight_line_costs(demand, supply, settings=TravelSettings(cutoff_min=25.0))


@pytest.mark.parametrize("kind", ["network", "straight line"])
def test_e2sfca_and_2sfca_agree_with_pysal_access(
        random_points: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], kind: str) -> None:
    from access import weights

    demand, supply = random_points
    costs = _cost_table(kind, demand, supply)
    assert costs.attrs["method"].startswith(kind)
    assert costs[MINUTES].max() > 10  # every step of the weights is exercised
    settings = AccessSettings()
    ours = e2sfca(costs, demand, supply, settings=settings)[ACCESS]
    step = weights.step_fn({5: 1.0, 10: 0.68, 15: 0.22})
    # access's methods return raw values with normalize=False (its default; given explicitly).
    theirs = _pysal(costs, demand, supply).enhanced_two_stage_fca(  # type: ignore[attr-defined]
        name="e2sfca", weight_fn=step, max_cost=settings.cutoff_min, normalize=False)
    theirs = theirs["e2sfca_" + SUPPLY].reindex(ours.index)
    # access leaves an area that reaches no site missing; ours says 0 for it.
    unreached = theirs.isna()
    assert (ours[unreached] == 0).all() and (ours[~unreached] > 0).all()
    assert 0 < unreached.sum() < len(ours)
    assert np.abs(ours.to_numpy() - theirs.fillna(0).to_numpy()).max() < 1e-9
    # access's own default has no max_cost: its step function weighs pairs beyond 15 min 0.
    uncapped = _pysal(costs, demand, supply).enhanced_two_stage_fca(  # type: ignore[attr-defined]
        name="e2sfca", weight_fn=step)["e2sfca_" + SUPPLY].reindex(ours.index)
    assert np.abs(ours.to_numpy() - uncapped.fillna(0).to_numpy()).max() < 1e-9

    ours_2 = two_step_fca(costs, demand, supply, cutoff_min=12)[ACCESS]
    theirs_2 = _pysal(costs, demand, supply).two_stage_fca(  # type: ignore[attr-defined]
        name="2sfca", max_cost=12, normalize=False)["2sfca_" + SUPPLY].reindex(ours_2.index)
    assert np.abs(ours_2.to_numpy() - theirs_2.fillna(0).to_numpy()).max() < 1e-9
    assert (ours_2 > 0).sum() > len(ours_2) / 2


def test_hand_grid_agrees_with_pysal_access(
        grid: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    from access import weights

    costs, demand, supply = grid
    theirs = _pysal(costs, demand, supply).enhanced_two_stage_fca(  # type: ignore[attr-defined]
        name="e", weight_fn=weights.step_fn({5: 1.0, 10: 0.68, 15: 0.22}), max_cost=15)["e_supply"]
    ours = e2sfca(costs, demand, supply)[ACCESS]
    assert theirs.at["a"] == pytest.approx(ours.at["a"], rel=1e-12)
    assert theirs.at["b"] == pytest.approx(ours.at["b"], rel=1e-12)


def test_areas_off_the_network_are_unknown_not_zero(
        random_points: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    demand, supply = random_points
    far = gpd.GeoDataFrame({ID: ["far-away"], DEMAND: [500.0]},
                           geometry=[Point(545_000, 183_000)], crs=S.METRIC_CRS)
    demand = pd.concat([demand, far], ignore_index=True)
    costs = network_costs(_street_grid(), demand, supply)
    assert [p.id for p in costs.attrs["unsnapped"]] == ["far-away"]
    table = area_access(costs, demand, supply)
    assert math.isnan(table.at["far-away", ACCESS]) and math.isnan(table.at["far-away", ACCESS_2SFCA])
    assert not table.at["far-away", SNAPPED] and table[SNAPPED].sum() == len(demand) - 1
    assert table[ACCESS].drop("far-away").notna().all()
    assert table.attrs["unsnapped"] == costs.attrs["unsnapped"]
    reach = people_within(costs, demand)
    assert not reach.at["far-away", WITHIN] and reach.attrs["people_unsnapped"] == 500.0
    assert reach.attrs["people_total"] == demand[DEMAND].sum() - 500.0


def test_a_measure_cannot_see_past_the_tables_cutoff(
        random_points: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    demand, supply = random_points
    short = straight_line_costs(demand, supply, settings=TravelSettings(cutoff_min=10.0))
    with pytest.raises(ValidationError, match="only holds pairs within 10 minutes"):
        e2sfca(short, demand, supply)  # the 15-minute step needs pairs up to 15 minutes
    with pytest.raises(ValidationError, match="cost table too short"):
        people_within(short, demand, minutes=12)
    assert two_step_fca(short, demand, supply, cutoff_min=10)[ACCESS].notna().all()
    short_steps = AccessSettings(step_weights=((5, 1.0), (10, 0.5)), cutoff_min=10)
    assert e2sfca(short, demand, supply, settings=short_steps)[ACCESS].gt(0).any()
