"""Verifier registry: a decorator that records what a check is, nothing more.

A check is a plain function ``(VerifyContext, ForgetIndex, candidate) -> Verdict``. Costly
per-forget-set state (automata, embeddings, clients) lives in the :class:`ForgetIndex`, built
once when the forget set is loaded, by the check's optional ``prepare`` hook.

Where checks come from: the built-ins are listed in :data:`BUILTIN` by module and imported
the first time their name is asked for (the registry never imports the checks, which import
it); a third-party package registers its checks under the ``lethe.verifiers`` entry-point
group (``name = "package.module"``); tests and scripts may also just apply ``@verifier``.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from verifiers.forgetset import ForgetSet
from verifiers.types import Tier, Verdict, VerifyContext


class VerifierConfigError(Exception):
    """A verifier name or option is wrong, or its optional dependencies are missing."""


@dataclass
class ForgetIndex:
    """A forget set plus whatever the enabled checks precomputed for it."""

    forget_set: ForgetSet
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def resource(self, key: str, build: Callable[[], Any]) -> Any:
        """Build-once cache, safe when two worker threads ask at the same time."""
        with self._lock:
            if key not in self.resources:
                self.resources[key] = build()
            return self.resources[key]

    def options_for(self, name: str) -> Mapping[str, Any]:
        return self.options.get(name, {})


CheckFn = Callable[[VerifyContext, ForgetIndex, str], Verdict]
PrepareFn = Callable[[ForgetIndex], None]


@dataclass(frozen=True)
class VerifierSpec:
    name: str
    tier: Tier
    check: CheckFn
    description: str
    prepare: PrepareFn | None = None
    # Lexical checks are bounded and microseconds-fast; they run inline, without a thread hop.
    inline: bool = False


_REGISTRY: dict[str, VerifierSpec] = {}

BUILTIN: Mapping[str, str] = {
    "entity": "verifiers.checks.entity",
    "fact": "verifiers.checks.fact",
    "semantic": "verifiers.checks.semantic",
    "llm": "verifiers.checks.llm",
}
"""Built-in check name -> the module whose ``@verifier`` registers it."""

RENAMED: Mapping[str, str] = {"judge": "llm"}
"""Old names still accepted in configurations (the LLM verifier was called ``judge``)."""

ENTRY_POINT_GROUP = "lethe.verifiers"
logger = logging.getLogger("lethe.verifiers")


def verifier(
    name: str,
    *,
    tier: Tier,
    description: str,
    prepare: PrepareFn | None = None,
    inline: bool = False,
) -> Callable[[CheckFn], CheckFn]:
    """Register ``check`` under ``name``. The function itself is returned unchanged."""

    def register(check: CheckFn) -> CheckFn:
        if name in _REGISTRY and _REGISTRY[name].check is not check:
            raise VerifierConfigError(f"verifier {name!r} is registered twice")
        _REGISTRY[name] = VerifierSpec(name, tier, check, description, prepare, inline)
        return check

    return register


def _import(name: str) -> None:
    """Import the module that registers ``name``: a built-in, else a plugin entry point."""
    module = BUILTIN.get(name)
    if module is not None:
        importlib.import_module(module)
        return
    for point in entry_points(group=ENTRY_POINT_GROUP, name=name):
        importlib.import_module(point.value.partition(":")[0])


def canonical_name(name: str) -> str:
    if name in RENAMED:
        logger.warning("verifier %r is now called %r; please rename it", name, RENAMED[name])
        return RENAMED[name]
    return name


def get_verifier(name: str) -> VerifierSpec:
    name = canonical_name(name)
    if name not in _REGISTRY:
        _import(name)
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted({*BUILTIN, *_REGISTRY}))
        raise VerifierConfigError(f"unknown verifier {name!r}; known: {known}") from None


def registered() -> list[VerifierSpec]:
    """Every check this process can run: built-ins, plugins and in-process registrations."""
    for name in (*BUILTIN, *(p.name for p in entry_points(group=ENTRY_POINT_GROUP))):
        _import(name)
    return sorted(_REGISTRY.values(), key=lambda spec: spec.name)
