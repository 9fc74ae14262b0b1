"""The engine's shape: small modules, no import cycle hidden in a function, and interfaces that
call the facade only (DESIGN.md's layers; STYLE.md rule 8)."""

from __future__ import annotations

import ast
from graphlib import TopologicalSorter
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "movierec"
MAX_LINES = 400


def _modules(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (SRC / package).rglob("*.py"))


def _names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return [alias.name for alias in node.names] if isinstance(node, ast.Import) else []


def _engine_imports(tree: ast.Module) -> list[ast.AST]:
    return [
        node
        for node in ast.walk(tree)
        if any(name.startswith("movierec.engine") for name in _names(node))
    ]


@pytest.mark.parametrize(
    "path", _modules("engine", "api", "cli"), ids=lambda path: str(path.relative_to(SRC))
)
def test_modules_stay_reviewable(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_engine_modules_import_each_other_at_the_top_without_a_cycle():
    graph: dict[str, set[str]] = {}
    for path in _modules("engine"):
        tree = ast.parse(path.read_text())
        deps = set()
        for node in _engine_imports(tree):
            # not in a function, nor under `if TYPE_CHECKING:`: no cycle is dodged
            assert node in tree.body, f"{path.name}, line {node.lineno}: a nested engine import"
            assert isinstance(node, ast.ImportFrom) and node.module
            parts = node.module.split(".")
            deps |= {parts[2]} if len(parts) > 2 else {alias.name for alias in node.names}
        graph[path.stem] = deps
    order = list(TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    assert order.index("catalog") < order.index("online") and "core" not in set().union(
        *(deps for name, deps in graph.items() if name != "core")
    )


def test_interfaces_call_the_facade_only():
    for path in _modules("api", "cli"):
        for node in _engine_imports(ast.parse(path.read_text())):
            modules = _names(node)
            assert modules == ["movierec.engine.core"], f"{path.relative_to(SRC)}: {modules}"
