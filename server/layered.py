"""Several verifier suites checked as one: the layers of the forget sets in force.

A forget set changed live is not re-indexed whole (100,000 targets take seconds): each scope
keeps a main index and a small index of the targets written since, and a tenant's answers
are also checked against the global scope's layers. :class:`LayeredSuite` runs every layer
on a candidate and merges the verdicts per verifier, as if one suite held every target: the
highest score wins, the targets, spans, passages and feedback of every layer are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol, TypeVar

from verifiers.forgetset import ForgetSet
from verifiers.suite import SuiteConfig, VerifierSuite, aggregate
from verifiers.types import LeakageReport, Verdict, VerifyContext

T = TypeVar("T")


def _union(groups: Sequence[Sequence[T]]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(item for group in groups for item in group))


def merge_verdicts(verdicts: Sequence[Verdict], flag_threshold: float) -> Verdict:
    """One verifier's verdicts from several layers as one verdict."""
    best = max(verdicts, key=lambda verdict: verdict.score)  # the first on a tie
    if len(verdicts) == 1:
        return best
    flagged = [v for v in verdicts if v.score >= flag_threshold or v is best]
    return replace(
        best,
        targets=_union([v.targets for v in flagged]),
        feedback=_union([v.feedback for v in flagged]),
        evidence=_union([v.evidence for v in verdicts]),
        spans=_union([v.spans for v in flagged]),
        passages=_union([v.passages for v in flagged]),
        latency_ms=sum(v.latency_ms for v in verdicts),
        error=next((v.error for v in verdicts if v.error is not None), None),
    )


def merge_reports(reports: Sequence[LeakageReport], config: SuiteConfig) -> LeakageReport:
    """Reports of the same checks on the same candidate, one per layer, as one report."""
    if len(reports) == 1:
        return reports[0]
    by_name: dict[str, list[Verdict]] = {}
    for report in reports:
        for verdict in report.verdicts:
            by_name.setdefault(verdict.name, []).append(verdict)
    verdicts = tuple(merge_verdicts(group, config.flag_threshold) for group in by_name.values())
    score = aggregate([v.score for v in verdicts], config.aggregation)
    targets = _union([r.targets for r in reports])
    return LeakageReport(
        score=score,
        verdicts=verdicts,
        flagged=score >= config.flag_threshold,
        targets=targets,
    )


class Checker(Protocol):
    """What checks a candidate: a :class:`VerifierSuite` or a :class:`LayeredSuite`."""

    def check(self, context: VerifyContext, candidate: str) -> LeakageReport: ...


class LayeredSuite:
    """The verifier suites of one guard's forget set, checked together.

    ``forget_set`` is the set the layers enforce as a whole; a live one is built only when
    asked for (100,000 targets take milliseconds to list, on every write otherwise), while
    ``size`` and ``hash`` are known at once. The layers may briefly hold more than the set (a
    removed target stays in the base until it is rebuilt: fail closed). Layers are owned by
    whoever built them; :meth:`close` closes them only for a suite made by :meth:`single`.
    """

    def __init__(
        self,
        layers: Sequence[VerifierSuite],
        forget_set: ForgetSet | Callable[[], ForgetSet],
        config: SuiteConfig,
        *,
        size: int | None = None,
        hash: str | None = None,
        owns_layers: bool = False,
    ) -> None:
        if not layers:
            raise ValueError("a layered suite needs at least one layer")
        self.layers = tuple(layers)
        self.config = config
        self._forget_set = forget_set if isinstance(forget_set, ForgetSet) else None
        self._make = forget_set if not isinstance(forget_set, ForgetSet) else None
        self._lock = threading.Lock()
        known = self._forget_set
        self.size = size if size is not None else len(known) if known is not None else 0
        self.hash = hash if hash is not None else known.content_hash if known is not None else ""
        self._owns = owns_layers

    @classmethod
    def single(cls, suite: VerifierSuite) -> LayeredSuite:
        return cls((suite,), suite.forget_set, suite.config, owns_layers=True)

    @property
    def forget_set(self) -> ForgetSet:
        with self._lock:
            if self._forget_set is None:
                assert self._make is not None
                self._forget_set = self._make()
            return self._forget_set

    def check(self, context: VerifyContext, candidate: str) -> LeakageReport:
        reports = [layer.check(context, candidate) for layer in self.layers]
        return merge_reports(reports, self.config)

    def close(self) -> None:
        if self._owns:
            for layer in self.layers:
                layer.close()
