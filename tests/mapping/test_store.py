import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from mapping.models import Base
from mapping.store import Store, StoreNotReadyError


def test_migrations_build_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_empty_database_is_not_ready_and_says_what_to_run(tmp_path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    with pytest.raises(StoreNotReadyError, match="mapping migrate"):
        s.check_ready()
    assert s.upgrade() == s.head_revision()
    s.check_ready()
    assert s.upgrade() == s.head_revision()  # upgrading twice is harmless


def test_transaction_rolls_back_everything_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction() as session:
            session.execute(text("INSERT INTO users (username, password_hash, role, created_at) "
                                 "VALUES ('a', 'x', 'viewer', '2026-01-01')"))
            raise RuntimeError("boom")
    with store.transaction() as session:
        assert session.execute(text("SELECT count(*) FROM users")).scalar() == 0


def test_sqlite_enforces_foreign_keys(store: Store) -> None:
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
