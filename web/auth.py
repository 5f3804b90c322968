"""Signing in and out, and who may do what.

Roles come from :mod:`mapping.register.users`: ``viewer`` (e.g. a commissioner) reads
everything, ``officer`` records, verifies and closes assets and moderates
submissions, ``admin`` also manages users. Anonymous visitors browse the map
and directory and may send the public form.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlparse

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from mapping import schema as S
from mapping.errors import MappingError
from mapping.register.users import authenticate, role_at_least
from mapping.store.models import User
from web.db import get_session
from web.extensions import limiter, login_manager

bp = Blueprint("auth", __name__)
#: The largest record id a URL may name (32-bit keys, as on PostgreSQL).
MAX_ID = 2**31 - 1
F = TypeVar("F", bound=Callable[..., Any])


class SignedIn(UserMixin):
    """The signed-in person, as Flask-Login needs them (no database session kept)."""

    def __init__(self, user: User) -> None:
        self.id = str(user.id)
        self.username = user.username
        self.role = user.role

    def can(self, role: str) -> bool:
        """Give True when this person's role carries ``role``'s rights."""
        return role_at_least(self.role, role)


@login_manager.user_loader
def _load_user(user_id: str) -> SignedIn | None:
    if not user_id.isdigit() or int(user_id) > MAX_ID:
        return None
    try:
        user = get_session().get(User, int(user_id))
    except MappingError:
        # The store is not ready: show the page (its own error) as signed out.
        return None
    return SignedIn(user) if user else None


def role_required(role: str) -> Callable[[F], F]:
    """Refuse the view unless the person is signed in with at least ``role`` (403 or sign-in)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.can(role):
                abort(403, description=f"This needs the {role} role; you are signed in as "
                      f"{current_user.role}.")
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


#: What anyone may see; proposed and closed assets are for signed-in people only.
PUBLIC_STATUSES = ("active",)


def visible_statuses() -> tuple[str, ...]:
    """Give the asset statuses the current person may see."""
    return S.ASSET_STATUSES if current_user.is_authenticated else PUBLIC_STATUSES


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect to another host after signing in.
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("pages.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login() -> Any:
    """Sign in with a username and password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(get_session(), form.username.data or "", form.password.data or "")
        if user is not None:
            login_user(SignedIn(user))
            flash(f"Signed in as {user.username} ({user.role}).", "info")
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = ["Wrong username or password."]
    return render_template("auth/login.html", form=form), 200 if not form.errors else 400


@bp.post("/logout")
def logout() -> Any:
    """Sign out (a form POST, so a link elsewhere cannot sign people out)."""
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("pages.index"))


def init_app(app: Any) -> None:
    """Attach sign-in to the app."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to do that."
