"""Verifier registry: a decorator that records what a check is, nothing more.

A check is a plain function ``(VerifyContext, ForgetIndex, candidate) -> Verdict``. Costly
per-forget-set state (automata, embeddings, clients) lives in the :class:`ForgetIndex`, built
once when the forget set is loaded, by the check's optional ``prepare`` hook.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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


def _load_builtins() -> None:
    # Importing registers them. Optional tiers import their heavy dependencies lazily.
    from verifiers import checks  # noqa: F401


def get_verifier(name: str) -> VerifierSpec:
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise VerifierConfigError(f"unknown verifier {name!r}; known: {known}") from None


def registered() -> list[VerifierSpec]:
    _load_builtins()
    return sorted(_REGISTRY.values(), key=lambda spec: spec.name)
