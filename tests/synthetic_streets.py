"""SYNTHETIC street networks for tests: a grid of made-up residential streets as OSM XML.

No such streets exist: the grid only lets the walking-network path run over real areas
(e.g. the Newham demo's LSOAs), where no real street network is available offline.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pyproj import Transformer

from mapping.places.store import load_area_layer
from mapping.schema import METRIC_CRS, STORAGE_CRS
from mapping.store.database import Store


def write_street_grid(path: Path, bounds_bng: tuple[float, float, float, float], *,
                      spacing_m: float = 150.0, west_of_x: float | None = None) -> Path:
    """Write a SYNTHETIC grid of streets over ``bounds_bng`` (EPSG:27700) as an OSM XML file.

    Streets run east-west and north-south every ``spacing_m``; with ``west_of_x``, only
    the part of the grid west of that easting is written (the rest has no streets).
    """
    x0, y0, x1, y1 = bounds_bng
    # The grid covers the bounds, but never crosses ``west_of_x``.
    columns = (math.ceil((x1 - x0) / spacing_m) if west_of_x is None
               else math.floor((min(x1, west_of_x) - x0) / spacing_m))
    xs = x0 + spacing_m * np.arange(columns + 1)
    ys = y0 + spacing_m * np.arange(math.ceil((y1 - y0) / spacing_m) + 1)
    to_lon_lat = Transformer.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True)
    grid_x, grid_y = np.meshgrid(xs, ys)
    lon, lat = to_lon_lat.transform(grid_x.ravel(), grid_y.ravel())
    ids = np.arange(1, grid_x.size + 1).reshape(grid_x.shape)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<osm version="0.6" generator="SYNTHETIC test street grid (not real streets)">']
    lines += [f'  <node id="{i}" lat="{la:.7f}" lon="{lo:.7f}"/>'
              for i, lo, la in zip(ids.ravel(), lon, lat, strict=True)]
    way = 10_000_000
    for refs in [*ids, *ids.T]:  # rows, then columns
        way += 1
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        lines.append(f'  <way id="{way}">{nds}<tag k="highway" v="residential"/></way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def grid_over_west_half(store: Store, folder: Path) -> tuple[Path, float]:
    """Write a SYNTHETIC street grid over the west half of the stored LSOAs (200 m apart).

    Gives the file and the easting where the grid stops: areas whose demand point lies more
    than the snap limit east of it are off the network.
    """
    with store.transaction() as session:
        areas = load_area_layer(session, "lsoa_2021").to_crs(METRIC_CRS)
    x0, y0, x1, y1 = areas.total_bounds
    stop = float(areas.representative_point().x.median())
    return write_street_grid(folder / "grid.osm", (x0, y0, x1, y1), spacing_m=200.0,
                             west_of_x=stop), stop
