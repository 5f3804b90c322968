"""Community submissions: the public 'tell us' form and the officers' queue."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from web.auth import role_required

bp = Blueprint("submissions", __name__)


@bp.get("/tell-us")
def new() -> Any:
    """The public form (placeholder until submissions land)."""
    return render_template("base.html")


@bp.get("/submissions")
@role_required("officer")
def queue() -> Any:
    """The moderation queue (placeholder)."""
    return render_template("base.html")
