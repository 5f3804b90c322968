"""Spend benchmarking pages: upload and check a spend file, review supplier matches, the report.

Views are thin: :mod:`mapping.spend.store` reads and stores, :mod:`mapping.spend.suppliers`
matches, :mod:`mapping.spend.service` and :mod:`mapping.spend.report` report.
Reports are public (councils publish this spend as open data); uploading and
resolving suppliers need the officer role.

Uploads: the spend form is exempt from the app-wide CSRF hook only so that its
larger size limit (``SPEND_UPLOAD_MAX_BYTES``, default 20 MB) applies before the
body is read; the form itself checks its CSRF token (Flask-WTF), as every form does.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from pathlib import Path
from typing import Any, Final

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from werkzeug.utils import secure_filename
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from mapping.errors import Problem, ValidationError
from mapping.schema import OWNERSHIP_CLASSES
from mapping.spend.layout import SPEND_COLUMNS
from mapping.spend.reading import pounds
from mapping.spend.report import BANDS, FILTERS, LOCALITY, SEGMENTS, Cell, drill_down, shares_chart
from mapping.spend.service import SpendReport, report_for
from mapping.spend.store import check_spend, datasets_frame, get_dataset, import_spend, lines_frame
from mapping.spend.suppliers import METHODS, resolve_supplier, supplier_matches_frame
from mapping.store.models import Organisation, SupplierMatch
from web.auth import role_required
from web.db import get_session, get_settings, get_store
from web.exports import csv_response
from web.extensions import analysis_limit, csrf

bp = Blueprint("spend", __name__, url_prefix="/spend")

DEFAULT_UPLOAD_BYTES: Final = 20 * 1024 * 1024
UPLOAD_KEEP_SECONDS: Final = 24 * 3600
#: Payment rows shown on a drill-down page; the CSV has them all.
PAGE_ROWS: Final = 500
_TOKEN: Final = re.compile(r"[0-9a-f]{32}")
#: Text encodings a spend file may be read in (the upload form offers these).
ENCODINGS: Final = (("utf-8", "UTF-8"), ("cp1252", "Windows-1252 (older Excel)"))
#: The largest dataset id (as the app's ``id`` URL converter: what the database holds).
MAX_ID: Final = 2**31 - 1
_ALLOWED: Final = {"subsector": None, "segment": SEGMENTS, "band": BANDS, "locality": LOCALITY,
                   "supplier_key": None}
PAYMENT_COLUMNS: Final = ("line", "supplier_name", "department", "service", "paid_on",
                          "amount_pence", "subsector", "ownership_class", "segment", "locality",
                          "band", "repairs")


class UploadForm(FlaskForm):
    """Upload a spend file to check it (nothing is written yet)."""

    file = FileField("Spend file (CSV)", validators=[
        FileRequired("Choose a file."), FileAllowed(["csv", "txt"], "Upload a .csv file.")])
    encoding = SelectField("Text encoding", choices=[SelectChoice(v, t) for v, t in ENCODINGS])


class ImportForm(FlaskForm):
    """Confirm the column mapping and import the checked file."""

    token = HiddenField(validators=[DataRequired()])
    encoding = HiddenField(validators=[Optional(), AnyOf(
        [v for v, _t in ENCODINGS], message="Unknown text encoding; upload the file again.")])
    name = StringField("Dataset name", validators=[DataRequired(), Length(max=200)],
                       description="E.g. 'Lambeth June 2012'.")
    mapping = TextAreaField("Column mapping", validators=[Optional(), Length(max=2000)],
                            description="One 'Their header=our column' a line; our columns: "
                                        + ", ".join(SPEND_COLUMNS) + ".")
    publisher = StringField("Publisher", validators=[Optional(), Length(max=300)])
    licence = StringField("Licence", validators=[Optional(), Length(max=200)],
                          description="E.g. 'OGL v3'.")
    attribution = StringField("Attribution", validators=[Optional(), Length(max=500)])
    skip_invalid = BooleanField("Import the valid lines and keep the rejected ones in the "
                                "cleaning report (otherwise: all or nothing)")


class ResolveForm(FlaskForm):
    """Say who a supplier is: an organisation in the register, or its class."""

    organisation_id = SelectField("Organisation in the register", default="")
    ownership_class = SelectField("…or, if it is not in the register, its class", default="",
                                  choices=[SelectChoice("", "–"),
                                           *[SelectChoice(c, c) for c in OWNERSHIP_CLASSES]])
    legal_form = StringField("Legal form", validators=[Optional(), Length(max=100)])
    note = StringField("Evidence", validators=[Optional(), Length(max=500)],
                       description="E.g. 'Companies House 01234567' or 'council's ALMO'.")


def _uploads() -> Path:
    path = get_settings().instance_dir / "spend_uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _forget_old_uploads(folder: Path) -> None:
    """Delete checked uploads nobody imported within a day (they hold council data)."""
    cutoff = time.time() - UPLOAD_KEEP_SECONDS
    for old in folder.glob("*/*"):
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                old.unlink()
                old.parent.rmdir()


def _upload_path(token: str) -> Path:
    """Give the checked upload's file: ``<token>/<its own name>`` in the uploads folder."""
    if not _TOKEN.fullmatch(token):
        abort(404, description="That upload is not known; upload the file again.")
    found = sorted((_uploads() / token).glob("*")) if (_uploads() / token).is_dir() else []
    if len(found) != 1:
        abort(404, description="That upload is not known (or was imported); upload it again.")
    return found[0]


def _parse_mapping(text: str) -> tuple[dict[str, str], list[str]]:
    out, errors = {}, []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        if "=" not in line:
            errors.append(f"line {n}: '{line}' is not 'Their header=our column'")
            continue
        source, target = (part.strip() for part in line.rsplit("=", 1))
        if target not in SPEND_COLUMNS:
            errors.append(f"line {n}: '{target}' is not one of {', '.join(SPEND_COLUMNS)}")
        out[source] = target
    return out, errors


@bp.get("/")
def index() -> Any:
    """The spend datasets, with links to their reports, the comparison and supplier review."""
    datasets = datasets_frame(get_session())
    return render_template("spend/index.html", datasets=datasets.to_dict("records"),
                           pounds=pounds)


@bp.route("/upload", methods=["GET", "POST"])
@csrf.exempt
@role_required("officer")
def upload() -> Any:
    """Upload a spend file; show its column mapping and cleaning report before importing."""
    request.max_content_length = int(current_app.config.get("SPEND_UPLOAD_MAX_BYTES",
                                                            DEFAULT_UPLOAD_BYTES))
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("spend/upload.html", form=form), 422 if request.method == "POST" \
            else 200
    token = secrets.token_hex(16)
    _forget_old_uploads(_uploads())
    # Kept under its own (made safe) name: the name is how the cleaning report and the
    # known sources (data/spend_sources.csv) refer to the file.
    name = secure_filename(form.file.data.filename or "") or "spend.csv"
    (_uploads() / token).mkdir()
    path = _uploads() / token / name
    form.file.data.save(path)
    imports = ImportForm(formdata=None, token=token, encoding=form.encoding.data,
                         name=Path(form.file.data.filename or "spend").stem[:200])
    return _review(path, imports)


def _review(path: Path, imports: ImportForm, *, mapping: dict[str, str] | None = None,
            problems: list[Problem] | None = None, status: int = 200) -> Any:
    try:
        checked = check_spend(path, mapping=mapping, encoding=imports.encoding.data or "utf-8")
    except ValidationError as exc:
        return render_template("spend/review.html", form=imports, checked=None,
                               problems=exc.problems, pounds=pounds), 422
    if not imports.mapping.data:
        imports.mapping.data = "\n".join(f"{k}={v}" for k, v in checked.spend.mapping.items())
    spend = checked.spend
    return render_template(
        "spend/review.html", form=imports, checked=checked, spend=spend,
        counts=spend.counts, rec=spend.reconciliation(), pounds=pounds,
        lines=spend.lines[spend.lines["status"].isin(["rejected", "repaired", "total", "subtotal"])
                          ].head(PAGE_ROWS).to_dict("records"),
        problems=problems or []), status


@bp.post("/upload/import")
@role_required("officer")
def import_upload() -> Any:
    """Import a checked upload with the confirmed column mapping (all or nothing by default)."""
    form = ImportForm()
    token = form.token.data or ""
    path = _upload_path(token)
    if not form.validate_on_submit():
        return _review(path, form, status=422)
    mapping, errors = _parse_mapping(form.mapping.data or "")
    if errors:
        form.mapping.errors = errors
        return _review(path, form, status=422)
    try:
        result = import_spend(
            get_store(), path, name=form.name.data or "", imported_by=current_user.username,
            mapping=mapping, skip_invalid=bool(form.skip_invalid.data),
            encoding=form.encoding.data or "utf-8", publisher=form.publisher.data or None,
            licence=form.licence.data or None, attribution=form.attribution.data or None)
    except ValidationError as exc:
        return _review(path, form, mapping=mapping, problems=exc.problems, status=422)
    path.unlink(missing_ok=True)
    path.parent.rmdir()
    flash(result.spend.reconciliation().describe(), "info")
    return redirect(url_for("spend.report", dataset_id=result.dataset_id))


def _report(dataset_id: int) -> SpendReport:
    return report_for(get_session(), dataset_id)


@bp.get("/<id:dataset_id>")
@analysis_limit
def report(dataset_id: int) -> Any:
    """The benchmark report: CLES figure 2 per subsector, top extractive suppliers, policy bands."""
    rep = _report(dataset_id)
    datasets = datasets_frame(get_session())
    return render_template(
        "spend/report.html", rep=rep, dataset=rep.dataset, shares=rep.shares.to_dict("records"),
        top=rep.top_extractive().to_dict("records"), bands=rep.bands.to_dict("records"),
        segments=SEGMENTS, localities=LOCALITY, pounds=pounds,
        others=datasets[datasets["id"] != dataset_id].to_dict("records"),
        review=int(rep.matches["method"].isin(["unmatched", "fuzzy"]).sum()))


@bp.get("/<id:dataset_id>/chart.<fmt>")
@analysis_limit
def chart(dataset_id: int, fmt: str) -> Any:
    """The CLES figure 2 chart as SVG or PNG (drawn here with matplotlib, no CDN)."""
    if fmt not in ("svg", "png"):
        abort(404)
    rep = _report(dataset_id)
    body = shares_chart([(rep.dataset.name, rep.shares)], fmt=fmt)
    mimetype = "image/svg+xml" if fmt == "svg" else "image/png"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'inline; filename="spend-{dataset_id}.{fmt}"'})


@bp.get("/<id:dataset_id>/report.csv")
@analysis_limit
def report_csv(dataset_id: int) -> Any:
    """The per-subsector table as CSV."""
    return csv_response(_report(dataset_id).shares, f"spend-{dataset_id}-subsectors.csv")


@bp.get("/<id:dataset_id>/bands.csv")
@analysis_limit
def bands_csv(dataset_id: int) -> Any:
    """The local spend policy bands as CSV."""
    return csv_response(_report(dataset_id).bands, f"spend-{dataset_id}-policy-bands.csv")


def _cell() -> Cell:
    values: dict[str, str] = {}
    problems = []
    for name in FILTERS:
        value = request.args.get(name, "").strip()
        if not value:
            continue
        allowed = _ALLOWED[name]
        if allowed is not None and value not in allowed:
            problems.append(Problem(f"'{value}' is not one of {', '.join(allowed)}", field=name))
        values[name] = value
    if problems:
        raise ValidationError(problems, summary="unknown filter value")
    return Cell(**values)


@bp.get("/<id:dataset_id>/payments")
@analysis_limit
def payments(dataset_id: int) -> Any:
    """The payment rows behind a figure (drill-down); ``format=csv`` downloads them all."""
    cell = _cell()
    rep = _report(dataset_id)
    rows = drill_down(rep.classified, cell)
    table = rows[list(PAYMENT_COLUMNS)]
    if request.args.get("format") == "csv":
        return csv_response(table, f"spend-{dataset_id}-payments.csv")
    shown = table.head(PAGE_ROWS)
    shown = shown.astype(object).where(shown.notna(), None)  # blank cells, never "nan"
    return render_template("spend/payments.html", dataset=rep.dataset, cell=cell,
                           rows=shown.to_dict("records"), count=len(table),
                           total=int(table["amount_pence"].sum()), pounds=pounds,
                           shown=min(len(table), PAGE_ROWS))


@bp.get("/<id:dataset_id>/cleaning")
def cleaning(dataset_id: int) -> Any:
    """The cleaning report: every line that was not a cleanly imported payment, and why."""
    session = get_session()
    dataset = get_dataset(session, dataset_id)
    lines = lines_frame(session, dataset_id)
    status = request.args.get("status", "").strip()
    if status:
        lines = lines[lines["status"] == status]
    if request.args.get("format") == "csv":
        return csv_response(lines, f"spend-{dataset_id}-cleaning.csv")
    return render_template("spend/cleaning.html", dataset=dataset, status=status,
                           lines=lines.head(PAGE_ROWS * 4).to_dict("records"), count=len(lines),
                           pounds=pounds)


def _dataset_id(name: str) -> int:
    """Give query parameter ``name`` as a dataset id, or raise :class:`ValidationError`."""
    text = request.args.get(name, "").strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise ValidationError([Problem(f"'{text[:20]}' is not a dataset id (a whole number from 1 "
                                       f"to {MAX_ID}); choose two datasets to compare",
                                       field=name)], summary="choose two datasets to compare")
    return int(text)


def _two() -> tuple[SpendReport, SpendReport]:
    first, second = _dataset_id("a"), _dataset_id("b")
    if first == second:
        raise ValidationError([Problem("a dataset compared with itself: choose two different "
                                       "datasets", field="b")],
                              summary="choose two different datasets")
    return _report(first), _report(second)


@bp.get("/compare")
@analysis_limit
def compare() -> Any:
    """Two datasets (two periods or two councils) side by side, per subsector."""
    first, second = _two()
    table = first.compare(second)
    if request.args.get("format") == "csv":
        return csv_response(table, "spend-comparison.csv")
    return render_template("spend/compare.html", first=first, second=second,
                           rows=table.to_dict("records"), pounds=pounds, segments=SEGMENTS)


@bp.get("/compare/chart.<fmt>")
@analysis_limit
def compare_chart(fmt: str) -> Any:
    """The two datasets' CLES figure 2 bars side by side (SVG or PNG)."""
    if fmt not in ("svg", "png"):
        abort(404)
    first, second = _two()
    body = shares_chart([(first.dataset.name, first.shares), (second.dataset.name, second.shares)],
                        fmt=fmt)
    return Response(body, mimetype="image/svg+xml" if fmt == "svg" else "image/png")


@bp.get("/suppliers")
def suppliers() -> Any:
    """Every supplier's match: method, score, class, where the class came from and the evidence."""
    matches = supplier_matches_frame(get_session())
    show = request.args.get("show", "review")
    if show == "review":
        matches = matches[matches["method"].isin(["unmatched", "fuzzy"])]
    if request.args.get("format") == "csv":
        return csv_response(matches, "supplier-matches.csv")
    order = {m: i for i, m in enumerate(["unmatched", "fuzzy", *METHODS])}
    matches = matches.assign(_o=matches["method"].map(order)).sort_values(
        ["_o", "supplier_name"]).drop(columns="_o")
    return render_template("spend/suppliers.html", rows=matches.head(PAGE_ROWS * 4).to_dict(
        "records"), count=len(matches), show=show)


@bp.route("/suppliers/<id:match_id>", methods=["GET", "POST"])
def supplier(match_id: int) -> Any:
    """One supplier's match; officers resolve it here, once, for every later import."""
    session = get_session()
    match = session.get(SupplierMatch, match_id)
    if match is None:
        abort(404, description="No such supplier.")
    form = ResolveForm()
    organisations = session.execute(select(Organisation.id, Organisation.name)
                                    .order_by(Organisation.name)).all()
    form.organisation_id.choices = [SelectChoice("", "–"),
                                    *[SelectChoice(str(i), n) for i, n in organisations]]
    if request.method == "POST":
        if not (current_user.is_authenticated and current_user.can("officer")):
            abort(403, description="Resolving a supplier needs the officer role.")
        if form.validate_on_submit():
            org = form.organisation_id.data or None
            klass = form.ownership_class.data or None
            try:
                with get_store().transaction() as tx:
                    resolve_supplier(tx, match.supplier_key, resolved_by=current_user.username,
                                     organisation_id=int(org) if org else None,
                                     ownership_class=klass, legal_form=form.legal_form.data,
                                     note=form.note.data)
            except ValidationError as exc:
                form.organisation_id.errors = [p.reason for p in exc.problems]
                return render_template("spend/supplier.html", match=match, form=form), 422
            flash(f"Saved: {match.supplier_name} will be classed this way in every import.",
                  "info")
            return redirect(url_for("spend.supplier", match_id=match_id))
        return render_template("spend/supplier.html", match=match, form=form), 422
    return render_template("spend/supplier.html", match=match, form=form)
