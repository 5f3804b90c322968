"""Where the store's data came from: the files a manifest loaded, and the register's records.

The data sources page is built from here, so it names only what the store actually holds:
each file a manifest loaded (:func:`record_source`), and the register's records grouped by
source, licence and attribution, with officers' and residents' records counted as such.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mapping.store.models import Asset, DataSource, Organisation

#: How the register's record sources read on the page.
SOURCE_LABELS: Final = {
    "import": "imported from a file",
    "osm": "OpenStreetMap",
    "survey": "recorded by the council's officers",
    "submission": "proposed by residents, approved by an officer",
}


def record_source(session: Session, *, key: str, kind: str, title: str, file: str,
                  publisher: str = "", licence: str = "", attribution: str = "", note: str = "",
                  rows: int | None = None) -> None:
    """Record (or refresh) one loaded file, in the caller's transaction."""
    record = session.scalar(select(DataSource).where(DataSource.key == key))
    if record is None:
        record = DataSource(key=key)
        session.add(record)
    record.kind, record.title, record.file = kind, title or file, file
    record.publisher, record.licence = publisher or None, licence or None
    record.attribution, record.note, record.rows = attribution or None, note or None, rows
    record.loaded_at = datetime.now(UTC)
    session.flush()


def sources_frame(session: Session) -> pd.DataFrame:
    """Give the loaded files: kind, title, file, publisher, licence, attribution, note, rows."""
    rows = session.scalars(select(DataSource).order_by(DataSource.kind, DataSource.title)).all()
    return pd.DataFrame([{"kind": r.kind, "title": r.title, "file": r.file,
                          "publisher": r.publisher or "", "licence": r.licence or "",
                          "attribution": r.attribution or "", "note": r.note or "",
                          "rows": r.rows} for r in rows],
                        columns=["kind", "title", "file", "publisher", "licence", "attribution",
                                 "note", "rows"])


def register_sources(session: Session) -> pd.DataFrame:
    """Give the register's records counted by kind, source, licence and attribution."""
    out = []
    for kind, model in (("assets", Asset), ("organisations", Organisation)):
        grouped = session.execute(
            select(model.source, model.licence, model.attribution, func.count(model.id))
            .group_by(model.source, model.licence, model.attribution))
        for source, licence, attribution, count in grouped:
            out.append({"records": kind, "source": SOURCE_LABELS.get(source, source),
                        "licence": licence or "not recorded",
                        "attribution": attribution or "not recorded", "count": int(count)})
    return pd.DataFrame(out, columns=["records", "source", "licence", "attribution", "count"])


def source_credits(session: Session) -> str:
    """Give a one-line credit of the loaded files' publishers and licences, for page footers."""
    seen: dict[str, None] = {}
    for publisher, licence in session.execute(
            select(DataSource.publisher, DataSource.licence).order_by(DataSource.id)):
        if publisher:
            seen[f"{publisher} ({licence})" if licence else publisher] = None
    return "; ".join(seen)
