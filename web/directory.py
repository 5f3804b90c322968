"""The directory: a menu of local alternatives for social workers and residents."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

bp = Blueprint("directory", __name__, url_prefix="/directory")


@bp.get("/")
def search() -> Any:
    """Search and filter assets (placeholder until the directory lands)."""
    return render_template("base.html")
