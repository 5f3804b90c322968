"""The maps of residents' submissions: a location picker for the public form and the officers' queue map.

Both are built with folium and load nothing from the internet
(:func:`mapping.maps._vendor.localise_assets`); names a resident typed travel as JSON and are
shown as DOM text, never read as HTML.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Final

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.maps._elements import js_literal
from mapping.maps._vendor import localise_assets
from mapping.store.models import Submission

#: Marker colour of each kind of submission on the officers' map.
KIND_COLOURS: Final = {"asset": "#6a1b9a", "idea": "#ef6c00"}


_AREA_STYLE: Final = {"color": "#5f6b73", "weight": 1, "fillColor": "#9aa5ad", "fillOpacity": 0.08}


_MAX_ZOOM: Final = 19


def submissions_frame(submissions: Sequence[Submission]) -> gpd.GeoDataFrame:
    """Give submissions as points (EPSG:4326): ``id``, ``kind``, ``name``, ``status``."""
    frame = pd.DataFrame({
        "id": [s.id for s in submissions], "kind": [s.kind for s in submissions],
        S.NAME: [s.name for s in submissions], S.STATUS: [s.status for s in submissions],
    })
    geometry = gpd.points_from_xy([s.lon for s in submissions], [s.lat for s in submissions],
                                  crs=S.STORAGE_CRS)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=S.STORAGE_CRS)


def _base_map(areas: gpd.GeoDataFrame | None, points: gpd.GeoDataFrame | None, *,
              tile_url: str, tile_attribution: str) -> folium.Map:
    if tile_url and not tile_attribution:
        raise ValidationError([Problem("a tile server needs its attribution",
                                       field="tile_attribution")])
    m = folium.Map(location=None, tiles=None, control_scale=True)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution, max_zoom=_MAX_ZOOM,
                         max_native_zoom=18).add_to(m)
    else:
        m.options["max_zoom"] = _MAX_ZOOM
    boxes = []
    if areas is not None and len(areas):
        outlines = areas.to_crs(S.STORAGE_CRS)
        names = (outlines[S.AREA_NAME] if S.AREA_NAME in outlines.columns
                 else pd.Series("", index=outlines.index))
        shown = gpd.GeoDataFrame({"name": names.fillna("").astype(str).map(html.escape)},
                                 geometry=outlines.geometry.values, crs=S.STORAGE_CRS)
        folium.GeoJson(shown, name="Areas", style_function=lambda _f: _AREA_STYLE,
                       tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
                       zoom_on_click=False).add_to(m)
        boxes.append(tuple(outlines.total_bounds))
    if points is not None and len(points):
        boxes.append(tuple(points.to_crs(S.STORAGE_CRS).total_bounds))
    west, south, east, north = (
        (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
         max(b[3] for b in boxes)) if boxes else S.UK_BOUNDS_LONLAT)
    m.fit_bounds([[float(south), float(west)], [float(north), float(east)]], max_zoom=16)
    return m


def location_picker_map(
    areas: gpd.GeoDataFrame | None,
    *,
    vendor_url: str,
    tile_url: str = "",
    tile_attribution: str = "",
) -> folium.Map:
    """Give a small map of the borough's areas on which a resident clicks to mark a place.

    The click handling is the page's job (it knows its form fields); this map only
    shows area outlines (names HTML-escaped in the tooltips) and loads nothing from
    the internet.
    """
    m = _base_map(areas, None, tile_url=tile_url, tile_attribution=tile_attribution)
    return localise_assets(m, vendor_url=vendor_url)


class _SubmissionMarkers(MacroElement):
    """Circle markers for submissions, built in the browser from JSON as DOM text (no HTML)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var p = {{ this.payload }};
                var group = L.featureGroup();
                p.points.forEach(function (s) {
                    var marker = L.circleMarker([s.lat, s.lon], {
                        radius: 8, color: "#ffffff", weight: 1.5,
                        fillColor: p.colours[s.kind] || "#555555", fillOpacity: 0.95
                    });
                    marker.bindTooltip(function () {
                        var label = document.createElement("span");
                        label.textContent = "#" + s.id + " (" + s.kind + "): " + s.name;
                        return label;
                    });
                    marker.bindPopup(function () {
                        var box = document.createElement("div");
                        var title = document.createElement("strong");
                        title.textContent = s.name;
                        box.appendChild(title);
                        box.appendChild(document.createElement("br"));
                        var a = document.createElement("a");
                        a.href = p.link.join(encodeURIComponent(String(s.id)));
                        a.target = "_top";
                        a.textContent = "Submission #" + s.id;
                        box.appendChild(a);
                        return box;
                    });
                    marker.addTo(group);
                });
                group.addTo({{ this._parent.get_name() }});
            })();
        {% endmacro %}
        """
    )

    def __init__(self, payload: str) -> None:
        super().__init__()
        self._name = "SubmissionMarkers"
        self.payload = payload


def submissions_map(
    submissions: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame | None = None,
    *,
    vendor_url: str,
    detail_url: str = "/submissions/{id}",
    tile_url: str = "",
    tile_attribution: str = "",
) -> folium.Map:
    """Give the officers' map of submissions, coloured by kind, each linking to its page.

    Names travel as JSON and are shown as DOM text, so nothing a resident typed is
    ever read as HTML. ``submissions`` is a frame from :func:`submissions_frame`.
    """
    if submissions.crs is None:
        raise ValidationError([Problem("the submissions have no CRS", field="geometry")])
    points = submissions.to_crs(S.STORAGE_CRS)
    m = _base_map(areas, points, tile_url=tile_url, tile_attribution=tile_attribution)
    sentinel = "\x00"
    payload = {
        "points": [{"id": int(i), "kind": str(k), "name": str(n), "lon": float(g.x),
                    "lat": float(g.y)}
                   for i, k, n, g in zip(points["id"], points["kind"], points[S.NAME],
                                         points.geometry, strict=True)],
        "colours": KIND_COLOURS,
        "link": detail_url.format(id=sentinel).split(sentinel),
    }
    _SubmissionMarkers(js_literal(payload)).add_to(m)
    return localise_assets(m, vendor_url=vendor_url)
