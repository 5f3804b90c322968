"""Benchmark: import and report 1,000,000 SYNTHETIC council payments (spend benchmarking).

Every row is synthetic and says so: suppliers are called "SYNTHETIC supplier N
Ltd/CIC/Charity/…", the file's preamble line says "SYNTHETIC benchmark file".
The file has the shape of a real "payments over £500" file: preamble lines, a
header with Lambeth's spellings, 1% of rows with the amount run into the date
(``25/06/2012900``, repaired), padding characters, and a Total row to reconcile.
Prints the time of each step (write the CSV, read and clean, store with supplier
matching, report with chart) and the peak memory. Goal: under 60 s for import
and report.

Usage: python scripts/bench_spend.py [--rows 1000000] [--suppliers 5000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mapping.spend.reading import pounds
from mapping.spend.report import policy_bands, shares_chart, top_extractive
from mapping.spend.service import report_for
from mapping.spend.store import import_spend
from mapping.store.database import Store

DEPARTMENTS = ("Adults' and Community Services", "Children and Young People's Service",
               "Housing, Regeneration and Environment")
SERVICES = ("RESIDENTIAL CARE PRIVATE SPOT", "NURSING CARE PRIVATE SPOT",
            "DOMICILIARY CARE PRIVATE SPOT", "SUPPORTED HOUSING - VOLUNTARY", "DAY CARE VOLUNTARY SPOT",
            "GAS -\u2020 GENERAL", "PLANNED MAINTENANCE")
SUFFIXES = ("Ltd", "Limited", "CIC", "Charity", "Co-operative", "PLC", "Trust", "")


def synthetic_file(path: Path, rows: int, suppliers: int, seed: int = 0) -> int:
    """Write a SYNTHETIC spend file of ``rows`` payments; give its total in pence."""
    rng = np.random.default_rng(seed)
    names = np.array([f"SYNTHETIC supplier {i} {SUFFIXES[i % len(SUFFIXES)]}".strip()
                      for i in range(suppliers)])
    pence = rng.integers(500_00, 250_000_00, rows) // rng.choice([1, 10, 100], rows)
    pence = np.maximum(pence, 500_00)
    day = rng.integers(1, 29, rows)
    dates = pd.Series(day).map(lambda d: f"{d:02d}/06/2012")
    amounts = pd.Series(pence // 100).astype(str) + "." + pd.Series(pence % 100).map(
        lambda p: f"{p:02d}")
    frame = pd.DataFrame({
        "Body": "SYNTHETIC",
        "Department": rng.choice(DEPARTMENTS, rows),
        "Supplier Name": rng.choice(names, rows),
        "Invoice Creation Date": dates,
        "Invoice Nett Amount": amounts,
        "Subj Description": rng.choice(SERVICES, rows),
    })
    broken = rng.random(rows) < 0.01
    body = frame.to_csv(index=False, header=False).splitlines()
    run_together = (frame["Body"] + "," + frame["Department"].map(lambda d: f'"{d}"' if "," in d
                                                                   else d)
                    + "," + frame["Supplier Name"] + "," + frame["Invoice Creation Date"]
                    + frame["Invoice Nett Amount"] + "," + frame["Subj Description"])
    lines = np.where(broken, run_together.to_numpy(), np.array(body, dtype=object))
    with path.open("w", encoding="utf-8") as out:
        out.write("SYNTHETIC benchmark file: Invoices Over Specified Nett Amount,,,,,\n,,,,,\n")
        out.write(",".join(frame.columns) + "\n")
        out.write("\n".join(lines) + "\n")
        total = int(pence.sum())
        out.write(f",,,,,\nTotal,\u2020\u2020 ,,,{total // 100}.{total % 100:02d},\n")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--suppliers", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic_payments.csv"
        start = time.perf_counter()
        total = synthetic_file(path, args.rows, args.suppliers)
        print(f"wrote {args.rows:,} SYNTHETIC payments ({path.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - start:.1f} s")
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        store.upgrade()
        start = time.perf_counter()
        marks: list[tuple[str, float]] = []
        result = import_spend(store, path, name="SYNTHETIC", imported_by="bench",
                              progress=lambda m: marks.append((m, time.perf_counter())))
        imported = time.perf_counter()
        for message, at in marks:
            print(f"  {at - start:6.1f} s  {message}")
        print(result.summary())
        assert result.dataset_id is not None
        with store.transaction() as session:
            report = report_for(session, result.dataset_id)
        shares = report.shares
        policy_bands(report.classified)
        top_extractive(report.classified)
        shares_chart([("SYNTHETIC", shares)], fmt="png")
        done = time.perf_counter()
        store.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin"
                                                                    else 1024 * 1024)
    print(f"import (read, clean, repair, store, match suppliers): {imported - start:.1f} s")
    print(f"report (classify, shares, bands, top suppliers, chart): {done - imported:.1f} s")
    print(f"total: {done - start:.1f} s (goal < 60 s); peak memory {peak_mb:,.0f} MB")
    print(f"reconciles: {int(shares['total_pence'].sum()) == total} ({pounds(total)})")


if __name__ == "__main__":
    main()
