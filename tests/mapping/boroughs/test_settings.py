"""The borough's settings: the living-wage rule by region, the funder, and one borough a store."""

from __future__ import annotations

import pytest

from mapping.boroughs.settings import (
    Borough,
    BoroughMismatchError,
    borough_for,
    funder,
    living_wage_rule,
    save_borough,
    store_borough,
)
from mapping.config import Settings
from mapping.errors import ValidationError
from mapping.store.database import Store

KNOWSLEY = Borough(code="E08000011", name="Knowsley", region="North West")


def test_the_living_wage_follows_the_region() -> None:
    london = Borough(code="E09000025", name="Newham", region="London")
    assert living_wage_rule(london).startswith("pays the London Living Wage (£14.80 an hour")
    assert living_wage_rule(KNOWSLEY).startswith("pays the Real Living Wage (£13.45 an hour")
    assert "Living Wage Foundation" in living_wage_rule(KNOWSLEY)
    assert living_wage_rule(None).startswith("pays the Real Living Wage")


def test_the_funder_is_the_boroughs_or_a_labelled_placeholder() -> None:
    assert funder(Borough(code="E08000011", name="Knowsley", funder_org_id="GB-LAE-KNO",
                          full_name="Knowsley Metropolitan Borough Council"), id_prefix="plan") \
        == ("GB-LAE-KNO", "Knowsley Metropolitan Borough Council")
    assert funder(KNOWSLEY, id_prefix="plan") == ("360G-plan-LA-E08000011", "Knowsley")


def test_a_borough_is_checked() -> None:
    with pytest.raises(ValidationError) as info:
        Borough(code="E01000001", name=" ", wording={"slogan": "x"})
    assert {p.field for p in info.value.problems} == {"code", "name", "wording"}


def test_a_store_holds_one_borough_unless_told(store: Store) -> None:
    with store.transaction() as session:
        assert store_borough(session) is None
        save_borough(session, KNOWSLEY)
    with store.transaction() as session, pytest.raises(BoroughMismatchError, match="holds Knowsley"):
        save_borough(session, Borough(code="E08000013", name="St Helens"))
    with store.transaction() as session:
        save_borough(session, Borough(code="E08000013", name="St Helens"), replace=True)
        assert store_borough(session).name == "St Helens"  # type: ignore[union-attr]


def test_the_borough_setting_must_match_the_store(store: Store) -> None:
    with store.transaction() as session:
        save_borough(session, KNOWSLEY)
        assert borough_for(session, Settings(borough_code="E08000011")) == store_borough(session)
        with pytest.raises(BoroughMismatchError, match="MAPPING_BOROUGH_CODE is E09000025"):
            borough_for(session, Settings(borough_code="E09000025"))
