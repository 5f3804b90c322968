"""Reading council spend files ("payments over £500") as councils really publish them.

The Local Government Transparency Code asks councils to publish every payment
over £500; each council does it its own way. This module reads such a file into
one clean table of payments and accounts for **every line** of the file:

- preamble lines before the header, the header itself, blank lines, totals
  rows (``Total``, ``Grand Total``) and sub-total rows are recognised; totals are
  kept to reconcile against, never imported as payments. A line is a totals row
  only when its supplier cell is the label or blank and the label is in a
  descriptive column (not the amount, date or an identifier): a payment with
  "Total" in its service column is still a payment;
- headers are mapped to our columns through ``data/spend_column_aliases.csv``
  (``mapping`` overrides it), and the header row is found after any preamble;
- amounts are read as exact pence from currency strings (``£1,234.56``,
  ``(123.00)``, ``12.00 CR``);
- broken rows are repaired where the repair is unambiguous, and every repair is
  recorded. Lambeth's June 2012 file, for example, has whole-pound and decimal
  amounts run into the date (``25/06/2012900``) and supplier names run into the
  date (``Catch2212/06/2012``). A row is repaired only when exactly one split
  gives a valid row in the file's own date format; anything else is rejected
  with its reason.

Line numbers are the file's own (1-based, the way a spreadsheet numbers rows,
preamble included), because that is where an officer looks.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from mapping.errors import Problem, ValidationError
from mapping.spend.layout import (
    AMOUNT,
    AMOUNT_PENCE,
    LINE,
    LINE_STATUSES,
    MAX_LENGTHS,
    PADDING,
    PAID_ON,
    REPAIRS,
    SPEND_COLUMNS,
    SUPPLIER,
    _clean_cell,
    _delimiter,
    _totals_rows,
    _unused_headers,
    column_label,
    find_header,
)
from mapping.spend.repairs import _DATE_SHAPES, DATE_FORMATS, _date_shape, repair_row
from mapping.spend.suppliers import normalise_supplier_names
from mapping.tables import (
    blank,
    money_pence,
    parse_datetimes,
    parse_money,
    read_text,
)


@dataclass
class SpendFile:
    """A spend file read and cleaned: its payments, and what became of every line."""

    file: str
    """The file's name."""
    header_line: int
    """Line number of the header row."""
    mapping: dict[str, str]
    """Source header → our column, as used."""
    payments: pd.DataFrame
    """One row per payment: ``line``, our columns (``paid_on`` a date), ``amount_pence``, ``repairs``."""
    lines: pd.DataFrame
    """Every line that is not a cleanly imported payment: ``line, status, reason, raw, amount_pence``."""
    total_lines: int
    """How many lines the file has."""
    problems: list[Problem] = field(default_factory=list)
    """One problem per rejected line (file, row = line, field, reason)."""

    @property
    def counts(self) -> dict[str, int]:
        """Give how many lines had each status (``LINE_STATUSES``); they add up to ``total_lines``."""
        found = Counter(self.lines["status"])
        found["imported"] = int((self.payments[REPAIRS] == "").sum())
        return {status: int(found.get(status, 0)) for status in LINE_STATUSES}

    @property
    def stated_total_pence(self) -> int | None:
        """Give the file's own total: its last ``Grand Total`` row, else its last ``Total`` row,
        else (a file with sub-totals only) the sum of its sub-totals; ``None`` when it has none.
        """
        with_amount = self.lines[self.lines[AMOUNT_PENCE].notna()]
        totals = with_amount[with_amount["status"] == "total"]
        if totals.empty:
            subtotals = with_amount[with_amount["status"] == "subtotal"]
            return int(subtotals[AMOUNT_PENCE].sum()) if len(subtotals) else None
        grand = totals[totals["raw"].str.contains("grand", case=False)]
        return int((grand if not grand.empty else totals)[AMOUNT_PENCE].iloc[-1])

    @property
    def stated_from(self) -> str:
        """Give where :attr:`stated_total_pence` comes from: ``total row`` or ``sub-totals``."""
        with_amount = self.lines[self.lines[AMOUNT_PENCE].notna()]
        return "total row" if (with_amount["status"] == "total").any() else "sub-totals"

    def reconciliation(self) -> Reconciliation:
        """Give the imported total against the file's own total, and the rejected lines between."""
        imported = int(self.payments[AMOUNT_PENCE].sum())
        rejected = self.lines[self.lines["status"] == "rejected"]
        return Reconciliation(
            stated_pence=self.stated_total_pence, stated_from=self.stated_from,
            imported_pence=imported,
            rejected_pence=int(rejected[AMOUNT_PENCE].fillna(0).sum()),
            rejected_lines=rejected[LINE].astype(int).tolist(),
            rejected_without_amount=int(rejected[AMOUNT_PENCE].isna().sum()),
        )


@dataclass(frozen=True)
class Reconciliation:
    """Imported payments against the total the file states."""

    stated_pence: int | None
    imported_pence: int
    rejected_pence: int
    rejected_lines: list[int]
    rejected_without_amount: int
    stated_from: str = "total row"
    """``total row``, or ``sub-totals`` when the file has sub-totals but no total row."""

    @property
    def difference_pence(self) -> int | None:
        """Give stated minus imported, or ``None`` when the file states no total."""
        return None if self.stated_pence is None else self.stated_pence - self.imported_pence

    @property
    def status(self) -> str:
        """Give ``reconciled``, ``explained`` (rejected lines make up the difference),
        ``unexplained`` or ``no total``."""
        diff = self.difference_pence
        if diff is None:
            return "no total"
        if diff == 0:
            return "reconciled"
        if diff == self.rejected_pence:
            return "explained"
        return "unexplained"

    def describe(self) -> str:
        """Give the reconciliation in one sentence."""
        imported = pounds(self.imported_pence)
        if self.stated_pence is None:
            return f"Imported {imported}; the file states no total to reconcile against."
        stated = pounds(self.stated_pence)
        subtotals = self.stated_from == "sub-totals"
        if self.status == "reconciled":
            if subtotals:
                return (f"Imported {imported} = the file's sub-totals added up ({stated}), to the "
                        "penny (the file has no total row).")
            return f"Imported {imported} = the file's own total {stated}, to the penny."
        whose = ("the file has no total row; its sub-totals add up to" if subtotals
                 else "the file's total is")
        diff = pounds(self.difference_pence or 0)
        lines = ", ".join(str(n) for n in self.rejected_lines[:20])
        more = " …" if len(self.rejected_lines) > 20 else ""
        if self.status == "explained":
            unreadable = (f" ({self.rejected_without_amount} of them with no readable amount)"
                          if self.rejected_without_amount else "")
            return (f"Imported {imported}; {whose} {stated}. The difference {diff} "
                    f"is exactly the rejected lines {lines}{more}{unreadable}.")
        return (f"Imported {imported}; {whose} {stated}. The difference {diff} is not "
                f"explained by the rejected lines ({pounds(self.rejected_pence)}"
                f"{'' if not self.rejected_without_amount else ', some with no readable amount'}): "
                "check the file's total row.")


def pounds(pence: int) -> str:
    """Give pence as pounds, e.g. ``-123456`` → ``-£1,234.56``."""
    sign = "-" if pence < 0 else ""
    return f"{sign}£{abs(pence) // 100:,}.{abs(pence) % 100:02d}"


def whole_pounds(pence: int) -> str:
    """Give pence as whole pounds, half a pound up, e.g. ``-123456`` → ``-£1,235``.

    For totals, where pence add nothing; single payments keep theirs (:func:`pounds`).
    """
    sign = "-" if pence < 0 else ""
    return f"{sign}£{(abs(int(pence)) + 50) // 100:,}"


def _row_lines(text: str, delimiter: str = ",") -> tuple[list[list[str]], list[int]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str]] = []
    starts: list[int] = []
    previous = 0
    try:
        for row in reader:
            rows.append(row)
            starts.append(previous + 1)
            previous = reader.line_num
    except csv.Error as exc:
        raise ValidationError([Problem(f"unreadable CSV: {exc}", row=reader.line_num)]) from None
    return rows, starts


def read_spend(path: Path, *, mapping: dict[str, str] | None = None,
               encoding: str = "utf-8", stage: Callable[[str], None] | None = None
               ) -> SpendFile:
    """Give a council spend file's payments, cleaned, with every line accounted for.

    Parameters
    ----------
    path
        A CSV file in the Local Government Transparency Code "payments over £500"
        shape (any header spelling, preamble, totals rows; comma, semicolon, tab or
        pipe separated).
    mapping
        Source header → spend column (``SPEND_COLUMNS``), over the alias table.
    encoding
        The file's text encoding (``cp1252`` for older Excel).
    stage
        Called with ``"reading"`` and then ``"repairing"`` as each step starts (progress).

    Raises
    ------
    ValidationError
        When the file cannot be read or has no recognisable header. Bad rows are
        not raised here: they are in ``SpendFile.problems`` and ``lines``.
    """
    path = Path(path)
    label = path.name
    if stage is not None:
        stage("reading")
    text = read_text(path, encoding=encoding)
    try:
        rows, starts = _row_lines(text, _delimiter(text, mapping))
    except ValidationError as exc:
        raise ValidationError([Problem(p.reason, row=p.row, file=label) for p in exc.problems]
                              ) from None
    if stage is not None:
        stage("repairing")
    return spend_from_rows(rows, starts, mapping=mapping, file=label)


def spend_from_rows(rows: list[list[str]], starts: list[int], *,
                    mapping: dict[str, str] | None = None, file: str) -> SpendFile:
    """Give the cleaned payments of rows already split into cells (see :func:`read_spend`)."""
    head, columns = find_header(rows, mapping=mapping, file=file)
    n_fields = len(rows[head])
    header = rows[head]
    used = {_clean_cell(header[i]): name for i, name in columns.items()}
    other: list[dict[str, object]] = [
        {LINE: starts[i], "status": "preamble", "reason": "before the header", "raw": ",".join(r)}
        for i, r in enumerate(rows[:head])
    ]
    doubles = _unused_headers(header, columns, mapping)
    other.append({LINE: starts[head], "status": "header", "reason": "header row" + doubles,
                  "raw": ",".join(header)})
    body = range(head + 1, len(rows))
    good = [i for i in body if len(rows[i]) == n_fields]
    odd = [i for i in body if len(rows[i]) != n_fields]
    frame = pd.DataFrame([rows[i] for i in good], columns=range(n_fields), dtype=object)
    frame[LINE] = np.asarray([starts[i] for i in good], dtype=np.int64)
    frame[REPAIRS] = ""
    date_col = next((i for i, c in columns.items() if c == PAID_ON), None)
    shape = _date_shape(frame[date_col]) if date_col is not None and len(frame) else "dd/mm/yyyy"
    fixed = []
    for i in odd:
        cells = rows[i]
        if not any(_clean_cell(c) for c in cells):
            other.append({LINE: starts[i], "status": "blank", "reason": "blank line", "raw": ",".join(cells)})
            continue
        repaired, note = repair_row([_clean_cell(c) for c in cells], n_fields, columns,
                                    date_shape=shape)
        if repaired is None:
            other.append({LINE: starts[i], "status": "rejected", "reason": note,
                          "raw": ",".join(cells)})
            continue
        fixed.append([*repaired, starts[i], note])
    if fixed:
        extra = pd.DataFrame(fixed, columns=[*range(n_fields), LINE, REPAIRS])
        frame = pd.concat([frame, extra], ignore_index=True) if len(frame) else extra
    if frame.empty:
        if not any(o["status"] == "rejected" for o in other):
            raise ValidationError([Problem(f"the file has a header (line {starts[head]}) but "
                                           "no payment lines", file=file)])
        return _nothing_readable(file, starts[head], used, other, len(rows))
    frame = frame.sort_values(LINE, kind="stable").reset_index(drop=True)
    cells = frame[list(range(n_fields))].astype("string")
    padding = f"[{PADDING}]"  # a str pattern: Arrow runs it, a compiled one falls back to Python
    padded = cells.apply(lambda c: c.str.contains(padding, regex=True)).fillna(False).any(axis=1)
    if padded.any():
        for c in range(n_fields):
            column = cells[c]
            has = column.str.contains(padding, regex=True).fillna(False)
            cells.loc[has, c] = column[has].str.replace(padding, " ", regex=True).str.replace(
                r"\s+", " ", regex=True)
        note = "removed padding characters (†)"
        frame[REPAIRS] = frame[REPAIRS].where(~padded, frame[REPAIRS].where(
            frame[REPAIRS] == "", frame[REPAIRS] + "; ") + note)
    cells = cells.apply(lambda c: c.str.strip())
    empty = cells.isna() | cells.eq("")
    is_blank = empty.all(axis=1)
    is_total, is_subtotal = _totals_rows(cells, columns)
    is_total &= ~is_blank
    is_subtotal &= is_total
    out = pd.DataFrame({LINE: frame[LINE].to_numpy()})
    for i, name in columns.items():
        out[name] = cells[i].to_numpy()
    for name in SPEND_COLUMNS:
        if name not in out:
            out[name] = pd.Series(pd.NA, index=out.index, dtype="string")
    out[REPAIRS] = frame[REPAIRS].to_numpy()
    row_of = dict(zip(starts, range(len(starts)), strict=True))

    def raw_at(line: int) -> str:
        return ",".join(rows[row_of[int(line)]])

    # Totals rows: kept to reconcile against. Their amount is the amount column, else the
    # last number on the line (a total often sits under the amount column, sometimes not).
    total_rows = out[is_total.to_numpy()]
    if len(total_rows):
        amount_text = total_rows[AMOUNT].fillna("")
        last_number = cells[is_total].apply(
            lambda r: next((v for v in reversed(r.tolist()) if isinstance(v, str)
                            and re.fullmatch(r"[£(\-]?[\d,]+(\.\d+)?\)?", v)), ""), axis=1)
        amount_text = amount_text.where(amount_text != "", last_number.to_numpy())
        total_pence, _ = parse_money(amount_text.reset_index(drop=True), field=AMOUNT, file=file)
        subtotal = is_subtotal[is_total].to_numpy()
        has_total = not subtotal.all()
        for line, pence, sub in zip(total_rows[LINE], total_pence, subtotal, strict=True):
            reason = ("totals row: used to reconcile, not imported" if not sub else
                      "sub-total row: not imported, and not the file's total" if has_total else
                      "sub-total row: not imported; the file has no total row, so its sub-totals "
                      "are added up to reconcile against")
            other.append({LINE: int(line), "status": "subtotal" if sub else "total",
                          "raw": raw_at(line), "reason": reason,
                          AMOUNT_PENCE: None if pd.isna(pence) else int(pence)})
    for line in out[LINE][is_blank.to_numpy()]:
        other.append({LINE: int(line), "status": "blank", "reason": "blank line",
                      "raw": raw_at(line)})
    keep = ~(is_total | is_blank).to_numpy()
    out = out[keep].reset_index(drop=True)
    if out.empty and not any(o["status"] == "rejected" for o in other):
        raise ValidationError([Problem(f"the file has a header (line {starts[head]}) but no "
                                       "payment lines", file=file)])

    problems: list[Problem] = []
    pence, money_problems = parse_money(out[AMOUNT], field=AMOUNT, file=file, rows=out[LINE])
    problems += money_problems
    out[AMOUNT_PENCE] = pence
    if PAID_ON in columns.values():
        fmts = (_DATE_SHAPES[shape][1], *DATE_FORMATS)
        stamps, date_problems = parse_datetimes(out[PAID_ON], field=PAID_ON, file=file,
                                                formats=fmts, rows=out[LINE])
        problems += date_problems
        out[PAID_ON] = stamps.dt.date.astype(object).where(stamps.notna(), None)
    else:
        out[PAID_ON] = None
    no_supplier = blank(out[SUPPLIER])
    problems += [Problem("the supplier name is blank", row=int(line), field=SUPPLIER, file=file)
                 for line in out[LINE][no_supplier.to_numpy()]]
    no_amount = blank(out[AMOUNT])
    problems += [Problem("the amount is blank", row=int(line), field=AMOUNT, file=file)
                 for line in out[LINE][no_amount.to_numpy()]]
    problems += _too_long(out, file)
    rejected_lines = {p.row for p in problems}
    bad_rows = out[out[LINE].isin(list(rejected_lines))]
    for line, amount in zip(bad_rows[LINE], bad_rows[AMOUNT_PENCE], strict=True):
        if int(line) in rejected_lines:
            reasons = "; ".join(f"{column_label(p.field)}: {p.reason}" for p in problems
                                if p.row == line)
            other.append({LINE: int(line), "status": "rejected", "reason": reasons,
                          "raw": raw_at(line),
                          AMOUNT_PENCE: None if pd.isna(amount) else int(amount)})
    problems += [Problem(str(o["reason"]), row=int(str(o[LINE])), file=file) for o in other
                 if o["status"] == "rejected" and int(str(o[LINE])) not in rejected_lines]
    ok = ~out[LINE].isin(list(rejected_lines)).to_numpy()
    payments = out[ok].reset_index(drop=True)
    payments[AMOUNT_PENCE] = payments[AMOUNT_PENCE].astype(np.int64)
    for o in other:
        if o["status"] != "rejected" or AMOUNT_PENCE in o:
            continue
        o[AMOUNT_PENCE] = _amount_in(str(o["raw"]))
    lines = pd.DataFrame(other, columns=[LINE, "status", "reason", "raw", AMOUNT_PENCE])
    was_repaired = (payments[REPAIRS] != "").to_numpy()
    repaired = payments[was_repaired]
    lines = pd.concat([lines, pd.DataFrame({
        LINE: repaired[LINE], "status": "repaired", "reason": repaired[REPAIRS],
        "raw": [raw_at(line) for line in repaired[LINE]], AMOUNT_PENCE: repaired[AMOUNT_PENCE]})],
        ignore_index=True)
    lines[AMOUNT_PENCE] = lines[AMOUNT_PENCE].astype("Int64")
    lines = lines.sort_values(LINE, kind="stable").reset_index(drop=True)
    problems.sort(key=lambda p: p.row or 0)
    return SpendFile(file=file, header_line=starts[head], mapping=used,
                     payments=payments[[LINE, *SPEND_COLUMNS, AMOUNT_PENCE, REPAIRS]],
                     lines=lines, total_lines=len(rows), problems=problems)


def _too_long(out: pd.DataFrame, file: str) -> list[Problem]:
    """Give a problem for each cell longer than the store keeps (``MAX_LENGTHS``)."""
    problems = []
    for name, limit in MAX_LENGTHS.items():
        if name not in out:
            continue
        length = out[name].astype("string").str.len()
        for line, n in zip(out[LINE][length.gt(limit).fillna(False).to_numpy()],
                           length[length.gt(limit).fillna(False)], strict=True):
            problems.append(Problem(f"{n} characters, longer than the {limit} this column keeps",
                                    row=int(line), field=name, file=file))
    # The supplier's key spells out abbreviations ("Ltd" becomes "limited"), so it can be
    # longer than the name itself.
    names = out[SUPPLIER].astype("string")
    limit = MAX_LENGTHS.get("supplier_key", 0)
    candidates = names.str.len().gt(limit // 4).fillna(False) & names.str.len().le(
        MAX_LENGTHS.get(SUPPLIER, limit)).fillna(False)
    if limit and candidates.any():
        keys = normalise_supplier_names(names[candidates])
        for line, key in zip(out[LINE][candidates.to_numpy()], keys, strict=True):
            if len(key) > limit:
                problems.append(Problem(
                    f"the supplier name's key ({len(key)} characters once abbreviations are "
                    f"spelt out) is longer than the {limit} the store keeps; shorten the name",
                    row=int(line), field=SUPPLIER, file=file))
    return problems


def _nothing_readable(file: str, header_line: int, used: dict[str, str],
                      other: list[dict[str, object]], total_lines: int) -> SpendFile:
    """Give the result for a file whose every payment line was rejected."""
    for o in other:
        if o["status"] == "rejected":
            o[AMOUNT_PENCE] = _amount_in(str(o["raw"]))
    lines = pd.DataFrame(other, columns=[LINE, "status", "reason", "raw", AMOUNT_PENCE])
    lines[AMOUNT_PENCE] = lines[AMOUNT_PENCE].astype("Int64")
    payments = pd.DataFrame({c: pd.Series(dtype=object) for c in
                             (LINE, *SPEND_COLUMNS, AMOUNT_PENCE, REPAIRS)})
    payments[AMOUNT_PENCE] = payments[AMOUNT_PENCE].astype(np.int64)
    problems = [Problem(str(o["reason"]), row=int(str(o[LINE])), file=file) for o in other
                if o["status"] == "rejected"]
    return SpendFile(file=file, header_line=header_line, mapping=used, payments=payments,
                     lines=lines.sort_values(LINE).reset_index(drop=True),
                     total_lines=total_lines, problems=problems)


def _amount_in(raw: str) -> int | None:
    """Give the one readable amount of money on a rejected line, if there is exactly one."""
    numbers = [c for c in raw.split(",") if re.fullmatch(r"\s*-?\d+\.\d{2}\s*", c)]
    if len(numbers) != 1:
        return None
    return money_pence(numbers[0])


def paid_on_range(payments: pd.DataFrame) -> tuple[date | None, date | None]:
    """Give the first and last payment date (``None`` when the file has no dates)."""
    dates = payments[PAID_ON].dropna()
    if dates.empty:
        return None, None
    return min(dates), max(dates)
