"""Flask extensions, created unbound and attached in ``create_app`` (no global app state)."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
# In-memory counts suit one server process; set RATELIMIT_STORAGE_URI (e.g. redis://) for more
# (create_app defaults it to memory://; a constructor argument would override the config).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
