"""The lots page: design contiguous balanced lots, see their profiles, save, export, compare.

Views are thin: they read the query, call :func:`mapping.lots.design_lots` (seeded, so the
same query always gives the same design, and saving or exporting simply designs again)
and :func:`mapping.lot_profile.lot_profile`, and render.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import pandas as pd
import shapely
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from mapping import schema as S
from mapping.area_store import list_layers, list_patch_sets, load_patches
from mapping.errors import Problem, ValidationError
from mapping.lot_profile import (
    check_lot_rules,
    compare_designs,
    lot_profile,
    profile_inputs_from_store,
)
from mapping.lot_store import (
    MAX_NAME,
    SMALL_AREA_LAYER,
    WARD_LAYER,
    design_inputs,
    lookup_of,
    lot_design_info,
    save_lot_design,
)
from mapping.lots import MEASURES, LotDesign, available_measures, design_lots
from mapping.register import organisations_frame
from mapping.render import map_parts
from mapping.render_lots import balance_chart_svg, lot_colour, lots_map
from web.auth import role_required
from web.db import get_session, get_settings, get_store
from web.exports import csv_response
from web.extensions import analysis_limit

bp = Blueprint("lots", __name__)

#: Layers that cannot be lotted (the borough is one area).
NOT_LOTTABLE: Final = ("borough",)
MAX_K: Final = 30
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


def _int(args: MultiDict[str, str], name: str, default: int, low: int, high: int,
         problems: list[Problem]) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(Problem(f"give a whole number, got '{raw}'", field=name))
        return default
    if not low <= value <= high:
        problems.append(Problem(f"give a number from {low} to {high}, got {value}", field=name))
        return default
    return value


def request_from(args: MultiDict[str, str]) -> Request:
    """Give the checked design request; every bad value raises at once (422)."""
    problems: list[Problem] = []
    layers = lottable_layers()
    layer = args.get("layer", "").strip() or WARD_LAYER
    if layer not in layers:
        problems.append(Problem(f"choose one of the layers: {', '.join(layers)}", field="layer"))
    k = _int(args, "k", 8, 2, MAX_K, problems)
    measure = args.get("measure", "").strip() or S.POPULATION
    raw_tol = args.get("tolerance", "").strip() or "10"
    try:
        tolerance = float(raw_tol)
        if not 0.5 <= tolerance <= 50:
            raise ValueError
    except ValueError:
        problems.append(Problem(f"give a tolerance from 0.5 to 50 (per cent), got '{raw_tol}'",
                                field="tolerance"))
        tolerance = 10.0
    seed = _int(args, "seed", 0, 0, 2**31 - 1, problems)
    whole = args.get("whole", "").strip() in ("1", "on", "yes", "true")
    if whole and layer == WARD_LAYER:
        problems.append(Problem("wards are whole already; keep wards whole only when "
                                "designing from LSOAs", field="whole"))
    start = args.get("start", "").strip() or None
    if start and start not in list_patch_sets(get_session()):
        problems.append(Problem(f"no saved lot set called '{start}'", field="start"))
    if problems:
        raise ValidationError(problems, summary="the design options are not valid")
    return Request(layer, k, measure, tolerance, seed, whole, start)


def lottable_layers() -> list[str]:
    """Give the stored layers that can be lotted."""
    return [n for n in list_layers(get_session())["name"] if n not in NOT_LOTTABLE]


def run_design(req: Request) -> tuple[LotDesign, float]:
    """Give the design the request asks for and the seconds it took."""
    started = time.perf_counter()
    areas, groups, start = design_inputs(get_session(), req.layer,
                                         keep_whole=WARD_LAYER if req.whole else None,
                                         start=req.start)
    design = design_lots(areas, k=req.k, measure=req.measure, tolerance=req.tolerance_pct / 100,
                         seed=req.seed, start=start, keep_whole=groups,
                         keep_whole_name=WARD_LAYER if req.whole else None)
    return design, time.perf_counter() - started


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


def _profile_rows(profile: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"lot": lot, **{k: v for k, v in row.items()}}
            for lot, row in profile.iterrows()]


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
    req = request_from(request.args if shown is None else MultiDict())
    if shown is not None:
        if shown not in saved:
            raise ValidationError([Problem(f"no saved lot set called '{shown}'", field="set")])
        lots = load_patches(session, shown)
        info = lot_design_info(session, shown)
        label = shown
    else:
        design, seconds = run_design(req)
        lots, info, label = design.lots, None, "this design"
    inputs = profile_inputs_from_store(session)
    profile = lot_profile(lots, inputs)
    compare = request.args.get("compare", "").strip() or None
    comparison = None
    if compare:
        if compare not in saved:
            raise ValidationError([Problem(f"no saved lot set called '{compare}'",
                                           field="compare")])
        comparison = compare_designs(profile, lot_profile(load_patches(session, compare), inputs),
                                     label_a=label, label_b=compare)
    measure = design.measure if design else (info["measure"] if info else S.POPULATION)
    if design is None and measure in profile.columns:
        totals = profile[measure].to_numpy(dtype=float)
        lots = lots.assign(**{measure: totals, "deviation": totals / totals.mean() - 1})
    m = lots_map(lots, measure=measure if measure in lots.columns else None,
                 tile_url=settings.tile_url, tile_attribution=settings.tile_attribution,
                 vendor_url=_vendor())
    tolerance = design.tolerance if design else (info["tolerance"] if info else 0.10)
    chart = (balance_chart_svg(lots, tolerance=tolerance,
                               title=f"Balance of the lots on {measure}")
             if "deviation" in lots.columns else None)
    rules = check_lot_rules(organisations_frame(session))
    form = SaveForm(formdata=None, data={k: str(v) for k, v in req.query().items()})
    areas, _g, _s = design_inputs(session, req.layer)
    return render_template(
        "lots/lots.html", parts=map_parts(m), design=design, seconds=seconds, req=req,
        query=req.query(), shown=shown, info=info, saved=saved, profile=_profile_rows(profile),
        profile_columns=list(profile.columns), comparison=comparison, compare=compare,
        chart=chart, rules=rules.to_dict("records"), rule_counts=rules["status"].value_counts()
        .to_dict(), form=form, layers=lottable_layers(), measures=MEASURES,
        offered=available_measures(areas), colours=[lot_colour(i) for i in range(len(lots))],
        gap_method=inputs.gap_method, small_layer=SMALL_AREA_LAYER, ward_layer=WARD_LAYER,
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
    design, _seconds = run_design(req)
    name = (form.name.data or "").strip()
    with get_store().transaction() as session:
        count = save_lot_design(session, name, req.layer, design,
                                created_by=current_user.username)
    flash(f"Saved '{name}': {count} lots ({design.summary()}). It is on the map and in the "
          "gap roll-up as a patch set.", "info")
    return redirect(url_for("lots.page", set=name))


def _lots_and_lookup(args: MultiDict[str, str]) -> tuple[gpd.GeoDataFrame, pd.DataFrame, str]:
    shown = args.get("set", "").strip() or None
    if shown:
        session = get_session()
        if shown not in list_patch_sets(session):
            raise ValidationError([Problem(f"no saved lot set called '{shown}'", field="set")])
        return load_patches(session, shown), lookup_of(session, shown), shown
    design, _seconds = run_design(request_from(args))
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
