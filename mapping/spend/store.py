"""Storing spend datasets: an all-or-nothing import, and reading payments back for reports.

Payments are written with one bulk ``INSERT`` per chunk (no ORM objects), inside
the caller's single transaction, so a million rows take seconds and a failure
leaves the store as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Date, Table, delete, insert, select
from sqlalchemy.orm import Session

from mapping.config import REFERENCE_DIR
from mapping.errors import NotFoundError, Problem, ValidationError
from mapping.spend import layout as SL
from mapping.spend import reading as SP
from mapping.spend.suppliers import FUZZY_THRESHOLD, normalise_supplier_names, refresh_supplier_matches
from mapping.store.database import Store
from mapping.store.models import SpendDataset, SpendLine, SpendPayment

CHUNK = 50_000
#: The steps of an import, in order, with how far along (percent) each one starts.
IMPORT_STAGES: dict[str, int] = {"reading": 2, "repairing": 20, "matching suppliers": 40,
                                 "writing": 60, "saving": 97}
PAYMENTS_TABLE: Table = SpendPayment.__table__  # type: ignore[assignment]
LINES_TABLE: Table = SpendLine.__table__  # type: ignore[assignment]
DATASETS_TABLE: Table = SpendDataset.__table__  # type: ignore[assignment]
PAYMENT_COLUMNS = ("line", "body", "department", "service", "supplier_name", "supplier_key",
                   "company_number", "charity_number", "transaction_id", "paid_on",
                   "amount_pence", "repairs")


@dataclass
class SpendImport:
    """What an import did: the dataset written (if any), its cleaning and its matching."""

    dataset_id: int | None
    spend: SP.SpendFile
    matches: dict[str, int]

    def summary(self) -> str:
        """Give the import in a few lines: lines by status, reconciliation, supplier matching."""
        counts = ", ".join(f"{n} {s}" for s, n in self.spend.counts.items() if n)
        lines = [f"{self.spend.file}: {self.spend.total_lines} lines ({counts}); "
                 f"{len(self.spend.payments)} payments written" if self.dataset_id else
                 f"{self.spend.file}: nothing written",
                 self.spend.reconciliation().describe()]
        if self.matches:
            lines.append("Suppliers: " + ", ".join(f"{n} {m}" for m, n in self.matches.items()))
        return "\n".join(lines)


_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def bulk_insert(session: Session, table: Table, frame: pd.DataFrame, *,
                chunk_done: Callable[[int, int], None] | None = None) -> None:
    """Insert a frame's rows through the driver's ``executemany``, in chunks (no ORM objects).

    SQLAlchemy's per-row parameter processing is bypassed for speed, so values are
    given the way SQLAlchemy would store them (on SQLite, dates as ISO text).
    ``chunk_done(rows written, rows in all)`` is called after each chunk.
    """
    connection = session.connection()
    dialect = connection.dialect
    mark = _PLACEHOLDERS.get(dialect.paramstyle)
    done = chunk_done or (lambda _n, _of: None)
    if mark is None:  # e.g. named or numeric: let SQLAlchemy do it
        for start in range(0, len(frame), CHUNK):
            session.execute(insert(table), _records(frame.iloc[start:start + CHUNK]))
            done(min(start + CHUNK, len(frame)), len(frame))
        return
    columns = list(frame.columns)
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join([mark] * len(columns))})")
    for start in range(0, len(frame), CHUNK):
        part = frame.iloc[start:start + CHUNK]
        values = {}
        for column in columns:
            series = part[column]
            if dialect.name == "sqlite" and column in table.c and isinstance(
                    table.c[column].type, Date):
                series = series.map(lambda d: None if d is None or pd.isna(d) else d.isoformat())
            values[column] = series.astype(object).where(series.notna(), None).tolist()
        rows = list(zip(*(values[c] for c in columns), strict=True))
        connection.exec_driver_sql(sql, rows)  # type: ignore[arg-type]
        done(start + len(part), len(frame))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None)
    return out.to_dict("records")  # type: ignore[return-value]


SOURCES_PATH = REFERENCE_DIR / "spend_sources.csv"


def known_source(file: str, *, path: Path | None = None) -> dict[str, str]:
    """Give the publisher, licence and attribution ``data/spend_sources.csv`` lists for a file name.

    Known published files (e.g. the Lambeth sample) get their licence and
    attribution shown in the app even when the importer does not type them.
    """
    table = pd.read_csv(path or SOURCES_PATH, dtype=str, keep_default_na=False)
    found = table[table["file"] == file]
    if found.empty:
        return {}
    row = found.iloc[0]
    return {k: row[k] for k in ("publisher", "licence", "attribution") if row[k]}


def import_spend(store: Store, path: Path, *, name: str, imported_by: str,
                 mapping: dict[str, str] | None = None, skip_invalid: bool = False,
                 encoding: str = "utf-8", publisher: str | None = None,
                 licence: str | None = None, attribution: str | None = None,
                 threshold: float = FUZZY_THRESHOLD, replace: bool = False,
                 progress: Callable[[str], None] | None = None,
                 stage: Callable[[str, int], None] | None = None) -> SpendImport:
    """Read, clean and store a spend file as dataset ``name``; match its suppliers.

    All or nothing: if any line is rejected, nothing is written and a
    :class:`ValidationError` lists every rejected line (file, row = line, field,
    reason) unless ``skip_invalid``, when the valid payments are written and the
    rejected lines are kept in the cleaning report. ``replace`` overwrites an
    existing dataset of that name. Publisher, licence and attribution not given
    are taken from ``data/spend_sources.csv`` when the file is listed there.

    ``progress`` is told what was done (three messages, for the command line);
    ``stage(step, percent)`` is called as each of :data:`IMPORT_STAGES` starts and
    as payments are written. Anything ``stage`` raises stops the import with
    nothing written: the last call, ``saving``, comes just before the commit
    (this is how a background import is cancelled, :mod:`mapping.spend.jobs`).
    """
    say = progress or (lambda _m: None)
    step = stage or (lambda _s, _p: None)
    spend = SP.read_spend(path, mapping=mapping, encoding=encoding,
                          stage=lambda name: step(name, IMPORT_STAGES[name]))
    say(f"read {spend.total_lines} lines")
    if spend.problems and not skip_invalid:
        raise ValidationError(spend.problems, summary=(
            f"{spend.file}: {len(spend.problems)} line(s) rejected, nothing imported "
            "(fix them, or use --skip-invalid to import the rest)"))
    known = known_source(spend.file)
    publisher = publisher or known.get("publisher")
    licence = licence or known.get("licence")
    attribution = attribution or known.get("attribution")
    name = name.strip()
    if not name:
        raise ValidationError([Problem("give the dataset a name", field="name")])
    _check_lengths({"name": name, "file": spend.file, "publisher": publisher,
                    "licence": licence, "attribution": attribution})
    payments = spend.payments.copy()
    payments["supplier_key"] = normalise_supplier_names(payments[SL.SUPPLIER])
    payments["repairs"] = payments["repairs"].where(payments["repairs"] != "", None)
    with store.transaction() as session:
        existing = session.scalar(select(SpendDataset).where(SpendDataset.name == name))
        if existing is not None:
            if not replace:
                raise ValidationError([Problem(
                    f"a spend dataset called '{name}' exists; choose another name or replace it",
                    field="name")])
            session.delete(existing)
            session.flush()
        rec = spend.reconciliation()
        dataset = SpendDataset(
            name=name, file=spend.file, publisher=publisher, licence=licence,
            attribution=attribution, header_line=spend.header_line,
            column_mapping=spend.mapping, line_counts=spend.counts,
            total_lines=spend.total_lines, stated_total_pence=rec.stated_pence,
            imported_pence=rec.imported_pence, reconciliation=rec.describe(),
            imported_by=imported_by)
        session.add(dataset)
        session.flush()
        step("matching suppliers", IMPORT_STAGES["matching suppliers"])
        suppliers = (payments.groupby("supplier_key", sort=False)
                     .agg(supplier_name=(SL.SUPPLIER, lambda s: s.mode().iloc[0]),
                          company_number=(SL.COMPANY_NUMBER, "first"),
                          charity_number=(SL.CHARITY_NUMBER, "first"))
                     .reset_index())
        matches = refresh_supplier_matches(session, suppliers, threshold=threshold)
        say(f"matched {len(suppliers)} suppliers")
        start, span = IMPORT_STAGES["writing"], IMPORT_STAGES["saving"] - IMPORT_STAGES["writing"]
        step("writing", start)
        frame = payments[list(PAYMENT_COLUMNS)].assign(dataset_id=dataset.id)
        bulk_insert(session, PAYMENTS_TABLE, frame,
                    chunk_done=lambda n, of: step("writing", start + span * n // max(of, 1)))
        say(f"wrote {len(frame)} payments")
        lines = spend.lines.assign(dataset_id=dataset.id)
        if len(lines):
            bulk_insert(session, LINES_TABLE, lines)
        dataset_id = dataset.id
        step("saving", IMPORT_STAGES["saving"])
    return SpendImport(dataset_id, spend, matches)


def _check_lengths(values: dict[str, str | None]) -> None:
    """Refuse dataset details longer than the store keeps (PostgreSQL would fail the import)."""
    problems = []
    for name, value in values.items():
        limit = getattr(DATASETS_TABLE.c[name].type, "length", None)
        if value is not None and limit is not None and len(value) > limit:
            problems.append(Problem(f"{len(value)} characters, longer than the {limit} kept",
                                    field=name))
    if problems:
        raise ValidationError(problems)


def check_spend(path: Path, *, mapping: dict[str, str] | None = None,
                encoding: str = "utf-8") -> SpendImport:
    """Give what an import of ``path`` would do, writing nothing (for the column-mapping review)."""
    return SpendImport(None, SP.read_spend(path, mapping=mapping, encoding=encoding), {})


def datasets_frame(session: Session) -> pd.DataFrame:
    """Give every spend dataset, newest first."""
    table = SpendDataset.__table__
    return pd.read_sql(select(table).order_by(table.c.imported_at.desc()), session.connection())


def get_dataset(session: Session, dataset_id: int) -> SpendDataset:
    """Give one spend dataset, or raise :class:`NotFoundError`."""
    dataset = session.get(SpendDataset, dataset_id)
    if dataset is None:
        raise NotFoundError(f"no spend dataset with id {dataset_id}")
    return dataset


def payments_frame(session: Session, dataset_id: int) -> pd.DataFrame:
    """Give a dataset's payments (``id`` is the payment's id), in file order."""
    table = PAYMENTS_TABLE
    # Rows straight from the driver: SQLAlchemy's per-row processing would dominate at a
    # million payments. Dates come back as the store keeps them (ISO text on SQLite).
    query = select(table).where(table.c.dataset_id == dataset_id).order_by(table.c.line)
    compiled = query.compile(dialect=session.connection().dialect,
                             compile_kwargs={"literal_binds": True})
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(str(compiled))
        columns = [d[0] for d in cursor.description]
        frame = pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
    finally:
        cursor.close()
    frame["amount_pence"] = frame["amount_pence"].astype("int64")
    return frame


def lines_frame(session: Session, dataset_id: int) -> pd.DataFrame:
    """Give a dataset's cleaning report: every line that was not a cleanly imported payment."""
    table = SpendLine.__table__
    lines = pd.read_sql(select(table.c.line, table.c.status, table.c.reason, table.c.raw,
                               table.c.amount_pence)
                        .where(table.c.dataset_id == dataset_id).order_by(table.c.line),
                        session.connection())
    # Whole pence, even where some lines have none (read_sql would give floats: 123456.0).
    lines["amount_pence"] = lines["amount_pence"].astype("Int64")
    return lines


def delete_dataset(session: Session, dataset_id: int) -> None:
    """Delete a dataset with its payments and cleaning report."""
    get_dataset(session, dataset_id)
    session.execute(delete(DATASETS_TABLE).where(DATASETS_TABLE.c.id == dataset_id))
