"""The lots map (folium) and the balance chart (plain SVG), built without Flask or I/O.

Lots are filled in a qualitative palette (ColorBrewer Set3: twelve distinct
hues), named at a point inside each, with a tooltip of the lot's total and its
deviation from the ideal. Every text reaches the page HTML-escaped
(:func:`mapping.maps.asset_map.html_entities` for folium's tooltips), and the map loads
nothing from the internet (:func:`mapping.maps.asset_map.localise_assets`).
"""

from __future__ import annotations

import html
from typing import Final

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd

from mapping import schema as S
from mapping.maps._elements import MapLegend, js_literal
from mapping.maps._vendor import localise_assets
from mapping.maps.asset_map import html_entities
from mapping.maps.gaps import _BACKGROUND, _base_map
from mapping.maps.layers import _label_points, _to_lonlat

#: Lot colours (ColorBrewer "Set3", 12 distinct hues), repeated beyond 12 lots.
LOT_COLOURS: Final = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
                      "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f")


def lot_colour(i: int) -> str:
    """Give the colour of the i-th lot (0-based)."""
    return LOT_COLOURS[i % len(LOT_COLOURS)]


def lots_map(
    lots: gpd.GeoDataFrame,
    *,
    measure: str | None = None,
    measure_label: str | None = None,
    tile_url: str = "",
    tile_attribution: str = "",
    vendor_url: str = "/vendor",
) -> folium.Map:
    """Give a map of the lots: filled by lot, names inside, tooltips with total and deviation.

    Parameters
    ----------
    lots
        ``patch``, outlines, and optionally the ``measure`` column and ``deviation``.
    measure
        The balance measure's column, shown in the tooltips, or ``None``.
    measure_label
        The measure in words for the tooltips (default: the column's name, spaced).
    tile_url, tile_attribution, vendor_url
        As for :func:`mapping.maps.asset_map.asset_map`.
    """
    shapes = _to_lonlat(lots, "lots").reset_index(drop=True)
    west, south, east, north = (float(v) for v in shapes.total_bounds)
    m = _base_map(tile_url, tile_attribution, [(west, south, east, north)])
    tips = []
    for _, row in shapes.iterrows():
        text = str(row[S.PATCH])
        if measure and measure in shapes.columns and pd.notna(row[measure]):
            text += f": {measure_label or measure.replace('_', ' ')} {float(row[measure]):,.0f}"
        if "deviation" in shapes.columns and pd.notna(row["deviation"]):
            text += f" ({float(row['deviation']):+.1%} of the ideal)"
        tips.append(html_entities(text))
    colours = [lot_colour(i) for i in range(len(shapes))]
    frame = gpd.GeoDataFrame({"tip": tips, "colour": colours}, geometry=shapes.geometry.values,
                             crs=S.STORAGE_CRS)
    group = folium.FeatureGroup(name="Lots").add_to(m)
    folium.GeoJson(
        frame, name="Lots",
        style_function=lambda f: {"fillColor": f["properties"]["colour"], "fillOpacity": 0.6,
                                  "color": "#263238", "weight": 2},
        highlight_function=lambda _f: {"weight": 4, "fillOpacity": 0.8},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    ).add_to(group)
    for name, at in zip(shapes[S.PATCH].astype(str), _label_points(shapes), strict=True):
        folium.Marker(at, interactive=False, keyboard=False, icon=folium.DivIcon(
            html=f'<span class="patch-label">{html.escape(name)}</span>', icon_size=(0, 0),
            class_name="patch-label-icon")).add_to(group)
    spec = {"assets": [], "areas": [{
        "title": "Lots", "note": "Each lot is one contiguous group of areas.", "kind": "box",
        "rows": [[str(n), c, ""] for n, c in zip(shapes[S.PATCH], colours, strict=True)]}]}
    MapLegend(m.get_name(), js_literal(spec), background=None if tile_url else _BACKGROUND
              ).add_to(m)
    folium.plugins.Fullscreen(position="topleft").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return localise_assets(m, vendor_url=vendor_url)


def balance_chart_svg(lots: pd.DataFrame, *, tolerance: float | None, title: str) -> str:
    """Give an SVG bar chart of each lot's deviation from the ideal, with the tolerance band.

    Bars right of the centre line are above the ideal total, left below; bars
    outside the shaded band break the tolerance and are drawn in red. With
    ``tolerance`` ``None`` (a set not designed here, so it has none) there is no band
    and no bar is red.
    """
    names = lots[S.PATCH].astype(str).tolist()
    devs = [float(d) for d in lots["deviation"]]
    span = max([abs(d) for d in devs] + [tolerance or 0.0]) * 1.15 or 0.1
    width, label_w, row_h, top = 560, 120, 24, 34
    plot_w = width - label_w - 20
    height = top + row_h * len(names) + 30
    centre = label_w + plot_w / 2

    def x(value: float) -> float:
        return centre + value / span * (plot_w / 2)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-labelledby="balance-title" '
           f'class="balance-chart"><title id="balance-title">{html.escape(title)}</title>']
    if tolerance is None:
        out.append(f'<text x="{centre:.1f}" y="14" text-anchor="middle" font-size="12">'
                   'Deviation from the mean lot (no tolerance: not designed here)</text>')
    else:
        band_l, band_r = x(-tolerance), x(tolerance)
        out += [f'<rect x="{band_l:.1f}" y="{top - 6}" width="{band_r - band_l:.1f}" '
                f'height="{row_h * len(names) + 6}" fill="#e8f5e9"/>',
                f'<text x="{centre:.1f}" y="14" text-anchor="middle" font-size="12">'
                f'Deviation from the ideal total (band: ±{tolerance * 100:g}%)</text>']
    for i, (name, dev) in enumerate(zip(names, devs, strict=True)):
        y = top + i * row_h
        left, right = sorted((x(0), x(dev)))
        broken = tolerance is not None and abs(dev) > tolerance + 1e-12
        colour = "#c62828" if broken else lot_colour(i)
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">'
                   f'{html.escape(name)}</text>')
        out.append(f'<rect x="{left:.1f}" y="{y + 2}" width="{max(right - left, 1):.1f}" '
                   f'height="{row_h - 6}" fill="{colour}" stroke="#263238" stroke-width="0.5">'
                   f'<title>{html.escape(name)}: {dev:+.1%}</title></rect>')
        anchor, at = ("start", right + 4) if dev >= 0 else ("end", left - 4)
        out.append(f'<text x="{at:.1f}" y="{y + 14}" text-anchor="{anchor}" font-size="11">'
                   f'{dev:+.1%}</text>')
    bottom = top + row_h * len(names)
    out.append(f'<line x1="{centre:.1f}" y1="{top - 6}" x2="{centre:.1f}" y2="{bottom}" '
               'stroke="#263238"/>')
    for value in (-tolerance, tolerance) if tolerance is not None else ():
        out.append(f'<text x="{x(value):.1f}" y="{bottom + 16}" text-anchor="middle" '
                   f'font-size="11">{value * 100:+g}%</text>')
    out.append("</svg>")
    return "".join(out)
