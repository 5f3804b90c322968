"""Finding assets: filters, patches, and distance from a postcode (the directory's core).

Pure functions over the register's GeoDataFrame: a person's search
(:class:`DirectoryQuery`, :func:`search_assets`), what to try when it finds nothing
(:func:`empty_result_help`), pages of results, plain words for distances and names, and
the printed shortlist's static map (:func:`shortlist_svg`). Distances are measured in
EPSG:27700. Distances here are straight-line ("as the crow flies") and are
labelled so; network distances come from :mod:`mapping.access.network` when a street
network is available.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box
from shapely.geometry.base import BaseGeometry

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.places.areas import require_crs
from mapping.places.postcodes import PostcodeIndex, default_index
from mapping.register.taxonomy import load_categories

DISTANCE_M = "distance_m"
DISTANCE_METHOD = "distance_method"
STRAIGHT_LINE = "straight line"


def filter_assets(
    assets: gpd.GeoDataFrame,
    *,
    category: Sequence[str] | None = None,
    ownership_class: Sequence[str] | None = None,
    status: Sequence[str] | None = None,
    within: BaseGeometry | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    text: str | None = None,
) -> gpd.GeoDataFrame:
    """Give the assets that pass every filter given (a new frame; ``None`` means no filter).

    ``within`` is a (patch) polygon and ``bbox`` is (min lon, min lat, max lon,
    max lat), both in EPSG:4326; ``text`` matches name or description, any case.
    """
    require_crs(assets, what="assets")
    keep = pd.Series(True, index=assets.index)
    if category:
        keep &= assets[S.CATEGORY].isin(list(category))
    if ownership_class:
        keep &= assets[S.OWNERSHIP_CLASS].isin(list(ownership_class))
    if status:
        keep &= assets[S.STATUS].isin(list(status))
    if text:
        needle = text.strip().casefold()
        haystack = (assets[S.NAME].fillna("") + " " + assets[S.DESCRIPTION].fillna("")).str.casefold()
        keep &= haystack.str.contains(needle, regex=False)
    points = assets.geometry.to_crs(S.STORAGE_CRS) if assets.crs != S.STORAGE_CRS else assets.geometry
    if bbox is not None:
        keep &= points.intersects(box(*bbox))
    if within is not None:
        keep &= points.covered_by(within)
    return assets[keep.to_numpy()].copy()


def point_for_postcode(postcode: str, *, index: PostcodeIndex | None = None) -> Point:
    """Give a postcode's point (EPSG:4326), or raise :class:`ValidationError` saying why not."""
    found = (index or default_index()).lookup(pd.Series([postcode]))
    problem = found["problem"].iloc[0]
    if problem:
        raise ValidationError([Problem(str(problem), field=S.POSTCODE)],
                              summary=f"cannot find '{postcode}'")
    return Point(float(found[S.LON].iloc[0]), float(found[S.LAT].iloc[0]))


def assets_near(
    assets: gpd.GeoDataFrame, origin: Point, *, radius_m: float | None = None
) -> gpd.GeoDataFrame:
    """Give assets with their straight-line distance in metres from ``origin``, nearest first.

    ``origin`` is in EPSG:4326. With ``radius_m``, only assets within it. The
    ``distance_method`` column says "straight line" so that pages and exports
    can label the distances honestly.
    """
    require_crs(assets, what="assets")
    if radius_m is not None and radius_m < 0:
        raise ValidationError([Problem("must not be negative", field="radius_m")])
    metric = assets.geometry.to_crs(S.METRIC_CRS)
    here = gpd.GeoSeries([origin], crs=S.STORAGE_CRS).to_crs(S.METRIC_CRS).iloc[0]
    out = assets.copy()
    out[DISTANCE_M] = np.round(metric.distance(here).to_numpy(), 1)
    out[DISTANCE_METHOD] = STRAIGHT_LINE
    if radius_m is not None:
        out = out[out[DISTANCE_M] <= radius_m]
    return out.sort_values([DISTANCE_M, S.NAME], kind="stable")


# --- a search as a person asked it ------------------------------------------------------

#: "Local generative only": community, worker and social ownership, and the council's own.
LOCAL_CLASSES = ("generative", "in-house")
#: Results on one page of the directory.
PAGE_SIZE = 25
#: Distances (km) offered, nearest first, when nothing is within the one asked for.
WIDER_KM = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
#: Related categories offered at most, when a search finds nothing.
MAX_RELATED = 6


@dataclass(frozen=True)
class DirectoryQuery:
    """What a person asked the directory for, as the page's query string says it."""

    text: str = ""
    categories: tuple[str, ...] = ()
    patch: str = ""
    local_only: bool = False
    postcode: str = ""
    within_km: float | None = None

    def params(self) -> list[tuple[str, str]]:
        """Give the query-string pairs that ask for this search again."""
        pairs = [("q", self.text)] if self.text else []
        pairs += [("category", c) for c in self.categories]
        pairs += [("patch", self.patch)] if self.patch else []
        pairs += [("postcode", self.postcode)] if self.postcode else []
        if self.within_km is not None:
            pairs.append(("within_km", f"{self.within_km:g}"))
        return pairs + ([("local", "1")] if self.local_only else [])


def search_assets(
    assets: gpd.GeoDataFrame,
    query: DirectoryQuery,
    *,
    origin: Point | None = None,
    patch_outline: BaseGeometry | None = None,
) -> gpd.GeoDataFrame:
    """Give the assets that answer ``query``: nearest first from ``origin``, else by name.

    ``origin`` is the query's postcode point and ``patch_outline`` its patch (EPSG:4326),
    both found by the caller. "Local generative only" keeps :data:`LOCAL_CLASSES` and
    leaves out organisations known to operate nationally.
    """
    found = filter_assets(
        assets, category=query.categories or None,
        ownership_class=LOCAL_CLASSES if query.local_only else None,
        within=patch_outline if query.patch else None, text=query.text or None)
    if query.local_only and "national_footprint" in found.columns:
        found = found[found["national_footprint"].ne(True).to_numpy()]
    if origin is not None:
        radius = None if query.within_km is None else query.within_km * 1000
        return assets_near(found, origin, radius_m=radius)
    return found.sort_values(S.NAME, kind="stable")


@dataclass(frozen=True)
class Alternative:
    """Another search that finds something, offered when a search finds nothing."""

    query: DirectoryQuery
    #: What changes, in words ("Residential care instead", "At any distance").
    words: str
    #: How many results it gives.
    found: int


def empty_result_help(
    assets: gpd.GeoDataFrame,
    query: DirectoryQuery,
    *,
    origin: Point | None = None,
    patch_outline: BaseGeometry | None = None,
    categories: pd.DataFrame | None = None,
) -> tuple[str, list[Alternative]]:
    """Give why ``query`` finds nothing in ``assets``, and searches near it that find something.

    Tried in turn: a wider distance (the first of :data:`WIDER_KM` that reaches a match)
    and no distance limit; other categories of the same group in the taxonomy
    (``categories``, by default ``data/categories.csv``); and the query without its
    "local generative only", text or patch option. Only searches that find at least one
    asset are offered, each with its count.
    """
    table = load_categories() if categories is None else categories
    labels = dict(zip(table["code"], table["label"], strict=True))

    def count(q: DirectoryQuery) -> int:
        return len(search_assets(assets, q, origin=origin, patch_outline=patch_outline))

    out: list[Alternative] = []
    near = f" of {query.postcode}" if query.postcode else ""
    unlimited = replace(query, within_km=None)
    if origin is not None and query.within_km is not None and count(unlimited):
        wider = next((km for km in WIDER_KM if km > query.within_km
                      and count(replace(query, within_km=km))), None)
        if wider is not None:
            q = replace(query, within_km=wider)
            out.append(Alternative(q, f"Within {wider:g} km{near}", count(q)))
        if wider is None or count(unlimited) > out[-1].found:
            out.append(Alternative(unlimited, f"At any distance{near}, nearest first",
                                   count(unlimited)))
    if query.local_only:
        q = replace(query, local_only=False)
        out.append(Alternative(q, "Including providers that are not local generative", count(q)))
    asked = set(query.categories)
    groups = set(table.loc[table["code"].isin(asked), "group"])
    related = [c for c, g in zip(table["code"], table["group"], strict=True)
               if g in groups and c not in asked]
    offered = [Alternative(q, f"{labels[c]} instead", n) for c in related
               for q in [replace(query, categories=(c,))] for n in [count(q)] if n]
    out += offered[:MAX_RELATED]
    if query.text:
        q = replace(query, text="")
        out.append(Alternative(q, f"Without the words “{query.text}”", count(q)))
    if query.patch:
        q = replace(query, patch="")
        out.append(Alternative(q, f"In any patch, not only {query.patch}", count(q)))
    return _why_empty(assets, query, labels, count, unlimited, near), [a for a in out if a.found]


def _in_a_sentence(label: str) -> str:
    """Give a label as it reads inside a sentence: "day opportunities", but "GP practice"."""
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def _why_empty(assets: gpd.GeoDataFrame, query: DirectoryQuery, labels: dict[str, str],
               count: Callable[[DirectoryQuery], int], unlimited: DirectoryQuery,
               near: str) -> str:
    names = " or ".join(_in_a_sentence(labels.get(c, c)) for c in query.categories)
    if query.categories and not assets[S.CATEGORY].isin(list(query.categories)).any():
        return f"The directory has no {names} recorded yet."
    if query.within_km is not None and query.postcode and count(unlimited):
        return f"Nothing that matches is within {query.within_km:g} km{near}."
    if query.local_only and count(replace(query, local_only=False)):
        return "Nothing that matches is run by a local generative organisation or the council."
    if query.text and count(replace(query, text="")):
        return f"Nothing that matches has “{query.text}” in its name or description."
    if query.patch and count(replace(query, patch="")):
        return f"Nothing that matches is in the patch {query.patch}."
    return "Nothing matches every option you chose together."


# --- pages and words ------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of results: its number (from 1), its size and how many results there are."""

    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the results fill (at least one)."""
        return max(1, -(-self.total // self.size))

    @property
    def start(self) -> int:
        """Position (from 0) of the page's first result."""
        return (self.number - 1) * self.size

    @property
    def stop(self) -> int:
        """Position (from 0) just after the page's last result."""
        return min(self.total, self.start + self.size)


def page_of(total: int, number: str | int | None, *, size: int = PAGE_SIZE) -> Page:
    """Give page ``number`` of ``total`` results; a missing, odd or too big number gives the
    nearest page there is (a link that outlived its results still shows something)."""
    try:
        asked = int(number or 1)
    except (TypeError, ValueError):
        asked = 1
    last = max(1, -(-total // size))
    return Page(number=min(max(asked, 1), last), size=size, total=total)


def distance_words(metres: float) -> str:
    """Give a distance as a person reads it: "0.4 km", "12 km", "under 0.1 km"."""
    if metres < 50:
        return "under 0.1 km"
    km = metres / 1000
    return f"{km:.1f} km" if km < 10 else f"{km:.0f} km"


#: An OpenStreetMap element in an asset's name the way Geofabrik codes it: "(OSM way_or_relation 1)".
_OSM_CODE = re.compile(r"\((?:OSM|OpenStreetMap) ([a-z_]+) (\d+)\)")


def display_names(names: pd.Series) -> pd.Series:
    """Give asset names as a person reads them: an OpenStreetMap element's code in words
    ("(OpenStreetMap way or relation 4962595)"), and a blank for a missing name."""
    return names.fillna("").astype(str).str.replace(
        _OSM_CODE, lambda m: f"(OpenStreetMap {m.group(1).replace('_', ' ')} {m.group(2)})",
        regex=True)


# --- the printed shortlist's map ------------------------------------------------------

#: Lengths a scale bar may have, in metres.
_SCALE_BARS = (50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 20_000)
#: Least width and height a static map shows, in metres (so one point is not a close-up).
_MIN_SPAN_M = 800.0


def shortlist_svg(
    points: gpd.GeoDataFrame,
    *,
    origin: Point | None = None,
    origin_label: str = "",
    areas: gpd.GeoDataFrame | None = None,
    width: int = 640,
    height: int = 400,
) -> str:
    """Give a small static map of shortlisted places as inline SVG (empty if none has a point).

    Drawn in EPSG:27700, north up and to scale, with no tiles, so it works offline and
    prints: each place is a circle numbered 1, 2, … in the frame's order (the order of
    the printed list; a place without a point keeps its number but is not drawn), the
    postcode ``origin`` (EPSG:4326) a black square labelled ``origin_label``, and
    ``areas`` (wards or the borough, any CRS) give context: their outlines, and the name
    (``schema.AREA_NAME``) of each area the map shows enough of. A scale bar and a north
    arrow are added. Text is XML-escaped.
    """
    require_crs(points, what="shortlisted places")
    metric = points.geometry.to_crs(S.METRIC_CRS)
    numbered = [(i + 1, g.x, g.y) for i, g in enumerate(metric)
                if g is not None and not g.is_empty]
    here = None
    if origin is not None:
        o = gpd.GeoSeries([origin], crs=S.STORAGE_CRS).to_crs(S.METRIC_CRS).iloc[0]
        here = (o.x, o.y)
    xs = [x for _n, x, _y in numbered] + ([here[0]] if here else [])
    ys = [y for _n, _x, y in numbered] + ([here[1]] if here else [])
    if not xs:
        return ""
    pad = 30.0
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    span_x = max(max(xs) - min(xs), _MIN_SPAN_M)
    span_y = max(max(ys) - min(ys), _MIN_SPAN_M * height / width)
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)  # pixels per metre

    def px(x: float, y: float) -> str:
        return f"{width / 2 + (x - cx) * scale:.1f} {height / 2 - (y - cy) * scale:.1f}"

    parts = [f'<rect width="{width}" height="{height}" fill="#f7f5f0"/>']
    if areas is not None and len(areas):
        parts += _area_parts(areas, px, box(cx - width / 2 / scale, cy - height / 2 / scale,
                                             cx + width / 2 / scale, cy + height / 2 / scale),
                             tolerance_m=1.5 / scale)
    bar_m = max([b for b in _SCALE_BARS if b * scale <= width / 4] or [_SCALE_BARS[0]])
    bar_px = bar_m * scale
    bar_words = f"{bar_m / 1000:g} km" if bar_m >= 1000 else f"{bar_m} m"
    parts.append(f'<g font-size="12" fill="#1b1b1b"><path d="M12 {height - 14} h{bar_px:.1f}" '
                 f'stroke="#1b1b1b" stroke-width="3"/><text x="12" y="{height - 20}">'
                 f'{bar_words}</text></g>')
    parts.append(f'<g transform="translate({width - 22} 12)"><path d="M0 0 L7 18 L0 14 L-7 18 Z" '
                 'fill="#1b1b1b"/><text x="0" y="32" font-size="12" text-anchor="middle" '
                 'fill="#1b1b1b">N</text></g>')
    if here is not None:
        x, y = px(*here).split()
        parts.append(f'<rect x="{float(x) - 7:.1f}" y="{float(y) - 7:.1f}" width="14" height="14" '
                     'fill="#1b1b1b" stroke="#ffffff" stroke-width="2"/>')
        if origin_label:
            parts.append(f'<text x="{float(x) + 11:.1f}" y="{float(y) + 4:.1f}" font-size="13" '
                         'font-weight="700" fill="#1b1b1b" stroke="#ffffff" stroke-width="3" '
                         f'paint-order="stroke">{html.escape(origin_label)}</text>')
    for n, x0, y0 in reversed(numbered):  # number 1 drawn last, so on top
        x, y = px(x0, y0).split()
        parts.append(f'<g><circle cx="{x}" cy="{y}" r="11" fill="#1d5c96" stroke="#ffffff" '
                     f'stroke-width="2"/><text x="{x}" y="{y}" dy="4.5" font-size="12" '
                     f'font-weight="700" text-anchor="middle" fill="#ffffff">{n}</text></g>')
    title = (f"Map of the {len(numbered)} shortlisted place{'' if len(numbered) == 1 else 's'}, "
             "numbered as in the list" + (f", and {origin_label}" if origin_label else ""))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="static-map" role="img" '
            f'viewBox="0 0 {width} {height}" aria-label="{html.escape(title)}" '
            f'font-family="system-ui, sans-serif"><title>{html.escape(title)}</title>'
            + "".join(parts) + "</svg>")


def _area_parts(areas: gpd.GeoDataFrame, px: Callable[[float, float], str], view: BaseGeometry,
                *, tolerance_m: float) -> list[str]:
    """Give the SVG of area outlines in ``view`` (EPSG:27700) and the names of those it
    shows a fifth or more of the width of."""
    metric = areas.to_crs(S.METRIC_CRS)
    names = (metric[S.AREA_NAME].fillna("").astype(str) if S.AREA_NAME in metric.columns
             else pd.Series("", index=metric.index))
    paths, labels = [], []
    for shape, name in zip(metric.geometry.simplify(tolerance_m), names, strict=True):
        seen = shape.intersection(view) if shape is not None else None
        if seen is None or seen.is_empty:
            continue
        rings = [ring for poly in getattr(shape, "geoms", [shape]) if hasattr(poly, "exterior")
                 for ring in [poly.exterior, *poly.interiors]]
        paths.append(" ".join("M" + " L".join(px(x, y) for x, y in ring.coords) + " Z"
                              for ring in rings))
        minx, _miny, maxx, _maxy = seen.bounds
        if name and maxx - minx >= (view.bounds[2] - view.bounds[0]) / 5:
            at = seen.representative_point()
            x, y = px(at.x, at.y).split()
            labels.append(f'<text x="{x}" y="{y}" font-size="12" font-style="italic" '
                          f'text-anchor="middle" fill="#4f5a61">{html.escape(name)}</text>')
    out = [f'<path d="{" ".join(paths)}" fill="#ffffff" fill-rule="evenodd" stroke="#9aa5ad" '
           'stroke-width="1"/>'] if paths else []
    return out + labels
