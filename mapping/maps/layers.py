"""The map's data: assets, areas and patches as the compact payloads the browser draws.

Coordinates travel as whole numbers of 1e-5 degree (about 1 m) offset from a corner, rings
delta-encoded, ids as differences, categories and classes as one character each, so a page
with 10,000 assets stays small; the Leaflet elements that read them are in
:mod:`mapping.maps._elements`.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mapping import schema
from mapping.errors import CRSError, Problem, ValidationError
from mapping.maps._elements import encode_rings, js_literal
from mapping.maps.legend import (
    OWNERSHIP_COLOURS,
    ChoroplethClass,
    Measure,
    _class_index,
    _number,
)

#: The database id of an asset record, used in the detail link (EXTERNAL_ID if absent).
RECORD_ID: Final = "id"


#: Tolerance, in metres (EPSG:27700), to which area outlines are simplified for the page.
SIMPLIFY_TOLERANCE_M: Final = 5.0


#: One ASCII digit per index below 36 (0-9, a-z), for columns sent as one string.
_BASE36: Final = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


#: Coordinates are written as whole numbers of 1e-5 degree, about 1 m.
_COORD_SCALE: Final = 100_000


_AREA_STYLE: Final = {"color": "#5f6b73", "weight": 1, "fillColor": "#9aa5ad", "fillOpacity": 0.06}


_AREA_HOVER: Final = {"weight": 2.5, "color": "#263238"}


_NO_DATA_COLOUR: Final = "#ffffff"


_PATCH_STYLE: Final = {"color": "#263238", "weight": 3.5, "fill": False}


_FOCUS_STYLE: Final = {"color": "#000000", "weight": 5, "fill": False}


_GLYPH_BACKGROUND: Final = "#455a64"
_OTHER_PATCH_STYLE: Final = {"color": "#263238", "weight": 2, "opacity": 0.6, "fill": False}


def _to_lonlat(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Give ``frame`` in EPSG:4326 (a new frame if it had to be reprojected)."""
    if not isinstance(frame, gpd.GeoDataFrame):
        raise TypeError(f"{what} must be a GeoDataFrame, got {type(frame).__name__}")
    if frame.crs is None:
        raise CRSError(
            f"{what} have no CRS; set the one the coordinates are in (e.g. "
            f"{schema.METRIC_CRS} or {schema.STORAGE_CRS}) before mapping them"
        )
    if frame.crs.to_epsg() != 4326:
        return frame.to_crs(schema.STORAGE_CRS)
    return frame


def _text(values: pd.Series) -> list[str]:
    """Give the values as text, ``""`` for a missing one (vectorised: 10,000 names in ms)."""
    return [str(v) for v in values.astype("string").fillna("").tolist()]


def _outline_frame(frame: gpd.GeoDataFrame, labels: dict[str, pd.Series]) -> gpd.GeoDataFrame:
    """Give a slim frame for a GeoJson layer: HTML-escaped labels, rounded coordinates.

    Folium's GeoJsonTooltip writes property values into the page with ``innerHTML``, so
    they are escaped here; coordinates are rounded to about 1 m to keep the page small.
    """
    keep = frame.geometry.notna() & ~frame.geometry.is_empty
    geometry = shapely.transform(
        frame.geometry[keep].to_numpy(), lambda xy: np.round(xy, 5)
    )
    columns = {key: [html.escape(t) for t in _text(v[keep])] for key, v in labels.items()}
    return gpd.GeoDataFrame(columns, geometry=list(geometry), crs=schema.STORAGE_CRS)


def _first_column(frame: pd.DataFrame, *names: str) -> pd.Series | None:
    for name in names:
        if name in frame.columns:
            return frame[name]
    return None


def _column_or_blank(frame: pd.DataFrame, *names: str) -> pd.Series:
    column = _first_column(frame, *names)
    return pd.Series("", index=frame.index) if column is None else column


def _bounds(frame: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    west, south, east, north = (float(v) for v in frame.total_bounds)
    return west, south, east, north


def _id_value(value: object) -> int | str | None:
    """Give a record id as JSON will carry it: a whole number stays one, else text."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return str(value)


def _ids(rows: pd.DataFrame) -> dict[str, object]:
    """Give the ids as ``{"idd": differences}`` when all are whole numbers, else ``{"id": list}``.

    Register ids come sorted, so their differences are mostly ``1``: a third of the size.
    """
    column = _first_column(rows, RECORD_ID, schema.EXTERNAL_ID)
    if column is None:
        return {"id": None}
    if pd.api.types.is_integer_dtype(column.dtype) and not column.isna().any():
        return {"idd": np.diff(column.to_numpy(np.int64), prepend=0).tolist()}
    ids = [_id_value(v) for v in column]
    if ids and all(isinstance(v, int) for v in ids):
        whole = np.array(ids, dtype=np.int64)
        return {"idd": np.diff(whole, prepend=0).tolist()}
    return {"id": ids}


def _asset_payload(
    assets: gpd.GeoDataFrame, category_labels: Mapping[str, str],
    glyphs: Mapping[str, str], detail_url: str,
) -> tuple[str, tuple[float, float, float, float] | None, list[str]]:
    """Give the assets as one compact JS object literal, their lon/lat bounds, their codes.

    Columns rather than one row per asset, coordinates as whole numbers of 1e-5 degree
    from the south-west corner, ids as differences, and category and ownership class as
    one character each: 10,000 assets with folium's row format came to 0.57 MB.
    """
    if schema.NAME not in assets.columns:
        raise ValidationError([Problem("assets need a name column", field=schema.NAME)])
    geometry = assets.geometry
    keep = (geometry.notna() & ~geometry.is_empty).to_numpy()
    rows = assets[keep]
    points = rows.geometry
    if len(rows) and not (points.geom_type == "Point").all():
        points = points.representative_point()
    lon = np.rint(points.x.to_numpy() * _COORD_SCALE).astype(np.int64)
    lat = np.rint(points.y.to_numpy() * _COORD_SCALE).astype(np.int64)
    lat0 = int(lat.min()) if len(lat) else 0
    lon0 = int(lon.min()) if len(lon) else 0

    classes = list(schema.OWNERSHIP_CLASSES)
    ownership = _column_or_blank(rows, schema.OWNERSHIP_CLASS)
    class_index = ownership.map({c: i for i, c in enumerate(classes)}).fillna(
        classes.index("unknown")
    )

    codes = _text(_column_or_blank(rows, schema.CATEGORY))
    order = {code: i for i, code in enumerate(glyphs)}
    distinct = sorted(set(codes), key=lambda c: (order.get(c, len(order)), c))
    code_index = {code: i for i, code in enumerate(distinct)}
    indices = np.array([code_index[c] for c in codes], dtype=np.int64)
    cat: str | list[int] = (
        _BASE36[indices].tobytes().decode("ascii") if len(distinct) <= 36 else indices.tolist()
    )

    sentinel = "\x00"
    try:
        link = detail_url.format(id=sentinel).split(sentinel)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValidationError(
            [Problem(f"detail_url must be a format string with only {{id}}: {exc}",
                     field="detail_url")]
        ) from exc

    xy = np.column_stack([lat - lat0, lon - lon0]).ravel()
    payload = {
        "scale": _COORD_SCALE,
        "lat0": lat0,
        "lon0": lon0,
        "xy": xy.tolist(),
        "name": _text(rows[schema.NAME]),
        **_ids(rows),
        "cls": _BASE36[class_index.to_numpy(np.int64)].tobytes().decode("ascii"),
        "cat": cat,
        "cats": [category_labels.get(c, c) for c in distinct],
        "glyphs": [html.escape(glyphs[c]) for c in distinct],
        "classes": classes,
        "colours": [OWNERSHIP_COLOURS[c] for c in classes],
        "link": link,
    }
    bounds = None
    if len(rows):
        bounds = (
            float(lon.min()) / _COORD_SCALE, float(lat.min()) / _COORD_SCALE,
            float(lon.max()) / _COORD_SCALE, float(lat.max()) / _COORD_SCALE,
        )
    return js_literal(payload), bounds, distinct


def _simplified(geometry: gpd.GeoSeries) -> np.ndarray:
    """Give outlines simplified to :data:`SIMPLIFY_TOLERANCE_M` in EPSG:27700, back in lon/lat.

    A layer whose polygons tile without gaps or overlaps (a valid coverage, as ONS layers
    are) is simplified as a whole, so neighbours keep sharing their edges (GEOS coverage
    simplification, Visvalingam & Whyatt 1993: corners that make a triangle smaller than
    5 m × 5 m go); any other layer polygon by polygon (Douglas & Peucker 1973, 5 m),
    keeping each one valid.
    """
    metric = geometry.to_crs(schema.METRIC_CRS).to_numpy()
    if shapely.coverage_is_valid(metric):
        simple = shapely.coverage_simplify(metric, SIMPLIFY_TOLERANCE_M)
    else:
        simple = shapely.simplify(metric, SIMPLIFY_TOLERANCE_M, preserve_topology=True)
    return gpd.GeoSeries(simple, crs=schema.METRIC_CRS).to_crs(schema.STORAGE_CRS).to_numpy()


def _area_payload(
    areas: gpd.GeoDataFrame, measure: Measure | None, classes: Sequence[ChoroplethClass]
) -> tuple[str, tuple[float, float, float, float] | None, bool]:
    """Give the areas as one compact JS object literal, their bounds, and whether any lacks a value.

    Names, codes and tooltip values are HTML-escaped here: Leaflet shows tooltip strings
    as HTML.
    """
    keep = (areas.geometry.notna() & ~areas.geometry.is_empty).to_numpy()
    rows = areas[keep]
    if rows.empty:
        return "", None, False
    geometry = _simplified(rows.geometry)
    west, south, east, north = shapely.total_bounds(geometry)
    origin = np.array([np.rint(south * _COORD_SCALE), np.rint(west * _COORD_SCALE)], dtype=np.int64)
    encoded = [encode_rings(g, origin, scale=_COORD_SCALE) for g in geometry]
    drawn = np.array([bool(e) for e in encoded])
    rows = rows[drawn]
    lines: list[dict[str, object]] = []
    k: list[int] | None = None
    styles: list[dict[str, object]] = [dict(_AREA_STYLE)]
    missing = False
    if measure is not None:
        values = pd.to_numeric(rows[measure.column], errors="coerce")
        index = _class_index(values, classes)
        missing = bool((index < 0).any())
        styles = [{"color": "#5f6b73", "weight": 0.7, "fillColor": c.colour, "fillOpacity": 0.7}
                  for c in classes]
        styles.append({"color": "#5f6b73", "weight": 0.7, "fillColor": _NO_DATA_COLOUR,
                       "fillOpacity": 0.5, "dashArray": "2 3"})
        k = [len(classes) if i < 0 else int(i) for i in index]
        unit = f" {measure.unit}" if measure.unit else ""
        if measure.kind == "deciles":
            unit = " (1 = most deprived)"
        lines.append({"label": html.escape(measure.label),
                      "values": [None if np.isnan(v) else html.escape(_number(v) + unit)
                                 for v in values.to_numpy(float)]})
        if measure.column == schema.IMD_DECILE and schema.IMD_METHOD in rows.columns:
            lines.append({"label": "How IMD was mapped",
                          "values": [None if t == "" else html.escape(t)
                                     for t in _text(rows[schema.IMD_METHOD])]})
    payload = {
        "scale": _COORD_SCALE,
        "lat0": int(origin[0]),
        "lon0": int(origin[1]),
        "g": [e for e in encoded if e],
        "name": [html.escape(t) for t in _text(_column_or_blank(rows, schema.AREA_NAME))],
        "code": [html.escape(t) for t in _text(_column_or_blank(rows, schema.AREA_CODE))],
        "lines": lines,
        "k": k,
        "styles": styles,
        "hover": _AREA_HOVER,
    }
    return js_literal(payload), (float(west), float(south), float(east), float(north)), missing


def _legend_spec(
    category_codes: Sequence[str], category_labels: Mapping[str, str],
    glyphs: Mapping[str, str], measure: Measure | None, classes: Sequence[ChoroplethClass],
    missing: bool, areas_title: str,
) -> str:
    assets = [{"title": "Ownership", "note": "", "kind": "dot",
               "rows": [[c, OWNERSHIP_COLOURS[c], ""] for c in schema.OWNERSHIP_CLASSES]}]
    if category_codes:
        assets.append({"title": "Category symbols", "note": "", "kind": "glyph",
                       "rows": [[category_labels.get(c, c) or "no category", _GLYPH_BACKGROUND,
                                 glyphs[c]] for c in category_codes]})
    areas = []
    if measure is not None:
        rows = [[c.label, c.colour, ""] for c in classes]
        if missing:
            rows.append(["no data", _NO_DATA_COLOUR, ""])
        areas.append({"title": measure.label, "note": f"{areas_title}. {measure.note}",
                      "kind": "box", "rows": rows})
    return js_literal({"assets": assets, "areas": areas})


def _union_bounds(
    boxes: list[tuple[float, float, float, float]],
) -> list[list[float]]:
    if not boxes:
        west, south, east, north = schema.UK_BOUNDS_LONLAT
    else:
        array = np.array(boxes)
        west, south = array[:, 0].min(), array[:, 1].min()
        east, north = array[:, 2].max(), array[:, 3].max()
    return [[float(south), float(west)], [float(north), float(east)]]


def _label_points(patches: gpd.GeoDataFrame) -> Iterator[tuple[float, float]]:
    """Give a (lat, lon) inside each drawn patch, where its name goes (found in EPSG:27700)."""
    keep = patches.geometry.notna() & ~patches.geometry.is_empty
    inside = patches.geometry[keep].to_crs(schema.METRIC_CRS).representative_point()
    for point in inside.to_crs(schema.STORAGE_CRS):
        yield round(point.y, 5), round(point.x, 5)


def _add_patches(m: folium.Map, outlines: gpd.GeoDataFrame, focus: str | None) -> None:
    """Add the patches: outlines, and names as permanent labels at a point inside each.

    Labels are markers with a ``divIcon`` rather than centred tooltips, which for a patch
    in several parts could land outside it. With a ``focus`` (an escaped label) that patch
    is drawn heavier and the others lighter.
    """
    group = folium.FeatureGroup(name="Patches").add_to(m)
    others = _PATCH_STYLE if focus is None else _OTHER_PATCH_STYLE
    folium.GeoJson(
        outlines[["label", "geometry"]], control=False,
        style_function=lambda f: _FOCUS_STYLE if f["properties"]["label"] == focus else others,
    ).add_to(group)
    for label, at in zip(outlines["label"], outlines["at"], strict=True):
        css = "patch-label patch-label-focus" if label == focus else "patch-label"
        folium.Marker(
            at, interactive=False, keyboard=False,
            icon=folium.DivIcon(html=f'<span class="{css}">{label}</span>', icon_size=(0, 0),
                                class_name="patch-label-icon"),
        ).add_to(group)
