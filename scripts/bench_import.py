"""Benchmark: import 100,000 SYNTHETIC assets geocoded from real Newham postcodes.

The asset rows are synthetic (labelled so in their names and source); the
postcodes are real, drawn from OS Code-Point Open for Newham's districts.
Prints rows/s end to end (read, validate, geocode, flag in-borough, write
with history) for a first import and a re-import, and the peak memory.
Goal: at least 20,000 rows/s end to end.

Usage: python scripts/bench_import.py [--rows 100000]
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

from mapping.config import load_settings
from mapping.places.areas import areas_from_frame
from mapping.places.postcodes import PostcodeIndex
from mapping.places.store import load_area_layer, save_area_layer
from mapping.register.importers import import_assets
from mapping.register.taxonomy import load_categories
from mapping.store.database import Store


def synthetic_assets(rows: int, data_dir: Path, seed: int = 0) -> pd.DataFrame:
    """Give ``rows`` synthetic assets with real Newham postcodes (no coordinates)."""
    rng = np.random.default_rng(seed)
    postcodes = pd.read_csv(
        data_dir / "newham/postcodes/codepoint_open_E6_E7_E12_E13_E15_E16_E20.csv", dtype=str
    )["postcode"].to_numpy()
    categories = load_categories()["code"].to_numpy()
    return pd.DataFrame({
        "id": [f"synthetic:{i}" for i in range(rows)],
        "name": [f"Synthetic asset {i}" for i in range(rows)],
        "category": rng.choice(categories, rows),
        "postcode": rng.choice(postcodes, rows),
        "capacity": rng.integers(1, 50, rows),
        "status": rng.choice(["active", "proposed", "closed"], rows, p=[0.8, 0.15, 0.05]),
        "source": "survey",
        "description": "SYNTHETIC benchmark row, not real",
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    settings = load_settings()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "synthetic_assets.csv"
        synthetic_assets(args.rows, settings.data_dir).to_csv(csv_path, index=False)
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        store.upgrade()
        import geopandas as gpd

        outline = gpd.read_file(settings.data_dir / "newham/boundaries/lad_2022.geojson")
        areas, _ = areas_from_frame(outline, code_field="LAD22CD", name_field="LAD22NM")
        with store.transaction() as session:
            save_area_layer(session, "borough", areas)
            boundary = load_area_layer(session, "borough")
        index = PostcodeIndex()
        print(f"file: {csv_path.stat().st_size / 1e6:.1f} MB, {args.rows:,} synthetic rows",
              file=sys.stderr)
        for label in ("first import", "re-import (all unchanged)"):
            start = time.perf_counter()
            report = import_assets(store, csv_path, boundary=boundary, index=index)
            seconds = time.perf_counter() - start
            print(f"{label:28s} {seconds:6.2f} s  {args.rows / seconds:10,.0f} rows/s  "
                  f"({report.summary()})")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory (max RSS of the process): {peak_mb:,.0f} MB")
        store.dispose()


if __name__ == "__main__":
    main()
