"""Micro-fund plans: gap ranking, grant allocation, host sites in the plan, exports.

Every instance is small enough to work out by hand (the MCLP itself is tested in
test_mclp.py, against brute force).
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import re
from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import pandas as pd
import pytest

from mapping.errors import ValidationError
from mapping.funding import plan as F
from mapping.funding.giving360 import grants_to_360giving
from mapping.funding.plan import (
    FundingSettings,
    plan_microfund,
    plan_to_csv,
    rank_gaps,
)
from tests.mapping.funding.test_mclp import cost_table

# --- settings -----------------------------------------------------------------------------

def test_every_setting_has_one_line_of_help() -> None:
    tree = ast.parse(inspect.getsource(FundingSettings))
    body = tree.body[0].body  # type: ignore[attr-defined]
    documented = {
        node.target.id for node, after in zip(body, body[1:], strict=False)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
        and str(after.value.value).strip()
    }
    assert documented == {f.name for f in fields(FundingSettings)}


def test_settings_are_frozen_and_default_to_500_pound_grants_and_10_minutes() -> None:
    settings = FundingSettings(budget_gbp=1000)
    assert (settings.grant_size_gbp, settings.coverage_min) == (500.0, 10.0)
    with pytest.raises(FrozenInstanceError):
        settings.budget_gbp = 5  # type: ignore[misc]


def test_bad_settings_report_every_problem_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        FundingSettings(budget_gbp=-1, grant_size_gbp=0, coverage_min=math.nan)
    assert {p.field for p in caught.value.problems} == {"budget_gbp", "grant_size_gbp", "coverage_min"}


@pytest.mark.parametrize(
    ("budget", "grant", "expected"),
    [(0, 500, 0), (499, 500, 0), (500, 500, 1), (1499, 500, 2), (1500, 500, 3), (0.3, 0.1, 3),
     (1000, 333.33, 3)],
)
def test_grants_affordable_is_the_floor_of_budget_over_grant(
    budget: float, grant: float, expected: int
) -> None:
    assert FundingSettings(budget_gbp=budget, grant_size_gbp=grant).grants_affordable == expected


# --- rank_gaps ----------------------------------------------------------------------------

@pytest.fixture
def rollup() -> pd.DataFrame:
    return pd.DataFrame({
        "patch": ["P1", "P2", "P1", "P3", "P2"],
        "category": ["memory_cafe", "memory_cafe", "peer_group", "peer_group", "peer_group"],
        "people_in_gap_areas": [300, 200, 200, 0, 100],
        "people_beyond_cutoff": [50, 0, 120, 0, 10],
        "deprivation_weight": [1.0, 2.0, 1.0, 1.0, 1.0],
    })


def test_gaps_rank_by_unmet_demand_then_people_beyond_the_cutoff(rollup: pd.DataFrame) -> None:
    ranked = rank_gaps(rollup, settings=FundingSettings(budget_gbp=0))
    # 300; then two rows of 200, where P1's 120 people beyond the cut-off put it first; then 100.
    # P3 has no unmet demand: it is not a gap and is left out.
    assert list(zip(ranked["rank"], ranked["patch"], ranked["category"], strict=True)) == [
        (1, "P1", "memory_cafe"), (2, "P1", "peer_group"), (3, "P2", "memory_cafe"), (4, "P2", "peer_group"),
    ]
    assert ranked["unmet_demand"].tolist() == [300, 200, 200, 100]


def test_full_ties_are_broken_by_patch_then_category() -> None:
    rollup = pd.DataFrame({"patch": ["B", "A", "A"], "category": ["x", "y", "x"],
                           "people_in_gap_areas": [5, 5, 5], "people_beyond_cutoff": [1, 1, 1]})
    ranked = rank_gaps(rollup, settings=FundingSettings(budget_gbp=0))
    assert list(zip(ranked["patch"], ranked["category"], strict=True)) == [("A", "x"), ("A", "y"), ("B", "x")]


@pytest.mark.parametrize(
    ("budget", "grants", "remainder", "unallocated"),
    [(499, [0, 0, 0, 0], 499, 0), (500, [1, 0, 0, 0], 0, 0), (1499, [1, 1, 0, 0], 499, 0),
     (1500, [1, 1, 1, 0], 0, 0), (5000, [1, 1, 1, 1], 3000, 6)],
)
def test_one_grant_per_gap_goes_down_the_ranking_until_the_money_runs_out(
    rollup: pd.DataFrame, budget: float, grants: list[int], remainder: float, unallocated: int
) -> None:
    ranked = rank_gaps(rollup, settings=FundingSettings(budget_gbp=budget))
    assert ranked["grants"].tolist() == grants
    assert ranked["amount_gbp"].tolist() == [500.0 * g for g in grants]
    assert ranked.attrs["remainder_gbp"] == remainder
    assert ranked.attrs["unallocated_grants"] == unallocated
    assert ranked["amount_gbp"].sum() <= budget


def test_deprivation_weighting_multiplies_people_by_the_weight(rollup: pd.DataFrame) -> None:
    ranked = rank_gaps(rollup, settings=FundingSettings(budget_gbp=500), weight_by_deprivation=True)
    top = ranked.iloc[0]
    assert (top["patch"], top["category"]) == ("P2", "memory_cafe")
    assert (top["unmet_demand"], top["grants"]) == (400, 1)


def test_weighting_without_a_weight_column_is_refused(rollup: pd.DataFrame) -> None:
    with pytest.raises(ValidationError) as caught:
        rank_gaps(rollup.drop(columns="deprivation_weight"), settings=FundingSettings(budget_gbp=0),
                  weight_by_deprivation=True)
    assert [p.field for p in caught.value.problems] == ["deprivation_weight"]


def test_categories_in_scope_filter_the_plan(rollup: pd.DataFrame) -> None:
    ranked = rank_gaps(rollup, settings=FundingSettings(budget_gbp=500), categories=["peer_group", "respite"])
    assert set(ranked["category"]) == {"peer_group"}
    assert ranked.iloc[0]["patch"] == "P1"
    assert ranked.attrs["categories_without_gaps"] == ["respite"]
    one = rank_gaps(rollup, settings=FundingSettings(budget_gbp=0), categories="peer_group")
    assert set(one["category"]) == {"peer_group"}


def test_a_one_category_rollup_indexed_by_patch_is_accepted(rollup: pd.DataFrame) -> None:
    one = rollup[rollup["category"] == "peer_group"].drop(columns="category").set_index("patch")
    one.attrs["category"] = "peer_group"
    ranked = rank_gaps(one, settings=FundingSettings(budget_gbp=500))
    assert list(zip(ranked["patch"], ranked["category"], ranked["grants"], strict=True)) == [
        ("P1", "peer_group", 1), ("P2", "peer_group", 0)]


def test_a_bad_rollup_reports_every_problem(rollup: pd.DataFrame) -> None:
    bad = pd.concat([rollup, rollup.iloc[[0]]], ignore_index=True)
    bad.loc[1, "people_in_gap_areas"] = -3
    bad.loc[2, "people_beyond_cutoff"] = None
    with pytest.raises(ValidationError) as caught:
        rank_gaps(bad, settings=FundingSettings(budget_gbp=0))
    assert sorted((p.row, p.field) for p in caught.value.problems) == [
        (2, "people_in_gap_areas"), (3, "people_beyond_cutoff"), (6, None),
    ]


def test_rank_gaps_does_not_change_its_input(rollup: pd.DataFrame) -> None:
    before = rollup.copy()
    rank_gaps(rollup, settings=FundingSettings(budget_gbp=1000), weight_by_deprivation=True)
    pd.testing.assert_frame_equal(rollup, before)


# --- plan_microfund -----------------------------------------------------------------------
# Patch E05013912 (a ward code): a1, a2, a3. Patch "Forest Gate": a4, a5, a6.
# The memory café E reaches a1. s1 reaches a2 and a4; s2 reaches a3, a4, a6; s3 reaches a4, a5.

@pytest.fixture
def plan_inputs() -> dict[str, pd.DataFrame]:
    areas = pd.DataFrame({
        "code": ["a1", "a2", "a3", "a4", "a5", "a6"],
        "patch": ["E05013912"] * 3 + ["Forest Gate"] * 3,
        "population": [100, 80, 60, 50, 40, 30],
        "deprivation_weight": [1.0, 2.0, 1.0, 1.0, 1.0, 1.0],
    })
    reach = {"E": {"a1": 4}, "s1": {"a2": 4, "a4": 7}, "s2": {"a3": 5, "a4": 8, "a6": 6},
             "s3": {"a4": 9, "a5": 3}}
    costs = cost_table(reach, areas["code"].tolist())
    costs.attrs["method"] = "straight line × 1.3 (no network)"
    candidates = pd.DataFrame({
        "external_id": ["s1", "s2", "s3"],
        "name": ["Library", "Church hall", "Youth club"],
        "organisation_external_id": ["GB-CHC-1234567", None, "ORG 7"],
        "organisation_name": ["Library Trust", None, "Youth Club Ltd"],
    })
    existing = pd.DataFrame({"external_id": ["E"], "category": ["memory_cafe"]})
    rollup = pd.DataFrame({
        "patch": ["E05013912", "Forest Gate", "E05013912"],
        "category": ["memory_cafe", "memory_cafe", "peer_group"],
        "people_in_gap_areas": [140, 120, 30],
        "people_beyond_cutoff": [60, 120, 0],
        "deprivation_weight": [1.0, 1.0, 1.0],
    })
    return {"rollup": rollup, "costs": costs, "areas": areas, "candidates": candidates, "existing": existing}


def make_plan(inputs: dict[str, pd.DataFrame], budget: float = 1000, **options: object) -> pd.DataFrame:
    return plan_microfund(inputs["rollup"], inputs["costs"], inputs["areas"], inputs["candidates"],
                          inputs["existing"], settings=FundingSettings(budget_gbp=budget), **options)  # type: ignore[arg-type]


def test_the_plan_ranks_funds_and_suggests_hosts(plan_inputs: dict[str, pd.DataFrame]) -> None:
    plan = make_plan(plan_inputs)
    assert list(plan.columns[: len(F.PLAN_COLUMNS)]) == list(F.PLAN_COLUMNS)
    assert plan["patch"].tolist() == ["E05013912", "Forest Gate", "E05013912"]
    assert plan["grants"].tolist() == [1, 1, 0]
    assert plan["amount_gbp"].tolist() == [500.0, 500.0, 0.0]
    # Rank 1: E covers a1; s1 newly covers a2 (80), s2 a3 (60).
    first = plan.iloc[0]
    assert (first["host_site_id"], first["host_site_name"]) == ("s1", "Library")
    assert first["newly_covered_people"] == 80
    assert first["host_organisation_id"] == "GB-CHC-1234567"
    assert first["host_organisation_name"] == "Library Trust"
    # Rank 2: s1, the memory-café host chosen above, now covers a4 too; so s3 adds a5 (40)
    # and s2 adds a6 (30). Without counting s1, s3 would have added a4 + a5 (90).
    second = plan.iloc[1]
    assert (second["host_site_id"], second["newly_covered_people"]) == ("s3", 40)
    # Rank 3 is not funded: no host, nothing newly covered.
    assert pd.isna(plan.iloc[2]["host_site_id"]) and math.isnan(plan.iloc[2]["newly_covered_people"])
    assert plan.attrs["travel_cost_method"] == "straight line × 1.3 (no network)"
    assert set(plan["travel_cost_method"]) == {"straight line × 1.3 (no network)"}  # survives a CSV export
    assert plan.attrs["grants_allocated"] == 2


def test_a_gap_no_community_space_can_reach_keeps_its_grant_without_a_host(
    plan_inputs: dict[str, pd.DataFrame],
) -> None:
    # Only s3, which reaches nothing in the first patch.
    plan_inputs["candidates"] = plan_inputs["candidates"].iloc[[2]]
    plan = make_plan(plan_inputs)
    first = plan.iloc[0]
    assert first["grants"] == 1 and pd.isna(first["host_site_id"])
    assert first["newly_covered_people"] == 0
    assert first["note"].startswith("no host suggested")


def test_the_plan_counts_its_candidates_and_the_hosts_it_suggests(
    plan_inputs: dict[str, pd.DataFrame],
) -> None:
    plan = make_plan(plan_inputs)
    assert (plan.attrs["candidates"], plan.attrs["candidates_already_sites"],
            plan.attrs["hosts_suggested"]) == (3, 0, 2)
    # s1 provides memory cafés already: it cannot host one, and is counted so.
    plan_inputs["existing"] = pd.DataFrame({"external_id": ["E", "s1"],
                                            "category": ["memory_cafe", "memory_cafe"]})
    assert make_plan(plan_inputs).attrs["candidates_already_sites"] == 1


def test_when_every_candidate_already_provides_the_category_each_grant_says_so(
    plan_inputs: dict[str, pd.DataFrame],
) -> None:
    # A community-space gap: the candidate community spaces are the category's own sites.
    plan_inputs["existing"] = pd.DataFrame({"external_id": ["E", "s1", "s2", "s3"],
                                            "category": ["memory_cafe"] * 4})
    plan = make_plan(plan_inputs)
    funded = plan[plan["grants"] > 0]
    assert len(funded) == 2 and funded["host_site_id"].isna().all()
    assert set(funded["note"]) == {
        "no host suggested: every candidate community space is already a site of this category"}
    assert (plan.attrs["candidates_already_sites"], plan.attrs["hosts_suggested"]) == (3, 0)


def test_a_longer_coverage_reaches_further(plan_inputs: dict[str, pd.DataFrame]) -> None:
    # At 4 minutes s1 still reaches a2 (4 min); at 3 minutes nothing but s3's a5 is in reach.
    short = plan_microfund(plan_inputs["rollup"], plan_inputs["costs"], plan_inputs["areas"],
                           plan_inputs["candidates"], plan_inputs["existing"],
                           settings=FundingSettings(budget_gbp=1000, coverage_min=3))
    assert short.attrs["coverage_min"] == 3.0
    assert short.iloc[0]["note"] == ("no host suggested: no community space within 3 minutes' "
                                     "walk reaches people that the existing sites leave out")
    assert make_plan(plan_inputs).iloc[0]["host_site_id"] == "s1"


def test_deprivation_weighting_reaches_the_host_choice(plan_inputs: dict[str, pd.DataFrame]) -> None:
    plan = make_plan(plan_inputs, weight_by_deprivation=True)
    first = plan.iloc[0]
    # a2 (80 people, weight 2) makes s1 worth 160; the people count stays 80.
    assert first["host_site_id"] == "s1"
    assert (first["newly_covered_demand"], first["newly_covered_people"]) == (160, 80)


# --- exports ------------------------------------------------------------------------------

REQUIRED_GRANT_FIELDS = ("id", "title", "description", "currency", "amountAwarded", "awardDate",
                         "recipientOrganization", "fundingOrganization")


def test_the_360giving_package_has_every_required_field(plan_inputs: dict[str, pd.DataFrame]) -> None:
    plan = make_plan(plan_inputs)
    package = grants_to_360giving(plan, funder_org_id="GB-LAE-KWL", funder_name="Knowsley Council",
                                  award_date="2025-04-01", id_prefix="kmbc")
    json.dumps(package)  # plain JSON types only
    grants = package["grants"]
    assert len(grants) == 2
    for grant in grants:
        assert all(grant.get(field) not in (None, "", []) for field in REQUIRED_GRANT_FIELDS), grant
        assert grant["id"].startswith("360G-kmbc-")
        assert grant["currency"] == "GBP" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", grant["awardDate"])
        assert len(grant["title"]) <= 140
        for org in grant["recipientOrganization"] + grant["fundingOrganization"]:
            assert isinstance(org["id"], str) and org["id"] and isinstance(org["name"], str) and org["name"]
    assert len({g["id"] for g in grants}) == 2
    assert sum(g["amountAwarded"] for g in grants) == plan["amount_gbp"].sum() == 1000
    assert grants[0]["fundingOrganization"] == [{"id": "GB-LAE-KWL", "name": "Knowsley Council"}]
    # An org-id is kept; an internal organisation id goes under the funder's 360G prefix.
    assert grants[0]["recipientOrganization"] == [{"id": "GB-CHC-1234567", "name": "Library Trust"}]
    assert grants[1]["recipientOrganization"] == [{"id": "360G-kmbc-ORG-ORG-7", "name": "Youth Club Ltd"}]
    # A ward code is a geoCode; a patch name is not.
    assert grants[0]["beneficiaryLocation"] == [
        {"name": "E05013912", "countryCode": "GB", "geoCode": "E05013912", "geoCodeType": "WD"}]
    assert grants[1]["beneficiaryLocation"] == [{"name": "Forest Gate", "countryCode": "GB"}]


def test_a_grant_without_a_host_organisation_is_marked_to_be_awarded(
    plan_inputs: dict[str, pd.DataFrame],
) -> None:
    # Only s2, the church hall, which has no organisation.
    plan_inputs["candidates"] = plan_inputs["candidates"].iloc[[1]]
    plan = make_plan(plan_inputs)
    package = grants_to_360giving(plan, funder_org_id="GB-LAE-KWL", funder_name="Knowsley Council",
                                  award_date="2025-04-01", id_prefix="360G-kmbc")
    [recipient] = package["grants"][0]["recipientOrganization"]
    assert recipient["name"] == "To be awarded: new memory_cafe group meeting at Church hall"
    assert recipient["id"].startswith("360G-kmbc-TBA-")


def test_the_360giving_package_names_the_category_by_its_label(
    plan_inputs: dict[str, pd.DataFrame],
) -> None:
    plan_inputs["candidates"] = plan_inputs["candidates"].iloc[[1]]
    package = grants_to_360giving(make_plan(plan_inputs), funder_org_id="GB-LAE-KWL",
                                  funder_name="Knowsley Council", award_date="2025-04-01",
                                  id_prefix="kmbc", category_labels={"memory_cafe": "Memory café"})
    grant = package["grants"][0]
    assert grant["title"].startswith("Micro-grant: new Memory café group in ")
    assert "To be awarded: new Memory café group" in grant["recipientOrganization"][0]["name"]
    assert "memory_cafe" not in json.dumps(grant, ensure_ascii=False)
    assert grant["id"].endswith("-memory-cafe")  # ids keep the code, as a slug


def test_a_plan_with_no_grants_cannot_be_exported(plan_inputs: dict[str, pd.DataFrame]) -> None:
    plan = make_plan(plan_inputs, budget=100)
    with pytest.raises(ValidationError) as caught:
        grants_to_360giving(plan, funder_org_id="GB-LAE-KWL", funder_name="Knowsley Council",
                            award_date="1 April", id_prefix="kmbc", currency="pounds")
    assert {p.field for p in caught.value.problems} == {"award_date", "currency", None}


def test_the_plan_survives_a_csv_round_trip(plan_inputs: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    plan = make_plan(plan_inputs)
    path = plan_to_csv(plan, tmp_path / "plan.csv")
    back = pd.read_csv(path)

    def plain(frame: pd.DataFrame) -> list[list[object]]:
        rows = frame.astype(object).values.tolist()
        return [[None if pd.isna(v) or v == "" else v for v in row] for row in rows]

    assert list(back.columns) == list(plan.columns)
    assert plain(back) == plain(plan)
