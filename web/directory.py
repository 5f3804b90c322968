"""The directory: a "purchasing platform" menu of local alternatives.

Social workers and residents search and filter active assets by category,
patch, ownership ("local generative only") and distance from a postcode,
keep a shortlist in their browser session, print it, and export CSV.
Distances are straight-line until a street network is available, and say so.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.places.store import list_patch_sets, load_patches
from mapping.register.directory import (
    DISTANCE_M,
    STRAIGHT_LINE,
    assets_near,
    filter_assets,
    point_for_postcode,
)
from mapping.register.records import assets_frame
from mapping.register.taxonomy import category_label, load_categories
from web.db import get_postcode_index, get_session, get_store
from web.exports import csv_response

bp = Blueprint("directory", __name__, url_prefix="/directory")

SHORTLIST_KEY = "shortlist"
#: "Local generative only": community, worker and social ownership, and the council's own.
LOCAL_CLASSES = ("generative", "in-house")
MAX_SHORTLIST = 50
EXPORT_COLUMNS = [S.NAME, "category_label", "organisation_name", S.OWNERSHIP_CLASS, S.ADDRESS,
                  S.POSTCODE, S.OPENING_TIMES, S.CONTACT, S.WEBSITE, S.ACCESSIBILITY, DISTANCE_M,
                  "distance_method", S.LON, S.LAT, S.SOURCE, S.LICENCE, S.ATTRIBUTION]


def _search(args: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run the directory search for the query string; give results and what was asked."""
    get_store().check_ready()
    db = get_session()
    categories = set(load_categories()["code"])
    wanted = [c for c in args.getlist("category") if c]
    problems = [Problem(f"unknown category '{c}'", field="category") for c in wanted
                if c not in categories]
    patch_name = args.get("patch", "").strip()
    patch_sets = list_patch_sets(db)
    patches = load_patches(db, patch_sets[0]) if patch_sets else None
    patch_names = [] if patches is None else list(patches[S.PATCH])
    within = None
    if patch_name:
        if patch_name not in patch_names:
            problems.append(Problem(f"no patch called '{patch_name}'", field="patch"))
        else:
            within = patches[patches[S.PATCH] == patch_name].geometry.iloc[0]  # type: ignore[index]
    local_only = args.get("local") == "1"
    postcode = args.get("postcode", "").strip()
    within_km_text = args.get("within_km", "").strip()
    within_km = None
    if within_km_text:
        try:
            within_km = float(within_km_text)
            if not 0 < within_km <= 50:
                raise ValueError
        except ValueError:
            problems.append(Problem("give a distance between 0 and 50 km", field="within_km"))
    origin = None
    if postcode:
        try:
            origin = point_for_postcode(postcode, index=get_postcode_index())
        except ValidationError as exc:
            problems += [Problem(p.reason, field="postcode") for p in exc.problems]
    if problems:
        raise ValidationError(problems, summary="Some search options need changing")
    found = filter_assets(
        assets_frame(db, status=["active"]),
        category=wanted or None,
        ownership_class=list(LOCAL_CLASSES) if local_only else None,
        within=within,
        text=args.get("q", "").strip() or None,
    )
    if local_only:
        found = found[found["national_footprint"].ne(True)]
    if origin is not None:
        found = assets_near(found, origin, radius_m=within_km * 1000 if within_km else None)
    else:
        found = found.sort_values(S.NAME)
    found = found.assign(category_label=found[S.CATEGORY].map(category_label))
    asked = {"q": args.get("q", ""), "category": wanted, "patch": patch_name, "local": local_only,
             "postcode": postcode, "within_km": within_km_text, "patches": patch_names}
    return found, asked


@bp.get("/")
def search() -> Any:
    """Search the directory; results sorted by distance when a postcode is given."""
    try:
        found, asked = _search(request.args)
        problems: list[Problem] = []
    except ValidationError as exc:
        found, problems = pd.DataFrame(), exc.problems
        asked = {"q": request.args.get("q", ""), "category": request.args.getlist("category"),
                 "patch": request.args.get("patch", ""), "local": request.args.get("local") == "1",
                 "postcode": request.args.get("postcode", ""),
                 "within_km": request.args.get("within_km", ""), "patches": []}
    status = 422 if problems else 200
    return render_template(
        "directory/search.html", results=found.head(500).to_dict("records"), total=len(found),
        asked=asked, problems=problems, categories=load_categories().to_dict("records"),
        shortlist=set(session.get(SHORTLIST_KEY, [])), straight_line=STRAIGHT_LINE,
    ), status


def _csv(frame: pd.DataFrame, filename: str) -> Response:
    return csv_response(frame[[c for c in EXPORT_COLUMNS if c in frame.columns]], filename)


@bp.get("/export.csv")
def export() -> Any:
    """The current search as CSV (same filters as the page)."""
    found, _asked = _search(request.args)
    return _csv(found, "directory.csv")


def _shortlisted() -> pd.DataFrame:
    ids = session.get(SHORTLIST_KEY, [])
    get_store().check_ready()
    assets = assets_frame(get_session(), status=["active"])
    chosen = assets[assets["id"].isin(ids)]
    chosen = chosen.assign(category_label=chosen[S.CATEGORY].map(category_label))
    order = {asset_id: i for i, asset_id in enumerate(ids)}
    return chosen.sort_values("id", key=lambda s: s.map(order))


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


@bp.get("/shortlist")
def shortlist() -> Any:
    """The shortlist, laid out for printing."""
    return render_template("directory/shortlist.html", results=_shortlisted().to_dict("records"))


@bp.get("/shortlist.csv")
def shortlist_csv() -> Any:
    """The shortlist as CSV."""
    return _csv(_shortlisted(), "shortlist.csv")
