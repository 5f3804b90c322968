"""The store: one database chosen by one URL, changed only in transactions.

SQLite in the instance folder is the embedded default; any SQLAlchemy URL
(e.g. ``postgresql+psycopg://…``) can be given instead. The schema is created
and upgraded by Alembic (``mapping init-db`` / ``mapping migrate``), never by
``create_all``, so an installed database can always be brought forward.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from mapping.errors import MappingError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class StoreNotReadyError(MappingError, RuntimeError):
    """The database has no schema yet, or an older one than this code needs."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the web server read while an import writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Store:
    """A database behind one SQLAlchemy URL, with transactions and Alembic migrations.

    Parameters
    ----------
    url
        SQLAlchemy database URL. For SQLite the parent folder is created.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._head: str | None = None

    def _alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def upgrade(self) -> str:
        """Bring the schema up to the newest migration; give the revision now in force."""
        cfg = self._alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return self.current_revision() or ""

    def current_revision(self) -> str | None:
        """Give the Alembic revision the database is at, or ``None`` for an empty database."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str:
        """Give the newest migration this code ships (read once, then remembered)."""
        if self._head is None:
            self._head = ScriptDirectory.from_config(self._alembic_config()).get_current_head() or ""
        return self._head

    def check_ready(self) -> None:
        """Raise :class:`StoreNotReadyError` unless the schema is at the newest migration."""
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            # The URL is left out on purpose: it can hold a password and this text reaches pages.
            raise StoreNotReadyError(
                f"the database is at schema revision {current or 'none'}, this code needs "
                f"{head}: run 'mapping migrate' (or 'mapping init-db')"
            )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Give a session whose work is committed at the end, or rolled back whole on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def session(self) -> Session:
        """Give a plain session (the caller manages the transaction), e.g. for read-only pages."""
        return self._sessions()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
