"""Community submissions: residents propose an asset or an idea; officers approve or reject it.

This is co-production ("come to us with your ideas", CLES): anyone may send the
public form, and what they send waits in a pending queue that nothing public
reads. An officer then either

- **approves** it: it becomes an asset through the same validation and write
  path as a file import (:func:`mapping.register.importers.prepare_assets` on a one-row
  frame, then :func:`mapping.register.records.upsert_records`), with ``source``
  ``"submission"``, external id ``submission:<id>``, a licence and attribution
  saying a resident contributed it, and a history row with action ``approve``;
- or **rejects** it with a reason.

Before approving, :func:`~mapping.register.duplicates.likely_duplicates` names the assets
(active or proposed) and the other pending submissions that a submission probably
repeats: a similar name within 250 m or at the same postcode. Approving one that repeats
an asset needs ``approve_anyway=True``; otherwise :class:`LikelyDuplicateError` says
which asset it looks like.

Deciding twice is refused with :class:`SubmissionDecidedError` (HTTP 409). The
submitter's contact is for officers only: it is copied into the asset only when
the officer asks for it (``overrides={"contact": ...}``). No IP address is
stored; :func:`address_hash` gives a keyed hash for abuse handling instead.

No Flask here. The caller owns the transaction (``Store.transaction()``). The maps (a
location picker and the officers' queue map) are in :mod:`mapping.maps.submissions`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import geopandas as gpd
import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.errors import NotFoundError, Problem, StaleEditError, ValidationError
from mapping.places.geocode import points_from_lonlat
from mapping.places.postcodes import PostcodeIndex, default_index, normalise_postcode
from mapping.register.duplicates import PENDING, LikelyDuplicate, likely_duplicates
from mapping.register.importers import prepare_assets
from mapping.register.records import upsert_records
from mapping.register.taxonomy import category_lookup
from mapping.store.models import Asset, Submission, utcnow

KINDS: Final = ("asset", "idea")
APPROVED: Final = "approved"
REJECTED: Final = "rejected"
STATUSES: Final = (PENDING, APPROVED, REJECTED)

#: Longest text accepted per field, in characters (the column sizes, or a sane bound for Text).
MAX_CHARS: Final[dict[str, int]] = {
    "name": 300, "description": 4000, "who_runs_it": 300, "contact": 300, "postcode": 10,
    "reason": 2000,
}
#: Licence and attribution of an asset made from a submission.
SUBMISSION_LICENCE: Final = "OGL v3 (contributed to the council)"
SUBMISSION_ATTRIBUTION: Final = "Community submission"
#: Fields an officer may set on approval instead of the submitted values.
OVERRIDABLE: Final = (S.NAME, S.DESCRIPTION, S.CONTACT)
#: The asset status an approved submission gets: an idea is something that does not exist yet.
ASSET_STATUS_BY_KIND: Final = {"asset": "active", "idea": "proposed"}
#: The field of a problem with the location as a whole (no place given, a bad map click).
LOCATION: Final = "location"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SubmissionDecidedError(StaleEditError):
    """The submission was already approved or rejected (perhaps by another officer)."""


class LikelyDuplicateError(ValidationError):
    """The submission looks like an asset already in the register; ``duplicates`` names them."""

    def __init__(self, submission_id: int, duplicates: Sequence[LikelyDuplicate]) -> None:
        self.duplicates = list(duplicates)
        names = "; ".join(d.describe() for d in self.duplicates)
        super().__init__(
            [Problem(f"This looks like {names}. Check it, then tick 'Approve anyway' if it "
                     "is a different place.", field="approve_anyway")],
            summary=f"submission {submission_id} is probably a duplicate")


# --- validating and saving ----------------------------------------------------------------


def _text(value: object, *, multiline: bool = False) -> str | None:
    """Give stripped text without control characters, ``None`` when blank."""
    if value is None:
        return None
    text = _CONTROL.sub("", str(value))
    if not multiline:
        text = " ".join(text.split())
    text = text.strip()
    return text or None


def validate_submission(
    fields: Mapping[str, object], *, index: PostcodeIndex | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """Give a submission's clean values and every problem with them.

    Parameters
    ----------
    fields
        As typed into the form: ``kind`` (``asset`` or ``idea``), ``name``,
        ``description``, ``category`` (a code or label of ``data/categories.csv``;
        optional), ``postcode``, ``lon``/``lat`` (EPSG:4326, from a click on the
        map), ``who_runs_it`` and ``contact``. Other keys are ignored.
    index
        Where postcodes are looked up (OS Code-Point Open); ``None`` for the default.

    Returns
    -------
    tuple
        The clean values (the keys above; ``lon``/``lat`` resolved from the map
        click if there is one, else from the postcode) and the problems, each
        naming its field (``location`` for the place as a whole).
    """
    problems: list[Problem] = []
    clean: dict[str, Any] = {}
    kind = _text(fields.get("kind"))
    if kind not in KINDS:
        problems.append(Problem(f"choose one of: {', '.join(KINDS)}", field="kind"))
    clean["kind"] = kind
    for name in ("name", "description", "who_runs_it", "contact"):
        value = _text(fields.get(name), multiline=name == "description")
        if value is not None and len(value) > MAX_CHARS[name]:
            problems.append(Problem(f"is too long ({len(value)} characters; at most "
                                    f"{MAX_CHARS[name]})", field=name))
        clean[name] = value
    if clean["name"] is None:
        problems.append(Problem("is required: what is it called, or what is your idea?",
                                field="name"))

    category = _text(fields.get("category"))
    clean["category"] = None
    if category is not None:
        clean["category"] = category_lookup().get(category.casefold())
        if clean["category"] is None:
            problems.append(Problem(f"unknown category '{category}'", field="category"))

    clean["postcode"], clean["lon"], clean["lat"] = None, None, None
    postcode = _text(fields.get("postcode"))
    postcode_point: tuple[float, float] | None = None
    if postcode is not None:
        canonical = normalise_postcode(postcode)
        if canonical is None:
            problems.append(Problem(f"'{postcode}' is not a UK postcode (for example E15 4EH)",
                                    field="postcode"))
        else:
            found = (index or default_index()).lookup(pd.Series([canonical])).iloc[0]
            if found["problem"] is not None:
                problems.append(Problem(str(found["problem"]), field="postcode"))
            else:
                postcode_point = (float(found[S.LON]), float(found[S.LAT]))
            clean["postcode"] = canonical
    lon, lat = _text(fields.get("lon")), _text(fields.get("lat"))
    if lon is not None or lat is not None:
        point = points_from_lonlat(pd.Series([lon], dtype=object), pd.Series([lat], dtype=object))
        if point["problem"].iloc[0] is not None:
            problems.append(Problem(f"the place marked on the map is not usable: "
                                    f"{point['problem'].iloc[0]}", field=LOCATION))
        else:
            clean["lon"], clean["lat"] = float(point[S.LON].iloc[0]), float(point[S.LAT].iloc[0])
    elif postcode_point is not None:
        clean["lon"], clean["lat"] = postcode_point
    if postcode is None and lon is None and lat is None:
        problems.append(Problem("give a postcode, or click on the map to mark the place",
                                field=LOCATION))
    return clean, problems


def address_hash(address: str, *, key: str) -> str:
    """Give a keyed hash (HMAC-SHA256, hex) of a sender's IP address, for abuse handling.

    The same address gives the same hash under the same key, so officers can
    see that several submissions came from one sender; without the key (the
    app's secret key) the address cannot be recovered by trying all addresses.
    """
    return hmac.new(key.encode(), address.encode(), hashlib.sha256).hexdigest()


def save_submission(
    session: Session,
    fields: Mapping[str, object],
    *,
    submitter_ip_hash: str | None = None,
    index: PostcodeIndex | None = None,
) -> Submission:
    """Validate a submission and add it to the pending queue; give the new row.

    Raises
    ------
    ValidationError
        With every problem (see :func:`validate_submission`); nothing is saved.
    """
    clean, problems = validate_submission(fields, index=index)
    if problems:
        raise ValidationError(problems, summary="the submission was not saved")
    submission = Submission(**clean, status=PENDING, submitter_ip_hash=submitter_ip_hash,
                            created_at=utcnow())
    session.add(submission)
    session.flush()
    return submission


# --- the queue ------------------------------------------------------------------------------


def pending(session: Session) -> list[Submission]:
    """Give the submissions waiting for a decision, oldest first."""
    query = select(Submission).where(Submission.status == PENDING).order_by(Submission.id)
    return list(session.scalars(query))


def decided(session: Session, *, limit: int = 50) -> list[Submission]:
    """Give the latest decided submissions (approved or rejected), most recent decision first."""
    query = (select(Submission).where(Submission.status != PENDING)
             .order_by(Submission.decided_at.desc(), Submission.id.desc()).limit(limit))
    return list(session.scalars(query))


def get_submission(session: Session, submission_id: int) -> Submission:
    """Give one submission, or raise :class:`NotFoundError`."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFoundError(f"submission {submission_id} does not exist")
    return submission


def check_pending(submission: Submission) -> None:
    """Raise :class:`SubmissionDecidedError` unless the submission still awaits a decision."""
    if submission.status != PENDING:
        when = f" on {submission.decided_at:%d %B %Y at %H:%M}" if submission.decided_at else ""
        raise SubmissionDecidedError(
            f"submission {submission.id} was already {submission.status} by "
            f"{submission.decided_by or 'someone'}{when}; it cannot be decided again"
        )


def _decide(session: Session, submission: Submission, **values: Any) -> None:
    """Record the decision unless another one got there first (checked in the UPDATE itself)."""
    result = session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.status == PENDING)
        .values(**values, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.expire(submission)
        check_pending(submission)
        raise SubmissionDecidedError(f"submission {submission.id} was decided by someone else")
    session.expire(submission)


def _officer(officer: str) -> str:
    name = officer.strip()
    if not name:
        raise ValidationError([Problem("is required", field="officer")],
                              summary="a decision needs the officer's name")
    return name


def approve(
    session: Session,
    submission_id: int,
    *,
    officer: str,
    category: str,
    overrides: Mapping[str, str | None] | None = None,
    approve_anyway: bool = False,
    index: PostcodeIndex | None = None,
    boundary: gpd.GeoDataFrame | None = None,
) -> int:
    """Make a pending submission an asset (``source = "submission"``); give the asset's id.

    The asset goes through the import path: :func:`~mapping.register.importers.prepare_assets` on
    a one-row frame (category, location and every other check an import makes) and
    :func:`~mapping.register.records.upsert_records` with ``changed_by=officer``. Its creation
    row in the history has action ``approve`` and names the submission. A submitted
    asset becomes ``active``, an idea ``proposed``. The submitter's contact is *not*
    copied unless ``overrides`` sets ``contact``.

    Parameters
    ----------
    session
        A session inside the caller's transaction; on any error the caller rolls back.
    submission_id
        The pending submission.
    officer
        Who approves it (recorded as ``decided_by`` and in the history). Approval is not a
        visit: the asset stays unverified until an officer verifies it.
    category
        The asset's category (a code or label of ``data/categories.csv``).
    overrides
        Values the officer chose instead of the submitted ones: any of ``name``,
        ``description`` and ``contact``.
    approve_anyway
        Approve even if it looks like an asset already in the register
        (:func:`likely_duplicates`): the officer has checked that it is a different place.
    index
        Where postcodes are looked up; ``None`` for the default.
    boundary
        The borough outline; when given, the asset's ``in_borough`` flag is set.

    Raises
    ------
    NotFoundError
        No such submission.
    SubmissionDecidedError
        It was already approved or rejected.
    LikelyDuplicateError
        It looks like an asset (active or proposed) and ``approve_anyway`` is false.
    ValidationError
        The asset would not be valid (an unknown category, say), or ``overrides`` names
        a field that cannot be overridden.
    """
    officer = _officer(officer)
    submission = get_submission(session, submission_id)
    check_pending(submission)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ValidationError([Problem(f"cannot be set on approval (only {', '.join(OVERRIDABLE)})",
                                       field=k) for k in unknown])
    if not approve_anyway:
        renamed = [n for n in (overrides.get(S.NAME),) if n]
        repeats = likely_duplicates(session, [submission], assets_only=True,
                                    names={submission.id: renamed})[submission.id]
        if repeats:
            raise LikelyDuplicateError(submission.id, repeats)
    external_id = f"submission:{submission.id}"
    row = {
        S.EXTERNAL_ID: external_id,
        S.NAME: overrides.get(S.NAME, submission.name),
        S.DESCRIPTION: overrides.get(S.DESCRIPTION, default_description(submission)),
        S.CATEGORY: category,
        S.POSTCODE: submission.postcode,
        S.LON: repr(submission.lon),
        S.LAT: repr(submission.lat),
        S.CONTACT: overrides.get(S.CONTACT),
        S.STATUS: ASSET_STATUS_BY_KIND.get(submission.kind, "proposed"),
        S.SOURCE: "submission",
        S.LICENCE: SUBMISSION_LICENCE,
        S.ATTRIBUTION: SUBMISSION_ATTRIBUTION,
    }
    prepared, problems = prepare_assets(pd.DataFrame([row], dtype=object),
                                        file=f"submission {submission.id}", index=index,
                                        boundary=boundary)
    if problems:
        # One record, not a file: "row 1" would only confuse.
        raise ValidationError([Problem(p.reason, field=p.field) for p in problems],
                              summary=f"submission {submission.id} cannot be approved as it is")
    upsert_records(session, "asset", prepared.drop(columns=[S.ORGANISATION_ID]),
                   changed_by=officer, create_action="approve",
                   note={"submission_id": submission.id})
    asset_id = session.scalar(select(Asset.id).where(Asset.external_id == external_id))
    if asset_id is None:  # pragma: no cover - upsert_records has just written it
        raise NotFoundError(f"the asset {external_id} was not written")
    _decide(session, submission, status=APPROVED, decided_by=officer, asset_id=asset_id)
    return int(asset_id)


def reject(session: Session, submission_id: int, *, officer: str, reason: str) -> None:
    """Reject a pending submission, with the reason (required), so it never becomes public.

    Raises
    ------
    ValidationError
        The reason is empty or too long.
    NotFoundError, SubmissionDecidedError
        As for :func:`approve`.
    """
    officer = _officer(officer)
    submission = get_submission(session, submission_id)
    check_pending(submission)
    text = _text(reason, multiline=True)
    if text is None:
        raise ValidationError([Problem("is required: say why the submission is rejected",
                                       field="reason")], summary="cannot reject without a reason")
    if len(text) > MAX_CHARS["reason"]:
        raise ValidationError([Problem(f"is too long (at most {MAX_CHARS['reason']} characters)",
                                       field="reason")])
    _decide(session, submission, status=REJECTED, decided_by=officer, reason=text)


def default_description(submission: Submission) -> str | None:
    """Give the asset description an approval proposes: the submitted one, and who runs it."""
    parts = [submission.description or ""]
    if submission.who_runs_it:
        parts.append(f"Run by: {submission.who_runs_it}")
    text = "\n\n".join(p for p in parts if p)
    return text or None
