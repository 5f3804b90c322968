import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from mapping.store.database import Store, StoreNotReadyError
from mapping.store.models import Area, AreaLayer, Asset, Base, RecordHistory, User


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


def _migrate(store: Store, to: str, *, down: bool = False) -> None:
    cfg = store._alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, to)


def test_area_layer_version_migrates_both_ways_keeping_every_area(tmp_path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    _migrate(s, "0004")
    with s.engine.begin() as conn:
        conn.execute(text("INSERT INTO area_layers (id, name, title, created_at) "
                          "VALUES (1, 'wards', 'Wards', '2026-01-01')"))
        for code in ("E05000001", "E05000002"):
            conn.execute(text("INSERT INTO areas (layer_id, code, name, geometry_wkb, attributes) "
                              "VALUES (1, :code, 'TEST', x'00', '{}')"), {"code": code})

    _migrate(s, "head")
    with s.engine.connect() as conn:
        assert conn.execute(text("SELECT version FROM area_layers")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM areas")).scalar() == 2
    _migrate(s, "0004", down=True)

    with s.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM areas")).scalar() == 2  # not cascaded away
        columns = [row[1] for row in conn.execute(text("PRAGMA table_info(area_layers)"))]
    assert "version" not in columns


FLAT_LAYOUT_STORE = Path(__file__).resolve().parents[2] / "data" / "stores" / "flat_layout_0003.sql"


def test_a_store_made_by_the_flat_layout_upgrades_with_every_record(tmp_path) -> None:
    # The SQL dump was written by the code before mapping/ became packages (see its header).
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(FLAT_LAYOUT_STORE.read_text(encoding="utf-8"))
    s = Store(f"sqlite:///{path}")
    assert s.current_revision() == "0003"
    with pytest.raises(StoreNotReadyError):
        s.check_ready()

    assert s.upgrade() == s.head_revision()
    s.check_ready()
    with s.session() as session:
        assets = sorted(session.scalars(select(Asset.name)))
        assert assets == ["SYNTHETIC test café", "SYNTHETIC test hall"]
        assert session.scalar(select(func.count()).select_from(Area)) == 2
        assert session.scalar(select(AreaLayer.version)) == 1
        assert session.scalar(select(User.username)) == "officer1"
        assert session.scalar(select(func.count()).select_from(RecordHistory)) == 2
    s.dispose()


def test_care_site_columns_migrate_both_ways_keeping_every_asset(tmp_path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    _migrate(s, "0006")
    with s.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO assets (external_id, name, category, lon, lat, status, source, version, "
            "created_at, updated_at) VALUES ('a1', 'TEST', 'homecare', 0.03, 51.52, 'active', "
            "'import', 1, '2026-01-01', '2026-01-01')"))
    _migrate(s, "head")
    with s.engine.connect() as conn:
        row = conn.execute(text("SELECT name, cqc_location_id, registered_on, located_by "
                                "FROM assets")).one()
        assert tuple(row) == ("TEST", None, None, None)
        assert conn.execute(text("SELECT count(*) FROM postcodes")).scalar() == 0
    _migrate(s, "0006", down=True)
    with s.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM assets")).scalar() == 1
        columns = [r[1] for r in conn.execute(text("PRAGMA table_info(assets)"))]
    assert "cqc_location_id" not in columns and "located_by" not in columns
