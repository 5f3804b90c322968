"""Folium maps of community assets over areas and patches, with every front-end file served locally.

:func:`asset_map` draws areas (outlines, or a choropleth of a measure such as population
or IMD decile), patches with permanent labels, and assets as clustered markers coloured
by ownership class (CLES) with a category symbol, plus a layer control, legends, a
full-screen button and a search over asset names. Everything the browser needs is served
by our own app: :func:`localise_assets` points every script and style at ``node_modules/``
files on the allow-list :data:`VENDOR_FILES` (see :mod:`mapping.maps._elements`, which
also holds the Leaflet elements' JavaScript).

The page stays small at 10,000 assets because the data travel as compact columns: whole
numbers of 1e-5 degree (about 1 m) offset from a corner, rings delta-encoded, ids as
differences, categories and classes as one character each; markers are built in the
browser. This module builds maps only; it does no Flask or network I/O. The category
labels default to the project's own ``data/categories.csv``, read once through
:mod:`mapping.register.taxonomy`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Final, cast

import folium
import folium.plugins
import geopandas as gpd
from branca.element import Figure

from mapping import schema
from mapping.errors import Problem, ValidationError
from mapping.maps._elements import AreaLayer, AssetCluster, AssetSearch, MapLegend
from mapping.maps._vendor import (
    localise_assets,
)
from mapping.maps.layers import (
    _add_patches,
    _area_payload,
    _asset_payload,
    _bounds,
    _column_or_blank,
    _label_points,
    _legend_spec,
    _outline_frame,
    _text,
    _to_lonlat,
    _union_bounds,
)
from mapping.maps.legend import (
    MEASURES,
    NO_MEASURE,
    ChoroplethClass,
    Measure,
    _category_tables,
    available_measures,
    category_glyphs,
    choropleth_classes,
)

#: Highest zoom level when the map has no tile layer; Leaflet.markercluster needs one.
MAX_ZOOM: Final = 19
#: Lowest zoom level (a county or so): the clusters are made for every level from here
#: to MAX_ZOOM, so each level less to zoom out to is less work in the browser.
MIN_ZOOM: Final = 8
#: Zoom level not exceeded when fitting the map to its data (a single asset, say).
FIT_MAX_ZOOM: Final = 16
_BACKGROUND: Final = "#f2efe9"
#: folium.Map's own script and style links that our maps keep (by folium's names).
_MAP_LINKS_KEPT: Final = ("leaflet", "leaflet_css")

# --- measures and their classes ------------------------------------------------------------


# --- category symbols ------------------------------------------------------------------------


# --- frames to payloads ----------------------------------------------------------------------


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


#: Half the height of a detail page's map, in degrees of latitude (about 1 km).
NEIGHBOURHOOD_DEG: Final = 0.009


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
        # About 2 km across around the site, not the whole borough: the site's neighbourhood
        # is what a person looks for (the outline still shows which side of the border it is).
        m.fit_bounds([[lat - NEIGHBOURHOOD_DEG, lon - 1.6 * NEIGHBOURHOOD_DEG],
                      [lat + NEIGHBOURHOOD_DEG, lon + 1.6 * NEIGHBOURHOOD_DEG]])
    folium.CircleMarker([lat, lon], radius=9, color="#ffffff", weight=2, fill=True,
                        fill_color=colour, fill_opacity=0.95,
                        tooltip=folium.Tooltip(html_entities(label))).add_to(m)
    return localise_assets(m, vendor_url=vendor_url)
