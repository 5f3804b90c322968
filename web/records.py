"""Officer editing of assets and organisations, their detail pages and their edit history.

A form's row goes through the same validation as an import row
(:func:`mapping.register.importers.prepare_assets`, :func:`mapping.register.importers.prepare_organisations`),
so postcodes, categories, swapped coordinates and company numbers are checked once, in
``mapping``. New records are written with :func:`mapping.register.records.upsert_records`; edits
with :func:`mapping.register.records.update_record`, whose optimistic locking refuses a stale edit
(409, nothing overwritten) instead of losing the other person's change.

Detail pages are public for active assets and for organisations; proposed and closed
assets are shown to signed-in people only, and are a plain 404 to everyone else.
"""

from __future__ import annotations

import math
import uuid
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.errors import Problem, StaleEditError, ValidationError
from mapping.maps.asset_map import map_parts, point_map
from mapping.maps.legend import OWNERSHIP_COLOURS
from mapping.places.geocode import geocode_frame
from mapping.places.roles import borough_outline
from mapping.register.importers import prepare_assets, prepare_organisations
from mapping.register.legal_forms import classify_legal_form
from mapping.register.records import (
    RECORD_TYPES,
    history,
    org_identifiers,
    organisation_ids,
    update_record,
    upsert_records,
)
from mapping.register.taxonomy import category_label
from mapping.store.models import Asset, Organisation, utcnow
from web.auth import role_required
from web.db import get_postcode_index, get_session, get_settings, get_store
from web.forms import (
    FLAG_LABELS,
    AssetEditForm,
    AssetForm,
    CloseForm,
    OrganisationEditForm,
    OrganisationForm,
    RecordForm,
    VersionForm,
    flag_value,
)

bp = Blueprint("records", __name__)
_Record = TypeVar("_Record", Asset, Organisation)

#: Asset columns an officer edits through the form.
ASSET_FIELDS = (S.NAME, S.DESCRIPTION, S.CATEGORY, S.ADDRESS, S.POSTCODE, S.LON, S.LAT,
                S.CAPACITY, S.OPENING_TIMES, S.CONTACT, S.WEBSITE, S.ACCESSIBILITY, S.STATUS)
#: What an asset edit may change: the form's columns, its organisation and the borough flag.
ASSET_EDIT_COLUMNS = (*ASSET_FIELDS, S.ORGANISATION_ID, S.IN_BOROUGH)
#: Organisation columns an officer edits, with the two that follow from the legal form.
ORGANISATION_FIELDS = (S.NAME, S.LEGAL_FORM, "legal_form_key", S.COMPANY_NUMBER,
                       S.CHARITY_NUMBER, S.OWNERSHIP_MODEL, S.OWNERSHIP_CLASS,
                       *S.ORGANISATION_FLAGS, S.CQC_PROVIDER_ID, S.CQC_RATING, S.ADDRESS,
                       S.POSTCODE, S.WEBSITE)
#: Source recorded for records an officer enters (``schema.ASSET_SOURCES``).
WEB_SOURCE = "survey"
def _stale(kind: str) -> str:
    return (f"Someone else saved this {kind} while you were editing — reload to see their "
            "change. Nothing you entered here has been saved.")


# --- reading ---------------------------------------------------------------------------------

def _asset(asset_id: int) -> Asset:
    """Give the asset, or a 404 unless it exists and this person may see it."""
    asset = get_session().get(Asset, asset_id)
    if asset is None or (asset.status != "active" and not current_user.is_authenticated):
        abort(404, description="There is no asset with that number.")
    return asset


def _organisation(organisation_id: int) -> Organisation:
    organisation = get_session().get(Organisation, organisation_id)
    if organisation is None:
        abort(404, description="There is no organisation with that number.")
    return organisation


def _fresh(record: _Record) -> _Record:
    """Give the record as saved now (after another session wrote it)."""
    get_session().refresh(record)
    return record


def _organisation_choices(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(select(Organisation.external_id, Organisation.name)
                           .order_by(Organisation.name))
    return [(r.external_id, r.name) for r in rows]


def _python(value: Any) -> Any:
    """Give a plain Python value for the store: no numpy scalars, ``None`` for missing."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _values(prepared: pd.DataFrame, fields: tuple[str, ...]) -> dict[str, Any]:
    row = prepared.iloc[0]
    return {f: _python(row[f]) for f in fields if f in prepared.columns}


def _coord(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


# --- writing ---------------------------------------------------------------------------------

def _organisation_id(session: Session, external_id: str | None) -> int | None:
    if not external_id:
        return None
    found = organisation_ids(session, [external_id])
    if external_id not in found:
        raise ValidationError([Problem("that organisation is no longer in the register; "
                                       "choose another", field=S.ORGANISATION_ID)])
    return found[external_id]


def _create(record_type: str, prepared: pd.DataFrame) -> int:
    """Write one new record with its ``create`` history row; give its id."""
    model = RECORD_TYPES[record_type]
    with get_store().transaction() as session:
        if record_type == "asset":
            key = _python(prepared[S.ORGANISATION_ID].iloc[0])
            prepared = prepared.assign(organisation_id=_organisation_id(session, key))
        upsert_records(session, record_type, prepared, changed_by=current_user.username,
                       action="edit")
        external_id = prepared[S.EXTERNAL_ID].iloc[0]
        return int(session.scalars(select(model.id).where(model.external_id == external_id))
                   .one())


def _update(record_type: str, record_id: int, changes: dict[str, Any], version: int, *,
            action: str = "edit", note: dict[str, Any] | None = None) -> int:
    """Save an edit unless the record changed since ``version``; give the new version.

    An asset's organisation is given by external id (``organisation_external_id``), as in
    an import. ``note`` is added to the history row's changes (a closing reason, say), as
    ``{field: [None, value]}``.
    """
    with get_store().transaction() as session:
        if S.ORGANISATION_ID in changes:
            key = changes[S.ORGANISATION_ID]
            changes = {k: v for k, v in changes.items() if k != S.ORGANISATION_ID}
            changes["organisation_id"] = _organisation_id(session, key)
        return update_record(session, record_type, record_id, changes,
                             expected_version=version, changed_by=current_user.username,
                             action=action, note=note)


def _detail_url(record_type: str, record_id: int) -> str:
    values: dict[str, Any] = {f"{record_type}_id": record_id}
    return url_for(f".{record_type}_detail", **values)


def _saved(record_type: str, record_id: int, prepared: pd.DataFrame, *,
           changed: bool = True) -> Any:
    name = str(prepared[S.NAME].iloc[0])
    flash(f"Saved “{name}”." if changed else "Nothing had changed, so nothing was saved.",
          "info")
    if S.IN_BOROUGH in prepared.columns and _python(prepared[S.IN_BOROUGH].iloc[0]) is False:
        flash("This point is outside the borough: check the postcode or coordinates.", "warning")
    if S.LEGAL_FORM in prepared.columns:
        flash(_legal_form_note(prepared[S.LEGAL_FORM].iloc[0],
                               str(prepared[S.OWNERSHIP_CLASS].iloc[0])), "info")
    return redirect(_detail_url(record_type, record_id), code=303)


def _form_page(template: str, form: RecordForm, *, status: int = 200, **context: Any) -> Any:
    if request.method == "POST" and status == 200 and (form.errors or context.get("other")):
        status = 422
    if "version" in form.errors:  # a hidden field: say so in words
        context["other"] = [*context.get("other", []), "The form did not say which version "
                            "you started from; reload the page and make your edit again."]
    return render_template(template, form=form, **context), status


# --- the small map ---------------------------------------------------------------------------

def _point_map(lon: float, lat: float, label: str, colour: str) -> dict[str, str]:
    """Give the parts of a small map of one point (see :func:`mapping.maps.asset_map.point_map`)."""
    settings = get_settings()
    m = point_map(lon, lat, label, colour, outline=borough_outline(get_session()),
                  tile_url=settings.tile_url, tile_attribution=settings.tile_attribution,
                  vendor_url=url_for("vendor.serve", filename="").rstrip("/"))
    return map_parts(m)


# --- shared facts ----------------------------------------------------------------------------

def _legal_form_note(legal_form: str | None, ownership_class: str) -> str:
    if not legal_form:
        return (f"No legal form given: the ownership class ({ownership_class}) comes from the "
                "ownership model.")
    found = classify_legal_form(legal_form)
    if found.matched:
        return (f"Legal form “{legal_form}” is read as {found.legal_form}: "
                f"{found.ownership_class} (CLES Appendix 1).")
    return (f"Legal form “{legal_form}” is not one we recognise, so the ownership class "
            f"({ownership_class}) comes from the ownership model. Check the spelling, or use "
            "the Companies House wording.")


def _organisation_facts(organisation: Organisation | None) -> dict[str, Any] | None:
    if organisation is None:
        return None
    ids = org_identifiers(pd.Series([organisation.company_number], dtype=object),
                          pd.Series([organisation.charity_number], dtype=object))
    shown = {True: "Yes", False: "No", None: "Not known"}
    return {
        "record": organisation,
        "org_id": _python(ids.iloc[0]),
        "legal_form_note": _legal_form_note(organisation.legal_form,
                                            organisation.ownership_class),
        "flags": [(label, shown[getattr(organisation, flag)])
                  for flag, label in FLAG_LABELS.items()],
    }


# --- assets ----------------------------------------------------------------------------------

def _asset_data(asset: Asset) -> dict[str, Any]:
    data: dict[str, Any] = {f: getattr(asset, f) for f in ASSET_FIELDS}
    data.update({S.LON: _coord(asset.lon), S.LAT: _coord(asset.lat), "version": asset.version,
                 S.CAPACITY: "" if asset.capacity is None else f"{asset.capacity:g}"})
    organisation = (get_session().get(Organisation, asset.organisation_id)
                    if asset.organisation_id else None)
    data[S.ORGANISATION_ID] = organisation.external_id if organisation else ""
    return data


def _location(row: dict[str, str], asset: Asset) -> dict[str, str]:
    """Give the row's location as the officer meant it.

    Coordinates are shown rounded to 6 decimals (about 0.1 m); left as shown, they mean
    "where it is now", so the stored values are kept rather than rounded. Left as shown
    while the postcode changed, they are dropped so that the new postcode places the asset.
    """
    def key(postcode: str | None) -> str:
        return (postcode or "").replace(" ", "").upper()

    if row[S.LON] != _coord(asset.lon) or row[S.LAT] != _coord(asset.lat):
        return row
    if row[S.POSTCODE] and key(row[S.POSTCODE]) != key(asset.postcode):
        return {**row, S.LON: "", S.LAT: ""}
    return {**row, S.LON: repr(asset.lon), S.LAT: repr(asset.lat)}


def _prepare_asset(row: dict[str, str]) -> tuple[pd.DataFrame, list[Problem]]:
    return prepare_assets(pd.DataFrame([row]), file="form", boundary=borough_outline(get_session()),
                          index=get_postcode_index())


def _asset_page(asset: Asset, *, close_form: CloseForm | None = None, message: str | None = None,
                status: int = 200) -> Any:
    session = get_session()
    organisation = (session.get(Organisation, asset.organisation_id)
                    if asset.organisation_id else None)
    colour = OWNERSHIP_COLOURS[organisation.ownership_class if organisation else "unknown"]
    officer = current_user.is_authenticated and current_user.can("officer")
    verify_form = close = None
    if officer:
        verify_form = VersionForm(formdata=None, prefix="verify", data={"version": asset.version})
        close = close_form or CloseForm(formdata=None, prefix="close",
                                        data={"version": asset.version})
    return render_template(
        "records/asset_detail.html", asset=asset, category=category_label(asset.category),
        organisation=_organisation_facts(organisation), officer=officer,
        verify_form=verify_form, close_form=close, message=message,
        map=_point_map(asset.lon, asset.lat, asset.name, colour),
    ), status


@bp.get("/assets/<id:asset_id>")
def asset_detail(asset_id: int) -> Any:
    """One asset, every field and a small map (non-active assets for signed-in people only)."""
    return _asset_page(_asset(asset_id))


@bp.route("/assets/new", methods=["GET", "POST"])
@role_required("officer")
def new_asset() -> Any:
    """Add an asset: checked as an import row is, written with its history."""
    form = AssetForm(organisations=_organisation_choices(get_session()))
    other: list[str] = []
    if form.validate_on_submit():
        row = {**form.as_row(), S.EXTERNAL_ID: f"web:{uuid.uuid4().hex}", S.SOURCE: WEB_SOURCE}
        prepared, problems = _prepare_asset(row)
        if not problems:
            try:
                return _saved("asset", _create("asset", prepared), prepared)
            except ValidationError as exc:
                problems = exc.problems
        other = form.show_problems(problems)
    return _form_page("records/asset_form.html", form, asset=None, other=other)


@bp.route("/assets/<id:asset_id>/edit", methods=["GET", "POST"])
@role_required("officer")
def edit_asset(asset_id: int) -> Any:
    """Edit an asset; refused with 409 if someone saved it since the form was loaded."""
    asset = _asset(asset_id)
    form = AssetEditForm(data=_asset_data(asset) if request.method == "GET" else None,
                         organisations=_organisation_choices(get_session()))
    other: list[str] = []
    if form.validate_on_submit():
        row = {**_location(form.as_row(), asset), S.EXTERNAL_ID: asset.external_id}
        prepared, problems = _prepare_asset(row)
        if not problems:
            version = cast(int, form.version.data)
            try:
                saved = _update("asset", asset_id, _values(prepared, ASSET_EDIT_COLUMNS), version)
            except StaleEditError:
                return _form_page("records/asset_form.html", form, asset=asset, other=other,
                                  stale=_stale("asset"), status=409)
            except ValidationError as exc:
                problems = exc.problems
            else:
                return _saved("asset", asset_id, prepared, changed=saved != version)
        other = form.show_problems(problems)
    return _form_page("records/asset_form.html", form, asset=asset, other=other)


@bp.post("/assets/<id:asset_id>/verify")
@role_required("officer")
def verify_asset(asset_id: int) -> Any:
    """Record that the signed-in officer has checked the asset today."""
    asset = _asset(asset_id)
    form = VersionForm(prefix="verify")
    if not form.validate():
        abort(400, description="The form did not say which version you verified; reload the "
                               "page and try again.")
    try:
        _update("asset", asset_id, {S.VERIFIED_BY: current_user.username, S.VERIFIED_AT: utcnow()},
                cast(int, form.version.data), action="verify")
    except StaleEditError:
        return _asset_page(_fresh(asset), message=_stale("asset"), status=409)
    flash("Marked as verified by you today.", "info")
    return redirect(url_for(".asset_detail", asset_id=asset_id), code=303)


@bp.post("/assets/<id:asset_id>/close")
@role_required("officer")
def close_asset(asset_id: int) -> Any:
    """Close an asset, keeping the reason in its history."""
    asset = _asset(asset_id)
    form = CloseForm(prefix="close")
    if not form.validate():
        return _asset_page(asset, close_form=form, status=422)
    if asset.status == "closed":
        flash("This asset was already closed.", "info")
        return redirect(url_for(".asset_detail", asset_id=asset_id), code=303)
    reason = (form.reason.data or "").strip()
    try:
        _update("asset", asset_id, {S.STATUS: "closed"}, cast(int, form.version.data),
                action="close", note={"reason": reason})
    except StaleEditError:
        asset = _fresh(asset)
        again = CloseForm(formdata=None, prefix="close",
                          data={"version": asset.version, "reason": reason})
        return _asset_page(asset, close_form=again, message=_stale("asset"), status=409)
    flash("Closed. It no longer shows on the public map and directory.", "info")
    return redirect(url_for(".asset_detail", asset_id=asset_id), code=303)


@bp.get("/assets/<id:asset_id>/history")
@role_required("viewer")
def asset_history(asset_id: int) -> Any:
    """Every version of an asset: who changed which field from what to what."""
    return _history_page("asset", _asset(asset_id))


# --- organisations ---------------------------------------------------------------------------

def _organisation_data(organisation: Organisation) -> dict[str, Any]:
    data: dict[str, Any] = {f: getattr(organisation, f) for f in ORGANISATION_FIELDS}
    data.update({flag: flag_value(getattr(organisation, flag)) for flag in S.ORGANISATION_FLAGS})
    data["version"] = organisation.version
    return data


def _prepare_organisation(row: dict[str, str]) -> tuple[pd.DataFrame, list[Problem]]:
    return prepare_organisations(pd.DataFrame([row]), file="form")


def _office_point(postcode: str | None) -> tuple[float, float] | None:
    if not postcode:
        return None
    found = geocode_frame(pd.DataFrame({S.POSTCODE: [postcode]}))
    if found["problem"].iloc[0] is not None:
        return None
    return float(found[S.LON].iloc[0]), float(found[S.LAT].iloc[0])


@bp.get("/organisations/<id:organisation_id>")
def organisation_detail(organisation_id: int) -> Any:
    """One organisation: how it is owned, its flags, its assets and where its office is."""
    organisation = _organisation(organisation_id)
    query = select(Asset).where(Asset.organisation_id == organisation_id).order_by(Asset.name)
    if not current_user.is_authenticated:
        query = query.where(Asset.status == "active")
    office = _office_point(organisation.postcode)
    colour = OWNERSHIP_COLOURS.get(organisation.ownership_class, OWNERSHIP_COLOURS["unknown"])
    return render_template(
        "records/organisation_detail.html", organisation=_organisation_facts(organisation),
        assets=get_session().scalars(query).all(), office=office,
        map=_point_map(office[0], office[1], organisation.name, colour) if office else None,
        officer=current_user.is_authenticated and current_user.can("officer"),
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
@role_required("officer")
def new_organisation() -> Any:
    """Add an organisation; its ownership class follows from its legal form (CLES Appendix 1)."""
    form = OrganisationForm()
    other: list[str] = []
    if form.validate_on_submit():
        row = {**form.as_row(), S.EXTERNAL_ID: f"web:{uuid.uuid4().hex}", S.SOURCE: WEB_SOURCE}
        prepared, problems = _prepare_organisation(row)
        if not problems:
            return _saved("organisation", _create("organisation", prepared), prepared)
        other = form.show_problems(problems)
    return _form_page("records/organisation_form.html", form, organisation=None, other=other)


@bp.route("/organisations/<id:organisation_id>/edit", methods=["GET", "POST"])
@role_required("officer")
def edit_organisation(organisation_id: int) -> Any:
    """Edit an organisation; refused with 409 if someone saved it since the form was loaded."""
    organisation = _organisation(organisation_id)
    form = OrganisationEditForm(
        data=_organisation_data(organisation) if request.method == "GET" else None)
    other: list[str] = []
    if form.validate_on_submit():
        prepared, problems = _prepare_organisation(
            {**form.as_row(), S.EXTERNAL_ID: organisation.external_id})
        if not problems:
            version = cast(int, form.version.data)
            try:
                saved = _update("organisation", organisation_id,
                                _values(prepared, ORGANISATION_FIELDS), version)
            except StaleEditError:
                return _form_page("records/organisation_form.html", form,
                                  organisation=organisation, other=other,
                                  stale=_stale("organisation"), status=409)
            return _saved("organisation", organisation_id, prepared, changed=saved != version)
        other = form.show_problems(problems)
    return _form_page("records/organisation_form.html", form, organisation=organisation,
                      other=other)


@bp.get("/organisations/<id:organisation_id>/history")
@role_required("viewer")
def organisation_history(organisation_id: int) -> Any:
    """Every version of an organisation: who changed which field from what to what."""
    return _history_page("organisation", _organisation(organisation_id))


# --- history ---------------------------------------------------------------------------------

def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(blank)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _history_page(record_type: str, record: Asset | Organisation) -> Any:
    frame = history(get_session(), record_type, record.id)
    rows = [{
        "version": int(r.version), "action": r.action, "changed_by": r.changed_by,
        "changed_at": pd.Timestamp(r.changed_at).strftime("%d %b %Y, %H:%M UTC"),
        "changes": [(field.replace("_", " "), _shown(old), _shown(new))
                    for field, (old, new) in sorted((r.changes or {}).items())],
    } for r in frame.itertuples(index=False)]
    return render_template("records/history.html", record=record, record_type=record_type,
                           rows=rows, back=_detail_url(record_type, record.id))
