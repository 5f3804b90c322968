"""Folium maps of a gap analysis and of a micro-fund plan, built from :mod:`mapping.maps.asset_map`'s parts.

:func:`gaps_map` shades small areas by normalised access (1 = the borough's
population-weighted mean; :mod:`mapping.access.gaps`), outlines the gap areas in thick red,
draws the patches with their names and the category's sites as markers coloured by
ownership class. :func:`plan_map` shows a micro-fund plan (:mod:`mapping.funding.plan`):
the funded patches outlined heavily, the gap areas, and the suggested host sites.
Both load nothing from the internet (:func:`mapping.maps.asset_map.localise_assets`), and every
text reaches the page HTML-escaped or as DOM text, as in :func:`mapping.maps.asset_map.asset_map`.
This module builds maps only; it does no Flask or network I/O.
"""

from __future__ import annotations

import html
import math
from collections.abc import Collection
from typing import Final, cast

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure

from mapping import schema
from mapping.access.analysis import GapAnalysis
from mapping.maps._elements import AreaLayer, AssetCluster, MapLegend, encode_rings, js_literal
from mapping.maps._vendor import localise_assets
from mapping.maps.asset_map import FIT_MAX_ZOOM, MAX_ZOOM, MIN_ZOOM, html_entities
from mapping.maps.layers import (
    SIMPLIFY_TOLERANCE_M,
    _asset_payload,
    _label_points,
    _outline_frame,
    _text,
    _to_lonlat,
    _union_bounds,
)
from mapping.maps.legend import OWNERSHIP_COLOURS, _category_tables, category_glyphs

#: Upper bounds of the access classes (normalised access, 1 = borough mean); the last is open.
ACCESS_BREAKS: Final = (0.5, 0.8, 1.2, 2.0)
#: (label, colour) of each access class, lowest access first: ColorBrewer PuOr, so low
#: access is orange and high is purple, clear of the red gap outline.
ACCESS_CLASSES: Final[tuple[tuple[str, str], ...]] = (
    ("below 0.5 (under half the mean)", "#e66101"),
    ("0.5–0.8", "#fdb863"),
    ("0.8–1.2 (about the mean)", "#f7f7f7"),
    ("1.2–2", "#b2abd2"),
    ("above 2", "#5e3c99"),
)
#: Label and colour of areas where nobody has a site within the cut-off.
NONE_WITHIN: Final = ("no site within the cut-off", "#4d4d4d")
#: Label and colour of areas whose access is unknown (left off the network).
UNKNOWN: Final = ("access unknown", "#ffffff")
GAP_COLOUR: Final = "#d50000"
#: Fill of a proposed ('what if') site: cyan with a thick black ring, unlike any site marker.
PROPOSED_COLOUR: Final = "#00e5ff"
#: Legend key for gap areas: red hatching, matching the thick red outline on the map.
GAP_KEY: Final = f"repeating-linear-gradient(45deg,{GAP_COLOUR} 0 3px,#ffffff 3px 6px)"
_BACKGROUND: Final = "#f2efe9"
_HOVER: Final = {"weight": 3.5, "color": "#263238"}
_PATCH_STYLE: Final = {"color": "#263238", "weight": 2.5, "fill": False}
_FUNDED_STYLE: Final = {"color": "#000000", "weight": 5, "fill": False}
_OTHER_PATCH_STYLE: Final = {"color": "#263238", "weight": 1.5, "opacity": 0.5, "fill": False}
#: What the people of each demand measure are called, wherever a count of them is shown.
PEOPLE_WORDS: Final = {"population": "people", "population_65_plus": "people aged 65+"}
#: The leaflet pane of the patch names: above the areas (400), below the site markers (600),
#: so a name never hides a site.
LABEL_PANE: Final = "patch-labels"
#: Smaller patch names than other maps: the gap map names two dozen wards at borough zoom.
_LABEL_STYLE: Final = ("<style>.gap-patch-label { font: bold 11px/1.25 sans-serif; "
                       "padding: 0 4px; }</style>")


def people_words(measure: str) -> str:
    """Give what the people of a demand measure are called: "people", "people aged 65+"."""
    return PEOPLE_WORDS.get(measure, "people")


def access_class(normalised: pd.Series, none_within: pd.Series) -> np.ndarray:
    """Give each area's class index: 0-4 the access classes, 5 none within the cut-off, 6 unknown."""
    values = pd.to_numeric(normalised, errors="coerce").to_numpy(float)
    index = np.searchsorted(np.array(ACCESS_BREAKS), values, side="right")
    index = np.where(np.isnan(values), len(ACCESS_CLASSES) + 1, index)
    return np.where(none_within.fillna(False).astype(bool).to_numpy(), len(ACCESS_CLASSES), index)


def _simplified(geometry: gpd.GeoSeries) -> np.ndarray:
    """Give outlines simplified to SIMPLIFY_TOLERANCE_M in EPSG:27700, back in lon/lat."""
    metric = geometry.to_crs(schema.METRIC_CRS).to_numpy()
    simple = (shapely.coverage_simplify(metric, SIMPLIFY_TOLERANCE_M)
              if shapely.coverage_is_valid(metric)
              else shapely.simplify(metric, SIMPLIFY_TOLERANCE_M, preserve_topology=True))
    return gpd.GeoSeries(simple, crs=schema.METRIC_CRS).to_crs(schema.STORAGE_CRS).to_numpy()


def _fmt(value: float, pattern: str) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) \
        else html.escape(pattern.format(value))


def _gap_reasons(areas: pd.DataFrame) -> list[str | None]:
    words = {"below_half_mean": "below half the mean", "bottom_quintile": "bottom fifth of areas",
             "none_within_cutoff": "no site within the cut-off"}
    out: list[str | None] = []
    for _, row in areas.iterrows():
        reasons = [w for c, w in words.items() if bool(row.get(c, False))]
        out.append(html.escape("yes: " + "; ".join(reasons)) if reasons else None)
    return out


def _patch_of(areas: gpd.GeoDataFrame, patches: gpd.GeoDataFrame | None) -> pd.Series | None:
    """Give the patch each area lies in (by a point inside it, in EPSG:27700), or None."""
    if patches is None or not len(patches):
        return None
    inside = gpd.GeoDataFrame(geometry=areas.geometry.to_crs(schema.METRIC_CRS)
                              .representative_point(), index=areas.index)
    joined = inside.sjoin(patches[[schema.PATCH, "geometry"]].to_crs(schema.METRIC_CRS),
                          how="left", predicate="within")
    return joined[schema.PATCH][~joined.index.duplicated()].reindex(areas.index)


def _access_payload(areas: gpd.GeoDataFrame, *, outline_only: bool = False,
                    people: str = "people", patches: gpd.GeoDataFrame | None = None
                    ) -> tuple[str, tuple[float, float, float, float]]:
    """Give the areas as an AreaLayer payload: classes by access, gaps outlined in red, last."""
    keep = (areas.geometry.notna() & ~areas.geometry.is_empty).to_numpy()
    rows = areas[keep]
    patch = _patch_of(rows, patches)
    if patch is not None:
        rows = rows.assign(_patch=patch)
    gap = rows["gap"].fillna(False).astype(bool).to_numpy()
    rows = rows.iloc[np.argsort(gap, kind="stable")]  # gap outlines drawn on top
    geometry = _simplified(rows.geometry)
    west, south, east, north = shapely.total_bounds(geometry)
    origin = np.array([np.rint(south * 100_000), np.rint(west * 100_000)], dtype=np.int64)
    encoded = [encode_rings(g, origin, scale=100_000) for g in geometry]
    drawn = np.array([bool(e) for e in encoded])
    rows = rows[drawn]
    cls = access_class(rows["normalised"], rows["none_within_cutoff"])
    gap = rows["gap"].fillna(False).astype(bool).to_numpy()
    fills = [c for _, c in ACCESS_CLASSES] + [NONE_WITHIN[1], UNKNOWN[1]]
    base = [{"color": "#5f6b73", "weight": 0.7, "fillColor": f,
             "fillOpacity": 0.12 if outline_only else 0.75} for f in fills]
    gaps = [{**s, "color": GAP_COLOUR, "weight": 3.5} for s in base]
    k = [int(c) + (len(base) if g else 0) for c, g in zip(cls, gap, strict=True)]
    lines = [] if patch is None else [
        {"label": "Patch", "values": [html.escape(t) or None for t in _text(rows["_patch"])]}]
    lines += [
        {"label": "Access (1 = borough mean)",
         "values": [_fmt(v, "{:.2f}") for v in rows["normalised"].astype(float)]},
        {"label": people.capitalize(),
         "values": [_fmt(v, "{:,.0f}") for v in rows["people"].astype(float)]},
        {"label": "Nearest site",
         "values": [_fmt(v, "{:.0f} min") for v in rows["nearest_minutes"].astype(float)]},
        {"label": "Gap", "values": _gap_reasons(rows)},
    ]
    payload = {
        "scale": 100_000, "lat0": int(origin[0]), "lon0": int(origin[1]),
        "g": [e for e in encoded if e],
        "name": [html.escape(t) for t in _text(rows[schema.AREA_NAME])],
        "code": [html.escape(t) for t in _text(rows[schema.AREA_CODE])],
        "lines": lines, "k": k, "styles": base + gaps, "hover": _HOVER,
    }
    return js_literal(payload), (float(west), float(south), float(east), float(north))


def _add_patches(m: folium.Map, patches: gpd.GeoDataFrame, highlighted: Collection[str] | None
                 ) -> tuple[float, float, float, float]:
    """Add patch outlines with permanent name labels; ``highlighted`` ones drawn heavier.

    The names are small and lie under the site markers (:data:`LABEL_PANE`); a name that
    would cover another is hidden until zoomed in (:class:`mapping.maps._elements.MapLegend`),
    and each area's tooltip names its patch, so no name is ever unreadable or lost.
    """
    patches = _to_lonlat(patches, "patches")
    folium.map.CustomPane(LABEL_PANE, z_index=450, pointer_events=False).add_to(m)
    cast(Figure, m.get_root()).header.add_child(folium.Element(_LABEL_STYLE), name="gap_labels")
    outlines = _outline_frame(patches, {"label": patches[schema.PATCH]})
    outlines["at"] = list(_label_points(patches))
    marked = {html.escape(str(p)) for p in highlighted or ()}
    group = folium.FeatureGroup(name="Patches").add_to(m)
    plain = _PATCH_STYLE if highlighted is None else _OTHER_PATCH_STYLE
    folium.GeoJson(
        outlines[["label", "geometry"]], control=False,
        style_function=lambda f: _FUNDED_STYLE if f["properties"]["label"] in marked else plain,
    ).add_to(group)
    for label, at in zip(outlines["label"], outlines["at"], strict=True):
        css = "patch-label gap-patch-label" + (" patch-label-focus" if label in marked else "")
        folium.Marker(at, interactive=False, keyboard=False, pane=LABEL_PANE, icon=folium.DivIcon(
            html=f'<span class="{css}">{label}</span>', icon_size=(0, 0),
            class_name="patch-label-icon")).add_to(group)
    west, south, east, north = (float(v) for v in outlines.total_bounds)
    return west, south, east, north


def _base_map(tile_url: str, tile_attribution: str, boxes: list[tuple[float, float, float, float]]
              ) -> folium.Map:
    m = folium.Map(location=None, tiles=None, control_scale=True)
    m.options["min_zoom"] = MIN_ZOOM
    m.default_js = [(n, u) for n, u in m.default_js if n == "leaflet"]
    m.default_css = [(n, u) for n, u in m.default_css if n == "leaflet_css"]
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution, name="Base map",
                         max_zoom=MAX_ZOOM, max_native_zoom=18).add_to(m)
    else:
        m.options["max_zoom"] = MAX_ZOOM
    m.fit_bounds(_union_bounds(boxes), max_zoom=FIT_MAX_ZOOM)
    return m


def _sites_layer(m: folium.Map, sites: gpd.GeoDataFrame, name: str, detail_url: str) -> list[str]:
    labels, symbols = _category_tables(None, None)
    glyphs = category_glyphs(labels, symbols=symbols)
    payload, _bounds, present = _asset_payload(_to_lonlat(sites, "sites"), labels, glyphs,
                                               detail_url)
    AssetCluster(payload, name=html.escape(name)).add_to(m)
    return present


def _proposed_layer(m: folium.Map, proposed: gpd.GeoDataFrame) -> None:
    """Add the proposed sites as large cyan circles with a black ring (vector: no icons)."""
    group = folium.FeatureGroup(name="Proposed sites (what if)").add_to(m)
    points = _to_lonlat(proposed, "proposed sites")
    for site, point in zip(points["id"].astype(str), points.geometry, strict=True):
        folium.CircleMarker(
            [point.y, point.x], radius=11, color="#000000", weight=4, fill=True,
            fill_color=PROPOSED_COLOUR, fill_opacity=1.0,
            tooltip=html_entities(f"Proposed site {site} ({point.x:.5f}, {point.y:.5f})"),
        ).add_to(group)


def _legend(m: folium.Map, *, method: str, sites_title: str, areas_note: str,
            outline_only: bool, background: str | None, extra: list[list[str]] | None = None
            ) -> None:
    rows = [] if outline_only else [[label, colour, ""] for label, colour in ACCESS_CLASSES]
    if not outline_only:
        rows += [[NONE_WITHIN[0], NONE_WITHIN[1], ""]]
    rows.append(["gap area (thick red outline)", GAP_KEY, ""])
    rows += extra or []
    spec = {
        "assets": [{"title": sites_title, "note": "Marker colour: ownership (CLES)", "kind": "dot",
                    "rows": [[c, OWNERSHIP_COLOURS[c], ""] for c in schema.OWNERSHIP_CLASSES]}],
        "areas": [{"title": "Access to the nearest sites" if not outline_only else "Gap areas",
                   "note": f"{areas_note} Distances: {method}.", "kind": "box", "rows": rows}],
    }
    MapLegend(m.get_name(), js_literal(spec), background=background).add_to(m)


def gaps_map(
    analysis: GapAnalysis,
    sites: gpd.GeoDataFrame,
    *,
    patches: gpd.GeoDataFrame | None = None,
    tile_url: str = "",
    tile_attribution: str = "",
    vendor_url: str = "/vendor",
    detail_url: str = "/assets/{id}",
) -> folium.Map:
    """Give the gap map: areas shaded by normalised access, gaps outlined, patches, sites.

    Parameters
    ----------
    analysis
        The result of :func:`mapping.access.analysis.analyse_gaps`; its ``method`` label goes
        into the legend.
    sites
        The category's sites as register rows (``assets_frame``: ``name``, ``id``,
        ``category``, ``ownership_class``, points).
    patches
        Patch outlines with a ``patch`` column, or ``None``.
    tile_url, tile_attribution, vendor_url, detail_url
        As for :func:`mapping.maps.asset_map.asset_map`.
    """
    areas = _to_lonlat(analysis.areas, "areas")
    payload, bounds = _access_payload(areas, people=people_words(analysis.options.measure),
                                      patches=patches)
    m = _base_map(tile_url, tile_attribution, [bounds])
    AreaLayer(payload, name="Access (1 = borough mean)").add_to(m)
    if patches is not None and len(patches):
        _add_patches(m, patches, None)
    _sites_layer(m, sites, "Sites", detail_url)
    extra = None
    if analysis.proposed_sites is not None and len(analysis.proposed_sites):
        _proposed_layer(m, analysis.proposed_sites)
        extra = [["proposed site (what if; black ring)", PROPOSED_COLOUR, ""]]
    note = f"{analysis.measure} access ÷ the borough's population-weighted mean."
    if analysis.before_areas is not None:
        note += " With the proposed sites; the mean is today's, so a rise shows as a rise."
    _legend(m, method=analysis.method, sites_title="Sites of the category",
            areas_note=note, outline_only=False,
            background=None if tile_url else _BACKGROUND, extra=extra)
    folium.plugins.Fullscreen(position="topleft").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return localise_assets(m, vendor_url=vendor_url)


def plan_map(
    analysis: GapAnalysis,
    hosts: gpd.GeoDataFrame,
    funded_patches: Collection[str],
    *,
    patches: gpd.GeoDataFrame | None = None,
    tile_url: str = "",
    tile_attribution: str = "",
    vendor_url: str = "/vendor",
    detail_url: str = "/assets/{id}",
) -> folium.Map:
    """Give the plan map: funded patches outlined heavily, gap areas, suggested host sites.

    Parameters
    ----------
    analysis
        The gap analysis the plan was made from.
    hosts
        The suggested host sites as register rows (``assets_frame``).
    funded_patches
        Names of the patches that get a grant.
    patches
        Patch outlines with a ``patch`` column, or ``None``.
    """
    areas = _to_lonlat(analysis.areas, "areas")
    payload, bounds = _access_payload(areas, outline_only=True, patches=patches,
                                      people=people_words(analysis.options.measure))
    m = _base_map(tile_url, tile_attribution, [bounds])
    AreaLayer(payload, name="Gap areas").add_to(m)
    if patches is not None and len(patches):
        _add_patches(m, patches, set(map(str, funded_patches)))
    _sites_layer(m, hosts, "Suggested host sites", detail_url)
    _legend(m, method=analysis.method, sites_title="Suggested host sites",
            areas_note="Funded patches: heavy black outline.", outline_only=True,
            background=None if tile_url else _BACKGROUND)
    folium.plugins.Fullscreen(position="topleft").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return localise_assets(m, vendor_url=vendor_url)
