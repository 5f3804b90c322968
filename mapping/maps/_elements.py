"""The map's own Leaflet elements: asset clusters, the area layer, the asset search, legends.

Each is a folium element with a small JavaScript template that builds Leaflet layers in
the browser from a compact JSON payload (:mod:`mapping.maps.layers` makes the payloads).
Text that came from users reaches the page either as DOM text nodes or HTML-escaped,
never as markup. The front-end files they need are served locally
(:mod:`mapping.maps._vendor`).
"""

from __future__ import annotations

import json
from typing import Any, cast

import folium
import folium.plugins
import numpy as np
import shapely
from branca.element import Element, Figure
from folium.elements import JSCSSMixin
from folium.template import Template

# --- the allow-list ------------------------------------------------------------------------


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

    def render(self, **kwargs: Any) -> str:
        self._add_data()
        super().render(**kwargs)  # type: ignore[misc]  # the folium element it is mixed into
        return ""  # a MacroElement's parts go into the figure; it gives nothing back


class AssetCluster(_WithData, folium.plugins.FastMarkerCluster):
    """FastMarkerCluster whose markers are built in the browser from a compact payload.

    Same plugin, files and options as folium's FastMarkerCluster, with changes to its
    script: the data are columns (see ``mapping.maps.layers._asset_payload``), and the markers
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

    The payload (``mapping.maps.layers._area_payload``) carries each area's rings as whole
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
                // Area labels never overlap: after every zoom or pan, a label that would
                // cover one already shown is hidden (marked labels first); zooming in shows
                // it. Each area still names itself in its tooltip.
                var map = {{ this._parent.get_name() }};
                function declutter() {
                    var labels = Array.prototype.slice.call(
                        map.getContainer().querySelectorAll(".patch-label"));
                    labels.sort(function (a, b) {
                        return b.classList.contains("patch-label-focus")
                            - a.classList.contains("patch-label-focus");
                    });
                    var shown = [];
                    labels.forEach(function (label) {
                        label.style.visibility = "visible";
                        var r = label.getBoundingClientRect();
                        if (!r.width) { return; }
                        var covers = shown.some(function (s) {
                            return r.left < s.right + 2 && r.right + 2 > s.left
                                && r.top < s.bottom + 2 && r.bottom + 2 > s.top;
                        });
                        if (covers) { label.style.visibility = "hidden"; } else { shown.push(r); }
                    });
                }
                var queued = false;
                map.on("zoomend moveend overlayadd layeradd resize", function () {
                    if (queued) { return; }
                    queued = true;
                    window.requestAnimationFrame(function () { queued = false; declutter(); });
                });
                window.setTimeout(declutter, 0);
            })();
        {% endmacro %}"""
    )

    def __init__(self, map_id: str, spec: str, *, background: str | None) -> None:
        super().__init__()
        self._name = "MapLegend"
        self.map_id = map_id
        self.spec = spec
        self.background = background
