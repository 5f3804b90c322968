"""Reviewing supplier matches: the list (search, filters, pages), bulk resolve, one supplier.

Anyone may read the list (it says how spend was classed); resolving needs the officer
role. A bulk resolve is one POST (CSRF-checked by the app-wide hook) and one
transaction: every ticked supplier is saved, or none is.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from mapping.errors import ValidationError
from mapping.schema import OWNERSHIP_CLASSES
from mapping.spend.review import (
    PER_PAGE,
    STATUSES,
    ReviewFilter,
    page_of,
    review_frame,
    supplier_subsectors,
)
from mapping.spend.suppliers import bulk_resolve, resolve_supplier, supplier_matches_frame
from mapping.store.models import Organisation, SupplierMatch
from web.auth import role_required
from web.db import get_session, get_store
from web.exports import csv_response
from web.spend_base import bp


class ResolveForm(FlaskForm):
    """Say who a supplier is: an organisation in the register, or its class."""

    organisation_id = SelectField("Organisation in the register", default="")
    ownership_class = SelectField("…or, if it is not in the register, its class", default="",
                                  choices=[SelectChoice("", "–"),
                                           *[SelectChoice(c, c) for c in OWNERSHIP_CLASSES]])
    legal_form = StringField("Legal form", validators=[Optional(), Length(max=100)])
    note = StringField("Evidence", validators=[Optional(), Length(max=500)],
                       description="E.g. 'Companies House 01234567' or 'the council's "
                                   "arm's-length housing company'.")


def _wanted(source: Any) -> ReviewFilter:
    return ReviewFilter(query=source.get("q", "").strip(),
                        status=source.get("status", "review").strip() or "review",
                        ownership_class=source.get("class", "").strip(),
                        subsector=source.get("subsector", "").strip())


def _page_number(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 7 else 1


def _listing(wanted: ReviewFilter, page: int, *, error: ValidationError | None = None,
             status: int = 200) -> Any:
    session = get_session()
    subsectors = supplier_subsectors(session)
    rows = review_frame(supplier_matches_frame(session), subsectors, wanted)
    if request.args.get("format") == "csv":
        return csv_response(rows.assign(subsectors=rows["subsectors"].map("; ".join)),
                            "supplier-matches.csv")
    shown, page, pages = page_of(rows, page)
    first = (page - 1) * PER_PAGE
    return render_template(
        "spend/suppliers.html", rows=shown.to_dict("records"), count=len(rows), page=page,
        pages=pages, first=first + 1 if len(shown) else 0, last=first + len(shown),
        wanted=wanted, args=wanted.query_args(), statuses=STATUSES, classes=OWNERSHIP_CLASSES,
        subsectors=sorted({s for row in subsectors["subsectors"] for s in row}),
        error=error), status


@bp.get("/suppliers")
def suppliers() -> Any:
    """Every supplier's match, 50 a page: search by name, filter by status, class, subsector."""
    return _listing(_wanted(request.args), _page_number(request.args.get("page", "1")))


@bp.post("/suppliers/bulk")
@role_required("officer")
def bulk() -> Any:
    """Resolve the ticked suppliers at once: give them a class, or mark them reviewed."""
    wanted = _wanted(request.form)
    page = _page_number(request.form.get("page", "1"))
    ids = [int(v) for v in request.form.getlist("match_id") if v.isascii() and v.isdigit()
           and len(v) < 10]
    klass = request.form.get("set_class", "").strip() or None
    note = request.form.get("note", "").strip()[:500] or None
    try:
        with get_store().transaction() as tx:
            names = bulk_resolve(tx, ids, resolved_by=current_user.username,
                                 ownership_class=klass, note=note)
    except ValidationError as exc:
        return _listing(wanted, page, error=exc, status=422)
    what = f"classed as {klass}" if klass else "marked reviewed (class kept)"
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    flash(f"Saved {len(names)} supplier{'s' if len(names) != 1 else ''} {what}: {shown}. "
          "Every later import uses this.", "info")
    back: dict[str, Any] = {**wanted.query_args(), **({"page": page} if page > 1 else {})}
    return redirect(url_for("spend.suppliers", **back), code=303)


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
