"""Run the configured checks on a candidate and aggregate them into one leakage score.

Each check also reads the candidate's decoded readings (base64, spelled-out or vertical
letters, leetspeak: :mod:`verifiers.decode`) and the candidate with its references to earlier
turns written out (:mod:`verifiers.references`), and keeps its highest score.

Every failure fails closed: a check that raises, times out, or returns no verdict or a score
that is not a number in [0, 1] counts as a certain leak (score 1).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Any

from verifiers.decode import readings
from verifiers.forgetset import ForgetSet
from verifiers.references import dereferenced
from verifiers.registry import ForgetIndex, VerifierSpec, get_verifier
from verifiers.types import Aggregation, LeakageReport, Span, Verdict, VerifyContext

logger = logging.getLogger("lethe.verifiers")

FAILED_FEEDBACK = (
    "A safety check could not complete. Answer without naming or describing any person, "
    "work or fact you were told to forget."
)


@dataclass(frozen=True)
class SuiteConfig:
    verifiers: tuple[str, ...] = ("entity", "fact")
    aggregation: Aggregation = "max"
    flag_threshold: float = 0.5
    timeout_s: float = 5.0
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Hash of everything that changes scores; goes into calibration artifacts."""
        blob = json.dumps(
            {
                "verifiers": list(self.verifiers),
                "aggregation": self.aggregation,
                "flag_threshold": self.flag_threshold,
                "options": {k: dict(v) for k, v in sorted(self.options.items())},
            },
            sort_keys=True,
            default=str,
        )
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def aggregate(scores: Sequence[float], how: Aggregation) -> float:
    if not scores:
        return 0.0
    if how == "max":
        return max(scores)
    if how == "mean":
        return sum(scores) / len(scores)
    survive = 1.0
    for score in scores:
        survive *= 1.0 - score
    return 1.0 - survive


def _failed(spec: VerifierSpec, reason: str, started: float) -> Verdict:
    return Verdict(
        name=spec.name,
        score=1.0,
        feedback=(FAILED_FEEDBACK,),
        latency_ms=(time.perf_counter() - started) * 1000,
        error=reason,
    )


class VerifierSuite:
    """The enabled checks for one forget set. Thread-safe; build once, reuse."""

    def __init__(self, forget_set: ForgetSet, config: SuiteConfig | None = None) -> None:
        self.config = config or SuiteConfig()
        self.specs = [get_verifier(name) for name in self.config.verifiers]
        self.index = ForgetIndex(forget_set, self.config.options)
        for spec in self.specs:
            if spec.prepare is not None:
                spec.prepare(self.index)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lethe-verify")

    @property
    def forget_set(self) -> ForgetSet:
        return self.index.forget_set

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def check(self, context: VerifyContext, candidate: str) -> LeakageReport:
        resolved = dereferenced(candidate, context)
        views = (candidate, *readings(candidate), *((resolved,) if resolved else ()))
        verdicts = tuple(self._run_views(spec, context, views) for spec in self.specs)
        score = aggregate([v.score for v in verdicts], self.config.aggregation)
        flagged = score >= self.config.flag_threshold
        targets: dict[str, None] = {}
        for verdict in verdicts:
            if verdict.score >= self.config.flag_threshold:
                targets.update(dict.fromkeys(verdict.targets))
        return LeakageReport(
            score=score, verdicts=verdicts, flagged=flagged, targets=tuple(targets)
        )

    def _run_views(
        self, spec: VerifierSpec, context: VerifyContext, views: Sequence[str]
    ) -> Verdict:
        """The check on the candidate and on each decoded reading of it; the highest score
        wins (the candidate's own verdict on a tie), so a reading never lowers a score."""
        verdicts = [self._run(spec, context, view) for view in views]
        best = max(verdicts, key=lambda verdict: verdict.score)
        if len(verdicts) == 1:
            return best
        if best is not verdicts[0] and best.spans:
            # Offsets into a decoded reading mean nothing in the candidate: the whole
            # candidate carries the leak.
            whole = {Span(s.target_id, 0, len(views[0])) for s in best.spans}
            best = replace(best, spans=tuple(sorted(whole, key=lambda s: s.target_id)))
        return replace(best, latency_ms=sum(verdict.latency_ms for verdict in verdicts))

    def _run(self, spec: VerifierSpec, context: VerifyContext, candidate: str) -> Verdict:
        started = time.perf_counter()
        timeout = self.config.timeout_s
        try:
            if spec.inline:
                verdict = spec.check(context, self.index, candidate)
            else:
                future = self._pool.submit(spec.check, context, self.index, candidate)
                verdict = future.result(timeout=timeout)
        except FutureTimeout:
            logger.warning("verifier %s timed out after %.1fs", spec.name, timeout)
            return _failed(spec, "timeout", started)
        except Exception as exc:
            # Type only: an exception message could quote the candidate or a fact.
            logger.warning("verifier %s raised %s", spec.name, type(exc).__name__)
            return _failed(spec, f"error: {type(exc).__name__}", started)
        elapsed = time.perf_counter() - started
        if elapsed > timeout:
            return _failed(spec, "timeout", started)
        if not isinstance(verdict, Verdict):
            return _failed(spec, "invalid verdict", started)
        if not isinstance(verdict.score, int | float) or not math.isfinite(verdict.score):
            return _failed(spec, "invalid score", started)
        if not 0.0 <= verdict.score <= 1.0:
            return _failed(spec, "score out of range", started)
        return replace(verdict, name=spec.name, latency_ms=elapsed * 1000)
