"""Settings, documented once.

Each field of :class:`Settings` has one docstring line; ``tests/mapping/test_config.py``
checks that every field is documented in the README too. Values come from the
defaults here, then (in the web app) the instance file, then ``MAPPING_*``
environment variables. Nothing is read at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mapping.errors import Problem, ValidationError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: The project's own reference tables (taxonomy, legal-form rules, column aliases...).
REFERENCE_DIR = PROJECT_ROOT / "data"
ENV_PREFIX = "MAPPING_"


def _default_data_dir() -> Path:
    return PROJECT_ROOT.parent / "shared" / "data"


def _default_instance_dir() -> Path:
    return PROJECT_ROOT / "instance"


@dataclass(frozen=True)
class Settings:
    """Service settings; one line of help per field, units in the names."""

    data_dir: Path = field(default_factory=_default_data_dir)
    """Folder of the real open data (read in place, never copied): ``shared/data`` beside the clone."""

    instance_dir: Path = field(default_factory=_default_instance_dir)
    """Folder for this installation's own files: the SQLite store, the secret key, caches."""

    database_url: str = ""
    """SQLAlchemy URL of the store; empty means a SQLite file ``mapping.sqlite3`` in ``instance_dir``."""

    borough_code: str = ""
    """ONS GSS code the store must hold (checked); empty: whichever borough the store was loaded for."""

    borough_name: str = ""
    """Name shown while the store holds no borough yet; once one is loaded, its own name is shown."""

    tile_url: str = ""
    """Base-map tile URL template for the web map; empty means no tiles (plain background, works offline)."""

    tile_attribution: str = ""
    """Attribution text for ``tile_url`` tiles (required by most tile providers)."""

    submission_rate_limit: str = "5 per minute;30 per day"
    """How often one address may send the public 'tell us' form (Flask-Limiter syntax)."""

    analysis_rate_limit: str = "60 per minute"
    """How often one address not signed in may run an analysis page or download (Flask-Limiter syntax)."""

    walking_network: str = ""
    """OSM extract (.osm, .osm.gz) under ``data_dir`` for walking routes on the gaps pages; empty: none."""

    secret_key: str = ""
    """Flask secret key; empty means one is generated once and kept in ``instance_dir``."""

    proxy_hops: int = 0
    """How many reverse proxies stand in front of the app (their X-Forwarded-For is then trusted)."""

    def __post_init__(self) -> None:
        problems = []
        if self.tile_url and not self.tile_attribution:
            problems.append(Problem("a tile server needs its attribution: set "
                                    "MAPPING_TILE_ATTRIBUTION too", field="tile_attribution"))
        if self.proxy_hops < 0:
            problems.append(Problem("must be 0 or more", field="proxy_hops"))
        if problems:
            raise ValidationError(problems, summary="the settings are not valid")

    @property
    def walking_network_path(self) -> Path | None:
        """Give the walking-network file (``walking_network`` under ``data_dir`` unless absolute)."""
        if not self.walking_network:
            return None
        return self.data_dir / Path(self.walking_network).expanduser()

    @property
    def resolved_database_url(self) -> str:
        """Give the store URL, defaulting to the SQLite file in the instance folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.instance_dir / 'mapping.sqlite3'}"


def _coerce(name: str, raw: Any) -> Any:
    kind = {f.name: f for f in fields(Settings)}[name]
    if kind.default_factory is not dataclasses.MISSING and isinstance(kind.default_factory(), Path):
        return Path(raw).expanduser()
    if isinstance(kind.default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValidationError([Problem(f"'{raw}' is not a whole number", field=name)],
                                  summary="the settings are not valid") from None
    return str(raw)


def load_settings(
    overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Give the settings: defaults, then ``overrides``, then ``MAPPING_*`` environment variables.

    Parameters
    ----------
    overrides
        Values by field name (lower case), e.g. from the Flask instance file.
    environ
        The environment to read; ``os.environ`` by default.
    """
    env = os.environ if environ is None else environ
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        key = key.lower().removeprefix(ENV_PREFIX.lower())
        if key in names and value is not None:
            values[key] = _coerce(key, value)
    for name in names:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            values[name] = _coerce(name, raw)
    return Settings(**values)


def setting_help() -> dict[str, str]:
    """Give each setting's one-line help text, read from the field docstrings in this file."""
    import ast

    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "Settings":
            body = node.body
            for here, after in zip(body, body[1:], strict=False):
                if (
                    isinstance(here, ast.AnnAssign)
                    and isinstance(here.target, ast.Name)
                    and isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant)
                ):
                    out[here.target.id] = str(after.value.value)
    return out
