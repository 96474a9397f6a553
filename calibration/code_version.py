"""Versions of code, for fingerprints: a hash of what the code *does*, not of how it is written.

The guarantee holds for the verifier, judge and loop code that calibration measured. A hash of
each module's syntax tree — docstrings dropped, comments and formatting never in it — changes
when the code changes and not when a comment or a line break does, so re-formatting does not
make an artifact stale while any change of behaviour does.
"""

from __future__ import annotations

import ast
import hashlib
import threading
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

_PARSING = threading.Lock()
"""CPython 3.11's ``ast.parse`` is not safe in two threads at once ("AST constructor recursion
depth mismatch", gh-106905): two servers in one process (tests) hash code concurrently."""


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def source_files(module: ModuleType) -> list[tuple[str, Path]]:
    """(name, file) of a module, or of every ``.py`` file of a package, in a stable order."""
    if hasattr(module, "__path__"):
        root = Path(next(iter(module.__path__)))
        return [
            (f"{module.__name__}/{path.relative_to(root).as_posix()}", path)
            for path in sorted(root.rglob("*.py"))
        ]
    if module.__file__ is None:
        raise ValueError(f"{module.__name__} has no source file")
    return [(module.__name__, Path(module.__file__))]


def code_version(modules: Iterable[ModuleType]) -> str:
    """``sha256:`` of the docstring-free syntax trees of ``modules`` (packages included whole)."""
    digest = hashlib.sha256()
    for name, path in sorted(f for m in modules for f in source_files(m)):
        with _PARSING:
            parsed = ast.parse(path.read_text(encoding="utf-8"), filename=name)
        tree = _without_docstrings(parsed)
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(ast.dump(tree, include_attributes=False).encode())
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()
