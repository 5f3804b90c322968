"""Folium maps of community assets over areas and patches, with every front-end file served locally.

:func:`asset_map` draws areas (outlines, or a choropleth of a measure such as population
or IMD decile), patches with permanent labels, and assets as clustered markers coloured
by ownership class (CLES) with a category symbol, plus a layer control, legends, a
full-screen button and a search over asset names. Everything the browser needs is served
by our own app: :func:`localise_assets` points every script and style at ``node_modules/``
files on the allow-list :data:`VENDOR_FILES` (see :mod:`mapping._render_assets`, which
also holds the Leaflet elements' JavaScript).

The page stays small at 10,000 assets because the data travel as compact columns: whole
numbers of 1e-5 degree (about 1 m) offset from a corner, rings delta-encoded, ids as
differences, categories and classes as one character each; markers are built in the
browser. This module builds maps only; it does no Flask or network I/O. The category
labels default to the project's own ``data/categories.csv``, read once through
:mod:`mapping.taxonomy`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, cast

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure

from mapping import schema
from mapping._render_assets import (
    DROPPED_ASSETS,
    VENDOR_DIRS,
    VENDOR_FILES,
    VENDOR_REFERENCED_FILES,
    AreaLayer,
    AssetCluster,
    AssetSearch,
    MapLegend,
    encode_rings,
    is_vendor_file,
    js_literal,
    localise_assets,
)
from mapping.errors import CRSError, Problem, ValidationError

__all__ = [
    "DEFAULT_MEASURE", "DROPPED_ASSETS", "MEASURES", "NO_MEASURE", "OWNERSHIP_COLOURS",
    "VENDOR_DIRS", "VENDOR_FILES", "VENDOR_REFERENCED_FILES", "ChoroplethClass", "Measure",
    "asset_map", "available_measures", "category_glyphs", "choropleth_classes",
    "html_entities", "is_vendor_file", "js_literal", "localise_assets", "map_parts", "point_map",
]

#: Marker colour for each ownership class (schema.OWNERSHIP_CLASSES), CLES's three classes
#: and "not yet classified".
OWNERSHIP_COLOURS: Final[dict[str, str]] = {
    "generative": "#2e7d32",
    "extractive": "#c62828",
    "in-house": "#1565c0",
    "unknown": "#757575",
}

#: The database id of an asset record, used in the detail link (EXTERNAL_ID if absent).
RECORD_ID: Final = "id"

#: Highest zoom level when the map has no tile layer; Leaflet.markercluster needs one.
MAX_ZOOM: Final = 19
#: Lowest zoom level (a county or so): the clusters are made for every level from here
#: to MAX_ZOOM, so each level less to zoom out to is less work in the browser.
MIN_ZOOM: Final = 8
#: Zoom level not exceeded when fitting the map to its data (a single asset, say).
FIT_MAX_ZOOM: Final = 16
#: Tolerance, in metres (EPSG:27700), to which area outlines are simplified for the page.
SIMPLIFY_TOLERANCE_M: Final = 5.0
#: One ASCII digit per index below 36 (0-9, a-z), for columns sent as one string.
_BASE36: Final = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
#: Coordinates are written as whole numbers of 1e-5 degree, about 1 m.
_COORD_SCALE: Final = 100_000
_BACKGROUND: Final = "#f2efe9"
_AREA_STYLE: Final = {"color": "#5f6b73", "weight": 1, "fillColor": "#9aa5ad", "fillOpacity": 0.06}
_AREA_HOVER: Final = {"weight": 2.5, "color": "#263238"}
_NO_DATA_COLOUR: Final = "#ffffff"
_PATCH_STYLE: Final = {"color": "#263238", "weight": 3.5, "fill": False}
_FOCUS_STYLE: Final = {"color": "#000000", "weight": 5, "fill": False}
_OTHER_PATCH_STYLE: Final = {"color": "#263238", "weight": 2, "opacity": 0.6, "fill": False}
_GLYPH_BACKGROUND: Final = "#455a64"
#: folium.Map's own script and style links that our maps keep (by folium's names).
_MAP_LINKS_KEPT: Final = ("leaflet", "leaflet_css")

# --- measures and their classes ------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """An area attribute that the map can shade areas by."""

    column: str
    """Column of the area layer (``schema.POPULATION`` ...)."""
    label: str
    """Name shown in the legend, the tooltips and the page."""
    unit: str
    """Unit after a value in a tooltip ("people"); empty for none."""
    kind: str
    """``"quantiles"`` (classes with about as many areas each) or ``"deciles"`` (IMD)."""
    note: str
    """One line under the legend's title saying how to read the classes."""


#: The measures a page may choose, by query value. Decile 1 is the most deprived tenth of
#: LSOAs in England (IMD 2019), so the darkest colour goes to it.
MEASURES: Final[dict[str, Measure]] = {
    "population": Measure(
        schema.POPULATION, "Population", "people", "quantiles",
        "People per area; classes of about equal numbers of areas (quantiles)",
    ),
    "population_65_plus": Measure(
        schema.POPULATION_65_PLUS, "People aged 65 and over", "people aged 65+", "quantiles",
        "People aged 65+ per area; classes of about equal numbers of areas (quantiles)",
    ),
    "imd_decile": Measure(
        schema.IMD_DECILE, "IMD 2019 decile", "", "deciles",
        "Index of Multiple Deprivation 2019: 1 = most deprived 10% of areas in England",
    ),
}
#: Query value for "outlines only".
NO_MEASURE: Final = "none"
#: The measure a map page shows unless told otherwise.
DEFAULT_MEASURE: Final = "population"
#: Number of classes for quantile measures.
QUANTILE_CLASSES: Final = 5

# ColorBrewer "Purples" (Brewer, Harrower & Penn State, 2002): a sequential ramp that keeps
# clear of the markers' green, red and blue.
_RAMP: Final = ("#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f",
                "#3f007d")


@dataclass(frozen=True)
class ChoroplethClass:
    """One class of a choropleth: values from ``lower`` to ``upper`` (both included)."""

    lower: float
    upper: float
    colour: str
    label: str


def _ramp(n: int) -> list[str]:
    """Give ``n`` colours from light to dark, spread evenly along :data:`_RAMP`."""
    anchors = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in _RAMP], dtype=float)
    at = np.linspace(0, len(_RAMP) - 1, n) if n > 1 else np.array([len(_RAMP) - 1.0])
    rgb = np.column_stack(
        [np.interp(at, np.arange(len(_RAMP)), anchors[:, channel]) for channel in range(3)]
    )
    return ["#" + "".join(f"{round(v):02x}" for v in row) for row in rgb]


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def choropleth_classes(
    values: pd.Series | Sequence[float], measure: Measure | str, *, classes: int = QUANTILE_CLASSES
) -> list[ChoroplethClass]:
    """Give the classes of a choropleth, lightest first: quantile breaks, or IMD's ten deciles.

    Quantiles (equal-count classification): ``classes`` classes with breaks at the
    quantiles of the values, rounded to whole numbers (the measures are counts of people)
    and merged where they coincide, so there may be fewer classes; a class runs from one
    more than the upper value of the class before it. Deciles: always the ten classes 1 to
    10, darkest first, since decile 1 is the most deprived. Missing values are left out;
    with none left there are no classes.

    Parameters
    ----------
    values
        The measure's values over the areas shown.
    measure
        A :class:`Measure` or a key of :data:`MEASURES`.
    classes
        Number of quantile classes wanted.
    """
    if isinstance(measure, str):
        if measure not in MEASURES:
            raise ValidationError([Problem(f"unknown measure '{measure}'", field="measure")])
        measure = MEASURES[measure]
    if measure.kind == "deciles":
        colours = _ramp(10)[::-1]
        labels = {1: "1 most deprived", 10: "10 least deprived"}
        return [ChoroplethClass(d, d, colours[d - 1], labels.get(d, str(d))) for d in range(1, 11)]
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").dropna()
    if numbers.empty:
        return []
    edges = np.unique(np.round(np.quantile(numbers.to_numpy(float), np.linspace(0, 1, classes + 1))))
    uppers = edges[1:] if len(edges) > 1 else edges
    colours = _ramp(len(uppers))
    out = []
    lower = float(edges[0])
    for upper, colour in zip(uppers, colours, strict=True):
        label = _number(upper) if lower == upper else f"{_number(lower)}–{_number(upper)}"
        out.append(ChoroplethClass(lower, float(upper), colour, label))
        lower = float(upper) + 1
    return out


def _class_index(values: pd.Series, classes: Sequence[ChoroplethClass]) -> np.ndarray:
    """Give each value's class (0 = first), or -1 for a missing value."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
    uppers = np.array([c.upper for c in classes], dtype=float)
    index = np.searchsorted(uppers, numbers, side="left").clip(0, max(len(uppers) - 1, 0))
    return np.where(np.isnan(numbers) | (len(uppers) == 0), -1, index)


def available_measures(areas: gpd.GeoDataFrame | None) -> list[str]:
    """Give the keys of :data:`MEASURES` that ``areas`` have values for (none: empty list)."""
    if areas is None:
        return []
    return [key for key, m in MEASURES.items()
            if m.column in areas.columns and pd.to_numeric(areas[m.column], errors="coerce").notna().any()]


# --- category symbols ------------------------------------------------------------------------

_GLYPH_STOPWORDS: Final = frozenset({"a", "an", "and", "for", "in", "of", "the", "to"})


def _glyph_candidates(code: str) -> Iterator[str]:
    words = [w for w in re.split(r"[^0-9A-Za-z]+", code) if w]
    words = [w for w in words if w.lower() not in _GLYPH_STOPWORDS] or words or ["?"]
    first = words[0][0].upper()
    if len(words) > 1:
        yield first + words[1][0].upper()
    for letter in "".join(words)[1:]:
        yield first + letter.lower()
    yield first
    for n in range(2, 1000):
        yield f"{first}{n}"


def category_glyphs(
    codes: Iterable[str], *, symbols: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Give a short symbol for each category code, different for every code.

    A symbol given in ``symbols`` (e.g. a ``symbol`` column of ``data/categories.csv``)
    is used as it is, cut to three characters. Otherwise it is derived from the code, in
    the order given so that earlier categories get the plainer symbols: the initials of
    its first two words (``place_of_worship`` → ``PW``, ``gp_practice`` → ``GP``; "of",
    "the", "for" ... are skipped), or for a one-word code its first two letters
    (``school`` → ``Sc``), then the first letter with each later letter in turn until the
    symbol is free, ignoring case (``respite`` → ``Rs`` after ``residential`` took ``Re``).

    Parameters
    ----------
    codes
        Category codes, in the taxonomy's order; repeats are ignored.
    symbols
        Chosen symbols by code; blank ones are ignored.
    """
    ordered = list(dict.fromkeys(codes))
    chosen = {code: str(symbols[code]).strip()[:3] for code in ordered
              if symbols and code in symbols and str(symbols[code] or "").strip()}
    taken = {g.casefold() for g in chosen.values()}
    out: dict[str, str] = {}
    for code in ordered:
        if code in chosen:
            out[code] = chosen[code]
            continue
        glyph = next(g for g in _glyph_candidates(code) if g.casefold() not in taken)
        taken.add(glyph.casefold())
        out[code] = glyph
    return out


def _category_tables(
    labels: Mapping[str, str] | None, symbols: Mapping[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Give (label by code, chosen symbol by code), by default from ``data/categories.csv``."""
    if labels is not None:
        return dict(labels), dict(symbols or {})
    from mapping.taxonomy import load_categories

    table = load_categories()
    found = dict(zip(table["code"], table["label"], strict=True))
    if symbols is None and "symbol" in table.columns:
        symbols = dict(zip(table["code"], table["symbol"], strict=True))
    return found, dict(symbols or {})


# --- frames to payloads ----------------------------------------------------------------------


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


# --- the map ---------------------------------------------------------------------------------


def asset_map(
    areas: gpd.GeoDataFrame | None,
    assets: gpd.GeoDataFrame,
    *,
    patches: gpd.GeoDataFrame | None = None,
    measure: str | None = None,
    areas_title: str = "Areas",
    focus_patch: str | None = None,
    tile_url: str = "",
    tile_attribution: str = "",
    vendor_url: str = "/vendor",
    detail_url: str = "/assets/{id}",
    category_labels: Mapping[str, str] | None = None,
    category_symbols: Mapping[str, str] | None = None,
) -> folium.Map:
    """Give a Leaflet map of areas, patches and clustered assets that loads nothing from the web.

    Areas are drawn as thin outlines, or with ``measure`` as a choropleth
    (:func:`choropleth_classes`: quantiles, or IMD deciles with the most deprived darkest),
    simplified to :data:`SIMPLIFY_TOLERANCE_M`; their tooltip gives name, code, value and
    for IMD how it was mapped onto the layer (``imd_method``). Patches are thick outlines
    with their name as a permanent label. Assets are markers in their ownership class's
    colour (:data:`OWNERSHIP_COLOURS`) showing their category's symbol
    (:func:`category_glyphs`), clustered with Leaflet.markercluster (a cluster is a pie of
    its ownership mix) and built in the browser from compact columns, so 10,000 assets
    make a page under 0.5 MB. An asset's popup gives its name, category, ownership class
    and a link to ``detail_url``; a search box finds assets by name. Asset text travels as
    JSON and is shown as DOM text, area and patch names are HTML-escaped, so nothing a
    user typed is ever read as markup. A layer control, legends and a full-screen button
    are added, the view is fitted to the data (or to ``focus_patch``), and finally
    :func:`localise_assets` points every script and style at ``vendor_url``.

    Parameters
    ----------
    areas
        Area polygons (wards, LSOAs) with ``schema.AREA_NAME`` and ``schema.AREA_CODE``
        where known, and the measure's column; ``None`` for none.
    assets
        Asset points with ``schema.NAME`` and, where known, ``schema.CATEGORY`` (a code),
        ``schema.OWNERSHIP_CLASS`` (missing or unknown values show as ``"unknown"``) and a
        numeric database ``id`` (``schema.EXTERNAL_ID`` is used when there is none).
        Rows without a geometry are left off; non-point geometries are shown at a
        representative point.
    patches
        Patch polygons, labelled by ``schema.PATCH`` (else ``schema.AREA_NAME``,
        else ``schema.AREA_CODE``); ``None`` for none.
    measure
        A key of :data:`MEASURES` to shade the areas by; ``None`` or :data:`NO_MEASURE`
        for outlines only. :func:`available_measures` says which the areas have.
    areas_title
        Name of the area layer, shown in the layer control and the legend.
    focus_patch
        Label of a patch to fit the view to and outline more heavily.
    tile_url
        Leaflet URL template of a base-map tile server; empty for no tiles (a plain light
        background, and the map's ``maxZoom`` set to :data:`MAX_ZOOM`).
    tile_attribution
        Attribution for ``tile_url`` (HTML, from the trusted settings); required with it.
    vendor_url
        URL prefix under which ``node_modules/`` is served (``web/vendor.py``).
    detail_url
        Format string of an asset's detail page, with ``{id}``; the id is URL-encoded.
    category_labels
        Label of each category code, in the taxonomy's order; by default the project's
        ``data/categories.csv``. Codes not in it are shown as they are.
    category_symbols
        Symbol of each category code; by default the ``symbol`` column of
        ``data/categories.csv`` if it has one. Others are derived (:func:`category_glyphs`).

    Returns
    -------
    folium.Map
        A new map; render it with ``m.get_root().render()``.

    Raises
    ------
    CRSError
        If a frame has no CRS. Frames in another CRS are reprojected to EPSG:4326; the
        inputs are never changed.
    ValidationError
        If the assets have no name column, ``detail_url`` has other fields than ``{id}``,
        a tile URL comes without an attribution, or ``measure`` is unknown or has no
        values in ``areas``.
    MappingError
        If an element would load a file from the internet (see :func:`localise_assets`).
    """
    if tile_url and not tile_attribution:
        raise ValidationError(
            [Problem("a tile server needs its attribution", field="tile_attribution")]
        )
    assets_ll = _to_lonlat(assets, "assets")
    areas_ll = None if areas is None else _to_lonlat(areas, "areas")
    patches_ll = None if patches is None else _to_lonlat(patches, "patches")
    chosen: Measure | None = None
    if measure not in (None, NO_MEASURE):
        if measure not in available_measures(areas_ll):
            raise ValidationError([Problem(
                f"the areas have no values for '{measure}' (they have: "
                f"{', '.join(available_measures(areas_ll)) or 'none'})", field="measure")])
        chosen = MEASURES[str(measure)]
    labels, symbols = _category_tables(category_labels, category_symbols)
    codes = _text(_column_or_blank(assets_ll, schema.CATEGORY))
    glyphs = category_glyphs([*labels, *sorted(set(codes) - set(labels))], symbols=symbols)

    payload, asset_bounds, present = _asset_payload(assets_ll, labels, glyphs, detail_url)
    boxes = [] if asset_bounds is None else [asset_bounds]

    classes: list[ChoroplethClass] = []
    area_payload, area_bounds, missing = "", None, False
    if areas_ll is not None and len(areas_ll):
        if chosen is not None:
            classes = choropleth_classes(areas_ll[chosen.column], chosen)
        area_payload, area_bounds, missing = _area_payload(areas_ll, chosen, classes)
        if area_bounds is not None:
            boxes.append(area_bounds)
    outlines, focus = None, None
    if patches_ll is not None and len(patches_ll):
        label = _column_or_blank(patches_ll, schema.PATCH, schema.AREA_NAME, schema.AREA_CODE)
        outlines = _outline_frame(patches_ll, {"label": label})
        outlines["at"] = list(_label_points(patches_ll))
        focus = None if focus_patch is None else html.escape(focus_patch)
        focused = outlines[outlines["label"] == focus]
        boxes = [_bounds(focused)] if len(focused) else [*boxes, _bounds(outlines)]

    m = folium.Map(location=None, tiles=None, control_scale=True)
    m.options["min_zoom"] = MIN_ZOOM
    # Our layers need Leaflet only: folium's jQuery, Bootstrap, Glyphicons, Font Awesome
    # and awesome-markers (for folium.Icon and folium.Popup) would be 0.6 MB more to load.
    m.default_js = [(n, u) for n, u in m.default_js if n in _MAP_LINKS_KEPT]
    m.default_css = [(n, u) for n, u in m.default_css if n in _MAP_LINKS_KEPT]
    if tile_url:
        folium.TileLayer(
            tiles=tile_url, attr=tile_attribution, name="Base map", max_zoom=MAX_ZOOM,
            max_native_zoom=18,
        ).add_to(m)
    else:
        m.options["max_zoom"] = MAX_ZOOM
    # The view is set before any layer is added, so the clusters are made once, at it.
    m.fit_bounds(_union_bounds(boxes), max_zoom=FIT_MAX_ZOOM)

    if area_bounds is not None:
        name = areas_title if chosen is None else f"{areas_title}: {chosen.label}"
        # Leaflet's layer control shows layer names as HTML.
        AreaLayer(area_payload, name=html.escape(name)).add_to(m)
    if outlines is not None:
        _add_patches(m, outlines, focus)
    cluster = AssetCluster(payload, name="Community assets")
    cluster.add_to(m)
    spec = _legend_spec(present, labels, glyphs, chosen, classes, missing, areas_title)
    MapLegend(m.get_name(), spec, background=None if tile_url else _BACKGROUND).add_to(m)
    folium.plugins.Fullscreen(position="topleft").add_to(m)
    AssetSearch(cluster, label="Search assets by name",
                placeholder="Search assets by name…").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return localise_assets(m, vendor_url=vendor_url)


# --- small maps and page parts ---------------------------------------------------------------

_VIEWPORT_META = re.compile(r"<meta\s+name=\"viewport\"[^>]*>")


def map_parts(m: folium.Map) -> dict[str, str]:
    """Give a map's ``header``, ``html`` and ``script`` for embedding in one of our pages.

    Folium's own viewport tag is dropped: it forbids zooming the page, which people with
    low vision need (WCAG 1.4.4), and our pages set their own.
    """
    root = cast(Figure, m.get_root())  # a folium map always sits in a Figure
    root.render()
    return {"header": _VIEWPORT_META.sub("", root.header.render()),
            "html": root.html.render(), "script": root.script.render(), "name": m.get_name()}


def html_entities(text: str) -> str:
    """Give ``text`` as HTML with every character but letters, digits and spaces an entity.

    Folium writes tooltip text unescaped into a JavaScript template literal, where ``<``,
    a backtick or ``${`` would be markup or code; as numeric entities they are neither, and
    the browser still shows the text as typed.
    """
    return "".join(c if c.isalnum() or c == " " else f"&#{ord(c)};" for c in text)


def point_map(
    lon: float,
    lat: float,
    label: str,
    colour: str,
    *,
    outline: gpd.GeoDataFrame | None = None,
    tile_url: str = "",
    tile_attribution: str = "",
    vendor_url: str = "/vendor",
) -> folium.Map:
    """Give a small map of one point (a detail page's map) that loads nothing from the web.

    Tiles only when given; otherwise ``outline`` (e.g. the borough, EPSG:4326) gives
    context. One circle marker with an entity-escaped tooltip and no popup.
    """
    m = folium.Map(location=[lat, lon], zoom_start=16, tiles=None, control_scale=True,
                   scroll_wheel_zoom=False)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution, max_zoom=MAX_ZOOM,
                         max_native_zoom=18).add_to(m)
    else:
        m.options["max_zoom"] = MAX_ZOOM
        if outline is not None and len(outline):
            folium.GeoJson(outline[["geometry"]].to_json(),
                           style_function=lambda _f: {"color": "#5f6b73", "weight": 2,
                                                      "fillOpacity": 0.04}).add_to(m)
            west, south, east, north = (float(v) for v in outline.total_bounds)
            m.fit_bounds([[min(south, lat), min(west, lon)], [max(north, lat), max(east, lon)]])
    folium.CircleMarker([lat, lon], radius=9, color="#ffffff", weight=2, fill=True,
                        fill_color=colour, fill_opacity=0.95,
                        tooltip=folium.Tooltip(html_entities(label))).add_to(m)
    return localise_assets(m, vendor_url=vendor_url)
