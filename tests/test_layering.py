"""The package layering of docs/development.md holds: ``bench → server → calibration →
verifiers``, nothing imports upward, and no module imports itself through others (imports
inside functions count too: a lazy import is still a dependency)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("verifiers", "calibration", "server", "bench")  # each may import only those before


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _parsed() -> dict[str, frozenset[str]]:
    modules = {_module(p): p for layer in LAYERS for p in (REPO / layer).rglob("*.py")}
    graph: dict[str, frozenset[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = frozenset(t for t in targets if t in modules and t != name)
    return graph


def _graph() -> dict[str, set[str]]:
    return {name: set(targets) for name, targets in _parsed().items()}


def test_nothing_imports_upward() -> None:
    upward = [
        (module, target)
        for module, targets in _graph().items()
        for target in targets
        if LAYERS.index(target.split(".")[0]) > LAYERS.index(module.split(".")[0])
    ]
    assert upward == []


def test_the_product_never_imports_bench() -> None:
    graph = _graph()
    assert not [
        m
        for m, ts in graph.items()
        if not m.startswith("bench") and any(t.startswith("bench") for t in ts)
    ]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles() -> None:
    graph = _graph()
    # A package's __init__ re-exporting its modules is not a cycle worth failing on.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("layer", LAYERS)
def test_every_layer_is_scanned(layer: str) -> None:
    assert any(m.split(".")[0] == layer for m in _graph())
