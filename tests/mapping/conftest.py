"""Guards for the mapping tests that touch osmnx: no network, no files in the project."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from mapping.config import PROJECT_ROOT


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a test tried to open a network connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture(autouse=True)
def _no_files_left_in_project(request: pytest.FixtureRequest) -> Iterator[None]:
    # osmnx's default cache and log folders, had anything run from the project root.
    watched = [PROJECT_ROOT / "cache", PROJECT_ROOT / "logs"]
    existed = {path: path.exists() for path in watched}
    yield
    for path in watched:
        assert path.exists() == existed[path], f"{request.node.name} created {path}"
