"""Gap analysis pages: access by area and patch, the micro-fund plan, and their exports.

Views are thin: they read the query, call :func:`mapping.access.analysis.analyse_gaps`
(the one entry point) and :func:`mapping.funding.plan.plan_microfund`, and render. Every
page and export carries the travel-cost method label, because without a street
network the distances are straight-line estimates.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import geopandas as gpd
import pandas as pd
import shapely
from flask import Blueprint, Flask, Response, current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from mapping import schema as S
from mapping.access.analysis import (
    HOST_CATEGORY,
    MAX_PROPOSED,
    METHODS,
    GapAnalysis,
    GapInputs,
    GapOptions,
    analyse_gaps,
    inputs_from_store,
    plan_for,
)
from mapping.access.catchment import AccessSettings
from mapping.access.network import WalkingNetwork, prepare_network
from mapping.access.walk_graph import walking_graph_from_xml
from mapping.boroughs.settings import funder
from mapping.errors import MappingError, Problem, ValidationError
from mapping.funding.giving360 import grants_to_360giving
from mapping.funding.mclp import DEFAULT_COVERAGE_MIN
from mapping.funding.plan import FundingSettings
from mapping.maps.asset_map import map_parts
from mapping.maps.gaps import gaps_map, people_words, plan_map
from mapping.places.store import designed_sets, list_patch_sets, public_patch_set
from mapping.register.taxonomy import load_categories
from web.db import get_borough, get_session, get_settings
from web.exports import csv_response
from web.extensions import analysis_limit
from web.query import number_arg

bp = Blueprint("gaps", __name__)

NO_NETWORK: Final = "no street network is loaded"
NETWORK_UNREADABLE: Final = (
    "The walking network file '{name}' could not be read, so distances are straight-line "
    "estimates. An administrator can see why in the server log and correct the file or the "
    "MAPPING_WALKING_NETWORK setting.")
PLAN_ID_PREFIX: Final = "example-plan"
PLAN_NOTE: Final = ("A PLAN, not awarded grants: recipients are placeholders or suggested "
                    "host organisations until the council awards each grant.")
AREA_COLUMNS: Final = (S.AREA_CODE, S.AREA_NAME, S.PATCH, "people", "demand", "access",
                       "normalised", "nearest_minutes", "nearest_metres", "nearest_site",
                       "within_cutoff", "snapped", "below_half_mean", "bottom_quintile",
                       "none_within_cutoff", "gap", "gap_before", "normalised_before", "change",
                       "measure")
_NETWORK_LOCK = threading.Lock()
_TRUE: Final = ("1", "true", "yes", "on")
_FALSE: Final = ("", "0", "false", "no", "off")


def method_label(method: str) -> str:
    """Give the method in plain words, e.g. "Distances are straight line × 1.3, not walking routes…"."""
    if method.startswith("network"):
        return "Distances are walking routes on the street network."
    return f"Distances are {method}, not walking routes: {NO_NETWORK}."


@dataclass
class Run:
    """One gap analysis as the pages need it."""

    analysis: GapAnalysis
    inputs: GapInputs
    seconds: float
    patches: str | None = None
    """The patch set the query asked for by name (``None``: the default choice)."""

    @property
    def label(self) -> str:
        return method_label(self.analysis.method)


def _flag(args: MultiDict[str, str], name: str, problems: list[Problem]) -> bool:
    value = args.get(name, "").strip().casefold()
    if value in _TRUE:
        return True
    if value not in _FALSE:
        problems.append(Problem(f"use 1 or 0, got '{value}'", field=name))
    return False


def _proposed(args: MultiDict[str, str], problems: list[Problem]) -> tuple[tuple[float, float], ...]:
    """Give the ``add=lon,lat`` points (repeatable; blank values ignored)."""
    raw = [v.strip() for v in args.getlist("add") if v.strip()]
    if len(raw) > MAX_PROPOSED:
        problems.append(Problem(f"add at most {MAX_PROPOSED} proposed sites, got {len(raw)}",
                                field="add"))
        return ()
    points = []
    for i, value in enumerate(raw, start=1):
        parts = value.split(",")
        try:
            lon, lat = (float(p) for p in parts)
        except ValueError:
            problems.append(Problem(f"give longitude,latitude as two numbers, got '{value}'",
                                    row=i, field="add"))
            continue
        points.append((lon, lat))
    return tuple(points)


def options_from(args: MultiDict[str, str]) -> GapOptions:
    """Give the checked analysis options from the query; every bad value raises at once (422)."""
    problems: list[Problem] = []
    options = GapOptions(
        category=args.get("category", "").strip() or "gp_practice",
        measure=args.get("measure", "").strip() or S.POPULATION,
        imd_weighting=_flag(args, "imd", problems),
        generative_only=_flag(args, "generative", problems),
        cutoff_min=number_arg(args, "cutoff", 15.0, problems),
        method=args.get("method", "").strip() or "e2sfca",
        proposed=_proposed(args, problems),
    )
    try:
        options.check()
    except ValidationError as exc:
        # The query names proposed sites ``add``: say so in the error.
        problems.extend(dataclasses.replace(p, field="add") if p.field == "proposed"
                        else p for p in exc.problems)
    if problems:
        raise ValidationError(problems, summary="the gap analysis options are not valid")
    return options


def walking_network() -> tuple[WalkingNetwork | None, str | None]:
    """Give the walking network of the ``walking_network`` setting, or None, and a note if it failed.

    Without the setting (the demo: no Newham extract is available offline) there is no
    network and every page and export is labelled as straight-line. The file is read
    and prepared once per process and version of the file (its GraphML cache in the
    instance folder makes a restart quick); a file that cannot be read leaves the pages
    on the labelled fallback with a note, and the reason in the server log.
    """
    settings = get_settings()
    path = settings.walking_network_path
    if path is None:
        return None, None
    try:
        stat = path.stat()
        key: tuple[str, int, int] | tuple[str] = (str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = (str(path),)
    cache = current_app.extensions.setdefault("walking_network", {})
    with _NETWORK_LOCK:
        if cache.get("key") != key:
            try:
                graph = walking_graph_from_xml(path, cache_dir=settings.instance_dir / "cache")
                cache.update(key=key, network=prepare_network(graph), note=None)
            except Exception as exc:  # any failure leaves the labelled fallback, never a 500
                current_app.logger.warning("walking network %s not used: %s", path, exc,
                                           exc_info=not isinstance(exc, MappingError))
                # A fault in the file is remembered until the file changes; anything else
                # (a full disk, a cache being written) is tried again on the next request.
                cache.update(key=key if isinstance(exc, MappingError) else None, network=None,
                             note=NETWORK_UNREADABLE.format(name=path.name))
        return cache["network"], cache["note"]


def read_walking_network_soon(app: Flask) -> threading.Thread:
    """Start reading the walking network in the background, so no visitor waits for it.

    A borough's extract takes seconds to parse the first time; a page asked for meanwhile
    waits for the same read rather than starting another.
    """
    def read() -> None:
        with app.app_context():
            walking_network()

    thread = threading.Thread(target=read, name="walking-network", daemon=True)
    thread.start()
    return thread


def run_analysis(args: MultiDict[str, str]) -> Run:
    """Give the gap analysis the query asks for, over the stored LSOAs and active assets."""
    options = options_from(args)
    patches = args.get("patches", "").strip() or None
    started = time.perf_counter()
    inputs = inputs_from_store(get_session(), patch_set=patches)
    network, note = walking_network()
    analysis = analyse_gaps(inputs.areas, inputs.assets, options=options,
                            patches=inputs.patches, patch_source=inputs.patch_source,
                            graph=network)
    if note:
        analysis.notes.insert(0, note)
    return Run(analysis, inputs, time.perf_counter() - started, patches)


def _query(run: Run, **extra: Any) -> dict[str, Any]:
    """Give the query string that asks for the same analysis (for links, downloads, forms)."""
    options = run.analysis.options
    query: dict[str, Any] = {"category": options.category, "measure": options.measure,
                             "cutoff": f"{options.cutoff_min:g}"}
    if run.patches:
        query["patches"] = run.patches
    if options.imd_weighting:
        query["imd"] = 1
    if options.generative_only:
        query["generative"] = 1
    if options.method != "e2sfca":
        query["method"] = options.method
    if options.proposed:
        query["add"] = [f"{lon:.6f},{lat:.6f}" for lon, lat in options.proposed]
    return {**query, **extra}


def area_table(run: Run) -> pd.DataFrame:
    """Give one row per area: scores, flags, patch and the method label."""
    frame = pd.DataFrame(run.analysis.areas.drop(columns="geometry"))
    frame = frame.merge(run.inputs.lookup, on=S.AREA_CODE, how="left")
    columns = [c for c in AREA_COLUMNS if c in frame.columns]
    return frame[columns].assign(method=run.analysis.method)


def patch_table(run: Run) -> pd.DataFrame:
    """Give the patch roll-up as a table with ``patch`` first, the measure and method labels."""
    return run.analysis.rollup.reset_index().assign(measure=run.analysis.measure,
                                                    method=run.analysis.method)


def category_label(code: str) -> str:
    """Give a category's label ("GP practice"), never its code, for a page to show."""
    table = load_categories()
    return str(dict(zip(table["code"], table["label"], strict=True)).get(code, "Other"))


def in_a_sentence(label: str) -> str:
    """Give a label as it reads mid-sentence: "memory café", but "GP practice" kept."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _vendor() -> str:
    return url_for("vendor.serve", filename="").rstrip("/")


@bp.get("/gaps")
@analysis_limit
def gaps() -> Any:
    """The gaps page: choose category, demand and method; map, summary and patch table."""
    run = run_analysis(request.args)
    analysis, settings = run.analysis, get_settings()
    sites = run.inputs.assets[run.inputs.assets[S.EXTERNAL_ID].astype(str).isin(
        analysis.sites["id"].astype(str))]
    m = gaps_map(analysis, sites, patches=run.inputs.outlines, tile_url=settings.tile_url,
                 tile_attribution=settings.tile_attribution, vendor_url=_vendor())
    parts = map_parts(m)
    areas = analysis.areas
    gap_areas, gap_people = analysis.gap_totals()
    before_areas, before_people = analysis.gap_totals(before=True)
    summary = {
        "areas": len(areas), "gap_areas": gap_areas, "people_in_gap_areas": gap_people,
        "gap_areas_before": before_areas, "people_in_gap_areas_before": before_people,
        "beyond": int(areas["none_within_cutoff"].fillna(False).astype(bool).sum()),
        "people": float(areas["people"].sum()), "sites": len(analysis.sites),
    }
    categories = load_categories()
    query = _query(run)
    return render_template(
        "gaps/gaps.html", parts=parts, run=run, options=analysis.options,
        summary=summary, rollup=patch_table(run).to_dict("records"),
        categories=categories.to_dict("records"), category_label=category_label(
            analysis.options.category), people=people_words(analysis.options.measure),
        category_words=in_a_sentence(category_label(analysis.options.category)),
        steps=AccessSettings().step_weights,
        query=query, ownership=[c.replace("-", "_") for c in S.OWNERSHIP_CLASSES],
        methods=METHODS, what_if=analysis.what_if_line(),
        query_without_add={k: v for k, v in query.items() if k != "add"}, max_proposed=MAX_PROPOSED,
        patch_sets=_patch_set_choices(),
    )


def _patch_set_choices() -> list[dict[str, Any]]:
    """Give the "roll up to" choices: wards when no patch set is the default, then the stored
    patch sets, lot designs marked (so pressing Analyse never quietly picks a design)."""
    session = get_session()
    designed = designed_sets(session)
    sets = [{"name": name, "label": name + (" (lot design)" if name in designed else ""),
             "design": name in designed} for name in list_patch_sets(session)]
    if public_patch_set(session) is None:
        sets.insert(0, {"name": "", "label": "Wards (the default)", "design": False})
    return sets


@bp.get("/gaps.csv")
@analysis_limit
def gaps_csv() -> Any:
    """The area table of the analysis as CSV (same parameters as the page)."""
    return csv_response(area_table(run_analysis(request.args)), "gaps.csv")


@bp.get("/gaps/patches.csv")
@analysis_limit
def patches_csv() -> Any:
    """The patch table of the analysis as CSV (same parameters as the page)."""
    return csv_response(patch_table(run_analysis(request.args)), "gap-patches.csv")


@bp.get("/gaps.geojson")
@analysis_limit
def gaps_geojson() -> Any:
    """The areas with scores and gap flags as GeoJSON (RFC 7946: lon/lat, right-hand rings)."""
    run = run_analysis(request.args)
    table = area_table(run)
    shapes = shapely.orient_polygons(run.analysis.areas.to_crs(S.STORAGE_CRS).geometry.to_numpy(),
                                     exterior_cw=False)
    frame = gpd.GeoDataFrame(table.reset_index(drop=True), geometry=list(shapes),
                             crs=S.STORAGE_CRS)
    collection = json.loads(frame.to_json(na="null", drop_id=True))
    collection.pop("crs", None)  # RFC 7946 has no crs member: it is always WGS 84
    collection["method"] = run.analysis.method
    collection["method_note"] = run.label
    collection["measure"] = run.analysis.measure
    if run.analysis.what_if_line():
        collection["what_if"] = run.analysis.what_if_line()
    return Response(json.dumps(collection, ensure_ascii=False), mimetype="application/geo+json",
                    headers={"Content-Disposition": 'attachment; filename="gaps.geojson"'})


# --- the micro-fund plan --------------------------------------------------------------------


def _funding(args: MultiDict[str, str]) -> FundingSettings:
    problems: list[Problem] = []
    budget = number_arg(args, "budget", 5000.0, problems)
    grant = number_arg(args, "grant", 500.0, problems)
    reach = number_arg(args, "reach", DEFAULT_COVERAGE_MIN, problems, low=1, high=60,
                       unit=" minutes")
    if problems:
        raise ValidationError(problems, summary="the plan's budget, grant or host reach is not valid")
    try:
        return FundingSettings(budget_gbp=budget, grant_size_gbp=grant, coverage_min=reach)
    except ValidationError as exc:  # name each problem by its query parameter
        names = {"budget_gbp": "budget", "grant_size_gbp": "grant", "coverage_min": "reach"}
        raise ValidationError([dataclasses.replace(p, field=names.get(p.field or "", p.field))
                               for p in exc.problems], summary=exc.summary) from None


def make_plan(run: Run, funding: FundingSettings) -> pd.DataFrame:
    """Give the micro-fund plan for the analysis: ranked gaps, grants and host sites."""
    return plan_for(run.analysis, run.inputs.areas, run.inputs.assets, settings=funding,
                    patches=run.inputs.patches, graph=walking_network()[0])


def _plan_query(run: Run, funding: FundingSettings) -> dict[str, Any]:
    return _query(run, budget=f"{funding.budget_gbp:g}", grant=f"{funding.grant_size_gbp:g}",
                  reach=f"{funding.coverage_min:g}")


@bp.get("/gaps/plan")
@analysis_limit
def plan() -> Any:
    """The micro-fund plan for the same analysis, with a budget and a grant size."""
    funding = _funding(request.args)
    run = run_analysis(request.args)
    started = time.perf_counter()
    table = make_plan(run, funding)
    seconds = run.seconds + time.perf_counter() - started
    funded = table[table["grants"] > 0]
    host_ids = set(funded["host_site_id"].dropna().astype(str))
    hosts = run.inputs.assets[run.inputs.assets[S.EXTERNAL_ID].astype(str).isin(host_ids)]
    settings = get_settings()
    m = plan_map(run.analysis, hosts, funded[S.PATCH].astype(str).tolist(),
                 patches=run.inputs.outlines, tile_url=settings.tile_url,
                 tile_attribution=settings.tile_attribution, vendor_url=_vendor())
    return render_template(
        "gaps/plan.html", parts=map_parts(m), run=run, options=run.analysis.options,
        funding=funding, plan=table.to_dict("records"), attrs=table.attrs,
        funded=len(funded), total=float(funded["amount_gbp"].sum()), seconds=seconds,
        query=_plan_query(run, funding), gap_query=_query(run),
        note=PLAN_NOTE, category_label=category_label(run.analysis.options.category),
        category_words=in_a_sentence(category_label(run.analysis.options.category)),
        host_is_category=run.analysis.options.category == HOST_CATEGORY,
        people=people_words(run.analysis.options.measure), steps=AccessSettings().step_weights,
    )


@bp.get("/gaps/plan.csv")
@analysis_limit
def plan_csv() -> Any:
    """The micro-fund plan as CSV (one row per ranked gap, with the method label)."""
    funding = _funding(request.args)
    return csv_response(make_plan(run_analysis(request.args), funding), "microfund-plan.csv")


@bp.get("/gaps/plan.json")
@analysis_limit
def plan_json() -> Any:
    """The plan's funded rows as a 360Giving package; a plan, not awarded grants."""
    funding = _funding(request.args)
    table = make_plan(run_analysis(request.args), funding)
    org_id, name = funder(get_borough(), id_prefix=PLAN_ID_PREFIX)
    categories = load_categories()
    package = grants_to_360giving(table, funder_org_id=org_id, funder_name=name,
                                  award_date=date.today(), id_prefix=PLAN_ID_PREFIX,
                                  category_labels=dict(zip(categories["code"],
                                                           categories["label"], strict=True)))
    package = {"note": PLAN_NOTE, "method": str(table.attrs.get("travel_cost_method", "")),
               **package}
    return Response(json.dumps(package, ensure_ascii=False, indent=1),
                    mimetype="application/json",
                    headers={"Content-Disposition":
                             'attachment; filename="microfund-plan-not-awarded.json"'})
