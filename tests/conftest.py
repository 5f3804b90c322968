"""Shared fixtures: a fresh SQLite store per test, the real Newham demo once per session,
and the Flask app, client and CLI runner (as in Flask's tutorial app)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mapping.boroughs.demo import load_demo
from mapping.config import PROJECT_ROOT, Settings
from mapping.store.database import Store


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real open data (../shared/data, or MAPPING_DATA_DIR)."""
    path = Path(os.environ.get("MAPPING_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data"))
    if not (path / "newham").is_dir():
        pytest.fail(f"the shared open data is not at {path}; set MAPPING_DATA_DIR")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store at the newest schema, in a temporary SQLite file."""
    s = Store(f"sqlite:///{tmp_path / 'test.sqlite3'}")
    s.upgrade()
    yield s
    s.dispose()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A SQLite file with the Newham demo loaded once; tests copy it, never change it."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    s = Store(f"sqlite:///{path}")
    s.upgrade()
    load_demo(s, data_dir, progress=lambda _m: None)
    s.dispose()
    return path


@pytest.fixture
def demo_store(demo_db: Path, tmp_path: Path) -> Iterator[Store]:
    """A private copy of the loaded Newham demo."""
    copy = tmp_path / "demo.sqlite3"
    shutil.copy(demo_db, copy)
    s = Store(f"sqlite:///{copy}")
    yield s
    s.dispose()


@pytest.fixture
def settings(demo_store: Store, tmp_path: Path, data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, instance_dir=tmp_path / "instance",
                    database_url=demo_store.url, secret_key="test-secret")


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app({"TESTING": True, "MAPPING_SETTINGS": settings})
    yield app


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` over real HTTP on a free loopback port while the block runs; give its URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
