"""The public part of the register, read once and keyed for the feed.

Only **active** assets are published: proposed and closed assets, and residents'
submissions (a table of their own, public only once an officer approves them as assets),
never reach the feed. Organisations are published only as the providers of those assets.
Each asset gets its HSDS ids and the code of every taxonomy term it links to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.openreferral import ids
from mapping.openreferral import taxonomy as T
from mapping.register.records import assets_frame, organisations_frame
from mapping.register.taxonomy import load_categories
from mapping.store.models import Asset, Organisation

PUBLIC_STATUSES = ("active",)

#: Per asset, the code of its term in each taxonomy (``None``: no term there); the term's
#: id is in the column of the same name with ``_id`` after it.
TERM_COLUMNS = {T.CATEGORY: "term_category", T.ESD_SERVICE: "term_esd_service",
                T.OWNERSHIP: "term_ownership_class", T.LEGAL_FORM: "term_legal_form",
                T.LICENCE: "term_licence", T.SOURCE: "term_record_source"}


@dataclass(frozen=True)
class FeedData:
    """The published records: assets (one row each, with ids and term codes), their
    organisations by database id, and every published term, by taxonomy and by id."""

    assets: pd.DataFrame
    organisations: dict[int, dict[str, Any]]
    terms: dict[str, list[dict[str, Any]]]
    term_by_id: dict[str, dict[str, Any]]
    region: str | None = None
    rows: tuple[dict[str, Any], ...] = ()
    """Each asset as a plain dict, by position in ``assets`` (whose index is 0, 1, ...)."""
    position: dict[str, int] = field(default_factory=dict)
    """The position of each asset by its ``service_id`` and by its ``sal_id``."""

    def rows_at(self, index: Iterable[int]) -> list[dict[str, Any]]:
        """Give the plain rows of the assets at these index labels of ``assets``."""
        return [self.rows[i] for i in index]

    def row_by_id(self, hsds_id: str) -> dict[str, Any] | None:
        """Give the asset whose service or service_at_location id this is, if published."""
        at = self.position.get(hsds_id.lower())
        return None if at is None else self.rows[at]

    def term(self, key: str, code: object) -> dict[str, Any] | None:
        """Give the published term ``code`` of taxonomy ``key``, if there is one."""
        if code is None or (isinstance(code, float) and pd.isna(code)):
            return None
        return self.term_by_id.get(T.term_id(key, str(code)))


def feed_stamp(session: Session) -> tuple[Any, ...]:
    """Give what changes whenever a published record may have changed (for caches)."""
    rows = []
    for model in (Asset, Organisation):
        rows.append(tuple(session.execute(select(func.count(model.id), func.max(model.id),
                                                 func.max(model.updated_at))).one()))
    return tuple(rows)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def _plain_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict("records")  # type: ignore[return-value]


def load_feed(session: Session, *, region: str | None = None) -> FeedData:
    """Give the register's public records, keyed for the feed (see :class:`FeedData`)."""
    assets = pd.DataFrame(assets_frame(session, status=PUBLIC_STATUSES).drop(columns="geometry"))
    org_ids = sorted({int(i) for i in assets["organisation_id"].dropna()})
    orgs = organisations_frame(session, ids=org_ids) if org_ids else organisations_frame(session).iloc[:0]
    organisations = {int(o["id"]): o for o in _plain_records(orgs)}
    for org in organisations.values():
        org["hsds_id"] = ids.organization_id(org[S.EXTERNAL_ID])
    return _keyed(assets, organisations, region)


def _keyed(assets: pd.DataFrame, organisations: dict[int, dict[str, Any]], region: str | None
           ) -> FeedData:
    external = assets[S.EXTERNAL_ID].astype(str)
    esd = T.load_esd_mapping()["esd_service_code"]
    org_of = assets["organisation_id"].map(lambda i: organisations.get(int(i)) if pd.notna(i) else None)
    legal = org_of.map(lambda o: (o.get("legal_form_key") or "unknown") if o else None)
    labels = load_categories()["label"]
    out = assets.assign(
        service_id=external.map(ids.service_id),
        location_id=external.map(ids.location_id),
        sal_id=external.map(ids.service_at_location_id),
        category_label=assets[S.CATEGORY].map(labels).fillna(assets[S.CATEGORY]),
        **{TERM_COLUMNS[T.CATEGORY]: assets[S.CATEGORY],
           TERM_COLUMNS[T.ESD_SERVICE]: assets[S.CATEGORY].map(esd).replace("", None),
           TERM_COLUMNS[T.OWNERSHIP]: assets[S.OWNERSHIP_CLASS].fillna("unknown"),
           TERM_COLUMNS[T.LEGAL_FORM]: legal,
           TERM_COLUMNS[T.LICENCE]: [T.licence_code(_text(a), _text(b)) for a, b in
                                     zip(assets[S.LICENCE], assets[S.ATTRIBUTION], strict=True)],
           TERM_COLUMNS[T.SOURCE]: assets[S.SOURCE].where(assets[S.SOURCE].isin(S.ASSET_SOURCES))},
    ).reset_index(drop=True)
    for key, column in TERM_COLUMNS.items():
        out[column + "_id"] = [T.term_id(key, str(c)) if _text(c) is not None else None
                               for c in out[column]]
    pairs = [(_text(a), _text(b)) for a, b in zip(assets[S.LICENCE], assets[S.ATTRIBUTION], strict=True)]
    pairs += [(_text(o.get(S.LICENCE)), _text(o.get(S.ATTRIBUTION))) for o in organisations.values()]
    terms = T.taxonomy_terms(pairs)
    by_id = {t["id"]: t for group in terms.values() for t in group}
    rows = tuple(_plain_records(out))
    position = {r[column]: i for i, r in enumerate(rows) for column in ("service_id", "sal_id")}
    return FeedData(out, organisations, terms, by_id, region, rows, position)
