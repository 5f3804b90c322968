"""Benchmark: designing Newham's lots from the real demo data (no synthetic data).

Loads the Newham areas (the demo loader: 2022 wards, 2021 LSOAs with Census 2021
population) into a temporary store, then times :func:`mapping.lots.design.design_lots`
exactly as `mapping design-lots` runs it:

- 24 wards -> 8 lots balanced on population within ±10% (goal: under 10 s);
- 185 LSOAs -> 8 lots balanced on population within ±5% (goal: under 60 s);
- 185 LSOAs -> 8 lots keeping wards whole, ±10% (for information);

each for several seeds, printing the time, the achieved imbalance (largest
deviation from the ideal total), whether every lot is contiguous (checked by
adjacency) and the number of cut edges.

Usage: python scripts/bench_lots.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import networkx as nx

from mapping.boroughs.demo import load_demo_areas
from mapping.config import load_settings
from mapping.lots.design import design_lots
from mapping.lots.store import design_inputs
from mapping.places.areas import adjacency_graph
from mapping.store.database import Store

CASES = (  # (label, layer, tolerance, keep wards whole, goal in seconds)
    ("24 wards -> 8 lots, ±10%", "wards_2023", 0.10, False, 10.0),
    ("185 LSOAs -> 8 lots, ±5%", "lsoa_2021", 0.05, False, 60.0),
    ("185 LSOAs, wards whole -> 8 lots, ±10%", "lsoa_2021", 0.10, True, 60.0),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="Seeds 0..N-1 to run each case with.")
    args = parser.parse_args()
    data_dir = load_settings().data_dir
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        store.upgrade()
        with store.transaction() as session:
            load_demo_areas(session, data_dir, progress=lambda _m: None)
        for label, layer, tolerance, whole, goal in CASES:
            with store.transaction() as session:
                areas, groups, _start = design_inputs(
                    session, layer, keep_whole="wards_2023" if whole else None)
            graph = adjacency_graph(areas)
            times = []
            print(f"\n{label} (goal < {goal:g} s)")
            for seed in range(args.seeds):
                started = time.perf_counter()
                design = design_lots(areas, k=8, tolerance=tolerance, seed=seed, keep_whole=groups,
                                     keep_whole_name="wards_2023" if whole else None)
                seconds = time.perf_counter() - started
                times.append(seconds)
                contiguous = all(
                    nx.is_connected(graph.subgraph(rows["code"].tolist()))
                    for _lot, rows in design.lookup.groupby("patch"))
                print(f"  seed {seed}: {seconds:6.2f} s, largest deviation {design.imbalance:6.2%}"
                      f" ({'within' if design.met else 'NOT within'} ±{tolerance:.0%}), "
                      f"contiguous: {contiguous}, cut edges {design.cut_edges}")
            print(f"  median {statistics.median(times):.2f} s, max {max(times):.2f} s "
                  f"(time goal {'met' if max(times) < goal else 'MISSED'})")
        store.dispose()
    print(f"\nMethod: {design.method}")


if __name__ == "__main__":
    main()
