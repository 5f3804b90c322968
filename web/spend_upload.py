"""Uploading a spend file: check it, confirm the column mapping, import it in the background.

The import runs as a background job (:mod:`mapping.spend.jobs`): the page shows its
progress (reading, repairing, matching suppliers, writing) by polling a status URL,
and its Cancel button stops it with nothing written. Officers only.

Uploads: the spend form is exempt from the app-wide CSRF hook only so that its
larger size limit (``SPEND_UPLOAD_MAX_BYTES``, default 20 MB) applies before the
body is read; the form itself checks its CSRF token (Flask-WTF), as every form does.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Final

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.utils import secure_filename
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from mapping.errors import NotFoundError, Problem, ValidationError
from mapping.spend.jobs import STAGE_LABELS, ImportJob, JobStatus, forget_old_jobs
from mapping.spend.layout import COLUMN_LABELS, SPEND_COLUMNS, column_from_label, column_label
from mapping.spend.store import IMPORT_STAGES, check_spend, import_spend
from mapping.spend.suppliers import METHOD_LABELS
from web.auth import role_required
from web.db import get_settings, get_store
from web.extensions import csrf
from web.spend_base import PAGE_ROWS, bp

DEFAULT_UPLOAD_BYTES: Final = 20 * 1024 * 1024
UPLOAD_KEEP_SECONDS: Final = 24 * 3600
_TOKEN: Final = re.compile(r"[0-9a-f]{32}")
#: Text encodings a spend file may be read in (the upload form offers these).
ENCODINGS: Final = (("utf-8", "UTF-8"), ("cp1252", "Windows-1252 (older Excel)"))
_OUR_COLUMNS: Final = ", ".join(COLUMN_LABELS[c] for c in SPEND_COLUMNS)


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
                                        + _OUR_COLUMNS + ".")
    publisher = StringField("Publisher", validators=[Optional(), Length(max=300)])
    licence = StringField("Licence", validators=[Optional(), Length(max=200)],
                          description="E.g. 'OGL v3'.")
    attribution = StringField("Attribution", validators=[Optional(), Length(max=500)])
    skip_invalid = BooleanField("Import the valid lines and keep the rejected ones in the "
                                "cleaning report (otherwise: all or nothing)")


#: The import form's fields a job keeps, to offer the same import again.
_PARAMS: Final = ("name", "mapping", "encoding", "publisher", "licence", "attribution",
                  "skip_invalid")


def _uploads() -> Path:
    path = get_settings().instance_dir / "spend_uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _jobs() -> Path:
    return get_settings().instance_dir / "spend_jobs"


def _forget_old_uploads(folder: Path) -> None:
    """Delete checked uploads nobody imported within a day (they hold council data)."""
    cutoff = time.time() - UPLOAD_KEEP_SECONDS
    for old in folder.glob("*/*"):
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                old.unlink()
                old.parent.rmdir()
    if _jobs().is_dir():
        forget_old_jobs(_jobs(), older_than_s=UPLOAD_KEEP_SECONDS)


def _upload_path(token: str) -> Path:
    """Give the checked upload's file: ``<token>/<its own name>`` in the uploads folder."""
    if not _TOKEN.fullmatch(token):
        abort(404, description="That upload is not known; upload the file again.")
    found = sorted((_uploads() / token).glob("*")) if (_uploads() / token).is_dir() else []
    if len(found) != 1:
        abort(404, description="That upload is not known (or was imported); upload it again.")
    return found[0]


def _job(token: str) -> ImportJob:
    if not _TOKEN.fullmatch(token):
        abort(404, description="That import is not known; upload the file again.")
    return ImportJob(_jobs(), token)


def _readable(stem: str) -> str:
    """Give a file's name as a first guess at a dataset name: words, not underscores."""
    return " ".join(stem.replace("_", " ").split())[:200] or "spend"


def _parse_mapping(text: str) -> tuple[dict[str, str], list[str]]:
    """Give 'Their header=our column' lines as header → column code (plain names or codes)."""
    out, errors = {}, []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        if "=" not in line:
            errors.append(f"line {n}: '{line}' is not 'Their header=our column'")
            continue
        source, target = (part.strip() for part in line.rsplit("=", 1))
        column = column_from_label(target)
        if column is None:
            errors.append(f"line {n}: '{target}' is not one of our columns ({_OUR_COLUMNS})")
            continue
        out[source] = column
    return out, errors


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
                         name=_readable(Path(form.file.data.filename or "spend").stem))
    return _review(path, imports)


@bp.get("/upload/<token>")
@role_required("officer")
def check(token: str) -> Any:
    """The check page of an upload again, filled in as it was last imported (to try again)."""
    path = _upload_path(token)
    job = _job(token)
    params = job.status().params if job.exists() else {}
    imports = ImportForm(formdata=None, token=token, **{
        k: params.get(k) for k in _PARAMS if params.get(k) not in (None, "")})
    if not imports.name.data:
        imports.name.data = _readable(path.stem)
    return _review(path, imports)


def _review(path: Path, imports: ImportForm, *, mapping: dict[str, str] | None = None,
            problems: list[Problem] | None = None, status: int = 200) -> Any:
    try:
        checked = check_spend(path, mapping=mapping, encoding=imports.encoding.data or "utf-8")
    except ValidationError as exc:
        return render_template("spend/review.html", form=imports, checked=None,
                               problems=exc.problems), 422
    if not imports.mapping.data:
        imports.mapping.data = "\n".join(f"{k}={column_label(v)}"
                                         for k, v in checked.spend.mapping.items())
    spend = checked.spend
    return render_template(
        "spend/review.html", form=imports, checked=checked, spend=spend,
        counts=spend.counts, rec=spend.reconciliation(),
        kept=spend.lines[spend.lines["status"].isin(["rejected", "total", "subtotal"])
                         ].head(PAGE_ROWS).to_dict("records"),
        repaired=spend.lines[spend.lines["status"] == "repaired"].head(PAGE_ROWS).to_dict(
            "records"),
        problems=problems or []), status


@bp.post("/upload/import")
@role_required("officer")
def import_upload() -> Any:
    """Start importing a checked upload in the background; show its progress page."""
    form = ImportForm()
    token = form.token.data or ""
    path = _upload_path(token)
    if not form.validate_on_submit():
        return _review(path, form, status=422)
    mapping, errors = _parse_mapping(form.mapping.data or "")
    if errors:
        form.mapping.errors = errors
        return _review(path, form, status=422)
    job = _job(token)
    if job.exists() and not job.status().finished:
        flash("That file is already being imported.", "info")
        return redirect(url_for("spend.import_progress", token=token), code=303)
    params = {k: getattr(form, k).data for k in _PARAMS}
    job = ImportJob.create(_jobs(), token, params=params)
    store, who = get_store(), current_user.username

    def work(stage: Any) -> Any:  # runs in the job's thread: plain values only, no request
        result = import_spend(
            store, path, name=params["name"] or "", imported_by=who, mapping=mapping,
            skip_invalid=bool(params["skip_invalid"]), encoding=params["encoding"] or "utf-8",
            publisher=params["publisher"] or None, licence=params["licence"] or None,
            attribution=params["attribution"] or None, stage=stage)
        with contextlib.suppress(OSError):  # used up: the council's file is not kept
            path.unlink()
            path.parent.rmdir()
        return result

    start_in_background(job, work)
    return redirect(url_for("spend.import_progress", token=token), code=303)


def start_in_background(job: ImportJob, work: Any) -> None:
    """Run the import job in a thread of this server process (the page polls its files)."""
    threading.Thread(target=job.run, args=(work,), name=f"spend-import-{job.id[:8]}",
                     daemon=True).start()


def _status(token: str) -> JobStatus:
    try:
        return _job(token).status()
    except NotFoundError as exc:
        abort(404, description=str(exc))


@bp.get("/upload/<token>/progress")
@role_required("officer")
def import_progress(token: str) -> Any:
    """How far the import has got, with a Cancel button; then what it did."""
    status = _status(token)
    problems = [Problem(**p) for p in status.problems[:200]]
    return render_template("spend/progress.html", token=token, status=status,
                           problems=problems, stages=list(IMPORT_STAGES),
                           stage_labels=STAGE_LABELS, method_labels=METHOD_LABELS)


@bp.get("/upload/<token>/status")
@role_required("officer")
def import_status(token: str) -> Any:
    """The import's state, step and percent as JSON (what the progress page polls)."""
    return jsonify(_status(token).public())


@bp.post("/upload/<token>/cancel")
@role_required("officer")
def import_cancel(token: str) -> Any:
    """Ask the import to stop; nothing it did is kept. Too late once it is saving."""
    try:
        status = _job(token).cancel()
    except NotFoundError as exc:
        abort(404, description=str(exc))
    if status.state == "cancelling":
        flash("Stopping the import: nothing will be written.", "info")
    elif status.state == "cancelled":
        flash("The import was already cancelled: nothing was written.", "info")
    else:
        flash("Too late to cancel: the import had already finished saving.", "warning")
    return redirect(url_for("spend.import_progress", token=token), code=303)
