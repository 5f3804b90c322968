"""People who sign in: hashed passwords and one role each.

Roles, from least to most: ``viewer`` (e.g. a commissioner: reads everything),
``officer`` (records, verifies and closes assets; moderates submissions),
``admin`` (also manages users).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from mapping.errors import Problem, ValidationError
from mapping.store.models import User

ROLES = ("viewer", "officer", "admin")
MIN_PASSWORD_LENGTH = 10


def role_at_least(role: str, needed: str) -> bool:
    """Give True when ``role`` carries every right of ``needed``."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def create_user(session: Session, username: str, password: str, *, role: str) -> User:
    """Create a user (or reset an existing one's password and role); give the user."""
    problems = []
    username = username.strip()
    if not username:
        problems.append(Problem("is required", field="username"))
    if role not in ROLES:
        problems.append(Problem(f"'{role}' is not one of {', '.join(ROLES)}", field="role"))
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(Problem(f"must be at least {MIN_PASSWORD_LENGTH} characters",
                                field="password"))
    if problems:
        raise ValidationError(problems, summary="cannot create the user")
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, password_hash="", role=role)
        session.add(user)
    user.password_hash = generate_password_hash(password)
    user.role = role
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Give the user if the password is right, else ``None`` (same answer for unknown names)."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        # Hash anyway so that a wrong name takes as long as a wrong password.
        check_password_hash(generate_password_hash("x"), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None
