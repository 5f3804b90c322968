"""Designing lots: contiguity by adjacency, balance, determinism, lookups, the Newham demo."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
from shapely.geometry import box

from mapping import schema as S
from mapping.errors import ValidationError
from mapping.lots.design import MAX_K, LotSettings, design_lots
from mapping.lots.measures import with_small_area_totals
from mapping.lots.store import design_inputs
from mapping.places.areas import adjacency_graph, lookup_by_location, patches_from_lookup
from mapping.places.store import load_area_layer
from mapping.store.database import Store


def grid(cols: int, rows: int, values: list[float] | None = None) -> gpd.GeoDataFrame:
    """cols × rows squares of 1 km in EPSG:27700, coded G00.. row by row."""
    cells = [(c, r) for r in range(rows) for c in range(cols)]
    return gpd.GeoDataFrame({
        S.AREA_CODE: [f"G{r}{c}" for c, r in cells],
        S.AREA_NAME: [f"cell {r},{c}" for c, r in cells],
        S.POPULATION: values or [100.0] * len(cells),
    }, geometry=[box(530_000 + c * 1000, 180_000 + r * 1000, 531_000 + c * 1000,
                     181_000 + r * 1000) for c, r in cells], crs=S.METRIC_CRS)


def assert_contiguous(areas: gpd.GeoDataFrame, lookup: pd.DataFrame) -> None:
    graph = adjacency_graph(areas)
    for lot, rows in lookup.groupby(S.PATCH):
        members = rows[S.AREA_CODE].tolist()
        assert nx.is_connected(graph.subgraph(members)), f"{lot} is not one piece"


def test_adjacency_is_by_shared_boundary_not_corner() -> None:
    graph = adjacency_graph(grid(2, 2))
    assert graph.has_edge("G00", "G01") and graph.has_edge("G00", "G10")
    assert not graph.has_edge("G00", "G11")  # touch at a corner only


def test_grid_design_is_contiguous_balanced_and_covers_every_area_once() -> None:
    areas = grid(6, 4)
    design = design_lots(areas, k=4, tolerance=0.05, seed=3)
    assert sorted(design.lookup[S.AREA_CODE]) == sorted(areas[S.AREA_CODE])
    assert design.lookup[S.AREA_CODE].is_unique
    assert design.lots[S.PATCH].tolist() == ["Lot 1", "Lot 2", "Lot 3", "Lot 4"]
    assert_contiguous(areas, design.lookup)
    assert design.met and design.imbalance <= 0.05
    assert design.lots[S.POPULATION].tolist() == [600.0] * 4  # 24 equal cells into 4
    assert "ReCom" in design.method and "GerryChain" in design.method


def test_same_seed_same_design_and_inputs_unchanged() -> None:
    areas = grid(6, 4, [float(50 + (i * 37) % 90) for i in range(24)])
    before = areas.copy()
    first = design_lots(areas, k=3, tolerance=0.1, seed=11)
    second = design_lots(areas, k=3, tolerance=0.1, seed=11)
    pd.testing.assert_frame_equal(first.lookup, second.lookup)
    assert first.imbalance == second.imbalance
    pd.testing.assert_frame_equal(areas, before)


def test_unreachable_tolerance_gives_best_design_with_its_imbalance_and_says_so() -> None:
    values = [100.0] * 12
    values[0] = 5000.0  # one area outweighs every other lot together
    areas = grid(4, 3, values)
    design = design_lots(areas, k=3, tolerance=0.05, seed=0,
                         settings=LotSettings(bursts=10, attempts=2))
    assert not design.met
    assert design.imbalance > 1.0
    assert "could not be met" in design.notes[0] and f"{design.imbalance:.1%}" in design.notes[0]
    assert_contiguous(areas, design.lookup)


def test_keep_whole_never_splits_a_group() -> None:
    areas = grid(6, 4)
    groups = pd.DataFrame({S.AREA_CODE: areas[S.AREA_CODE],
                           S.PATCH: [f"W{int(c[1]) // 2}{int(c[2]) // 2}" for c in areas[S.AREA_CODE]]})
    design = design_lots(areas, k=3, tolerance=0.1, seed=1, keep_whole=groups,
                         keep_whole_name="blocks")
    merged = groups.merge(design.lookup, on=S.AREA_CODE, suffixes=("_group", "_lot"))
    assert merged.groupby(f"{S.PATCH}_group")[f"{S.PATCH}_lot"].nunique().max() == 1
    assert design.keep_whole == "blocks" and design.met


def test_start_from_an_existing_layout_keeps_its_number_of_lots() -> None:
    areas = grid(6, 4)
    start = pd.DataFrame({S.AREA_CODE: areas[S.AREA_CODE],
                          S.PATCH: ["west" if int(c[2]) < 2 else "east" if int(c[2]) > 3
                                    else "middle" for c in areas[S.AREA_CODE]]})
    design = design_lots(areas, k=8, tolerance=0.05, seed=0, start=start)
    assert design.k == 3 and design.met
    assert_contiguous(areas, design.lookup)


def test_options_and_layers_that_cannot_be_designed_are_refused_with_reasons() -> None:
    areas = grid(3, 2)
    with pytest.raises(ValidationError, match="at least 7 areas"):
        design_lots(areas, k=7)
    with pytest.raises(ValidationError, match="tolerance between 0 and 1"):
        design_lots(areas, k=2, tolerance=10)
    with pytest.raises(ValidationError, match="no 'homecare_hours' column"):
        design_lots(areas, k=2, measure="homecare_hours")
    island = pd.concat([areas, grid(1, 1).assign(
        code="ISLE", geometry=[box(540_000, 190_000, 541_000, 191_000)])], ignore_index=True)
    with pytest.raises(ValidationError, match=r"cell 0,0 \(ISLE\) share no boundary"):
        design_lots(gpd.GeoDataFrame(island, crs=S.METRIC_CRS), k=2)
    unnamed = island.assign(**{S.AREA_NAME: [*island[S.AREA_NAME][:-1], None]})
    with pytest.raises(ValidationError, match=r"areas 'ISLE' share no boundary") as caught:
        design_lots(gpd.GeoDataFrame(unnamed, crs=S.METRIC_CRS), k=2)
    assert "None" not in str(caught.value) and "nan" not in str(caught.value)


def test_lot_lookup_rejects_gaps_overlaps_and_split_lots_clearly() -> None:
    areas = grid(3, 1)
    gap_and_overlap = pd.DataFrame({S.AREA_CODE: ["G00", "G00"], S.PATCH: ["A", "B"]})
    with pytest.raises(ValidationError) as caught:
        patches_from_lookup(areas, gap_and_overlap, file="lots.csv", require_contiguous=True)
    text = str(caught.value)
    assert "lots.csv, row 2, field 'code': area 'G00' is already in a patch on row 1" in text
    assert "area 'G01' is in no patch" in text and "area 'G02' is in no patch" in text
    split = pd.DataFrame({S.AREA_CODE: ["G00", "G01", "G02"], S.PATCH: ["A", "B", "A"]})
    with pytest.raises(ValidationError) as caught:
        patches_from_lookup(areas, split, file="lots.csv", require_contiguous=True)
    assert "patch 'A' is in 2 separate pieces (G00; G02)" in str(caught.value)
    assert len(patches_from_lookup(areas, split)) == 2  # patches need not be contiguous


def test_ward_totals_come_from_their_lsoas(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        wards = load_area_layer(session, "wards_2023")
        lsoas = load_area_layer(session, "lsoa_2021")
    totals = with_small_area_totals(wards, lsoas, [S.POPULATION, S.POPULATION_65_PLUS])
    assert totals[S.POPULATION].sum() == lsoas[S.POPULATION].sum()
    lookup = lookup_by_location(lsoas, wards.assign(z=wards[S.AREA_CODE]), zone_column="z")
    first = wards[S.AREA_CODE].iloc[0]
    members = lookup.loc[lookup[S.PATCH] == first, S.AREA_CODE]
    assert totals.set_index(S.AREA_CODE).at[first, S.POPULATION] == \
        lsoas.set_index(S.AREA_CODE).loc[members, S.POPULATION].sum()


def test_newham_wards_and_lsoas_into_eight_contiguous_balanced_lots(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        wards, _g, _s = design_inputs(session, "wards_2023")
        lsoas, _g, _s = design_inputs(session, "lsoa_2021")
    by_ward = design_lots(wards, k=8, tolerance=0.10, seed=0)
    assert len(by_ward.lots) == 8 and by_ward.met and by_ward.imbalance <= 0.10
    assert_contiguous(wards, by_ward.lookup)
    by_lsoa = design_lots(lsoas, k=8, tolerance=0.05, seed=0)
    assert len(by_lsoa.lots) == 8 and by_lsoa.met and by_lsoa.imbalance <= 0.05
    assert_contiguous(lsoas, by_lsoa.lookup)
    assert by_lsoa.lots[S.POPULATION].sum() == lsoas[S.POPULATION].sum()


def test_keeping_wards_whole_keeps_lots_contiguous_at_lsoa_level(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        lsoas, groups, _s = design_inputs(session, "lsoa_2021", keep_whole="wards_2023")
    design = design_lots(lsoas, k=8, tolerance=0.10, seed=0, keep_whole=groups,
                         keep_whole_name="wards_2023")
    assert_contiguous(lsoas, design.lookup)
    merged = groups.merge(design.lookup, on=S.AREA_CODE, suffixes=("_ward", "_lot"))
    split = merged.groupby(f"{S.PATCH}_ward")[f"{S.PATCH}_lot"].nunique()
    # A ward is split only where its LSOAs are themselves in separate pieces, and says so.
    assert (split <= 2).all()
    name = groups.drop_duplicates(S.PATCH).set_index(S.PATCH)[S.AREA_NAME]
    for ward in split[split > 1].index:
        # Notes name the ward as a person knows it, never by its GSS code.
        assert any(f"The areas of {name[ward]} are in" in note for note in design.notes)
        assert not any(ward in note for note in design.notes)
    assert design.keep_whole == "wards_2023"


def test_a_search_out_of_time_gives_its_best_design_so_far_and_says_so() -> None:
    areas = grid(6, 4, [float(50 + (i * 37) % 90) for i in range(24)])
    design = design_lots(areas, k=4, tolerance=0.01, seed=5,
                         settings=LotSettings(max_seconds=0.0))
    assert design.stopped_at_limit
    assert any("stopped at its time limit of 0 s" in n for n in design.notes)
    assert sorted(design.lookup[S.AREA_CODE]) == sorted(areas[S.AREA_CODE])
    assert design.lots[S.PATCH].nunique() == 4
    assert_contiguous(areas, design.lookup)
    # A limit that is not reached changes nothing: the seed still fixes the design.
    unhurried = design_lots(areas, k=4, tolerance=0.1, seed=5,
                            settings=LotSettings(max_seconds=600))
    plain = design_lots(areas, k=4, tolerance=0.1, seed=5)
    pd.testing.assert_frame_equal(unhurried.lookup, plain.lookup)
    assert not unhurried.stopped_at_limit and not plain.stopped_at_limit


def test_the_number_of_lots_comes_from_the_start_before_it_is_checked() -> None:
    areas = grid(3, 2)  # 6 areas: k=8 alone would be refused
    start = pd.DataFrame({S.AREA_CODE: areas[S.AREA_CODE],
                          S.PATCH: ["A" if c[1] == "0" else "B" for c in areas[S.AREA_CODE]]})
    design = design_lots(areas, k=8, tolerance=0.1, seed=0, start=start)
    assert design.k == 2 and design.met
    big = grid(4, 8)
    one_each = pd.DataFrame({S.AREA_CODE: big[S.AREA_CODE], S.PATCH: big[S.AREA_CODE]})
    with pytest.raises(ValidationError, match=f"at most {MAX_K} lots, not 32"):
        design_lots(big, k=2, start=one_each)  # the start's 32 lots are over the cap
