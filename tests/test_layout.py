"""The code's layout: one package per capability, small modules, and no import circle.

These read the source as text (``ast``); they import nothing of ours, so a circle shows
up here as a named cycle rather than as a half-initialised module somewhere else.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mapping", "web")
#: The house guide is "look again past about 400 lines"; past 500 a module must be split.
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "versions" in parts:  # Alembic revisions: a chain of their own, never imported
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph() -> nx.DiGraph:
    """Give our modules and packages, with an edge for every import, wherever it stands.

    Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first, so those count too.
    """
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                    + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                for dependency in (*_parents(target), target):
                    if dependency in modules and dependency != name and dependency not in _parents(name):
                        graph.add_edge(name, dependency)
    return graph


def test_no_import_circle() -> None:
    cycles = sorted(" -> ".join([*c, c[0]]) for c in nx.simple_cycles(import_graph()))
    assert cycles == []


def test_the_graph_sees_imports() -> None:
    # A checker that found no edges would pass the test above for nothing.
    graph = import_graph()
    assert graph.has_edge("mapping.cli.main", "mapping.cli.gaps")
    assert graph.has_edge("mapping.access.analysis", "mapping.funding.plan")
    assert graph.has_edge("web.gaps", "mapping.access")  # the package __init__ runs first


@pytest.mark.parametrize("path", sorted(_modules().values()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_500_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_every_capability_package_says_what_it_is_for() -> None:
    packages = [p for p in (ROOT / "mapping").iterdir() if (p / "__init__.py").is_file()
                and p.name != "__pycache__"]
    assert len(packages) >= 10
    for package in packages:
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 12 and "TODO" not in doc, package.name
