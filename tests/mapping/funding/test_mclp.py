"""The maximal covering location problem with existing sites fixed (mapping.funding.mclp).

Every instance is small enough to work out by hand, and the choice is checked against brute
force over all combinations of candidates (ties included).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mapping.errors import ValidationError
from mapping.funding import mclp as M
from mapping.funding.mclp import choose_host_sites

Reach = Mapping[Any, Mapping[Any, float]]  # site -> {area: minutes}


def cost_table(reach: Reach, areas: Sequence[Hashable], *, far_min: float = 30.0) -> pd.DataFrame:
    """A long cost table: the minutes given, every other pair `far_min` (beyond any cut-off)."""
    rows = [(a, site, minutes.get(a, far_min)) for site, minutes in reach.items() for a in areas]
    return pd.DataFrame(rows, columns=[M.DEMAND_ID, M.SUPPLY_ID, M.MINUTES])


def brute_force(
    reach: Reach, demand: Mapping[Any, float], existing: Sequence[Hashable],
    candidates: Sequence[Hashable], n_sites: int, cutoff: float,
) -> tuple[float, tuple[Hashable, ...]]:
    """The best total covered demand (existing sites included) and the first optimal set in id order."""
    def covered(sites: Sequence[Hashable]) -> float:
        areas = {a for s in sites for a, m in reach.get(s, {}).items() if m <= cutoff}
        return sum(demand.get(a, 0) for a in areas)

    best, first = -1.0, tuple[Hashable, ...]()
    for combo in itertools.combinations(sorted(candidates, key=M._id_key), n_sites):
        value = covered([*existing, *combo])
        if value > best:  # strict: the first optimal combination in id order is kept
            best, first = value, combo
    return best, first


def chosen(result: pd.DataFrame) -> tuple[Hashable, ...]:
    return tuple(sorted(result[M.SITE_ID], key=M._id_key))


# --- choose_host_sites: a hand-worked instance --------------------------------------------
# Six areas, one existing site E, five candidate community spaces, cut-off 10 minutes.
# E covers a1 and a2 already. New coverage: c1 only a6 (30: its a1, a2 are covered
# already), c2 a3+a4 (110), c3 a3+a5 (100), c4 a4+a6 (80), c5 a5 (40).
# Greedy takes c2 then c3 (150); the optimum of two is c3+c4 (a3..a6 = 180).
DEMAND = {"a1": 100, "a2": 80, "a3": 60, "a4": 50, "a5": 40, "a6": 30}
REACH: dict[Hashable, dict[Hashable, float]] = {
    "E": {"a1": 5, "a2": 8},
    "c1": {"a1": 3, "a2": 4, "a6": 9},
    "c2": {"a3": 2, "a4": 6},
    "c3": {"a3": 7, "a5": 4},
    "c4": {"a4": 3, "a6": 5},
    "c5": {"a5": 9},
}
CANDIDATES = pd.DataFrame({
    "external_id": ["c1", "c2", "c3", "c4", "c5"],
    "name": ["Library", "Church hall", "Youth club", "Community centre", "Scout hut"],
})


def hand_costs() -> pd.DataFrame:
    costs = cost_table(REACH, list(DEMAND))
    # A pair missing from the table is "not reachable".
    return costs[~((costs[M.DEMAND_ID] == "a6") & (costs[M.SUPPLY_ID] == "c5"))].reset_index(drop=True)


def test_the_mclp_beats_greedy_and_counts_the_existing_sites_coverage() -> None:
    result = choose_host_sites(hand_costs(), pd.Series(DEMAND), CANDIDATES, ["E"], n_sites=2, coverage_min=10)
    assert chosen(result) == ("c3", "c4")
    assert result.set_index(M.SITE_ID)[M.NEWLY_COVERED].to_dict() == {"c3": 100.0, "c4": 80.0}
    assert result.set_index(M.SITE_ID)[M.NEWLY_COVERED_AREAS].to_dict() == {
        "c3": ("a3", "a5"), "c4": ("a4", "a6")}
    assert result.attrs["total_newly_covered"] == 180.0
    assert result.attrs["already_covered"] == 180.0
    assert result.attrs["out_of_reach"] == 0.0
    assert "Church & ReVelle 1974" in result.attrs["method"]
    assert result["name"].tolist() == ["Youth club", "Community centre"]


@pytest.mark.parametrize("n_sites", [1, 2, 3, 4])
def test_the_mclp_equals_the_brute_force_optimum_on_the_hand_instance(n_sites: int) -> None:
    result = choose_host_sites(hand_costs(), pd.Series(DEMAND), CANDIDATES, ["E"], n_sites=n_sites,
                               coverage_min=10)
    best, first = brute_force(REACH, DEMAND, ["E"], CANDIDATES["external_id"].tolist(), n_sites, 10)
    assert result.attrs["already_covered"] + result.attrs["total_newly_covered"] == best
    assert chosen(result) == first


def test_each_newly_covered_area_goes_to_the_nearest_chosen_site() -> None:
    # Three sites: the first optimal set in id order is c1, c2, c3 (a3..a6 = 180).
    # a3 is 2 min from c2 and 7 from c3, so it counts for c2; a5 for c3; a6 for c1.
    result = choose_host_sites(hand_costs(), pd.Series(DEMAND), CANDIDATES, ["E"], n_sites=3, coverage_min=10)
    assert result.set_index(M.SITE_ID)[M.NEWLY_COVERED].to_dict() == {"c2": 110.0, "c3": 40.0, "c1": 30.0}
    assert result[M.SITE_ID].tolist() == ["c2", "c3", "c1"]  # most newly covered first
    assert result[M.NEWLY_COVERED].sum() == result.attrs["total_newly_covered"] == 180.0


def random_instance(
    seed: int, *, n_candidates: int, n_sites: tuple[int, int]
) -> tuple[dict[str, int], dict[Hashable, dict[Hashable, float]], list[Hashable], int]:
    """Demand, reach, candidate ids and n_sites: integer demand of 0-4 (many ties), 20% pairs missing."""
    rng = np.random.default_rng(seed)
    areas = [f"A{i}" for i in range(7)]
    demand = {a: int(d) for a, d in zip(areas, rng.integers(0, 5, len(areas)), strict=True)}
    ids: list[Hashable] = [2, 10, 7, 30, 4, 15, 12, 3]
    ids = ids[:n_candidates]  # numbers: 7 sorts before 10
    reach: dict[Hashable, dict[Hashable, float]] = {
        site: {a: float(m) for a, m in zip(areas, rng.uniform(0, 20, len(areas)), strict=True)
               if rng.random() > 0.2}
        for site in [99, *ids]
    }
    return demand, reach, ids, int(rng.integers(*n_sites))


def solve_random(seed: int, *, n_candidates: int, n_sites: tuple[int, int]) -> None:
    demand, reach, ids, n = random_instance(seed, n_candidates=n_candidates, n_sites=n_sites)
    costs = pd.DataFrame([(a, s, m) for s, row in reach.items() for a, m in row.items()],
                         columns=[M.DEMAND_ID, M.SUPPLY_ID, M.MINUTES])
    result = choose_host_sites(costs, pd.Series(demand), pd.DataFrame({"external_id": ids}), [99], n_sites=n,
                               coverage_min=10)
    best, first = brute_force(reach, demand, [99], ids, n, 10)
    assert result.attrs["already_covered"] + result.attrs["total_newly_covered"] == best
    assert chosen(result) == first


@pytest.mark.parametrize("seed", range(12))
def test_the_mclp_equals_brute_force_on_random_instances_ties_included(seed: int) -> None:
    solve_random(seed, n_candidates=6, n_sites=(1, 4))


def start_from_the_last_optimum(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Sequence[int], Sequence[int]]]:
    """Make the first solve give the *last* optimal set in id order; record the later solves.

    CBC may return any optimal set first. Starting the tie-break from the last
    one makes it walk (and re-solve) its way to the first.
    """
    real = M._solve_ilp
    later: list[tuple[Sequence[int], Sequence[int]]] = []

    def last_optimum(
        inst: Any, p: int, *, fixed_one: Sequence[int], fixed_zero: Sequence[int]
    ) -> frozenset[int]:
        if fixed_one or fixed_zero:
            later.append((fixed_one, fixed_zero))
            return real(inst, p, fixed_one=fixed_one, fixed_zero=fixed_zero)
        combos = list(itertools.combinations(range(len(inst.covers)), p))
        best = max(inst.value(c) for c in combos)
        return frozenset([c for c in combos if inst.value(c) == best][-1])

    monkeypatch.setattr(M, "_solve_ilp", last_optimum)
    return later


def test_the_tie_break_re_solves_when_no_single_swap_keeps_the_optimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Four areas of 1 person. Sites 1+2 and 3+4 both cover all four; the first
    # solve is made to give {3, 4}. Site 1 cannot be swapped in ({1, 3} and
    # {1, 4} cover 3), so CBC is asked again with site 1 fixed, and finds {1, 2}.
    later = start_from_the_last_optimum(monkeypatch)
    reach = {1: {"x1": 1, "x2": 1}, 2: {"x3": 1, "x4": 1}, 3: {"x1": 1, "x3": 1}, 4: {"x2": 1, "x4": 1}}
    costs = cost_table(reach, ["x1", "x2", "x3", "x4"])
    demand = pd.Series(dict.fromkeys(["x1", "x2", "x3", "x4"], 1))
    result = choose_host_sites(costs, demand, pd.DataFrame({"external_id": [1, 2, 3, 4]}), [], n_sites=2)
    assert chosen(result) == (1, 2)
    assert later == [((0,), ())]


def test_the_tie_break_skips_a_site_no_optimal_set_contains(monkeypatch: pytest.MonkeyPatch) -> None:
    # Six areas of 1 person; three sites. Best is 6 (e.g. 2, 3, 4). Site 1 covers
    # u1 and nothing else; its bound (1 + 3 + 3 from sites 5 and 6) does not rule
    # it out, no swap works, and CBC with site 1 fixed finds only 5: it is skipped.
    later = start_from_the_last_optimum(monkeypatch)
    reach = {1: {"u1": 1}, 2: {"u1": 1, "u2": 1}, 3: {"u3": 1, "u4": 1}, 4: {"u5": 1, "u6": 1},
             5: {"u3": 1, "u4": 1, "u5": 1}, 6: {"u4": 1, "u5": 1, "u6": 1}}
    areas = [f"u{i}" for i in range(1, 7)]
    result = choose_host_sites(cost_table(reach, areas), pd.Series(dict.fromkeys(areas, 1)),
                               pd.DataFrame({"external_id": list(reach)}), [], n_sites=3)
    best, first = brute_force(reach, dict.fromkeys(areas, 1), [], list(reach), 3, 10)
    assert (result.attrs["total_newly_covered"], chosen(result)) == (best, first) == (6, (2, 3, 4))
    assert later[0] == ((0,), ())


@pytest.mark.parametrize("seed", range(20))
def test_the_tie_break_reaches_the_first_optimal_set_from_any_optimum(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_from_the_last_optimum(monkeypatch)
    solve_random(seed, n_candidates=8, n_sites=(2, 5))


def test_the_choice_does_not_depend_on_row_order_or_repetition() -> None:
    first = choose_host_sites(hand_costs(), pd.Series(DEMAND), CANDIDATES, ["E"], n_sites=2, coverage_min=10)
    shuffled_costs = hand_costs().sample(frac=1, random_state=3)
    shuffled_candidates = CANDIDATES.sample(frac=1, random_state=4)
    shuffled_demand = pd.Series(DEMAND).sample(frac=1, random_state=5)
    for _ in range(2):
        again = choose_host_sites(shuffled_costs, shuffled_demand, shuffled_candidates, ["E"], n_sites=2,
                                  coverage_min=10)
        pd.testing.assert_frame_equal(again, first)


@pytest.mark.parametrize(("ids", "expected"), [(["b", "a"], "a"), ([10, 9], 9)])
def test_equal_candidates_are_broken_by_the_smaller_id(ids: list[Hashable], expected: Hashable) -> None:
    reach = {ids[0]: {"x": 1.0}, ids[1]: {"x": 1.0}}
    candidates = pd.DataFrame({"external_id": ids})
    result = choose_host_sites(cost_table(reach, ["x"]), pd.Series({"x": 5}), candidates, [], n_sites=1,
                               coverage_min=10)
    assert result[M.SITE_ID].tolist() == [expected]


def test_no_candidates_gives_an_empty_result_with_a_note() -> None:
    empty = CANDIDATES.iloc[0:0]
    result = choose_host_sites(hand_costs(), pd.Series(DEMAND), empty, ["E"], n_sites=2, coverage_min=10)
    assert result.empty and list(result.columns) == list(M.SITE_COLUMNS)
    assert result.attrs["total_newly_covered"] == 0.0
    assert "no candidate" in result.attrs["note"]


def test_candidates_that_are_all_existing_sites_say_so() -> None:
    result = choose_host_sites(hand_costs(), pd.Series(DEMAND), CANDIDATES,
                               ["E", "c1", "c2", "c3", "c4", "c5"], n_sites=1, coverage_min=10)
    assert result.empty and result.attrs["total_newly_covered"] == 0.0
    assert result.attrs["note"] == "every candidate (5) is already an existing site"


def test_asking_for_more_sites_than_candidates_chooses_them_all() -> None:
    result = choose_host_sites(hand_costs(), pd.Series(DEMAND), CANDIDATES, ["E"], n_sites=9, coverage_min=10)
    assert chosen(result) == ("c1", "c2", "c3", "c4", "c5")
    assert result.attrs["total_newly_covered"] == 180.0
    assert "all chosen" in result.attrs["note"]


def test_a_candidate_that_is_an_existing_site_is_left_out() -> None:
    result = choose_host_sites(hand_costs(), pd.Series(DEMAND), CANDIDATES, ["E", "c3"], n_sites=1,
                               coverage_min=10)
    # c3 already covers a3 and a5; of the rest, c4 newly covers a4 + a6 = 80, c2 only a4 = 50.
    assert chosen(result) == ("c4",)
    assert result.attrs["total_newly_covered"] == 80.0
    assert "existing sites" in result.attrs["note"]


def test_the_cut_off_decides_coverage() -> None:
    # At 5 minutes: E covers a1 only; c1 reaches a1, a2; c2 a3; c3 a5; c4 a4, a6.
    result = choose_host_sites(hand_costs(), pd.Series(DEMAND), CANDIDATES, ["E"], n_sites=1, coverage_min=5)
    assert chosen(result) == ("c1",)
    assert result.attrs["total_newly_covered"] == 80.0


def test_bad_host_inputs_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        choose_host_sites(hand_costs(), pd.Series({"a1": -1}), CANDIDATES, [], n_sites=-1, coverage_min=0)
    assert {p.field for p in caught.value.problems} == {"demand", "n_sites", "coverage_min"}
    with pytest.raises(ValidationError, match="minutes"):
        choose_host_sites(hand_costs().drop(columns="minutes"), pd.Series(DEMAND), CANDIDATES, [], n_sites=1)
    with pytest.raises(TypeError, match="dict"):
        choose_host_sites(hand_costs(), DEMAND, CANDIDATES, [], n_sites=1)  # type: ignore[arg-type]
