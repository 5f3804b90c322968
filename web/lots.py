"""The lots page: design contiguous balanced lots, see their profiles, save, export, compare.

Views are thin: they read the query, call :func:`mapping.lots.design.design_lots` (seeded, so the
same query always gives the same design) and :func:`mapping.lots.profile.lot_profile`, and
render. A search stops at :data:`DESIGN_SECONDS` so one request cannot hold a server thread
for long, and the last few designs are kept in memory (:func:`run_design`), so a page, its
downloads and saving it reuse one run. The page's Design button runs the search as a
background job (:mod:`mapping.lots.jobs`) it polls for progress and may cancel; once done it
opens the ordinary page, which finds the design in that memory.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import pandas as pd
import shapely
from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length

from mapping import schema as S
from mapping.boroughs.settings import living_wage_rule
from mapping.errors import Problem, ValidationError
from mapping.lots.design import MAX_K, LotDesign, LotSettings, design_lots
from mapping.lots.jobs import DesignJobs, JobsBusyError, RecentResults
from mapping.lots.measures import available_measures, measure_words
from mapping.lots.profile import (
    check_lot_rules,
    compare_designs,
    figure_words,
    lot_profile,
    profile_columns,
    profile_inputs_from_store,
)
from mapping.lots.store import (
    MAX_NAME,
    design_inputs,
    design_inputs_stamp,
    load_lots,
    lookup_of,
    lot_design_info,
    lots_with_balance,
    patch_set_layer,
    save_lot_design,
)
from mapping.maps.asset_map import map_parts
from mapping.maps.lots import balance_chart_svg, lot_colour, lots_map
from mapping.places.store import (
    default_patch_set,
    list_layers,
    list_patch_sets,
    set_default_patch_set,
)
from mapping.register.records import organisations_frame
from mapping.register.taxonomy import load_categories
from web.auth import role_required
from web.db import get_borough, get_roles, get_session, get_settings, get_store
from web.errors import respond
from web.exports import csv_response
from web.extensions import analysis_limit
from web.query import number_arg, whole_arg

bp = Blueprint("lots", __name__)

#: Time limit of one design's search on the page (``LotSettings.max_seconds``); the command
#: line has none.
DESIGN_SECONDS: Final = 20.0
#: Designs kept in memory (most recently used), and for how long, so that a page and its
#: downloads reuse one run.
CACHE_SIZE: Final = 16
CACHE_SECONDS: Final = 600.0
#: The query parameters that decide a design (carried by the save form and the exports).
DESIGN_KEYS: Final = ("layer", "k", "measure", "tolerance", "seed", "whole", "start")


@dataclass
class Request:
    """A checked design request."""

    layer: str
    k: int
    measure: str
    tolerance_pct: float
    seed: int
    whole: bool
    start: str | None

    def query(self) -> dict[str, Any]:
        q: dict[str, Any] = {"layer": self.layer, "k": self.k, "measure": self.measure,
                             "tolerance": f"{self.tolerance_pct:g}", "seed": self.seed}
        if self.whole:
            q["whole"] = 1
        if self.start:
            q["start"] = self.start
        return q


def request_from(args: MultiDict[str, str]) -> Request:
    """Give the checked design request; every bad value raises at once (422)."""
    problems: list[Problem] = []
    layers = lottable_layers()
    titles = layer_titles()
    ward = get_roles().wards
    layer = args.get("layer", "").strip() or ward or (layers[0] if layers else "")
    if layer not in layers:
        problems.append(Problem("choose one of the layers: "
                                + ", ".join(titles.get(n, n) for n in layers), field="layer"))
    k = whole_arg(args, "k", 8, problems, low=2, high=MAX_K)
    k_field = "k"
    start = args.get("start", "").strip() or None
    if start and start not in list_patch_sets(get_session()):
        problems.append(Problem(f"no saved lot set called '{start}'", field="start"))
    elif start:
        k, k_field = len(load_lots(get_session(), start)), "start"  # the start's lots
    if layer in layers:
        size = _layer_sizes()[layer]
        most = min(MAX_K, max(2, size // 2))
        if k > most:
            problems.append(Problem(
                f"{k} lots are too many for the {size} areas of “{titles.get(layer, layer)}”: "
                f"give at most {most} (half the areas, and never more than {MAX_K})",
                field=k_field))
    measure = args.get("measure", "").strip() or S.POPULATION
    tolerance = number_arg(args, "tolerance", 10.0, problems, low=0.5, high=50, unit=" (per cent)")
    seed = whole_arg(args, "seed", 0, problems, low=0, high=2**31 - 1)
    whole = args.get("whole", "").strip() in ("1", "on", "yes", "true")
    if whole and ward is None:
        problems.append(Problem("no ward layer is loaded to keep whole", field="whole"))
    elif whole and layer == ward:
        problems.append(Problem("wards are whole already; keep wards whole only when "
                                "designing from smaller areas", field="whole"))
    if problems:
        raise ValidationError(problems, summary="the design options are not valid")
    return Request(layer, k, measure, tolerance, seed, whole, start)


def lottable_layers() -> list[str]:
    """Give the stored layers that can be lotted."""
    outline = get_roles().outline
    return [n for n in list_layers(get_session())["name"] if n != outline]


def layer_titles() -> dict[str, str]:
    """Give each stored layer's title as a person reads it ("Electoral wards (Dec 2023)")."""
    layers = list_layers(get_session())
    return {str(n): str(t or n) for n, t in zip(layers["name"], layers["title"], strict=True)}


def _layer_sizes() -> dict[str, int]:
    layers = list_layers(get_session())
    return dict(zip(layers["name"], layers["areas"].astype(int), strict=True))


@dataclass(frozen=True)
class DesignRun:
    """A design, the measures its layer offers, and the seconds its search took."""

    design: LotDesign
    offered: list[str]
    seconds: float


_cache = RecentResults(CACHE_SIZE, CACHE_SECONDS)


def design_cache_info() -> dict[str, int]:
    """Give the design cache's hits, misses and size (as ``functools.lru_cache`` does)."""
    return _cache.info()


def _design_key(req: Request) -> tuple[Any, ...]:
    """Give the cache key of a design: the database, the request, and the layers and starting
    set as saved (so a layer imported again, or a set saved again, is a new key)."""
    return (get_store().url, req.layer, req.k, req.measure, req.tolerance_pct, req.seed,
            req.whole, req.start,
            design_inputs_stamp(get_session(), req.layer, start=req.start,
                                keep_whole=get_roles().wards if req.whole else None))


def _designer(req: Request) -> Any:
    """Give a function of (report, cancelled) that designs what the request asks for.

    Everything is read from the store here, in the request, so the function can run in
    a thread of its own. A measure the layer cannot offer is refused (422).
    """
    whole = get_roles().wards if req.whole else None
    areas, groups, start = design_inputs(get_session(), req.layer, keep_whole=whole,
                                         start=req.start)
    offered = available_measures(areas)
    if req.measure not in offered:
        raise ValidationError([Problem(
            f"“{measure_words(req.measure)}” cannot be balanced on; choose one of: "
            f"{', '.join(measure_words(m) for m in offered)}",
            field="measure")], summary="the design options are not valid")

    def work(report: Any = None, cancelled: Any = None) -> DesignRun:
        started = time.perf_counter()
        design = design_lots(areas, k=req.k, measure=req.measure,
                             tolerance=req.tolerance_pct / 100, seed=req.seed, start=start,
                             keep_whole=groups, keep_whole_name=whole,
                             settings=LotSettings(max_seconds=DESIGN_SECONDS), report=report,
                             cancelled=cancelled)
        return DesignRun(design, offered, time.perf_counter() - started)

    return work


def run_design(req: Request) -> DesignRun:
    """Give the design the request asks for, from the cache when it was made lately.

    At most :data:`CACHE_SIZE` designs are kept, each for :data:`CACHE_SECONDS`
    (:func:`_design_key` says what makes a design new).
    """
    key = _design_key(req)
    run: DesignRun | None = _cache.get(key)
    if run is None:
        run = _designer(req)()
        _cache.put(key, run)
    return run


#: Design jobs of this server process: at most two run at once (the search is CPU-bound).
_jobs = DesignJobs(most_running=2, keep_seconds=CACHE_SECONDS)
_OWNER_KEY = "lot_jobs_owner"


def _owner() -> str:
    """Give this browser session's job token (made on first use), so only it sees its jobs."""
    token = browser_session.get(_OWNER_KEY)
    if not isinstance(token, str):
        token = browser_session[_OWNER_KEY] = secrets.token_urlsafe(16)
    return token


@bp.post("/lots/jobs")
@analysis_limit
def start_job() -> Any:
    """Start the design the form asks for in the background; give its state as JSON (202).

    A design made lately is ``done`` at once. Bad options are a 422 naming each field.
    """
    req = request_from(request.form)
    key = _design_key(req)
    meta = {"tolerance": req.tolerance_pct / 100, "query": req.query(),
            "max_seconds": DESIGN_SECONDS}
    if _cache.get(key) is not None:
        return jsonify({"job": None, "state": "done", "percent": 100, "message": "Designed.",
                        **meta})
    work = _designer(req)
    try:
        job = _jobs.start(_owner(), work, meta=meta, on_done=lambda run: _cache.put(key, run))
    except JobsBusyError as exc:
        return respond(429, str(exc))
    return jsonify(job.as_dict()), 202


@bp.get("/lots/jobs/<job_id>")
def job_status(job_id: str) -> Any:
    """A design job's state as JSON: step n of N, percent, the best balance so far."""
    job = _jobs.get(job_id, _owner())
    if job is None:
        return respond(404, "No such design is running for you: it finished a while ago, or "
                       "the server restarted. Design again.")
    return jsonify(job.as_dict())


@bp.post("/lots/jobs/<job_id>/cancel")
def cancel_job(job_id: str) -> Any:
    """Stop a design job before its next ReCom step; give its state as JSON."""
    job = _jobs.cancel(job_id, _owner())
    if job is None:
        return respond(404, "No such design is running for you.")
    return jsonify(job.as_dict())


class SaveForm(FlaskForm):
    """Save the design on the page under a name (the design's query rides along hidden)."""

    name = StringField("Save this design as", validators=[DataRequired(),
                                                          Length(max=MAX_NAME)])
    layer = HiddenField()
    k = HiddenField()
    measure = HiddenField()
    tolerance = HiddenField()
    seed = HiddenField()
    whole = HiddenField()
    start = HiddenField()
    replace = BooleanField("Replace the saved design of this name")


class DefaultForm(FlaskForm):
    """Make a saved set the default grouping of the gaps pages and the public map, or stop."""

    name = HiddenField(validators=[DataRequired(), Length(max=MAX_NAME)])
    use = HiddenField()
    """``1`` to make it the default, ``0`` to stop."""


def _profile_rows(profile: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"lot": lot, **{k: v for k, v in row.items()}}
            for lot, row in profile.iterrows()]


def _columns(profile: pd.DataFrame, args: MultiDict[str, str]) -> list[dict[str, Any]]:
    """Give the profile's columns in plain words, each ``shown`` as asked (``col=``, repeatable)
    or, unless asked, as :data:`mapping.lots.profile.DEFAULT_COLUMNS` says."""
    labels = dict(zip(load_categories()["code"], load_categories()["label"], strict=True))
    columns = profile_columns(profile.columns, labels)
    asked = {c.strip() for c in args.getlist("col") if c.strip()}
    unknown = sorted(asked - {str(c["code"]) for c in columns})
    if unknown:
        raise ValidationError([Problem(f"no profile column '{c}'", field="col") for c in unknown])
    return [{**c, "shown": c["code"] in asked if asked else c["default"]} for c in columns]


def _vendor() -> str:
    return url_for("vendor.serve", filename="").rstrip("/")


@bp.get("/lots")
@analysis_limit
def page() -> Any:
    """The lots page: options, the design on a map, its balance chart, profiles, rules."""
    session = get_session()
    saved = list_patch_sets(session)
    shown = request.args.get("set", "").strip() or None
    settings = get_settings()
    design = None
    seconds = 0.0
    inputs = profile_inputs_from_store(session)
    tolerance: float | None
    if shown is not None:
        # A saved set needs only its own layer: no design request, no design inputs.
        if shown not in saved:
            raise ValidationError([Problem(f"no saved lot set called '{shown}'", field="set")])
        info = lot_design_info(session, shown)
        measure = info["measure"] if info else S.POPULATION
        lots = lots_with_balance(session, shown, measure)
        tolerance = float(info["tolerance"]) if info else None  # no band for imported sets
        req = Request(patch_set_layer(session, shown), len(lots), measure,
                      100 * (tolerance or 0.10), int(info["seed"] or 0) if info else 0,
                      bool(info and info["keep_whole"]), None)
        offered = available_measures(inputs.small_areas)
        label = shown
    else:
        req = request_from(request.args)
        run = run_design(req)
        design, offered, seconds = run.design, run.offered, run.seconds
        lots, info, label = design.lots, None, "this design"
        measure, tolerance = design.measure, design.tolerance
    profile = lot_profile(lots, inputs)
    columns = _columns(profile, request.args)
    headings = {str(c["code"]): str(c["heading"]) for c in columns}
    compare = request.args.get("compare", "").strip() or None
    comparison = None
    if compare:
        if compare not in saved:
            raise ValidationError([Problem(f"no saved lot set called '{compare}'",
                                           field="compare")])
        comparison = compare_designs(profile, lot_profile(load_lots(session, compare), inputs),
                                     label_a=label, label_b=compare)
        comparison.index = [figure_words(f, headings) for f in comparison.index]
    m = lots_map(lots, measure=measure if measure in lots.columns else None,
                 measure_label=measure_words(measure), tile_url=settings.tile_url,
                 tile_attribution=settings.tile_attribution, vendor_url=_vendor())
    chart = (balance_chart_svg(lots, tolerance=tolerance,
                               title=f"Balance of the lots: {measure_words(measure)}")
             if "deviation" in lots.columns else None)
    wage_rule = living_wage_rule(get_borough())
    rules = check_lot_rules(organisations_frame(session), living_wage_rule=wage_rule)
    query = req.query()
    return render_template(
        "lots/lots.html", parts=map_parts(m), design=design, seconds=seconds, req=req,
        query=query, shown=shown, info=info, saved=saved, profile=_profile_rows(profile),
        columns=columns, comparison=comparison, compare=compare, chart=chart,
        rules=rules.to_dict("records"), rule_counts=rules["status"].value_counts().to_dict(),
        form=SaveForm(formdata=None, data={k: str(v) for k, v in query.items()}),
        default_form=DefaultForm(formdata=None, data={"name": shown or ""}),
        default_set=default_patch_set(session), layers=lottable_layers(),
        titles=layer_titles(), measure_words=measure_words,
        offered=offered, max_k=MAX_K, colours=[lot_colour(i) for i in range(len(lots))],
        gap_method=inputs.gap_method, ward_layer=get_roles().wards, wage_rule=wage_rule,
        design_seconds=DESIGN_SECONDS,
        can_save=current_user.is_authenticated and current_user.can("officer"))


@bp.post("/lots/save")
@role_required("officer")
def save() -> Any:
    """Save the design the form describes under its name (designing it again: it is seeded)."""
    form = SaveForm()
    if not form.validate_on_submit():
        problems = [Problem(e, field=f) for f, errs in form.errors.items() for e in errs]
        raise ValidationError(problems, summary="the design could not be saved")
    fields = MultiDict({k: str(getattr(form, k).data or "") for k in DESIGN_KEYS})
    req = request_from(fields)
    design = run_design(req).design
    name = (form.name.data or "").strip()
    with get_store().transaction() as session:
        count = save_lot_design(session, name, req.layer, design,
                                created_by=current_user.username,
                                replace=bool(form.replace.data))
    flash(f"Saved “{name}”: {count} lots balanced on {measure_words(design.measure)}, no lot "
          f"more than {design.imbalance:.1%} off the ideal size. It is not the default "
          "grouping: the gaps pages use it when you choose it under “Roll up to”, and the "
          "public pages only if you make it the default below.", "info")
    return redirect(url_for("lots.page", set=name))


@bp.post("/lots/default")
@role_required("officer")
def make_default() -> Any:
    """Make a saved set the default grouping (gaps pages, public map), or stop it being so."""
    form = DefaultForm()
    if not form.validate_on_submit():
        problems = [Problem(e, field=f) for f, errs in form.errors.items() for e in errs]
        raise ValidationError(problems, summary="the default grouping was not changed")
    name, use = str(form.name.data).strip(), form.use.data == "1"
    with get_store().transaction() as session:
        if name not in list_patch_sets(session):
            raise ValidationError([Problem(f"no saved lot set called '{name}'", field="name")])
        changed = use != (default_patch_set(session) == name)
        if use:
            set_default_patch_set(session, name)
        elif changed:
            set_default_patch_set(session, None)
    if not changed:
        flash(f"Nothing changed: “{name}” {'is' if use else 'is not'} the default grouping "
              "already.", "info")
        return redirect(url_for("lots.page", set=name))
    flash(f"“{name}” is now the default grouping of the gaps pages and the public map."
          if use else f"“{name}” is no longer the default grouping: the gaps pages roll up to "
          "a council's imported patch set, or else to wards.", "info")
    return redirect(url_for("lots.page", set=name))


def _lots_and_lookup(args: MultiDict[str, str]) -> tuple[gpd.GeoDataFrame, pd.DataFrame, str]:
    shown = args.get("set", "").strip() or None
    if shown:
        session = get_session()
        if shown not in list_patch_sets(session):
            raise ValidationError([Problem(f"no saved lot set called '{shown}'", field="set")])
        info = lot_design_info(session, shown)
        return (load_lots(session, shown), lookup_of(session, shown),
                str(info["method"]) if info else "imported lookup")
    design = run_design(request_from(args)).design
    return design.lots, design.lookup, design.method


@bp.get("/lots.csv")
@analysis_limit
def lookup_csv() -> Any:
    """The design (or saved set) as a CSV lookup: area code → lot."""
    _lots, lookup, _method = _lots_and_lookup(request.args)
    return csv_response(lookup.rename(columns={S.PATCH: "lot"}), "lots.csv")


@bp.get("/lots.geojson")
@analysis_limit
def lots_geojson() -> Any:
    """The lots as GeoJSON (RFC 7946: lon/lat, right-hand rings), with their area codes."""
    lots, _lookup, method = _lots_and_lookup(request.args)
    shapes = shapely.orient_polygons(lots.to_crs(S.STORAGE_CRS).geometry.to_numpy(),
                                     exterior_cw=False)
    table = pd.DataFrame(lots.drop(columns="geometry")).rename(columns={S.PATCH: "lot"})
    table["area_codes"] = table["area_codes"].map(list)
    frame = gpd.GeoDataFrame(table.reset_index(drop=True), geometry=list(shapes),
                             crs=S.STORAGE_CRS)
    collection = json.loads(frame.to_json(na="null", drop_id=True))
    collection.pop("crs", None)
    collection["method"] = method
    return Response(json.dumps(collection, ensure_ascii=False), mimetype="application/geo+json",
                    headers={"Content-Disposition": 'attachment; filename="lots.geojson"'})


@bp.get("/lots/profile.csv")
@analysis_limit
def profile_csv() -> Any:
    """The lot profiles as CSV (same parameters as the page)."""
    lots, _lookup, _method = _lots_and_lookup(request.args)
    profile = lot_profile(lots, profile_inputs_from_store(get_session()))
    return csv_response(profile.reset_index(), "lot-profiles.csv")
