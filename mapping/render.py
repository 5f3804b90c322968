"""Folium maps of community assets over areas and patches, with every front-end file served locally.

Folium loads Leaflet, jQuery, Bootstrap, Font Awesome and its plugins from public CDNs,
which leaves a blank map offline or on a locked-down council network. Here every such
URL is rewritten to a file that ``npm ci`` installs from ``package.json`` into
``node_modules/`` and that ``web/vendor.py`` serves from our own Flask app.
:data:`VENDOR_FILES` is the allow-list for both sides: a URL that is not in it makes
:func:`localise_assets` raise, so a new folium release cannot quietly bring a CDN back.

This module builds maps only; it does no Flask or network I/O. The category labels
default to the project's own ``data/categories.csv``, read once through
:mod:`mapping.taxonomy`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, Link
from folium.template import Template

from mapping import schema
from mapping.errors import CRSError, MappingError, Problem, ValidationError

# --- the allow-list ------------------------------------------------------------------------

_AWESOME_MARKERS_CDN: Final = "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"

#: Every CDN URL that folium 0.20 (the map, GeoJson, Choropleth's legend, LayerControl)
#: and the plugins MarkerCluster, FastMarkerCluster, Fullscreen and Search load, mapped to
#: the file in ``node_modules/`` that replaces it. Versions are pinned in ``package.json``.
VENDOR_FILES: Final[dict[str, str]] = {
    # folium.Map
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/dist/leaflet.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "bootstrap/dist/js/bootstrap.bundle.min.js",
    _AWESOME_MARKERS_CDN + "leaflet.awesome-markers.js":
        "drmonty-leaflet-awesome-markers/js/leaflet.awesome-markers.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/dist/leaflet.css",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        "bootstrap/dist/css/bootstrap.min.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        "@neos21/bootstrap3-glyphicons/dist/css/bootstrap3-glyphicons.min.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "@fortawesome/fontawesome-free/css/all.min.css",
    _AWESOME_MARKERS_CDN + "leaflet.awesome-markers.css":
        "drmonty-leaflet-awesome-markers/css/leaflet.awesome-markers.css",
    # folium.plugins.MarkerCluster and FastMarkerCluster
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js":
        "leaflet.markercluster/dist/leaflet.markercluster.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css":
        "leaflet.markercluster/dist/MarkerCluster.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css":
        "leaflet.markercluster/dist/MarkerCluster.Default.css",
    # folium.plugins.Fullscreen (npm ships no .min.js; jsDelivr minifies on the fly)
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js":
        "leaflet.fullscreen/Control.FullScreen.js",
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css":
        "leaflet.fullscreen/Control.FullScreen.css",
    # folium.plugins.Search
    "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js":
        "leaflet-search/dist/leaflet-search.min.js",
    "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.css":
        "leaflet-search/dist/leaflet-search.min.css",
    # branca's colour-scale legend (folium.Choropleth); added to the page while it renders
    "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js": "d3/d3.min.js",
}

#: CDN files that no npm package ships and that our maps do not use: the links are removed
#: rather than served. Each value says what stops working without the file.
DROPPED_ASSETS: Final[dict[str, str]] = {
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
    "leaflet.awesome.rotate.min.css": (
        "the fa-rotate-<angle> classes of folium.Icon(angle=...); no npm package ships them, "
        "and our maps draw circle markers, so a rotated icon would show unrotated"
    ),
}

#: Folders (relative to ``node_modules/``) of files the allow-listed CSS loads by relative
#: URL: Leaflet's layer and marker images, web fonts, marker sprites and search icons.
VENDOR_DIRS: Final[tuple[str, ...]] = (
    "leaflet/dist/images/",
    "@fortawesome/fontawesome-free/webfonts/",
    "@neos21/bootstrap3-glyphicons/dist/fonts/",
    "drmonty-leaflet-awesome-markers/css/images/",
    "leaflet-search/images/",
)

#: Single files the allow-listed CSS loads by relative URL, outside :data:`VENDOR_DIRS`.
VENDOR_REFERENCED_FILES: Final[tuple[str, ...]] = ("leaflet.fullscreen/icon-fullscreen.svg",)

_ALLOWED_FILES: Final = frozenset(VENDOR_FILES.values()) | frozenset(VENDOR_REFERENCED_FILES)


def is_vendor_file(path: str) -> bool:
    """Give whether ``path`` (relative to ``node_modules/``) may be served to browsers.

    A path is allowed when it is a file of :data:`VENDOR_FILES` or
    :data:`VENDOR_REFERENCED_FILES`, the source map (``.map``) of one, or a file under a
    folder of :data:`VENDOR_DIRS`. Anything with an empty, ``.`` or ``..`` segment, a
    backslash or a leading ``/`` is refused outright.

    Parameters
    ----------
    path
        A ``/``-separated path as it appears after ``/vendor/`` in a URL.
    """
    if not path or "\\" in path or path.startswith("/") or "\x00" in path:
        return False
    if any(part in ("", ".", "..") for part in path.split("/")):
        return False
    if path in _ALLOWED_FILES or path.removesuffix(".map") in _ALLOWED_FILES:
        return True
    return any(path.startswith(folder) for folder in VENDOR_DIRS)


def _is_external(url: str) -> bool:
    return url.lower().startswith(("http://", "https://", "//"))


def _local_url(url: str, base: str) -> str | None:
    """Give the local URL for ``url``, ``None`` if its link is to be dropped; raise if unknown."""
    if not _is_external(url):
        return url
    if url in VENDOR_FILES:
        return f"{base}/{VENDOR_FILES[url]}"
    if url in DROPPED_ASSETS:
        return None
    raise MappingError(
        f"the map would load {url} from the internet; add it to mapping.render.VENDOR_FILES "
        "with the npm package that ships it (package.json), or drop the element that needs it"
    )


def _localised_links(links: list[tuple[str, str]], base: str) -> list[tuple[str, str]]:
    out = []
    for name, url in links:
        local = _local_url(url, base)
        if local is not None:
            out.append((name, local))
    return out


def _localise_header(figure: Figure, base: str) -> None:
    """Rewrite (or drop) the script and style links already in the page header."""
    for name, child in list(figure.header._children.items()):
        if isinstance(child, Link) and isinstance(child.url, str):
            local = _local_url(child.url, base)
            if local is None:
                del figure.header._children[name]
            else:
                child.url = local


def _walk(root: Element) -> Iterator[Element]:
    stack, seen = [root], set()
    while stack:
        element = stack.pop()
        if id(element) in seen:
            continue
        seen.add(id(element))
        yield element
        stack.extend(element._children.values())


class _LocalAssetsGuard(Element):
    """Localise header links that elements add only while the page renders.

    branca's colour-scale legend, for one, adds its d3 link in ``render()``. A Figure first
    renders each of its children in order (its header, body and script parts, then the
    map, which fills those parts) and only then writes the page. This element is the
    figure's last child, so it sees every link before the header is written; what it
    renders itself is not part of the page.
    """

    def __init__(self, base: str) -> None:
        super().__init__()
        self._name = "LocalAssetsGuard"
        self.base = base

    def render(self, **kwargs: Any) -> str:
        figure = self.get_root()
        if isinstance(figure, Figure):
            _localise_header(figure, self.base)
        return ""


def localise_assets(m: folium.Map, *, vendor_url: str) -> folium.Map:
    """Give the same map with every CDN script and style link pointed at ``vendor_url``.

    Walks the map's whole element tree, from its figure down (plugins included), and gives
    each element that has ``default_js`` or ``default_css`` its own rewritten lists (the
    class-level lists folium shares between maps are left alone). Links to
    :data:`DROPPED_ASSETS` are removed. A guard element is added to the map's figure, after
    the map, so that links added while the page renders (branca's legend adds d3 then) are
    rewritten or refused too. Call this after the last element has been added.

    The map is changed in place and returned: it is meant for a map the caller has just
    built, as :func:`asset_map` does.

    Parameters
    ----------
    m
        The map to change.
    vendor_url
        URL prefix under which ``node_modules/`` is served, e.g. ``"/vendor"``.

    Raises
    ------
    MappingError
        If an element links to an ``http(s)://`` (or ``//``) URL that is in neither
        :data:`VENDOR_FILES` nor :data:`DROPPED_ASSETS`. The message names the URL.
    """
    base = vendor_url.rstrip("/")
    root = m.get_root()
    if not isinstance(root, Figure):
        root = Figure()
        root.add_child(m)
    for element in _walk(root):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if links:
                setattr(element, attr, _localised_links(list(links), base))
    _localise_header(root, base)
    root._children.pop("local_assets_guard", None)  # keep the guard last if called again
    root.add_child(_LocalAssetsGuard(base), name="local_assets_guard")
    return m


# --- the asset map -------------------------------------------------------------------------

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
#: Zoom level not exceeded when fitting the map to its data (a single asset, say).
FIT_MAX_ZOOM: Final = 16
#: Coordinates are written to 5 decimal places of a degree, about 1 m.
_COORD_SCALE: Final = 100_000
_BACKGROUND: Final = "#f2efe9"
_AREA_STYLE: Final = {"color": "#5f6b73", "weight": 1, "fillColor": "#9aa5ad", "fillOpacity": 0.06}
_PATCH_STYLE: Final = {"color": "#263238", "weight": 3.5, "fill": False}


def _js(value: object) -> str:
    """Give ``value`` as compact JSON that is safe inside an HTML ``<script>`` element."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )


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
    return ["" if pd.isna(v) else str(v) for v in values]


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


def _asset_payload(
    assets: gpd.GeoDataFrame, category_labels: Mapping[str, str], detail_url: str
) -> tuple[str, tuple[float, float, float, float] | None]:
    """Give the assets as one compact JS object literal, and their lon/lat bounds.

    Columns rather than one row per asset, and coordinates as whole numbers of 1e-5 degree
    from the south-west corner: 10,000 assets with folium's row format came to 0.57 MB.
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
    distinct = sorted(set(codes))
    code_index = {code: i for i, code in enumerate(distinct)}

    ids: list[object] | None = None
    id_column = _first_column(rows, RECORD_ID, schema.EXTERNAL_ID)
    if id_column is not None:
        ids = [_id_value(v) for v in id_column]
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
        "id": ids,
        "cls": "".join(str(int(i)) for i in class_index),
        "cat": [code_index[c] for c in codes],
        "cats": [category_labels.get(c, c) for c in distinct],
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
    return _js(payload), bounds


class _AssetCluster(folium.plugins.FastMarkerCluster):
    """FastMarkerCluster whose markers are built in the browser from a compact payload.

    Same plugin, files and options as folium's FastMarkerCluster, with two changes to its
    script: the data are columns (see :func:`_asset_payload`), and the markers go in with
    one ``addLayers`` call, which Leaflet.markercluster clusters in bulk. Popups are built
    on opening from DOM text nodes, so no asset text is ever parsed as HTML.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                var p = {{ this.payload }};
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                cluster.options.iconCreateFunction = function (group) {
                    var counts = p.colours.map(function () { return 0; });
                    var children = group.getAllChildMarkers();
                    for (var k = 0; k < children.length; k++) {
                        counts[children[k].options.ownership] += 1;
                    }
                    var n = children.length, at = 0, stops = [];
                    for (var c = 0; c < counts.length; c++) {
                        if (!counts[c]) { continue; }
                        var next = at + 360 * counts[c] / n;
                        stops.push(p.colours[c] + " " + at + "deg " + next + "deg");
                        at = next;
                    }
                    var size = n < 10 ? 30 : n < 100 ? 36 : n < 1000 ? 42 : 48;
                    return L.divIcon({
                        html: '<div style="background:conic-gradient(' + stops.join(",")
                            + ')"><span>' + n + "</span></div>",
                        className: "asset-cluster",
                        iconSize: L.point(size, size)
                    });
                };
                function line(box, label, value) {
                    var row = document.createElement("div");
                    var key = document.createElement("span");
                    key.className = "asset-popup-key";
                    key.textContent = label + ": ";
                    row.appendChild(key);
                    row.appendChild(document.createTextNode(value));
                    box.appendChild(row);
                }
                function popup(layer) {
                    var i = layer.options.asset;
                    var box = document.createElement("div");
                    box.className = "asset-popup";
                    var title = document.createElement("strong");
                    title.textContent = p.name[i];
                    box.appendChild(title);
                    line(box, "Category", p.cats[p.cat[i]]);
                    line(box, "Ownership", p.classes[layer.options.ownership]);
                    if (p.id && p.id[i] !== null) {
                        var a = document.createElement("a");
                        a.href = p.link.join(encodeURIComponent(String(p.id[i])));
                        a.target = "_top";
                        a.textContent = "View details";
                        box.appendChild(a);
                    }
                    return box;
                }
                var n = p.name.length, markers = new Array(n);
                for (var i = 0; i < n; i++) {
                    var c = +p.cls.charAt(i);
                    var marker = L.circleMarker(
                        [(p.lat0 + p.xy[2 * i]) / p.scale, (p.lon0 + p.xy[2 * i + 1]) / p.scale],
                        {radius: 7, color: "#ffffff", weight: 1.5, fillColor: p.colours[c],
                         fillOpacity: 0.95, ownership: c, asset: i}
                    );
                    marker.bindPopup(popup);
                    markers[i] = marker;
                }
                cluster.addLayers(markers);
                cluster.addTo({{ this._parent.get_name() }});
                return cluster;
            })();
        {% endmacro %}"""
    )

    def __init__(self, payload: str, *, name: str) -> None:
        super().__init__([], name=name, chunked_loading=True, spiderfy_distance_multiplier=1.5)
        self._name = "AssetCluster"
        self.payload = payload


class _Legend(folium.MacroElement):
    """The ownership legend and the few styles the asset layer needs."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
            .asset-legend { background: #fff; padding: 6px 10px; border-radius: 4px;
                box-shadow: 0 1px 4px rgba(0,0,0,.3); font: 12px/1.6 sans-serif; }
            .asset-legend strong { display: block; }
            .asset-legend i { display: inline-block; width: 12px; height: 12px;
                border-radius: 50%; margin-right: 6px; vertical-align: -2px; }
            .asset-cluster div { width: 100%; height: 100%; border-radius: 50%;
                display: flex; align-items: center; justify-content: center;
                box-shadow: 0 0 0 2px rgba(255,255,255,.9), 0 1px 4px rgba(0,0,0,.4); }
            .asset-cluster span { background: #fff; border-radius: 50%; width: 62%;
                height: 62%; display: flex; align-items: center; justify-content: center;
                font: bold 11px sans-serif; color: #222; }
            .asset-popup { font: 13px/1.5 sans-serif; }
            .asset-popup-key { color: #555; }
            .patch-label { background: rgba(255,255,255,.85); border: 1px solid #263238;
                font-weight: bold; box-shadow: none; }
            {% if this.background %}
            #{{ this.map_id }}.leaflet-container { background: {{ this.background }}; }
            {% endif %}
            </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function () {
                var entries = {{ this.entries }};
                var legend = L.control({position: "bottomright"});
                legend.onAdd = function () {
                    var box = L.DomUtil.create("div", "asset-legend");
                    var title = document.createElement("strong");
                    title.textContent = "Ownership";
                    box.appendChild(title);
                    entries.forEach(function (entry) {
                        var row = document.createElement("div");
                        var swatch = document.createElement("i");
                        swatch.style.background = entry[1];
                        row.appendChild(swatch);
                        row.appendChild(document.createTextNode(entry[0]));
                        box.appendChild(row);
                    });
                    return box;
                };
                legend.addTo({{ this._parent.get_name() }});
            })();
        {% endmacro %}"""
    )

    def __init__(self, map_id: str, *, background: str | None) -> None:
        super().__init__()
        self._name = "AssetLegend"
        self.map_id = map_id
        self.background = background
        self.entries = _js([[c, OWNERSHIP_COLOURS[c]] for c in schema.OWNERSHIP_CLASSES])


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


def asset_map(
    areas: gpd.GeoDataFrame | None,
    assets: gpd.GeoDataFrame,
    *,
    patches: gpd.GeoDataFrame | None = None,
    tile_url: str = "",
    tile_attribution: str = "",
    vendor_url: str = "/vendor",
    detail_url: str = "/assets/{id}",
    category_labels: Mapping[str, str] | None = None,
) -> folium.Map:
    """Give a Leaflet map of areas, patches and clustered assets that loads nothing from the web.

    Areas are drawn as thin outlines with a tooltip of name and code; patches as thick
    outlines with their name as a label. Assets are circle markers coloured by ownership
    class (:data:`OWNERSHIP_COLOURS`), clustered with Leaflet.markercluster through
    folium's FastMarkerCluster so that markers are made in the browser (10,000 assets make
    a page of about 0.4 MB); a cluster shows the ownership mix as a pie. An asset's popup
    gives its name, category label, ownership class and a link to ``detail_url``. Asset
    text travels as JSON and is shown as DOM text, area and patch names are HTML-escaped,
    so nothing a user typed is ever read as markup. A layer control and a legend are
    added, the view is fitted to the data, and finally :func:`localise_assets` points every
    script and style at ``vendor_url``.

    Parameters
    ----------
    areas
        Area polygons (wards, LSOAs) with ``schema.AREA_NAME`` and ``schema.AREA_CODE``
        where known; ``None`` for none.
    assets
        Asset points with ``schema.NAME`` and, where known, ``schema.CATEGORY`` (a code),
        ``schema.OWNERSHIP_CLASS`` (missing or unknown values show as ``"unknown"``) and a
        numeric database ``id`` (``schema.EXTERNAL_ID`` is used when there is none).
        Rows without a geometry are left off; non-point geometries are shown at a
        representative point.
    patches
        Patch polygons, labelled by ``schema.PATCH`` (else ``schema.AREA_NAME``,
        else ``schema.AREA_CODE``); ``None`` for none.
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
        Label of each category code; by default the project's ``data/categories.csv``.
        Codes not in it are shown as they are.

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
        or a tile URL comes without an attribution.
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
    if category_labels is None:
        from mapping.taxonomy import load_categories

        table = load_categories()
        category_labels = dict(zip(table["code"], table["label"], strict=True))

    payload, asset_bounds = _asset_payload(assets_ll, category_labels, detail_url)
    boxes = [] if asset_bounds is None else [asset_bounds]

    m = folium.Map(location=None, tiles=None, control_scale=True)
    if tile_url:
        folium.TileLayer(
            tiles=tile_url, attr=tile_attribution, name="Base map", max_zoom=MAX_ZOOM,
            max_native_zoom=18,
        ).add_to(m)
    else:
        m.options["max_zoom"] = MAX_ZOOM

    if areas_ll is not None and len(areas_ll):
        outlines = _outline_frame(
            areas_ll,
            {
                "name": _column_or_blank(areas_ll, schema.AREA_NAME),
                "code": _column_or_blank(areas_ll, schema.AREA_CODE),
            },
        )
        folium.GeoJson(
            outlines,
            name="Areas",
            style_function=lambda _feature: _AREA_STYLE,
            highlight_function=lambda _feature: {"weight": 2.5, "fillOpacity": 0.15},
            tooltip=folium.GeoJsonTooltip(fields=["name", "code"], aliases=["Area", "Code"]),
            zoom_on_click=False,
        ).add_to(m)
        boxes.append(_bounds(outlines))

    if patches_ll is not None and len(patches_ll):
        label = _column_or_blank(patches_ll, schema.PATCH, schema.AREA_NAME, schema.AREA_CODE)
        outlines = _outline_frame(patches_ll, {"label": label})
        folium.GeoJson(
            outlines,
            name="Patches",
            style_function=lambda _feature: _PATCH_STYLE,
            tooltip=folium.GeoJsonTooltip(
                fields=["label"], labels=False, permanent=True, direction="center",
                sticky=False, class_name="patch-label",
            ),
        ).add_to(m)
        boxes.append(_bounds(outlines))

    _AssetCluster(payload, name="Community assets").add_to(m)
    _Legend(m.get_name(), background=None if tile_url else _BACKGROUND).add_to(m)
    folium.plugins.Fullscreen(position="topleft").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.fit_bounds(_union_bounds(boxes), max_zoom=FIT_MAX_ZOOM)
    return localise_assets(m, vendor_url=vendor_url)
