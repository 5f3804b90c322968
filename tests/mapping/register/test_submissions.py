"""Community submissions: validation, the pending queue, approval through the import path."""

from __future__ import annotations

import re

import pytest
from branca.element import Figure
from sqlalchemy import func, select

from mapping.errors import NotFoundError, StaleEditError, ValidationError
from mapping.maps.submissions import location_picker_map, submissions_frame, submissions_map
from mapping.register.records import assets_frame, history
from mapping.register.submissions import (
    SUBMISSION_ATTRIBUTION,
    SUBMISSION_LICENCE,
    LikelyDuplicateError,
    SubmissionDecidedError,
    address_hash,
    approve,
    decided,
    get_submission,
    pending,
    reject,
    save_submission,
    validate_submission,
)
from mapping.store.database import Store
from mapping.store.models import Asset, RecordHistory, Submission

# Stratford Library's postcode, and a point by it, both in Newham.
POSTCODE = "E15 4EH"
CAFE = {"kind": "asset", "name": "Memory café at St Mark's", "description": "Tuesdays, 2pm",
        "postcode": "e15 4eh", "who_runs_it": "St Mark's church", "contact": "jo@example.org"}


def _fields(problems) -> list[str]:
    return sorted(p.field for p in problems)


def _save(store: Store, **changes) -> int:
    with store.transaction() as session:
        return save_submission(session, {**CAFE, **changes}).id


def _count(store: Store, model) -> int:
    with store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- validation -----------------------------------------------------------------------------


def test_a_valid_submission_is_cleaned_and_located_by_its_postcode() -> None:
    clean, problems = validate_submission({**CAFE, "name": "  Memory  café ", "category":
                                           "Memory café"})
    assert problems == []
    assert clean["name"] == "Memory café"
    assert clean["postcode"] == POSTCODE
    assert clean["category"] == "memory_cafe"  # a label is accepted and stored as its code
    assert clean["lon"] == pytest.approx(0.0116, abs=1e-3)
    assert clean["lat"] == pytest.approx(51.543, abs=1e-3)


def test_every_problem_is_reported_at_once_with_its_field() -> None:
    clean, problems = validate_submission({"kind": "rumour", "name": " ", "category": "nope",
                                           "postcode": "not a postcode", "contact": "x" * 301})
    assert _fields(problems) == ["category", "contact", "kind", "name", "postcode"]
    assert "not a UK postcode" in next(p.reason for p in problems if p.field == "postcode")


def test_a_place_is_required() -> None:
    _, problems = validate_submission({"kind": "idea", "name": "A repair café"})
    assert _fields(problems) == ["location"]
    assert "postcode" in problems[0].reason and "map" in problems[0].reason


def test_a_well_formed_postcode_that_does_not_exist_is_refused() -> None:
    _, problems = validate_submission({**CAFE, "postcode": "ZZ9 9ZZ"})
    assert _fields(problems) == ["postcode"]
    assert "Code-Point Open" in problems[0].reason


def test_a_map_click_is_used_before_the_postcode_and_is_checked() -> None:
    clean, problems = validate_submission({**CAFE, "lon": "0.04", "lat": "51.52"})
    assert problems == [] and (clean["lon"], clean["lat"]) == (0.04, 51.52)
    assert clean["postcode"] == POSTCODE
    _, problems = validate_submission({**CAFE, "lon": "51.52", "lat": "0.04"})  # swapped
    assert _fields(problems) == ["location"]
    _, problems = validate_submission({"kind": "asset", "name": "x", "lon": "0.04"})
    assert _fields(problems) == ["location"] and "lat is missing" in problems[0].reason
    _, problems = validate_submission({"kind": "asset", "name": "x", "lon": "2.35",
                                       "lat": "48.86"})  # Paris
    assert _fields(problems) == ["location"]


def test_control_characters_are_removed() -> None:
    clean, _ = validate_submission({**CAFE, "name": "Tea\x00 and\x1b talk",
                                    "description": "Line one\nline two\x07"})
    assert clean["name"] == "Tea and talk"
    assert clean["description"] == "Line one\nline two"


def test_address_hash_is_keyed_and_keeps_no_address() -> None:
    one = address_hash("203.0.113.7", key="k1")
    assert one == address_hash("203.0.113.7", key="k1")
    assert one != address_hash("203.0.113.7", key="k2")
    assert one != address_hash("203.0.113.8", key="k1")
    assert "203" not in one and len(one) == 64


# --- the queue ------------------------------------------------------------------------------


def test_a_saved_submission_is_pending_and_touches_no_asset(store: Store) -> None:
    sid = _save(store)
    with store.transaction() as session:
        waiting = pending(session)
        assert [s.id for s in waiting] == [sid]
        assert waiting[0].status == "pending" and waiting[0].contact == "jo@example.org"
        assert decided(session) == []
    assert _count(store, Asset) == 0 and _count(store, RecordHistory) == 0


def test_an_invalid_submission_is_not_saved(store: Store) -> None:
    with pytest.raises(ValidationError) as info, store.transaction() as session:
        save_submission(session, {**CAFE, "postcode": "nowhere"})
    assert _fields(info.value.problems) == ["postcode"]
    assert _count(store, Submission) == 0


# --- approving ------------------------------------------------------------------------------


def test_approving_creates_exactly_one_asset_through_the_import_path(store: Store) -> None:
    sid = _save(store)
    with store.transaction() as session:
        asset_id = approve(session, sid, officer="olive", category="memory_cafe")
    with store.transaction() as session:
        assets = assets_frame(session)
        rows = history(session, "asset", asset_id)
        submission = get_submission(session, sid)
    assert len(assets) == 1
    asset = assets.iloc[0]
    assert asset["id"] == asset_id
    assert asset["external_id"] == f"submission:{sid}"
    assert asset["source"] == "submission" and asset["status"] == "active"
    assert asset["licence"] == SUBMISSION_LICENCE
    assert asset["attribution"] == SUBMISSION_ATTRIBUTION
    assert asset["category"] == "memory_cafe" and asset["postcode"] == POSTCODE
    assert asset["verified_by"] is None  # approving is not verifying on the ground
    assert "Run by: St Mark's church" in asset["description"]
    assert asset["contact"] is None  # the sender's contact stays private by default
    assert list(rows["action"]) == ["approve"]
    assert list(rows["changed_by"]) == ["olive"]
    assert rows["changes"].iloc[0] == {"submission_id": [None, sid]}
    assert (submission.status, submission.decided_by, submission.asset_id) == (
        "approved", "olive", asset_id)
    assert submission.decided_at is not None


def test_an_officer_may_rename_and_publish_the_contact(store: Store) -> None:
    sid = _save(store)
    with store.transaction() as session:
        approve(session, sid, officer="olive", category="Memory café",
                overrides={"name": "St Mark's Memory Café", "contact": "jo@example.org"})
    with store.transaction() as session:
        asset = assets_frame(session).iloc[0]
    assert asset["name"] == "St Mark's Memory Café" and asset["contact"] == "jo@example.org"


def test_an_approved_idea_is_proposed_not_active(store: Store, data_dir) -> None:
    sid = _save(store, kind="idea", name="A repair café")
    with store.transaction() as session:
        approve(session, sid, officer="olive", category="community_space")
    with store.transaction() as session:
        assert list(assets_frame(session)["status"]) == ["proposed"]
        assert len(assets_frame(session, status=["active"])) == 0


def test_an_invalid_approval_writes_nothing(store: Store) -> None:
    sid = _save(store)
    with pytest.raises(ValidationError) as info, store.transaction() as session:
        approve(session, sid, officer="olive", category="astrology")
    assert _fields(info.value.problems) == ["category"]
    assert info.value.problems[0].row is None  # one record: no "row 1"
    with pytest.raises(ValidationError), store.transaction() as session:
        approve(session, sid, officer="olive", category="memory_cafe",
                overrides={"status": "closed"})
    with pytest.raises(ValidationError), store.transaction() as session:
        approve(session, sid, officer="  ", category="memory_cafe")
    assert _count(store, Asset) == 0
    with store.transaction() as session:
        assert get_submission(session, sid).status == "pending"


def test_approving_a_missing_submission_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError), store.transaction() as session:
        approve(session, 99, officer="olive", category="memory_cafe")


def test_approving_a_likely_duplicate_of_an_asset_needs_approve_anyway(store: Store) -> None:
    first, second = _save(store), _save(store, name="The memory cafe at St Marks")
    with store.transaction() as session:  # two alike but pending: the first is approved
        asset_id = approve(session, first, officer="olive", category="memory_cafe")
    with pytest.raises(LikelyDuplicateError) as info, store.transaction() as session:
        approve(session, second, officer="olive", category="memory_cafe")
    [problem] = info.value.problems
    assert problem.field == "approve_anyway"
    assert f"asset #{asset_id} 'Memory café at St Mark's'" in problem.reason
    assert "Approve anyway" in problem.reason
    assert [d.id for d in info.value.duplicates] == [asset_id]
    assert isinstance(info.value, ValidationError)  # the web answers 422, on the form
    assert _count(store, Asset) == 1
    with store.transaction() as session:
        assert get_submission(session, second).status == "pending"
        approve(session, second, officer="olive", category="memory_cafe", approve_anyway=True)
    assert _count(store, Asset) == 2


def test_a_new_name_on_approval_is_checked_too(store: Store) -> None:
    first, second = _save(store), _save(store, name="Tuesday singing")
    with store.transaction() as session:
        approve(session, first, officer="olive", category="memory_cafe")
    with pytest.raises(LikelyDuplicateError), store.transaction() as session:
        approve(session, second, officer="olive", category="memory_cafe",
                overrides={"name": "St Mark's memory cafe"})
    with store.transaction() as session:  # under its own name it is something else
        approve(session, second, officer="olive", category="memory_cafe")


# --- rejecting, and deciding twice ---------------------------------------------------------


def test_rejecting_needs_a_reason(store: Store) -> None:
    sid = _save(store)
    for reason in ("", "   \n "):
        with pytest.raises(ValidationError) as info, store.transaction() as session:
            reject(session, sid, officer="olive", reason=reason)
        assert _fields(info.value.problems) == ["reason"]
    with store.transaction() as session:
        reject(session, sid, officer="olive", reason="  Already on the map as #12 ")
    with store.transaction() as session:
        submission = get_submission(session, sid)
        assert (submission.status, submission.reason, submission.decided_by) == (
            "rejected", "Already on the map as #12", "olive")
        assert [s.id for s in decided(session)] == [sid] and pending(session) == []
    assert _count(store, Asset) == 0


@pytest.mark.parametrize("first", ["approve", "reject"])
@pytest.mark.parametrize("second", ["approve", "reject"])
def test_a_submission_is_decided_once(store: Store, first: str, second: str) -> None:
    sid = _save(store)

    def decide(how: str) -> None:
        with store.transaction() as session:
            if how == "approve":
                approve(session, sid, officer="olive", category="memory_cafe")
            else:
                reject(session, sid, officer="olive", reason="duplicate")

    decide(first)
    with pytest.raises(SubmissionDecidedError, match=f"already {first.rstrip('e')}ed by olive"):
        decide(second)
    assert issubclass(SubmissionDecidedError, StaleEditError)  # the web answers 409
    assert _count(store, Asset) == (1 if first == "approve" else 0)


def test_a_decision_made_meanwhile_by_someone_else_wins(store: Store) -> None:
    sid = _save(store)
    mine = store.session()
    get_submission(mine, sid)  # this officer opened the submission while it was pending...
    mine.commit()
    with store.transaction() as theirs:  # ...and another rejected it before they approved
        reject(theirs, sid, officer="bea", reason="duplicate")
    with pytest.raises(SubmissionDecidedError, match="already rejected by bea"):
        approve(mine, sid, officer="olive", category="memory_cafe")
    mine.rollback()
    mine.close()
    assert _count(store, Asset) == 0


# --- maps -----------------------------------------------------------------------------------


def _page(m) -> str:
    root = m.get_root()
    assert isinstance(root, Figure)
    return root.render()


def test_the_queue_map_shows_names_as_text_and_loads_nothing_from_the_internet(
        store: Store) -> None:
    sid = _save(store, name="<script>alert(1)</script>`${x}`")
    with store.transaction() as session:
        frame = submissions_frame(pending(session))
    assert list(frame["id"]) == [sid] and frame.crs == "EPSG:4326"
    html = _page(submissions_map(frame, vendor_url="/vendor"))
    assert "<script>alert(1)" not in html
    assert r"\u003cscript\u003ealert(1)\u003c/script\u003e" in html
    assert "/submissions/" in html
    srcs = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert srcs and not [s for s in srcs if s.startswith(("http:", "https:", "//"))]


def test_the_location_picker_loads_nothing_from_the_internet() -> None:
    html = _page(location_picker_map(None, vendor_url="/vendor"))
    srcs = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert srcs and all(s.startswith("/vendor/") for s in srcs)
