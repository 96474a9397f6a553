"""The guardrail's view of the verifier library: build the suite from settings, check answers
off the event loop, and record metrics. No HTTP types here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from calibration.artifact import Artifact
from server.backends.base import Message
from server.config import Settings, UnlearningSettings
from server.errors import ServiceUnavailableError
from server.metrics import Metrics
from server.policy import (
    ActivePolicy,
    ArtifactError,
    current_fingerprints,
    policy_for,
    read_configured_artifact,
)
from server.protocol import VerifierReport, VerifyResponse
from verifiers.forgetset import ForgetSet, ForgetSetError, load_forget_set
from verifiers.registry import VerifierConfigError
from verifiers.suite import SuiteConfig, VerifierSuite
from verifiers.types import LeakageReport, VerifyContext


class GuardConfigError(Exception):
    """The forget set or verifier configuration cannot be used; the server must not start."""


def verify_context(messages: Sequence[Message]) -> VerifyContext:
    """What the *user* has said. System prompts and retrieved documents are not counted as
    known: repeating a forget fact from a RAG context to the user is exactly the leak."""
    said = [m.content for m in messages if m.role == "user"]
    if not said:
        return VerifyContext(question="")
    return VerifyContext(question=said[-1], history=tuple(said[:-1]))


def build_suite(settings: UnlearningSettings) -> VerifierSuite:
    """Load the configured forget set and build its verifiers (seconds for embeddings)."""
    assert settings.forget_set is not None
    try:
        forget_set: ForgetSet = load_forget_set(settings.forget_set)
        return VerifierSuite(forget_set, suite_config(settings))
    except (ForgetSetError, VerifierConfigError) as exc:
        raise GuardConfigError(str(exc)) from exc


def suite_config(settings: UnlearningSettings) -> SuiteConfig:
    return SuiteConfig(
        verifiers=tuple(settings.verifiers),
        aggregation=settings.aggregation,
        flag_threshold=settings.flag_threshold,
        timeout_s=settings.verifier_timeout_seconds,
        options=settings.verifier_options,
    )


class Guard:
    """Checks candidate answers against the forget set.

    ``suite`` and ``policy`` are replaced together by :meth:`install` (hot reload); a check
    reads ``suite`` when it starts, so it always runs against the newest forget set.
    """

    def __init__(
        self, suite: VerifierSuite, metrics: Metrics, sampling: tuple[float, float] = (0.7, 0.95)
    ) -> None:
        self.suite = suite
        self._metrics = metrics
        self.sampling = sampling  # (temperature, top_p) of guarded candidates
        self.policy: ActivePolicy | None = None  # set at start-up, once the model is known
        self.artifact: Artifact | None = None
        self.model_id: str | None = None
        metrics.forget_set_targets.set(len(suite.forget_set.targets))

    def activate(self, settings: Settings, model_id: str) -> ActivePolicy:
        """Resolve the loop policy and check the artifact against this configuration."""
        current = current_fingerprints(settings, self.forget_set, self.suite.config, model_id)
        try:
            artifact = read_configured_artifact(settings.unlearning)
            policy = policy_for(settings.unlearning, artifact, current)
        except ArtifactError as exc:
            raise GuardConfigError(str(exc)) from exc
        self.model_id = model_id
        self.install(self.suite, artifact, policy)
        return policy

    def install(
        self, suite: VerifierSuite, artifact: Artifact | None, policy: ActivePolicy
    ) -> VerifierSuite:
        """Switch to a new state in one step; returns the suite it replaced."""
        previous = self.suite
        self.suite, self.artifact, self.policy = suite, artifact, policy
        self._metrics.policy_stale.set(1 if policy.stale else 0)
        self._metrics.forget_set_targets.set(len(suite.forget_set.targets))
        return previous

    @classmethod
    def from_settings(cls, settings: UnlearningSettings, metrics: Metrics) -> Guard | None:
        if settings.forget_set is None:
            return None
        return cls(build_suite(settings), metrics, (settings.temperature, settings.top_p))

    @property
    def forget_set(self) -> ForgetSet:
        return self.suite.forget_set

    async def check(self, messages: Sequence[Message], candidate: str) -> LeakageReport:
        """Verify one candidate in a worker thread (embedding tiers take milliseconds)."""
        try:
            report = await asyncio.to_thread(self.suite.check, verify_context(messages), candidate)
        except RuntimeError as exc:  # executor shut down during reload or exit
            raise ServiceUnavailableError("The verifiers are not available.") from exc
        self._record(report)
        return report

    async def check_all(
        self, messages: Sequence[Message], candidates: Sequence[str]
    ) -> list[LeakageReport]:
        return list(await asyncio.gather(*(self.check(messages, c) for c in candidates)))

    def _record(self, report: LeakageReport) -> None:
        self._metrics.leakage_score.observe(report.score)
        for verdict in report.verdicts:
            self._metrics.verifier_latency.labels(verdict.name).observe(verdict.latency_ms / 1000)
            if verdict.error is not None:
                reason = verdict.error.split(":")[0]
                self._metrics.verifier_failures.labels(verdict.name, reason).inc()

    def close(self) -> None:
        self.suite.close()


def verify_response(report: LeakageReport, guard: Guard) -> VerifyResponse:
    return VerifyResponse(
        leakage_score=round(report.score, 6),
        flagged=report.flagged,
        threshold=guard.suite.config.flag_threshold,
        targets=list(report.targets),
        verifiers=[
            VerifierReport(
                name=v.name,
                score=round(v.score, 6),
                latency_ms=round(v.latency_ms, 3),
                feedback=list(v.feedback),
                error=v.error,
            )
            for v in report.verdicts
        ],
        forget_set=guard.forget_set.content_hash,
    )
