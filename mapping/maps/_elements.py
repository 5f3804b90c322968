"""The browser side of :mod:`mapping.render`: vendor files served locally, and Leaflet elements.

"Assets" here are front-end files (scripts, styles, fonts), not community assets.

Folium loads Leaflet, jQuery, Bootstrap, Font Awesome and its plugins from public CDNs,
which leaves a blank map offline or on a locked-down council network. Here every such
URL is rewritten to a file that ``npm ci`` installs from ``package.json`` into
``node_modules/`` and that ``web/vendor.py`` serves from our own Flask app.
:data:`VENDOR_FILES` is the allow-list for both sides: a URL that is not in it makes
:func:`localise_assets` raise, so a new folium release cannot quietly bring a CDN back.

The second half holds the map's own elements, each a folium element with a small
JavaScript template that builds Leaflet layers in the browser from a compact JSON
payload (:mod:`mapping.render` makes the payloads): the asset clusters, the area layer
(outlines or a choropleth), the asset search and the legends. Text that came from users
reaches the page either as DOM text nodes or HTML-escaped, never as markup.
This module is private: import the public names from :mod:`mapping.render`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Final, cast

import folium
import folium.plugins
import numpy as np
import shapely
from branca.element import Element, Figure, Link
from folium.elements import JSCSSMixin
from folium.template import Template

from mapping.errors import MappingError

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
        f"the map would load {url} from the internet; add it to VENDOR_FILES in "
        "mapping/_render_assets.py (re-exported by mapping.render) "
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



# --- the map's own elements ------------------------------------------------------------------


def js_literal(value: object) -> str:
    """Give ``value`` as compact JSON that is safe inside an HTML ``<script>`` element."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )


class _Verbatim(Element):
    """Text put into the page as it is.

    branca hands each rendered macro to ``Element(text)``, which compiles the text as a
    Jinja template: for half a megabyte of payload that alone took 35 ms a page.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Verbatim"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _WithData:
    """Mixin: the element's JSON payload goes into the page as ``var <name>_data = {...};``.

    It is added to the figure's script verbatim, just before the element's own script,
    which reads it from ``{{ this.get_name() }}_data``.
    """

    payload: str

    def _add_data(self) -> None:
        element = cast(Element, self)
        figure = element.get_root()
        if isinstance(figure, Figure):
            name = element.get_name()
            figure.script.add_child(_Verbatim(f"var {name}_data = {self.payload};\n"),
                                    name=f"{name}_data")


class AssetCluster(_WithData, folium.plugins.FastMarkerCluster):
    """FastMarkerCluster whose markers are built in the browser from a compact payload.

    Same plugin, files and options as folium's FastMarkerCluster, with changes to its
    script: the data are columns (see ``mapping.render._asset_payload``), and the markers
    go in with one ``addLayers`` call, which Leaflet.markercluster clusters in bulk. A
    single marker is a small disc in its ownership colour with its category's symbol; one
    ``divIcon`` per (class, category) pair is shared by every marker that needs it. A
    cluster is a pie of the ownership classes of the assets in it. Popups are built on
    opening from DOM text nodes, so no asset text is ever parsed as HTML. Each marker's
    ``title`` is the asset's name (numbered when names repeat): the tooltip on hover, the
    accessible name, and the key that :class:`AssetSearch` finds it by.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                var p = {{ this.get_name() }}_data;
                var n = p.name.length;
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                cluster.options.iconCreateFunction = function (group) {
                    var counts = p.colours.map(function () { return 0; });
                    var children = group.getAllChildMarkers();
                    for (var k = 0; k < children.length; k++) {
                        counts[children[k].options.ownership] += 1;
                    }
                    var total = children.length, at = 0, stops = [];
                    for (var c = 0; c < counts.length; c++) {
                        if (!counts[c]) { continue; }
                        var next = at + 360 * counts[c] / total;
                        stops.push(p.colours[c] + " " + at + "deg " + next + "deg");
                        at = next;
                    }
                    var size = total < 10 ? 30 : total < 100 ? 36 : total < 1000 ? 42 : 48;
                    return L.divIcon({
                        html: '<div style="background:conic-gradient(' + stops.join(",")
                            + ')"><span>' + total + "</span></div>",
                        className: "asset-cluster",
                        iconSize: L.point(size, size)
                    });
                };
                var ids = p.id;
                if (p.idd) {
                    ids = new Array(n);
                    for (var d = 0, sum = 0; d < n; d++) { sum += p.idd[d]; ids[d] = sum; }
                }
                function category(i) {
                    return typeof p.cat === "string" ? parseInt(p.cat.charAt(i), 36) : p.cat[i];
                }
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
                    line(box, "Category", p.cats[category(i)]);
                    line(box, "Ownership", p.classes[layer.options.ownership]);
                    if (ids && ids[i] !== null) {
                        var a = document.createElement("a");
                        a.href = p.link.join(encodeURIComponent(String(ids[i])));
                        a.target = "_top";
                        a.textContent = "View details";
                        box.appendChild(a);
                    }
                    return box;
                }
                var icons = {};
                function icon(c, k) {
                    var key = c + ":" + k;
                    if (!icons[key]) {
                        icons[key] = L.divIcon({
                            html: '<span style="background:' + p.colours[c] + '">'
                                + p.glyphs[k] + "</span>",
                            className: "asset-marker",
                            iconSize: L.point(24, 24),
                            popupAnchor: L.point(0, -8)
                        });
                    }
                    return icons[key];
                }
                // A popup is bound when first opened: 10,000 popups made up front cost
                // more than the markers themselves.
                var AssetMarker = L.Marker.extend({
                    openPopup: function (latlng) {
                        if (!this.getPopup()) { this.bindPopup(popup); }
                        return L.Marker.prototype.openPopup.call(this, latlng);
                    }
                });
                var seen = Object.create(null), markers = new Array(n);
                for (var i = 0; i < n; i++) {
                    var c = +p.cls.charAt(i), k = category(i), name = p.name[i];
                    var count = seen[name] || (name in Object.prototype ? 1 : 0);
                    seen[name] = count + 1;
                    markers[i] = new AssetMarker(
                        [(p.lat0 + p.xy[2 * i]) / p.scale, (p.lon0 + p.xy[2 * i + 1]) / p.scale],
                        {icon: icon(c, k), title: count ? name + " (" + (count + 1) + ")" : name,
                         ownership: c, asset: i}
                    );
                }
                cluster.on("click keypress", function (e) {
                    var enter = e.type === "keypress" && e.originalEvent.keyCode === 13;
                    if ((e.type === "click" || enter) && !e.layer.getPopup()) {
                        e.layer.openPopup();
                    }
                });
                cluster.addLayers(markers);
                return cluster;
            })();
        {% endmacro %}"""
    )

    def __init__(self, payload: str, *, name: str) -> None:
        super().__init__([], name=name, chunked_loading=True, spiderfy_distance_multiplier=1.5)
        self._name = "AssetCluster"
        self.payload = payload

    def render(self, **kwargs: Any) -> str:
        self._add_data()
        super().render(**kwargs)
        return ""  # a MacroElement's parts go into the figure; it gives nothing back


def encode_rings(geometry: object, origin: np.ndarray, *, scale: int) -> list[list[list[int]]]:
    """Give a (multi)polygon as polygons of rings, each ``[dlat, dlon, ...]`` in 1/scale degree.

    The first pair of a ring is its offset from ``origin`` (lat, lon, in the same units),
    the others the step from the point before; points that rounding made equal, the
    closing point, and rings left with fewer than three points are dropped.
    :class:`AreaLayer` decodes them.
    """
    out = []
    for polygon in shapely.get_parts(geometry):
        if not isinstance(polygon, shapely.Polygon) or polygon.is_empty:
            continue
        rings: list[list[int]] = []
        for ring in (polygon.exterior, *polygon.interiors):
            xy = np.rint(shapely.get_coordinates(ring) * scale).astype(np.int64)[:-1]
            latlon = xy[:, ::-1] - origin
            step = np.diff(latlon, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
            moved = np.ones(len(step), dtype=bool)
            moved[1:] = step[1:].any(axis=1)
            latlon = latlon[moved]
            if len(latlon) < 3:
                if not rings:
                    break  # no exterior left, so no polygon
                continue
            rings.append(np.diff(latlon, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
                         .ravel().tolist())
        if rings:
            out.append(rings)
    return out



class AreaLayer(_WithData, folium.map.Layer):
    """Area polygons drawn from a compact payload: outlines, or a choropleth.

    The payload (``mapping.render._area_payload``) carries each area's rings as whole
    numbers of 1e-5 degree, delta-encoded; a style per class (the last for areas with no
    value) and each area's class; and its name, code and tooltip lines, HTML-escaped in
    Python because Leaflet shows tooltip strings as HTML.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function () {
                var data = {{ this.get_name() }}_data;
                var group = L.featureGroup();
                function ring(flat) {
                    var out = new Array(flat.length / 2), lat = data.lat0, lon = data.lon0;
                    for (var j = 0; j < flat.length; j += 2) {
                        lat += flat[j];
                        lon += flat[j + 1];
                        out[j / 2] = [lat / data.scale, lon / data.scale];
                    }
                    return out;
                }
                function tip(i) {
                    var text = "<strong>" + data.name[i] + "</strong> " + data.code[i];
                    for (var t = 0; t < data.lines.length; t++) {
                        var value = data.lines[t].values[i];
                        if (value !== null) { text += "<br>" + data.lines[t].label + ": " + value; }
                    }
                    return text;
                }
                data.g.forEach(function (polygons, i) {
                    var style = data.styles[data.k === null ? 0 : data.k[i]];
                    var shape = L.polygon(
                        polygons.map(function (rings) { return rings.map(ring); }), style
                    );
                    shape.bindTooltip(tip(i), {sticky: true, className: "area-tooltip"});
                    shape.on("mouseover", function () { shape.setStyle(data.hover); });
                    shape.on("mouseout", function () { shape.setStyle(style); });
                    group.addLayer(shape);
                });
                return group;
            })();
        {% endmacro %}"""
    )

    def __init__(self, payload: str, *, name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "AreaLayer"
        self.payload = payload

    def render(self, **kwargs: Any) -> str:
        self._add_data()
        super().render(**kwargs)
        return ""  # a MacroElement's parts go into the figure; it gives nothing back


class AssetSearch(JSCSSMixin):
    """Leaflet.Search over the asset markers by name: keyboard-usable, offline, text-only tips.

    Finds names containing the typed text (any case); the arrow keys move through the
    suggestions and Enter picks one (the first if none is chosen). The map then zooms until
    the marker leaves its cluster and opens its popup. The plugin's own suggestions would
    be written with ``innerHTML``, so ``buildTip`` makes them as text nodes instead.
    """

    default_js = list(folium.plugins.Search.default_js)
    default_css = list(folium.plugins.Search.default_css)

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var cluster = {{ this.cluster.get_name() }};
                var control = new L.Control.Search({
                    layer: cluster,
                    propertyName: "title",
                    initial: false,
                    casesensitive: false,
                    collapsed: false,
                    marker: false,
                    firstTipSubmit: true,
                    tooltipLimit: 12,
                    delayType: 200,
                    position: "topleft",
                    textPlaceholder: {{ this.placeholder|tojson }},
                    textErr: "No asset of that name on the map",
                    buildTip: function (text) {
                        var item = document.createElement("li");
                        item.textContent = text;
                        return item;
                    },
                    moveToLocation: function (latlng) {
                        var marker = latlng.layer;
                        if (marker) {
                            cluster.zoomToShowLayer(marker, function () { marker.openPopup(); });
                        }
                    }
                });
                control.addTo({{ this._parent.get_name() }});
                control._input.id = "asset-search";
                control._input.setAttribute("aria-label", {{ this.label|tojson }});
                control._input.removeAttribute("role");
                control._container.setAttribute("role", "search");
            })();
        {% endmacro %}"""
    )

    def __init__(self, cluster: AssetCluster, *, label: str, placeholder: str) -> None:
        super().__init__()
        self._name = "AssetSearch"
        self.cluster = cluster
        self.label = label
        self.placeholder = placeholder


class MapLegend(folium.MacroElement):
    """The legends (assets bottom right, areas bottom left) and the styles the map needs.

    ``spec`` is ``{"assets": [section...], "areas": [section...]}``; a section is
    ``{"title", "note", "kind", "rows": [[label, colour, symbol]]}`` where ``kind`` is
    ``dot``, ``box`` or ``glyph``. Every text goes in as a DOM text node.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
            .map-legend { background: #fff; padding: 6px 10px; border-radius: 4px;
                box-shadow: 0 1px 4px rgba(0,0,0,.3); font: 12px/1.5 sans-serif; color: #222;
                max-width: 16rem; }
            .map-legend strong { display: block; margin-top: 4px; }
            .map-legend strong:first-child { margin-top: 0; }
            .map-legend-note { color: #444; font-size: 11px; }
            .map-legend i { display: inline-block; width: 14px; height: 14px; margin-right: 6px;
                vertical-align: -3px; font-style: normal; }
            .map-legend i.dot { border-radius: 50%; }
            .map-legend i.box { border: 1px solid #5f6b73; }
            .map-legend i.glyph { border-radius: 50%; width: 18px; height: 18px; color: #fff;
                font: bold 9px/18px sans-serif; text-align: center; vertical-align: middle;
                margin: 1px 6px 1px 0; }
            .asset-cluster div { width: 100%; height: 100%; border-radius: 50%;
                display: flex; align-items: center; justify-content: center;
                box-shadow: 0 0 0 2px rgba(255,255,255,.9), 0 1px 4px rgba(0,0,0,.4); }
            .asset-cluster span { background: #fff; border-radius: 50%; width: 62%;
                height: 62%; display: flex; align-items: center; justify-content: center;
                font: bold 11px sans-serif; color: #222; }
            .asset-marker span { display: flex; width: 100%; height: 100%; border-radius: 50%;
                align-items: center; justify-content: center; color: #fff;
                font: bold 10px/1 sans-serif;
                box-shadow: 0 0 0 2px #fff, 0 1px 3px rgba(0,0,0,.5); }
            .asset-marker:focus { outline: none; }
            .asset-marker:focus span { box-shadow: 0 0 0 3px #ffbf47, 0 1px 3px rgba(0,0,0,.5); }
            .asset-popup { font: 13px/1.5 sans-serif; }
            .asset-popup-key { color: #555; }
            .patch-label { position: absolute; transform: translate(-50%, -50%);
                white-space: nowrap; padding: 1px 6px; border-radius: 3px;
                background: rgba(255,255,255,.85); border: 1px solid #263238;
                font: bold 12px/1.4 sans-serif; color: #111; pointer-events: none; }
            .patch-label-focus { border-width: 2px; background: #fff; }
            .leaflet-control-search .search-input:focus { outline: 3px solid #ffbf47; }
            .leaflet-control-search .search-tip-select { background: #1d5c96; color: #fff; }
            {% if this.background %}
            #{{ this.map_id }}.leaflet-container { background: {{ this.background }}; }
            {% endif %}
            </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function () {
                var spec = {{ this.spec }};
                function legend(position, className, sections) {
                    var control = L.control({position: position});
                    control.onAdd = function () {
                        var box = L.DomUtil.create("div", "map-legend " + className);
                        sections.forEach(function (section) {
                            var title = document.createElement("strong");
                            title.textContent = section.title;
                            box.appendChild(title);
                            if (section.note) {
                                var note = document.createElement("div");
                                note.className = "map-legend-note";
                                note.textContent = section.note;
                                box.appendChild(note);
                            }
                            section.rows.forEach(function (entry) {
                                var row = document.createElement("div");
                                var key = document.createElement("i");
                                key.className = section.kind;
                                key.style.background = entry[1];
                                if (entry[2]) { key.textContent = entry[2]; }
                                row.appendChild(key);
                                row.appendChild(document.createTextNode(entry[0]));
                                box.appendChild(row);
                            });
                        });
                        L.DomEvent.disableClickPropagation(box);
                        L.DomEvent.disableScrollPropagation(box);
                        return box;
                    };
                    control.addTo({{ this._parent.get_name() }});
                }
                legend("bottomright", "asset-legend", spec.assets);
                if (spec.areas.length) { legend("bottomleft", "area-legend", spec.areas); }
            })();
        {% endmacro %}"""
    )

    def __init__(self, map_id: str, spec: str, *, background: str | None) -> None:
        super().__init__()
        self._name = "MapLegend"
        self.map_id = map_id
        self.spec = spec
        self.background = background
