"""Officer editing of assets and organisations."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from web.auth import role_required

bp = Blueprint("records", __name__)


@bp.get("/assets/new")
@role_required("officer")
def new_asset() -> Any:
    """Create an asset (placeholder until officer editing lands)."""
    return render_template("base.html")
