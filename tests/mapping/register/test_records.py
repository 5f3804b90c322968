"""The register: bulk upserts with their counts and history, optimistic locking, and queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest
from sqlalchemy import func, select

from mapping import schema as S
from mapping.errors import NotFoundError, StaleEditError
from mapping.register.records import (
    assets_frame,
    history,
    organisation_ids,
    update_record,
    upsert_records,
)
from mapping.store.database import Store
from mapping.store.models import Asset, Organisation, RecordHistory


def assets(*rows: tuple[str, str, str], **columns: list[object]) -> pd.DataFrame:
    """Give asset rows (external id, name, category) at Stratford, with extra columns."""
    frame = pd.DataFrame(rows, columns=[S.EXTERNAL_ID, S.NAME, S.CATEGORY])
    frame[S.LON], frame[S.LAT] = 0.011631, 51.54321
    for column, values in columns.items():
        frame[column] = values
    return frame


def upsert(store: Store, record_type: str, frame: pd.DataFrame, by: str = "tester"):  # type: ignore[no-untyped-def]
    with store.transaction() as session:
        counts = upsert_records(session, record_type, frame, changed_by=by)
    return counts.inserted, counts.updated, counts.unchanged


def record_id(store: Store, external_id: str) -> int:
    with store.transaction() as session:
        return int(session.scalar(select(Asset.id).where(Asset.external_id == external_id)))


def history_of(store: Store, external_id: str) -> pd.DataFrame:
    with store.transaction() as session:
        return history(session, "asset", record_id(store, external_id))


def history_rows(store: Store) -> int:
    with store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(RecordHistory)) or 0)


@pytest.fixture
def three(store: Store) -> Store:
    upsert(store, "asset", assets(("a", "Hall", "community_space"), ("b", "Cafe", "memory_cafe"),
                                  ("c", "Peer group", "peer_group"), capacity=[10.0, None, 5.0]))
    return store


# --- upsert_records ------------------------------------------------------------------

def test_first_upsert_inserts_and_records_a_create_for_each(three: Store) -> None:
    assert history_rows(three) == 3
    past = history_of(three, "b")
    assert past[["version", "action", "changed_by"]].values.tolist() == [[1, "create", "tester"]]
    assert past["changes"].iloc[0] == {}
    with three.transaction() as session:
        got = assets_frame(session).set_index(S.EXTERNAL_ID)
    assert got["version"].tolist() == [1, 1, 1]
    assert got.loc["a", S.CAPACITY] == 10.0 and pd.isna(got.loc["b", S.CAPACITY])
    assert got.loc["a", S.STATUS] == "active" and got.loc["a", S.SOURCE] == "import"  # defaults


def test_the_same_rows_again_change_nothing(three: Store) -> None:
    counts = upsert(three, "asset", assets(("a", "Hall", "community_space"),
                                           ("b", "Cafe", "memory_cafe"),
                                           ("c", "Peer group", "peer_group"),
                                           capacity=[10.0, None, 5.0]))
    assert counts == (0, 0, 3)
    assert history_rows(three) == 3


def test_counts_for_a_mix_of_new_changed_and_unchanged(three: Store) -> None:
    counts = upsert(three, "asset", assets(("a", "Hall", "community_space"),
                                           ("b", "Memory cafe", "memory_cafe"),
                                           ("d", "New group", "peer_group")),
                    by="officer")
    assert counts == (1, 1, 1)
    past = history_of(three, "b")
    assert past["version"].tolist() == [2, 1]
    assert past.iloc[0][["action", "changed_by"]].tolist() == ["import", "officer"]
    assert past["changes"].iloc[0] == {S.NAME: ["Cafe", "Memory cafe"]}
    with three.transaction() as session:
        got = assets_frame(session).set_index(S.EXTERNAL_ID)
    assert got["version"].to_dict() == {"a": 1, "b": 2, "c": 1, "d": 1}
    # Columns the frame does not carry are left as they were.
    assert got.loc["a", S.CAPACITY] == 10.0 and got.loc["c", S.CAPACITY] == 5.0


def test_clearing_a_value_is_a_change_from_old_to_none(three: Store) -> None:
    counts = upsert(three, "asset", assets(("a", "Hall", "community_space"), capacity=[None]))
    assert counts == (0, 1, 0)
    assert history_of(three, "a")["changes"].iloc[0] == {S.CAPACITY: [10.0, None]}


def test_the_same_instant_in_another_time_zone_is_not_a_change(store: Store) -> None:
    when = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    upsert(store, "asset", assets(("a", "Hall", "community_space"), verified_at=[when]))
    bst = when.astimezone(timezone(timedelta(hours=1)))
    assert upsert(store, "asset", assets(("a", "Hall", "community_space"),
                                         verified_at=[bst])) == (0, 0, 1)
    later = upsert(store, "asset", assets(("a", "Hall", "community_space"),
                                          verified_at=[when + timedelta(minutes=1)]))
    assert later == (0, 1, 0)
    changes = history_of(store, "a")["changes"].iloc[0]
    assert list(changes) == [S.VERIFIED_AT]
    # SQLite hands the stored value back without its zone; it was saved as UTC.
    old, new = (pd.Timestamp(v) for v in changes[S.VERIFIED_AT])
    assert (old if old.tz else old.tz_localize("UTC")) == pd.Timestamp("2024-05-01 10:30", tz="UTC")
    assert new == pd.Timestamp("2024-05-01 10:31", tz="UTC")


# --- update_record -------------------------------------------------------------------

def test_an_edit_bumps_the_version_and_records_old_and_new(three: Store) -> None:
    rid = record_id(three, "a")
    with three.transaction() as session:
        version = update_record(session, "asset", rid, {S.NAME: "Stratford Hall", S.CAPACITY: 12.0},
                                expected_version=1, changed_by="officer")
    assert version == 2
    past = history_of(three, "a")
    assert past.iloc[0][["version", "action", "changed_by"]].tolist() == [2, "edit", "officer"]
    assert past["changes"].iloc[0] == {S.NAME: ["Hall", "Stratford Hall"], S.CAPACITY: [10.0, 12.0]}


def test_a_stale_edit_is_refused_and_changes_nothing(three: Store) -> None:
    rid = record_id(three, "a")
    with three.transaction() as session:
        update_record(session, "asset", rid, {S.NAME: "First edit"}, expected_version=1,
                      changed_by="alice")
    with three.transaction() as session:
        before = assets_frame(session)
    rows_before = history_rows(three)
    with pytest.raises(StaleEditError, match="now version 2, you started from version 1"):
        with three.transaction() as session:
            update_record(session, "asset", rid, {S.NAME: "Second edit"}, expected_version=1,
                          changed_by="bob")
    with three.transaction() as session:
        after = assets_frame(session)
    pd.testing.assert_frame_equal(after, before)
    assert after.set_index(S.EXTERNAL_ID).loc["a", S.NAME] == "First edit"
    assert history_rows(three) == rows_before


def test_an_edit_that_changes_nothing_keeps_the_version(three: Store) -> None:
    rid = record_id(three, "a")
    with three.transaction() as session:
        assert update_record(session, "asset", rid, {S.NAME: "Hall", S.CAPACITY: 10},
                             expected_version=1, changed_by="officer") == 1
    assert history_rows(three) == 3


def test_editing_a_missing_record_says_so(store: Store) -> None:
    with pytest.raises(NotFoundError, match="asset 999 does not exist"):
        with store.transaction() as session:
            update_record(session, "asset", 999, {S.NAME: "x"}, expected_version=1,
                          changed_by="officer")


def test_history_is_newest_first(three: Store) -> None:
    rid = record_id(three, "c")
    upsert(three, "asset", assets(("c", "Peer support group", "peer_group")), by="import job")
    with three.transaction() as session:
        update_record(session, "asset", rid, {S.STATUS: "closed"}, expected_version=2,
                      changed_by="officer")
    past = history_of(three, "c")
    assert past["version"].tolist() == [3, 2, 1]
    assert past["action"].tolist() == ["edit", "import", "create"]
    assert past["changed_by"].tolist() == ["officer", "import job", "tester"]
    assert past["changes"].tolist()[:2] == [{S.STATUS: ["active", "closed"]},
                                            {S.NAME: ["Peer group", "Peer support group"]}]
    # Another record's history is not mixed in.
    assert history_of(three, "a")["version"].tolist() == [1]


# --- queries -------------------------------------------------------------------------

@pytest.fixture
def register(store: Store) -> Store:
    """Two organisations (one generative, one extractive) and four assets, one with no organisation."""
    upsert(store, "organisation", pd.DataFrame({
        S.EXTERNAL_ID: ["coop", "plc"], S.NAME: ["Care Co-op", "Big Care plc"],
        S.OWNERSHIP_CLASS: ["generative", "extractive"], S.NATIONAL_FOOTPRINT: [False, True],
    }))
    with store.transaction() as session:
        ids = organisation_ids(session, ["coop", "plc", "nobody", ""])
    assert set(ids) == {"coop", "plc"}
    upsert(store, "asset", assets(
        ("a1", "Co-op homecare", "homecare"), ("a2", "Co-op cafe", "memory_cafe"),
        ("a3", "Plc homecare", "homecare"), ("a4", "Church hall", "community_space"),
        organisation_id=[ids["coop"], ids["coop"], ids["plc"], None],
        status=["active", "closed", "active", "proposed"]))
    return store


def query(store: Store, **filters: list[str]) -> list[str]:
    with store.transaction() as session:
        return sorted(assets_frame(session, **filters)[S.EXTERNAL_ID])


def test_assets_frame_filters(register: Store) -> None:
    assert query(register) == ["a1", "a2", "a3", "a4"]
    assert query(register, status=["active"]) == ["a1", "a3"]
    assert query(register, status=["active", "proposed"]) == ["a1", "a3", "a4"]
    assert query(register, category=["homecare"]) == ["a1", "a3"]
    assert query(register, ownership_class=["generative"]) == ["a1", "a2"]
    assert query(register, ownership_class=["extractive"]) == ["a3"]
    assert query(register, ownership_class=["unknown"]) == ["a4"]
    assert query(register, ownership_class=["extractive", "unknown"]) == ["a3", "a4"]
    assert query(register, status=["active"], ownership_class=["generative"]) == ["a1"]
    assert query(register, category=["homecare"], ownership_class=["unknown"]) == []


def test_assets_frame_carries_the_organisation_and_a_point(register: Store) -> None:
    with register.transaction() as session:
        got = assets_frame(session).set_index(S.EXTERNAL_ID)
    assert got.loc["a1", [S.ORGANISATION_ID, "organisation_name", S.OWNERSHIP_CLASS]].tolist() == [
        "coop", "Care Co-op", "generative"]
    assert got.loc["a3", S.NATIONAL_FOOTPRINT] == True  # noqa: E712  (stored as a boolean)
    assert pd.isna(got.loc["a4", S.ORGANISATION_ID])
    assert got.loc["a4", S.OWNERSHIP_CLASS] == "unknown"
    assert got.crs == S.STORAGE_CRS
    assert (got.geometry.x == got[S.LON]).all() and (got.geometry.y == got[S.LAT]).all()


def test_organisation_upserts_count_and_keep_history(register: Store) -> None:
    counts = upsert(register, "organisation", pd.DataFrame({
        S.EXTERNAL_ID: ["coop", "plc"], S.NAME: ["Care Co-op", "Big Care Group plc"]}))
    assert counts == (0, 1, 1)
    with register.transaction() as session:
        plc = session.scalar(select(Organisation).where(Organisation.external_id == "plc"))
        assert plc is not None and plc.version == 2
        past = history(session, "organisation", plc.id)
    assert past["changes"].iloc[0] == {S.NAME: ["Big Care plc", "Big Care Group plc"]}


def test_frames_pick_records_by_id(demo_store) -> None:  # type: ignore[no-untyped-def]
    from mapping.register.records import assets_frame, organisations_frame

    with demo_store.transaction() as session:
        all_assets = assets_frame(session)
        some = assets_frame(session, ids=list(all_assets["id"].iloc[:3]))
        assert list(some["id"]) == list(all_assets["id"].iloc[:3])
        assert assets_frame(session, ids=[]).empty
        org = organisations_frame(session).iloc[0]
        assert list(organisations_frame(session, ids=[int(org["id"])])["name"]) == [org["name"]]
