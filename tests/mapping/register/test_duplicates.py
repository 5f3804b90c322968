"""Likely duplicates: name matching by hand, and which records count, on a tiny store."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from mapping.register.duplicates import (
    DUPLICATE_RADIUS_M,
    LikelyDuplicate,
    likely_duplicates,
    name_words,
    names_match,
)
from mapping.register.importers import prepare_assets, write_assets
from mapping.register.submissions import pending, save_submission
from mapping.store.database import Store
from mapping.store.models import Asset

# A point in Stratford, Newham; 0.001 degree of latitude is about 111 m.
LON, LAT = 0.0116, 51.5430


def _assets(store: Store, rows: list[dict[str, object]]) -> None:
    frame = pd.DataFrame([{k: str(v) for k, v in r.items()} for r in rows], dtype=object)
    prepared, problems = prepare_assets(frame)
    write_assets(store, prepared, problems, file="t", rows=len(rows), skip_invalid=False,
                 changed_by="test")


def _submit(store: Store, name: str, *, north_m: float = 0.0, postcode: str | None = None) -> int:
    fields: dict[str, object] = {"kind": "asset", "name": name, "lon": str(LON),
                                 "lat": str(LAT + north_m / 111_200)}
    if postcode:
        fields["postcode"] = postcode
    with store.transaction() as session:
        return save_submission(session, fields).id


def _found(store: Store, **options: object) -> dict[int, list[LikelyDuplicate]]:
    with store.transaction() as session:
        return likely_duplicates(session, pending(session), **options)  # type: ignore[arg-type]


def test_name_words_ignore_case_accents_punctuation_and_filler() -> None:
    assert name_words("The Forest-Gate Memory CAFÉ!") == {"forest", "gate", "memory", "cafe"}
    assert name_words("St Mark's & St John's") == {"st", "marks", "johns"}
    assert name_words("The") == frozenset()


@pytest.mark.parametrize(("a", "b", "same"), [
    ("Forest Gate Memory Café", "The Forest Gate memory cafe", True),   # same words
    ("Red Lion Café", "Red Lion", True),                                # one inside the other
    ("Katherine Road Community Center", "Katherine Road Community Centre", True),  # spelling
    ("Forest Gate lunch club", "Forest Gate Memory Café", False),       # 2 of 6 words shared
    ("Canning Town Community Links",
     "Canning Town Community Neighbourhood Centre and Library", False),  # 3 of 7
    ("Lunch club", "Chess club", False),
    ("The", "The", False),                                               # nothing to compare
])
def test_names_match_by_hand(a: str, b: str, same: bool) -> None:
    assert names_match(a, b) is same
    assert names_match(b, a) is same


def test_an_asset_nearby_with_a_similar_name_is_a_likely_duplicate(store: Store) -> None:
    _assets(store, [
        {"external_id": "near", "name": "Red Lion", "category": "community_space",
         "lon": LON, "lat": LAT + 100 / 111_200},
        {"external_id": "far", "name": "Red Lion", "category": "community_space",
         "lon": LON, "lat": LAT + 400 / 111_200},
        {"external_id": "other", "name": "Plaistow Library", "category": "community_space",
         "lon": LON, "lat": LAT},
    ])
    sid = _submit(store, "The Red Lion café")
    [found] = _found(store)[sid]
    assert (found.record, found.name, found.category, found.same_postcode) == (
        "asset", "Red Lion", "community_space", False)
    assert found.distance_m == pytest.approx(100, abs=2)
    assert found.describe() == f"asset #{found.id} 'Red Lion' (100 m away)"
    assert DUPLICATE_RADIUS_M == 250.0 and _found(store, radius_m=500)[sid][1].name == "Red Lion"


def test_the_same_postcode_counts_however_far_and_a_closed_asset_does_not(store: Store) -> None:
    _assets(store, [
        {"external_id": "pc", "name": "Memory café", "category": "memory_cafe",
         "postcode": "E15 4EH", "lon": LON + 0.01, "lat": LAT},  # about 700 m east
        {"external_id": "gone", "name": "Memory café", "category": "memory_cafe",
         "lon": LON, "lat": LAT, "status": "closed"},
    ])
    sid = _submit(store, "Memory Cafe", postcode="e15 4eh")
    [found] = _found(store)[sid]
    assert found.same_postcode and found.distance_m > 600
    with store.transaction() as session:
        assert session.scalar(select(Asset.status).where(Asset.external_id == "gone")) == "closed"


def test_two_pending_submissions_alike_name_each_other_but_not_themselves(store: Store) -> None:
    one = _submit(store, "Forest Gate Memory Café")
    two = _submit(store, "The Forest Gate memory cafe", north_m=20)
    three = _submit(store, "Chess club")
    found = _found(store)
    assert [(d.record, d.id) for d in found[one]] == [("submission", two)]
    assert [(d.record, d.id) for d in found[two]] == [("submission", one)]
    assert found[three] == []
    assert _found(store, assets_only=True)[one] == []


def test_assets_come_before_submissions_and_another_name_can_be_compared(store: Store) -> None:
    _assets(store, [{"external_id": "a", "name": "Tea and Talk", "category": "peer_group",
                     "lon": LON, "lat": LAT + 200 / 111_200}])
    one = _submit(store, "Tea and talk")
    two = _submit(store, "Tea & Talk", north_m=10)
    assert [d.record for d in _found(store)[one]] == ["asset", "submission"]
    with store.transaction() as session:
        [three] = [s for s in pending(session) if s.id == two]
        renamed = likely_duplicates(session, [three], assets_only=True,
                                    names={two: ["Something else"]})
    assert [d.name for d in renamed[two]] == ["Tea and Talk"]  # the submitted name still counts
    with store.transaction() as session:
        assert likely_duplicates(session, []) == {}
