"""Community submissions: the public 'tell us' form and the officers' moderation queue.

Residents propose an asset or an idea at ``/tell-us`` (no account needed); it
waits in a queue that nothing public reads until an officer approves it (it
becomes an asset) or rejects it with a reason at ``/submissions``. The form is
rate-limited per address (``SUBMISSION_RATE_LIMIT``) and carries a honeypot
field: a bot that fills it is thanked and nothing is stored. The work is done
in :mod:`mapping.register.submissions`; these views parse, call it and render.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import folium
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from mapping.errors import NotFoundError, Problem, ValidationError
from mapping.maps.asset_map import map_parts
from mapping.maps.submissions import location_picker_map, submissions_frame, submissions_map
from mapping.places.roles import borough_outline
from mapping.places.store import load_area_layer
from mapping.register.duplicates import LikelyDuplicate, likely_duplicates
from mapping.register.submissions import (
    LOCATION,
    MAX_CHARS,
    PENDING,
    address_hash,
    approve,
    check_pending,
    decided,
    default_description,
    get_submission,
    pending,
    reject,
    save_submission,
    validate_submission,
)
from mapping.register.taxonomy import load_categories
from mapping.store.models import Submission
from web.auth import role_required
from web.db import get_postcode_index, get_roles, get_session, get_settings, get_store
from web.extensions import limiter

bp = Blueprint("submissions", __name__)

#: The honeypot field's name: it must stay a field of TellUsForm.
HONEYPOT = "website_url"
RATE_LIMITED = ("You have sent this form too many times from this address. "
                "Please wait a while before sending another.")


@bp.context_processor
def _labels() -> dict[str, Any]:
    table = load_categories()
    return {"category_labels": dict(zip(table["code"], table["label"], strict=True))}


def _category_choices(blank: str) -> list[SelectChoice]:
    """Give the categories of ``data/categories.csv`` by group, after a blank first choice."""
    table = load_categories()
    return [SelectChoice("", blank)] + [
        SelectChoice(str(code), str(label), optgroup=str(group).capitalize())
        for code, label, group in zip(table["code"], table["label"], table["group"], strict=True)
    ]


class TellUsForm(FlaskForm):
    """The public form: what, where, who runs it, and how to reach the person sending it."""

    kind = RadioField("What are you telling us about?", default="asset", choices=[
        SelectChoice("asset", "Something that exists: a group, a place or a service"),
        SelectChoice("idea", "An idea: something that is needed or that you would like to start"),
    ])
    name = StringField("Name or title", validators=[DataRequired("Please give a name or a title."),
                                                    Length(max=MAX_CHARS["name"])])
    description = TextAreaField(
        "What is it, and who is it for?", validators=[Length(max=MAX_CHARS["description"])],
        description="For example: when it meets, what happens there, who can come.")
    category = SelectField("Which kind of support is closest? (optional)", default="")
    postcode = StringField("Postcode", validators=[Length(max=20)],
                           description="The postcode of the place, for example E15 4EH.")
    lon = HiddenField()
    lat = HiddenField()
    who_runs_it = StringField("Who runs it? (optional)",
                              validators=[Length(max=MAX_CHARS["who_runs_it"])],
                              description="A group, a charity, a business or a person.")
    contact = StringField(
        "How can we contact you? (optional)", validators=[Length(max=MAX_CHARS["contact"])],
        description="An email address or phone number, in case we have a question. Only "
                    "council officers see it; it is not published unless we agree that "
                    "with you first.")
    # The honeypot: hidden from people (CSS, aria-hidden, no tab stop); bots fill it in.
    website_url = StringField("Leave this empty", validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = _category_choices("Not sure")

    def values(self) -> dict[str, object]:
        """Give the typed values, by the names :mod:`mapping.register.submissions` uses."""
        return {name: self[name].data for name in ("kind", "name", "description", "category",
                                                   "postcode", "lon", "lat", "who_runs_it",
                                                   "contact")}


class ApproveForm(FlaskForm):
    """Approve a submission: the category (required) and, if need be, a better name and text."""

    category = SelectField("Category", validators=[DataRequired("Choose a category.")])
    name = StringField("Name on the map", validators=[DataRequired(),
                                                      Length(max=MAX_CHARS["name"])])
    description = TextAreaField("Description on the map",
                                validators=[Length(max=MAX_CHARS["description"])])
    publish_contact = BooleanField("Publish the sender's contact details on the asset "
                                   "(only if they have agreed)")
    approve_anyway = BooleanField("Approve anyway: I have checked that it is not the same "
                                  "place as the asset named above")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = _category_choices("Choose a category")


class RejectForm(FlaskForm):
    """Reject a submission, saying why."""

    reason = TextAreaField("Reason for rejecting", validators=[
        DataRequired("Give a reason for rejecting it."), Length(max=MAX_CHARS["reason"])])


def _attach(form: FlaskForm, problems: list[Problem], *, fallback: str) -> list[str]:
    """Put each problem on its form field; give the messages that belong to no field."""
    loose = []
    for problem in problems:
        field = form._fields.get(problem.field or "")
        if field is not None and not isinstance(field, HiddenField):
            if not field.errors:  # one message per field: the form's own check came first
                field.errors = [problem.reason]
        else:
            loose.append(f"{problem.field or fallback}: {problem.reason}"
                         if problem.field not in (None, LOCATION) else problem.reason)
    return loose


def _map_parts(m: folium.Map) -> dict[str, str]:
    return {f"map_{key}": value for key, value in map_parts(m).items()}


def _areas() -> Any:
    session = get_session()
    roles = get_roles()
    for name in (roles.wards, roles.outline):
        if name is None:
            continue
        try:
            return load_area_layer(session, name)
        except NotFoundError:
            continue
    return None


def _vendor_url() -> str:
    return url_for("vendor.serve", filename="").rstrip("/")


def _detail_url() -> str:
    return url_for(".queue") + "/{id}"


def _rate_limit() -> str:
    return str(current_app.config["SUBMISSION_RATE_LIMIT"])


@bp.route("/tell-us", methods=["GET", "POST"])
@limiter.limit(_rate_limit, methods=["POST"], error_message=RATE_LIMITED)
def new() -> Any:
    """The public form: tell us about an asset or an idea (it waits for an officer)."""
    get_store().check_ready()
    form = TellUsForm()
    location_errors: list[str] = []
    status = 200
    if request.method == "POST":
        if str(form[HONEYPOT].data or "").strip():
            # A bot: thank it like anyone else, so it learns nothing, and keep nothing.
            return redirect(url_for(".thanks"))
        if form.validate():
            key = str(current_app.config["SECRET_KEY"])
            try:
                with get_store().transaction() as session:
                    save_submission(session, form.values(), submitter_ip_hash=address_hash(
                        request.remote_addr or "unknown", key=key), index=get_postcode_index())
                return redirect(url_for(".thanks"))
            except ValidationError as exc:
                problems = exc.problems
        else:
            # Show the place's problems too, not only the form's, on the first try.
            _, problems = validate_submission(form.values(), index=get_postcode_index())
        location_errors = _attach(form, problems, fallback="form")
        status = 422
    settings = get_settings()
    m = location_picker_map(_areas(), vendor_url=_vendor_url(), tile_url=settings.tile_url,
                            tile_attribution=settings.tile_attribution)
    return render_template("submissions/new.html", form=form, location_errors=location_errors,
                           **_map_parts(m)), status


@bp.get("/tell-us/thanks")
def thanks() -> Any:
    """Thank the sender and say what happens next (it is not public yet)."""
    return render_template("submissions/thanks.html")


def _forms(submission: Submission, *, posted: str | None = None
           ) -> tuple[ApproveForm, RejectForm]:
    """Give a submission's approve and reject forms; only the ``posted`` one reads the request."""
    defaults = {"category": submission.category or "", "name": submission.name,
                "description": default_description(submission) or ""}
    prefix = f"s{submission.id}"
    approve_form = (ApproveForm(prefix=f"{prefix}-approve") if posted == "approve"
                    else ApproveForm(formdata=None, prefix=f"{prefix}-approve", data=defaults))
    reject_form = (RejectForm(prefix=f"{prefix}-reject") if posted == "reject"
                   else RejectForm(formdata=None, prefix=f"{prefix}-reject"))
    return approve_form, reject_form


@bp.get("/submissions")
@role_required("officer")
def queue() -> Any:
    """The moderation queue: pending submissions on a map, with approve and reject forms."""
    get_store().check_ready()
    session = get_session()
    waiting = pending(session)
    settings = get_settings()
    m = submissions_map(submissions_frame(waiting), _areas(), vendor_url=_vendor_url(),
                        detail_url=_detail_url(),
                        tile_url=settings.tile_url, tile_attribution=settings.tile_attribution)
    return render_template("submissions/queue.html", waiting=waiting,
                           forms={s.id: _forms(s) for s in waiting},
                           duplicates=likely_duplicates(session, waiting),
                           done=decided(session), **_map_parts(m))


def _detail(submission: Submission, forms: tuple[ApproveForm, RejectForm] | None,
            status: int = 200) -> Any:
    settings = get_settings()
    m = submissions_map(submissions_frame([submission]), _areas(), vendor_url=_vendor_url(),
                        detail_url=_detail_url(),
                        tile_url=settings.tile_url, tile_attribution=settings.tile_attribution)
    duplicates: list[LikelyDuplicate] = (
        likely_duplicates(get_session(), [submission])[submission.id]
        if submission.status == PENDING else [])
    return render_template("submissions/detail.html", s=submission, forms=forms,
                           duplicates=duplicates, **_map_parts(m)), status


@bp.get("/submissions/<id:submission_id>")
@role_required("officer")
def detail(submission_id: int) -> Any:
    """One submission, everything the sender gave, and the decision or the forms to make it."""
    submission = get_submission(get_session(), submission_id)
    forms = _forms(submission) if submission.status == PENDING else None
    return _detail(submission, forms)


def _decide(submission_id: int, posted: str, decide: Callable[[Any, Any, Submission], str],
            *, fallback: str) -> Any:
    """Check the posted decision's form; make the decision in one transaction; say what was done.

    ``decide(session, form, submission)`` writes the decision and gives the message to flash.
    Problems go on the form's fields (the rest are flashed), and the page is shown again.
    """
    submission = get_submission(get_session(), submission_id)
    check_pending(submission)
    forms = _forms(submission, posted=posted)
    form = forms[0 if posted == "approve" else 1]
    if form.validate():
        try:
            with get_store().transaction() as session:
                message = decide(session, form, submission)
            flash(message, "info")
            return redirect(url_for(".queue"))
        except ValidationError as exc:
            for loose in _attach(form, exc.problems, fallback=fallback):
                flash(loose, "error")
    return _detail(submission, forms, 422)


@bp.post("/submissions/<id:submission_id>/approve")
@role_required("officer")
def approve_submission(submission_id: int) -> Any:
    """Approve: the submission becomes an asset (source 'submission') on the map."""
    def decide(session: Any, form: Any, submission: Submission) -> str:
        overrides = {"name": form.name.data or "", "description": form.description.data or None}
        if form.publish_contact.data:
            overrides["contact"] = submission.contact
        asset_id = approve(session, submission_id, officer=current_user.username,
                           category=form.category.data or "", overrides=overrides,
                           approve_anyway=bool(form.approve_anyway.data),
                           boundary=borough_outline(get_session()), index=get_postcode_index())
        return f"Approved submission #{submission_id}: it is now asset #{asset_id} on the map."
    return _decide(submission_id, "approve", decide, fallback="asset")


@bp.post("/submissions/<id:submission_id>/reject")
@role_required("officer")
def reject_submission(submission_id: int) -> Any:
    """Reject, with a reason: the submission never becomes public."""
    def decide(session: Any, form: Any, _submission: Submission) -> str:
        reject(session, submission_id, officer=current_user.username,
               reason=form.reason.data or "")
        return f"Rejected submission #{submission_id}."
    return _decide(submission_id, "reject", decide, fallback="reason")
