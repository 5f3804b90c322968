"""One error shape: JSON ``{"error": {"status", "title", "message", "problems"}}`` for the API,
the same message in plain words on an HTML page. No stack trace ever reaches a user."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from mapping.boroughs.settings import BoroughMismatchError
from mapping.errors import (
    CRSError,
    DataMissingError,
    MappingError,
    NotFoundError,
    PermissionDeniedError,
    StaleEditError,
    ValidationError,
)
from mapping.store.database import StoreNotReadyError

STATUS = [  # most specific first
    (ValidationError, 422), (CRSError, 422), (NotFoundError, 404),
    (PermissionDeniedError, 403), (StaleEditError, 409), (StoreNotReadyError, 503),
    (BoroughMismatchError, 503),
    (DataMissingError, 503), (MappingError, 400),
]
TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 405: "Method not allowed",
          409: "Changed by someone else", 413: "File too large", 422: "Invalid input",
          429: "Too many requests", 500: "Something went wrong", 503: "Not ready"}
NEXT_STEP = {
    403: "Sign in with an account that has the right role, or ask an administrator.",
    404: "Check the address, or go back to the map.",
    409: "Reload the page to see the latest version, then make your change again.",
    422: "Correct the problems listed and try again.",
    429: "Wait a minute and try again.",
    500: "Try again; if it keeps happening, tell the service's administrator.",
    503: "Ask the administrator to run 'mapping init-db' and load the borough "
         "('mapping load-borough MANIFEST'), or to correct the settings the message names.",
}


def error_body(status: int, message: str, problems: list[dict[str, Any]] | None = None
               ) -> dict[str, Any]:
    """Give the one JSON error shape."""
    return {"error": {"status": status, "title": TITLES.get(status, "Error"),
                      "message": message, "problems": problems or []}}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def respond(status: int, message: str, problems: list[dict[str, Any]] | None = None) -> Any:
    """Give the error as JSON for API clients, or as a plain-words page."""
    if _wants_json():
        return error_body(status, message, problems), status
    return render_template("error.html", status=status, title=TITLES.get(status, "Error"),
                           message=message, problems=problems or [],
                           next_step=NEXT_STEP.get(status, "")), status


def init_app(app: Flask) -> None:
    """Register the handlers that turn every error into the one shape."""

    @app.errorhandler(MappingError)
    def _mapping_error(exc: MappingError) -> Any:
        status = next(code for kind, code in STATUS if isinstance(exc, kind))
        problems = [p.as_dict() for p in getattr(exc, "problems", [])]
        return respond(status, str(exc), problems)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        return respond(exc.code or 500, exc.description or TITLES.get(exc.code or 500, ""))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        app.logger.exception("unhandled error on %s", request.path)
        return respond(500, "The server could not finish this request.")
