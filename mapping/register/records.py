"""Reading and writing the asset and organisation register, with a full edit history.

Writes are bulk (one ``executemany`` per kind of statement) so that large
imports stay fast, and every created or changed record gets a history row
saying who changed what, from which value to which. The caller owns the
transaction (``Store.transaction()``), so an import is all-or-nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import JSON, DateTime, Table, insert, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from mapping import schema as S
from mapping.errors import NotFoundError, StaleEditError
from mapping.store.models import Asset, Organisation, RecordHistory, utcnow

_MANAGED = {"id", "created_at", "updated_at", "version"}
RECORD_TYPES: dict[str, type[Asset] | type[Organisation]] = {
    "asset": Asset, "organisation": Organisation}
HISTORY: Table = RecordHistory.__table__  # type: ignore[assignment]


@dataclass
class WriteCounts:
    """How many records a bulk write created, changed and left as they were."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(self.inserted + other.inserted, self.updated + other.updated,
                           self.unchanged + other.unchanged)


def _plain(value: Any) -> Any:
    """Give a value the database driver and JSON both accept (no NaN, no numpy scalars)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        if old is None or new is None:
            return old is new
        return bool(abs(float(old) - float(new)) < 1e-9)
    if isinstance(old, datetime) and isinstance(new, datetime):
        return _utc(old) == _utc(new)
    return bool(old == new)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _chunks(items: Sequence[Any], size: int = 5000) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def upsert_records(
    session: Session,
    record_type: str,
    frame: pd.DataFrame,
    *,
    changed_by: str,
    action: str = "import",
    create_action: str = "create",
    note: dict[str, Any] | None = None,
) -> WriteCounts:
    """Insert new records and update changed ones, matched on ``external_id``; give the counts.

    Parameters
    ----------
    session
        A session inside the caller's transaction.
    record_type
        ``"asset"`` or ``"organisation"``.
    frame
        One row per record, with ``external_id`` and any of the table's columns.
    changed_by
        Who is making the change, for the history.
    action
        The history action for changed records (``import``, ``edit``...).
    create_action
        The history action for new records (``create``; ``approve`` for a submission).
    note
        Extra facts for every history row written, as ``{key: [None, value]}``
        (e.g. which submission an asset came from).
    """
    extra = {k: [None, _json(v)] for k, v in (note or {}).items()}
    model = RECORD_TYPES[record_type]
    table: Table = model.__table__  # type: ignore[assignment]
    columns = [c for c in frame.columns if c in table.c and c not in _MANAGED]
    data = frame[columns]
    # One vectorised pass: Python scalars, and None for every kind of missing value.
    plain = data.astype(object).where(data.notna(), None)
    records = [dict(zip(columns, row, strict=True))
               for row in zip(*(plain[c].tolist() for c in columns), strict=True)]
    existing: dict[str, dict[str, Any]] = {}
    external_ids = [r[S.EXTERNAL_ID] for r in records]
    for chunk in _chunks(external_ids):
        query = select(table.c.id, table.c.version, *(table.c[c] for c in columns)).where(
            table.c.external_id.in_(chunk)
        )
        existing.update({row.external_id: dict(row._mapping) for row in session.execute(query)})

    now = utcnow()
    counts = WriteCounts()
    history: list[dict[str, Any]] = []
    fresh = [r for r in records if r[S.EXTERNAL_ID] not in existing]
    if fresh:
        for r in fresh:
            r.update(created_at=now, updated_at=now, version=1)
        # Plain executemany is the driver's fast path; RETURNING would go row by row.
        session.execute(insert(table), fresh)
        # Version 1 is the record as created; later history rows hold old → new values,
        # so every earlier state can be rebuilt without copying each record here. The
        # database writes these rows itself: the new records are those stamped ``now``.
        created = select(
            literal(record_type), table.c.id, literal(1),
            literal(create_action),
            literal(changed_by), literal(now, DateTime(timezone=True)), literal(extra, JSON),
        ).where(table.c.created_at == now, table.c.version == 1)
        session.execute(insert(HISTORY).from_select(
            ["record_type", "record_id", "version", "action", "changed_by", "changed_at",
             "changes"], created))
        counts.inserted = len(fresh)
    changes = []
    for record in records:
        old = existing.get(record[S.EXTERNAL_ID])
        if old is None:
            continue
        if all(old[k] == v for k, v in record.items()):  # the common case, without _same
            counts.unchanged += 1
            continue
        diff = {k: [_json(old[k]), _json(v)] for k, v in record.items() if not _same(old[k], v)}
        if not diff:
            counts.unchanged += 1
            continue
        version = old["version"] + 1
        changes.append({"id": old["id"], **{k: record[k] for k in diff}, "version": version,
                        "updated_at": now})
        history.append(_history(record_type, old["id"], version, action, changed_by, now,
                                {**diff, **extra}))
    for group in _group_by_keys(changes):
        session.execute(update(model), group)
    counts.updated = len(changes)
    if history:
        session.execute(insert(HISTORY), history)
    return counts


def _ids(session: Session, table: Table, external_ids: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for chunk in _chunks(external_ids):
        query = select(table.c.external_id, table.c.id).where(table.c.external_id.in_(chunk))
        out.update({row.external_id: row.id for row in session.execute(query)})
    return out


def _group_by_keys(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Group rows that set the same columns, so each group is one bulk UPDATE."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    yield from groups.values()


def _history(record_type: str, record_id: int, version: int, action: str, changed_by: str,
             when: datetime, changes: dict[str, Any]) -> dict[str, Any]:
    return {"record_type": record_type, "record_id": record_id, "version": version,
            "action": action, "changed_by": changed_by, "changed_at": when, "changes": changes}


def update_record(
    session: Session,
    record_type: str,
    record_id: int,
    changes: dict[str, Any],
    *,
    expected_version: int,
    changed_by: str,
    action: str = "edit",
    note: dict[str, Any] | None = None,
) -> int:
    """Apply an edit to one record unless someone saved it since; give its new version.

    Optimistic locking: the edit names the version it started from, and a
    stale edit raises :class:`StaleEditError` instead of overwriting the other
    person's change. ``note`` (e.g. ``{"reason": "..."}``) goes into the
    history row beside the changes, as ``{key: [None, value]}``.
    """
    model = RECORD_TYPES[record_type]
    record = cast(Asset | Organisation | None, session.get(model, record_id))
    if record is None:
        raise NotFoundError(f"{record_type} {record_id} does not exist")
    if record.version != expected_version:
        raise StaleEditError(
            f"this {record_type} was changed by someone else (now version {record.version}, "
            f"you started from version {expected_version}); reload it and make your edit again"
        )
    diff = {k: [_json(getattr(record, k)), _json(v)] for k, v in changes.items()
            if not _same(getattr(record, k), v)}
    if not diff:
        return record.version
    now = utcnow()
    # The WHERE on version makes the check hold even between two concurrent transactions.
    result = session.execute(
        update(model)
        .where(model.id == record_id, model.version == expected_version)
        .values(**changes, version=expected_version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleEditError(f"this {record_type} was changed by someone else; reload it")
    diff.update({k: [None, _json(v)] for k, v in (note or {}).items()})
    session.execute(insert(HISTORY), [
        _history(record_type, record_id, expected_version + 1, action, changed_by, now, diff)
    ])
    session.expire(record)
    return expected_version + 1


def history(session: Session, record_type: str, record_id: int) -> pd.DataFrame:
    """Give a record's history, newest first: version, action, who, when, and the changes."""
    query = (
        select(RecordHistory.version, RecordHistory.action, RecordHistory.changed_by,
               RecordHistory.changed_at, RecordHistory.changes)
        .where(RecordHistory.record_type == record_type, RecordHistory.record_id == record_id)
        .order_by(RecordHistory.version.desc(), RecordHistory.id.desc())
    )
    return pd.DataFrame([dict(r._mapping) for r in session.execute(query)],
                        columns=["version", "action", "changed_by", "changed_at", "changes"])


def organisation_ids(session: Session, external_ids: Iterable[str]) -> dict[str, int]:
    """Give the database id of each organisation external id that exists."""
    table: Table = Organisation.__table__  # type: ignore[assignment]
    return _ids(session, table, sorted({e for e in external_ids if e}))


def org_identifiers(company_number: pd.Series, charity_number: pd.Series) -> pd.Series:
    """Give each organisation's org-id identifiers (org-id.guide), ``;``-separated.

    Companies House numbers become ``GB-COH-…``; charity numbers ``GB-SC-…`` for
    Scottish (``SC…``) ones and ``GB-CHC-…`` for England and Wales.
    """
    company = ("GB-COH-" + company_number.astype("string")).fillna("")
    charity_text = charity_number.astype("string")
    scottish = charity_text.str.startswith("SC").fillna(False)
    charity = ("GB-CHC-" + charity_text).where(~scottish, "GB-SC-" + charity_text).fillna("")
    joined = company.str.cat(charity, sep=";").str.strip(";")
    return joined.where(joined != "", None).astype(object).rename("org_id")


def organisations_frame(session: Session, *, ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Give organisations (all, or those with these ids) ordered by name, with their org-ids."""
    table = Organisation.__table__
    query = select(table).order_by(table.c.name)
    if ids is not None:
        query = query.where(table.c.id.in_(list(ids)))
    frame = pd.read_sql(query, session.connection())
    frame["org_id"] = org_identifiers(frame[S.COMPANY_NUMBER], frame[S.CHARITY_NUMBER])
    return frame


def assets_frame(
    session: Session,
    *,
    status: Sequence[str] | None = None,
    category: Sequence[str] | None = None,
    ownership_class: Sequence[str] | None = None,
    ids: Sequence[int] | None = None,
) -> gpd.GeoDataFrame:
    """Give assets as points (EPSG:4326) with their organisation's name and ownership class.

    Assets with no organisation get ownership class ``unknown``. Each filter
    left as ``None`` is not applied; ``ids`` picks assets by database id.
    """
    asset, org = Asset.__table__, Organisation.__table__
    query = (
        select(
            *asset.c,
            org.c.external_id.label(S.ORGANISATION_ID),
            org.c.name.label("organisation_name"),
            org.c.ownership_class,
            org.c.national_footprint,
        )
        .select_from(asset.outerjoin(org, asset.c.organisation_id == org.c.id))
        .order_by(asset.c.id)
    )
    if ids is not None:
        query = query.where(asset.c.id.in_(list(ids)))
    if status:
        query = query.where(asset.c.status.in_(list(status)))
    if category:
        query = query.where(asset.c.category.in_(list(category)))
    if ownership_class:
        wanted = list(ownership_class)
        condition: ColumnElement[bool] = org.c.ownership_class.in_(wanted)
        if "unknown" in wanted:
            condition = condition | org.c.id.is_(None)
        query = query.where(condition)
    frame = pd.read_sql(query, session.connection())
    frame[S.OWNERSHIP_CLASS] = frame[S.OWNERSHIP_CLASS].fillna("unknown")
    geometry = gpd.points_from_xy(frame[S.LON], frame[S.LAT], crs=S.STORAGE_CRS)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=S.STORAGE_CRS)
