"""Serve the front-end files that maps need from ``node_modules/``, so nothing loads from the web.

``npm ci`` installs the files from ``package.json``; :data:`mapping.maps.asset_map.VENDOR_FILES` and
:func:`mapping.maps.asset_map.is_vendor_file` say which of them a browser may fetch. Everything
else under ``node_modules/`` (package manifests, example pages, server scripts) is a 404.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_from_directory

from mapping.config import PROJECT_ROOT
from mapping.maps._vendor import is_vendor_file

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

#: Default browser cache lifetime of vendor files: one year. The URLs carry no version, so
#: after changing a version in package.json lower ``VENDOR_MAX_AGE`` or change the prefix.
DEFAULT_MAX_AGE_S = 365 * 24 * 60 * 60


def vendor_dir() -> Path:
    """Give the folder the files are served from: ``VENDOR_DIR``, else ``node_modules/``."""
    configured = current_app.config.get("VENDOR_DIR")
    return Path(configured) if configured else PROJECT_ROOT / "node_modules"


@bp.get("/<path:filename>")
def serve(filename: str) -> Response:
    """Give one allow-listed vendor file, with long cache headers.

    404 for any file not on the allow-list (``send_from_directory`` also refuses paths that
    leave the folder); 503 when the folder is missing, saying to run ``npm ci``.
    """
    if not is_vendor_file(filename):
        abort(404)
    folder = vendor_dir()
    if not folder.is_dir():
        abort(
            503,
            description=(
                f"The map's front-end files are not installed ({folder} is missing): "
                "run `npm ci` in the project folder."
            ),
        )
    max_age = int(current_app.config.get("VENDOR_MAX_AGE", DEFAULT_MAX_AGE_S))
    response = send_from_directory(folder, filename, max_age=max_age)
    response.cache_control.public = True
    return response
