"""Spend benchmarking pages: the datasets, the report, its drill-downs and the comparison.

Views are thin: :mod:`mapping.spend.store` reads and stores, :mod:`mapping.spend.service`
and :mod:`mapping.spend.report` report. Reports are public (councils publish this
spend as open data). Uploading (:mod:`web.spend_upload`) and reviewing suppliers
(:mod:`web.spend_suppliers`) need the officer role; every spend route is on the one
blueprint of :mod:`web.spend_base` (``spend.``), with its words for pages.
"""

from __future__ import annotations

from typing import Any, Final

from flask import Response, abort, render_template, request

from mapping.errors import Problem, ValidationError
from mapping.spend.report import (
    BANDS,
    FILTER_LABELS,
    FILTERS,
    LOCALITY,
    OTHER,
    SECTORS,
    SEGMENTS,
    Cell,
    drill_down,
    shares_chart,
)
from mapping.spend.service import SpendReport, report_for
from mapping.spend.store import datasets_frame, get_dataset, lines_frame
from web import spend_suppliers, spend_upload  # noqa: F401  (their routes, on bp)
from web.db import get_session
from web.exports import csv_response
from web.extensions import analysis_limit
from web.spend_base import PAGE_ROWS, bp

#: The largest dataset id (as the app's ``id`` URL converter: what the database holds).
MAX_ID: Final = 2**31 - 1
_ALLOWED: Final = {"subsector": None, "sector": SECTORS, "segment": SEGMENTS, "band": BANDS,
                   "locality": LOCALITY, "supplier_key": None}
PAYMENT_COLUMNS: Final = ("line", "supplier_name", "department", "service", "paid_on",
                          "amount_pence", "subsector", "ownership_class", "segment", "locality",
                          "band", "repairs")
#: The top extractive suppliers can be narrowed to adult care or to one subsector.
ALL_SPEND: Final = ""


@bp.get("/")
def index() -> Any:
    """The spend datasets, with links to their reports, the comparison and supplier review."""
    datasets = datasets_frame(get_session())
    return render_template("spend/index.html", datasets=datasets.to_dict("records"))


def _report(dataset_id: int) -> SpendReport:
    return report_for(get_session(), dataset_id)


def _top_within(rep: SpendReport) -> tuple[str, list[tuple[str, str]]]:
    """Give the asked-for narrowing of the top extractive suppliers, and the choices offered."""
    subsectors = [s for s in rep.shares["subsector"] if s != OTHER]
    choices = [(ALL_SPEND, "all spend"), (SECTORS[0], "adult care only (every care subsector)"),
               *[(s, f"{s} only") for s in subsectors], (OTHER, "other spend only (not care)")]
    within = request.args.get("top_in", ALL_SPEND).strip()
    if within not in [value for value, _label in choices]:
        raise ValidationError([Problem(f"'{within[:60]}' is not a subsector of this dataset; "
                                       "choose one the report offers", field="subsector")],
                              summary="unknown subsector")
    return within, choices


@bp.get("/<id:dataset_id>")
@analysis_limit
def report(dataset_id: int) -> Any:
    """The benchmark report: CLES figure 2 per subsector, top extractive suppliers, policy bands."""
    rep = _report(dataset_id)
    within, choices = _top_within(rep)
    # "other" is a subsector; adult care is a sector: the drill-down link says which.
    scope = ({} if not within else {"sector": within} if within == SECTORS[0]
             else {"subsector": within})
    datasets = datasets_frame(get_session())
    return render_template(
        "spend/report.html", rep=rep, dataset=rep.dataset, shares=rep.shares.to_dict("records"),
        top=rep.top_extractive(within=within or None).to_dict("records"), top_in=within,
        top_choices=choices, top_scope=scope, top_label=dict(choices)[within],
        bands=rep.bands.to_dict("records"),
        coverage=rep.coverage, segments=SEGMENTS, localities=LOCALITY,
        others=datasets[datasets["id"] != dataset_id].to_dict("records"),
        methods=rep.matches["method"].value_counts().to_dict(),
        review=int(rep.matches["method"].isin(["unmatched", "fuzzy"]).sum()))


@bp.get("/<id:dataset_id>/chart.<fmt>")
@analysis_limit
def chart(dataset_id: int, fmt: str) -> Any:
    """The CLES figure 2 chart with its £ figures, as SVG or PNG (matplotlib, no CDN)."""
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
            problems.append(Problem(f"'{value}' is not one of {', '.join(allowed)}",
                                    field=FILTER_LABELS[name]))
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
    # The filters in words: the supplier by its name as paid, not its matching key.
    filters = {FILTER_LABELS[k]: v for k, v in cell.query().items()}
    if cell.supplier_key is not None:
        filters[FILTER_LABELS["supplier_key"]] = (rows["supplier_name"].mode().iloc[0]
                                                  if len(rows) else cell.supplier_key)
    return render_template("spend/payments.html", dataset=rep.dataset, cell=cell,
                           filters=filters, rows=shown.to_dict("records"), count=len(table),
                           total=int(table["amount_pence"].sum()),
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
                           lines=lines.head(PAGE_ROWS * 4).to_dict("records"), count=len(lines))


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
                           rows=table.to_dict("records"), segments=SEGMENTS)


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
