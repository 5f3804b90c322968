"""Flask extensions, created unbound and attached in ``create_app`` (no global app state)."""

from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
# In-memory counts suit one server process; set RATELIMIT_STORAGE_URI (e.g. redis://) for more
# (create_app defaults it to memory://; a constructor argument would override the config).
limiter = Limiter(key_func=get_remote_address, default_limits=[])


ANALYSIS_LIMITED = ("Many analyses have been run from this address in a short time. Wait a minute "
                    "and try again, or sign in.")


def _analysis_rate_limit() -> str:
    return str(current_app.config["ANALYSIS_RATE_LIMIT"])


def _signed_in() -> bool:
    return bool(current_user.is_authenticated)


#: For pages that compute (gap analysis, plans, lot designs, spend reports): one shared count
#: per address (``ANALYSIS_RATE_LIMIT``), so nobody can keep the server busy; staff are exempt.
analysis_limit = limiter.shared_limit(_analysis_rate_limit, scope="analysis", exempt_when=_signed_in,
                                      error_message=ANALYSIS_LIMITED)
