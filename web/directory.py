"""The directory: a "purchasing platform" menu of local alternatives.

Social workers and residents search and filter active assets by category,
patch, ownership ("local generative only") and distance from a postcode, a page of
25 at a time beside a map of that page; a search that finds nothing says why and
links to searches near it that find something. A shortlist is kept in the browser
session and printed with the distance from the person's postcode, the date and a
static map, or exported as CSV. Distances are straight-line until a street network
is available, and say so. The searching is :mod:`mapping.register.directory`.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

import folium
import geopandas as gpd
import pandas as pd
from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from markupsafe import Markup
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.maps.asset_map import asset_map, html_entities, map_parts
from mapping.places.roles import borough_outline, layer_roles
from mapping.places.store import load_area_layer, load_patches, public_patch_set
from mapping.register.directory import (
    DISTANCE_M,
    STRAIGHT_LINE,
    DirectoryQuery,
    assets_near,
    display_names,
    distance_words,
    empty_result_help,
    page_of,
    point_for_postcode,
    search_assets,
    shortlist_svg,
)
from mapping.register.records import assets_frame
from mapping.register.taxonomy import category_label, load_categories
from web.db import get_postcode_index, get_session, get_settings, get_store
from web.exports import csv_response

bp = Blueprint("directory", __name__, url_prefix="/directory")

SHORTLIST_KEY = "shortlist"
#: The postcode of the last search that had one: the shortlist measures from it.
POSTCODE_KEY = "directory_postcode"
#: The last search's checked options, for the shortlist's way back to it.
SEARCH_KEY = "directory_search"
#: The most characters of search words remembered for that way back.
MAX_REMEMBERED = 200
MAX_SHORTLIST = 50
EXPORT_COLUMNS = [S.NAME, "category_label", "organisation_name", S.OWNERSHIP_CLASS, S.ADDRESS,
                  S.POSTCODE, S.OPENING_TIMES, S.CONTACT, S.WEBSITE, S.ACCESSIBILITY, DISTANCE_M,
                  "distance_method", S.LON, S.LAT, S.SOURCE, S.LICENCE, S.ATTRIBUTION]
#: The search form's fields as the page names them, for problems with what was typed.
FIELD_WORDS = {"q": "Name or description", "category": "Category", "patch": "Patch",
               "postcode": "Postcode", "within_km": "Within (km)", "asset_id": "Shortlist"}
#: Each ownership class (CLES) in words, for its pill.
OWNERSHIP_WORDS = {"generative": "Local generative", "extractive": "Extractive",
                   "in-house": "Council (in-house)", "unknown": "Ownership unknown"}
#: Where the postcode's point is drawn on the results map.
_ORIGIN_COLOUR = "#1b1b1b"


def _patches() -> gpd.GeoDataFrame | None:
    """Give the public patch set's patches (never a saved lot design unless an officer made it
    the default), or ``None``."""
    name = public_patch_set(get_session())
    return load_patches(get_session(), name) if name else None


def _asked(args: Any, patches: gpd.GeoDataFrame | None) -> dict[str, Any]:
    """Give what was typed into the search form, to show it again."""
    return {"q": args.get("q", ""), "category": args.getlist("category"),
            "patch": args.get("patch", "").strip(), "local": args.get("local") == "1",
            "postcode": args.get("postcode", "").strip(), "within_km": args.get("within_km", ""),
            "patches": [] if patches is None else [str(p) for p in patches[S.PATCH]]}


def _query(args: Any, patches: gpd.GeoDataFrame | None
           ) -> tuple[DirectoryQuery, Point | None, BaseGeometry | None]:
    """Give the search asked for, its postcode's point and its patch's outline, or raise
    :class:`ValidationError` with every option that needs changing."""
    categories = set(load_categories()["code"])
    wanted = tuple(c for c in args.getlist("category") if c)
    problems = [Problem(f"unknown category '{c}'", field="category") for c in wanted
                if c not in categories]
    patch_name = args.get("patch", "").strip()
    outline = None
    if patch_name:
        named = None if patches is None else patches[(patches[S.PATCH] == patch_name).to_numpy()]
        if named is None or named.empty:
            problems.append(Problem(f"no patch called '{patch_name}'", field="patch"))
        else:
            outline = named.geometry.iloc[0]
    within_km_text = args.get("within_km", "").strip()
    within_km = None
    if within_km_text:
        try:
            within_km = float(within_km_text)
            if not 0 < within_km <= 50:
                raise ValueError
        except ValueError:
            problems.append(Problem("give a distance between 0 and 50 km", field="within_km"))
    postcode = args.get("postcode", "").strip()
    origin = None
    if postcode:
        try:
            origin = point_for_postcode(postcode, index=get_postcode_index())
        except ValidationError as exc:
            problems += [Problem(p.reason, field="postcode") for p in exc.problems]
    if problems:
        raise ValidationError(problems, summary="Some search options need changing")
    query = DirectoryQuery(text=args.get("q", "").strip(), categories=wanted, patch=patch_name,
                           local_only=args.get("local") == "1", postcode=postcode.upper(),
                           within_km=within_km)
    return query, origin, outline


def _labelled(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.assign(category_label=frame[S.CATEGORY].map(category_label),
                        name=display_names(frame[S.NAME]))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Give rows for a template: missing values as ``None`` (shown blank or "not recorded"),
    and each distance in words."""
    plain = pd.DataFrame(frame.drop(columns="geometry", errors="ignore")).astype(object)
    rows: list[dict[str, Any]] = plain.where(plain.notna(), None).to_dict("records")
    for row in rows:
        metres = row.get(DISTANCE_M)
        row["distance"] = None if metres is None else distance_words(float(metres))
    return rows


def _url(params: list[tuple[str, str]]) -> str:
    # Built by hand, not with url_for: keys such as "_external" must stay query parameters.
    return url_for("directory.search") + ("?" + urlencode(params) if params else "")


def _page_url(number: int) -> str:
    kept = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    return _url(kept + ([("page", str(number))] if number > 1 else []))


def _results_map(shown: gpd.GeoDataFrame, origin: Point | None, postcode: str) -> dict[str, str]:
    """Give the parts of the map of one page of results, with the postcode's point."""
    settings = get_settings()
    m = asset_map(None, shown, tile_url=settings.tile_url,
                  tile_attribution=settings.tile_attribution,
                  vendor_url=url_for("vendor.serve", filename="").rstrip("/"),
                  detail_url=url_for("records.asset_detail", asset_id=0).removesuffix("0") + "{id}")
    if origin is not None:
        folium.CircleMarker([origin.y, origin.x], radius=8, color="#ffffff", weight=2, fill=True,
                            fill_color=_ORIGIN_COLOUR, fill_opacity=1,
                            tooltip=folium.Tooltip(html_entities(postcode))).add_to(m)
        west, south, east, north = shown.geometry.total_bounds
        m.fit_bounds([[min(south, origin.y), min(west, origin.x)],
                      [max(north, origin.y), max(east, origin.x)]], max_zoom=16)
    return map_parts(m)


def _render_search(asked: dict[str, Any], *, problems: list[Problem] | None = None,
                   **context: Any) -> str:
    return render_template(
        "directory/search.html", asked=asked, problems=problems or [],
        categories=load_categories().to_dict("records"), field_words=FIELD_WORDS,
        ownership_words=OWNERSHIP_WORDS,
        shortlist=set(session.get(SHORTLIST_KEY, [])), straight_line=STRAIGHT_LINE,
        export_query=request.query_string.decode(), **context)


@bp.get("/")
def search() -> Any:
    """Search the directory: a page of results, nearest first when a postcode is given."""
    get_store().check_ready()
    patches = _patches()
    asked = _asked(request.args, patches)
    try:
        query, origin, outline = _query(request.args, patches)
    except ValidationError as exc:
        return _render_search(asked, problems=exc.problems, total=0), 422
    assets = assets_frame(get_session(), status=["active"])
    found = search_assets(assets, query, origin=origin, patch_outline=outline)
    page = page_of(len(found), request.args.get("page"))
    shown = _labelled(found.iloc[page.start:page.stop])
    why, alternatives = "", []
    if found.empty:
        why, offered = empty_result_help(assets, query, origin=origin, patch_outline=outline)
        alternatives = [{"url": _url(a.query.params()), "words": a.words, "found": a.found}
                        for a in offered]
    if origin is not None:
        session[POSTCODE_KEY] = query.postcode
    session[SEARCH_KEY] = _remembered(query, page.number)
    parts = _results_map(shown, origin, query.postcode) if len(shown) else {}
    return _render_search(
        asked, results=_records(shown), total=len(found), page=page, why=why,
        alternatives=alternatives, postcode=query.postcode if origin is not None else "",
        previous_url=_page_url(page.number - 1) if page.number > 1 else None,
        next_url=_page_url(page.number + 1) if page.number < page.pages else None,
        map_header=parts.get("header", ""), map_html=parts.get("html", ""),
        map_script=parts.get("script", ""))


def _remembered(query: DirectoryQuery, page_number: int) -> str:
    """Give the search to go back to from the shortlist: only its checked options, each
    once and the words cut short, so the browser's session cookie stays small."""
    pairs = list(dict.fromkeys((k, v[:MAX_REMEMBERED] if k == "q" else v)
                               for k, v in query.params()))
    return urlencode(pairs + ([("page", str(page_number))] if page_number > 1 else []))


def _csv(frame: pd.DataFrame, filename: str) -> Response:
    return csv_response(frame[[c for c in EXPORT_COLUMNS if c in frame.columns]], filename)


@bp.get("/export.csv")
def export() -> Any:
    """The current search as CSV (same filters as the page, every result)."""
    get_store().check_ready()
    query, origin, outline = _query(request.args, _patches())
    found = search_assets(assets_frame(get_session(), status=["active"]), query, origin=origin,
                          patch_outline=outline)
    return _csv(found.assign(category_label=found[S.CATEGORY].map(category_label)),
                "directory.csv")


def _shortlisted(origin: Point | None = None) -> gpd.GeoDataFrame:
    """Give the shortlist in the order it was made, with distances from ``origin`` if given."""
    ids = session.get(SHORTLIST_KEY, [])
    get_store().check_ready()
    assets = assets_frame(get_session(), status=["active"])
    chosen = assets[assets["id"].isin(ids)]
    if origin is not None:
        chosen = assets_near(chosen, origin)
    order = {asset_id: i for i, asset_id in enumerate(ids)}
    return _labelled(chosen.sort_values("id", key=lambda s: s.map(order)))


@bp.post("/shortlist")
def shortlist_change() -> Any:
    """Add an asset to, or remove it from, this browser's shortlist."""
    ids: list[int] = list(session.get(SHORTLIST_KEY, []))
    try:
        asset_id = int(request.form.get("asset_id", ""))
    except ValueError:
        raise ValidationError([Problem("not an asset number", field="asset_id")]) from None
    if request.form.get("action") == "remove":
        ids = [i for i in ids if i != asset_id]
    elif asset_id not in ids:
        if len(ids) >= MAX_SHORTLIST:
            flash(f"The shortlist holds at most {MAX_SHORTLIST} entries.", "error")
        else:
            ids.append(asset_id)
    session[SHORTLIST_KEY] = ids
    target = request.form.get("back", "")
    if not target.startswith("/directory"):
        target = url_for("directory.shortlist")
    return redirect(target)


def _shortlist_origin() -> tuple[str, Point | None, list[Problem]]:
    """Give the postcode the shortlist measures from (asked for, else the last search's),
    its point, and why it has none."""
    postcode = request.args.get("postcode", session.get(POSTCODE_KEY, "")).strip().upper()
    if not postcode:
        return "", None, []
    try:
        origin = point_for_postcode(postcode, index=get_postcode_index())
    except ValidationError as exc:
        return postcode, None, exc.problems
    session[POSTCODE_KEY] = postcode
    return postcode, origin, []


def _context_areas() -> gpd.GeoDataFrame | None:
    """Give the areas a static map is drawn over: the wards (named), else the borough."""
    wards = layer_roles(get_session()).wards
    return load_area_layer(get_session(), wards) if wards else borough_outline(get_session())


def _day(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


@bp.get("/shortlist")
def shortlist() -> Any:
    """The shortlist, laid out for printing: distances, today's date and a static map."""
    postcode, origin, problems = _shortlist_origin()
    chosen = _shortlisted(origin)
    svg = shortlist_svg(chosen, origin=origin, origin_label=postcode if origin else "",
                        areas=_context_areas()) if len(chosen) else ""
    last = session.get(SEARCH_KEY, "")
    return render_template(
        "directory/shortlist.html", results=_records(chosen), postcode=postcode,
        origin=origin is not None, problems=problems, static_map=Markup(svg),
        printed_on=_day(date.today()), straight_line=STRAIGHT_LINE,
        ownership_words=OWNERSHIP_WORDS,
        back_url=url_for("directory.search") + (f"?{last}" if last else ""))


@bp.get("/shortlist.csv")
def shortlist_csv() -> Any:
    """The shortlist as CSV (with distances when the shortlist page has a postcode)."""
    _postcode, origin, _problems = _shortlist_origin()
    return _csv(_shortlisted(origin), "shortlist.csv")
