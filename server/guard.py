"""The guard: the forget set's verifier suite, the loop policy in force, and its life cycle.

Life cycle (:class:`GuardState`)::

    create ──model id known──▶ ACTIVE ◀──reload──▶ STALE
       │                         ▲
       └─ upstream down ─▶ DEFERRED ──ensure_active()──┘
                                 └── activation fails ──▶ FAILED ──reload──▶ ACTIVE/STALE

Without a forget set there is no guard at all (answers are ``bypassed``). Only ACTIVE and
STALE serve guarded answers; in DEFERRED and FAILED guarded requests get 503 (fail closed).
No HTTP types here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from calibration.artifact import Artifact
from server.backends.base import Message
from server.config import ConfigError, Settings, UnlearningSettings
from server.errors import ServiceUnavailableError
from server.guarded import GuardedSampling
from server.metrics import Metrics
from server.policy import (
    ActivePolicy,
    GuardStartError,
    current_fingerprints,
    policy_for,
    read_configured_artifact,
)
from server.protocol import VerifierReport, VerifyResponse
from verifiers.forgetset import ForgetSet, ForgetSetError, load_forget_set
from verifiers.registry import VerifierConfigError
from verifiers.suite import SuiteConfig, VerifierSuite
from verifiers.types import LeakageReport, Turn, VerifyContext

logger = logging.getLogger("lethe.guard")


class GuardState(StrEnum):
    DEFERRED = "deferred"  # forget set loaded; the upstream's model id is not known yet
    ACTIVE = "active"  # a policy is in force and the artifact (if any) is current
    STALE = "stale"  # a policy is in force from an artifact calibrated for another setup
    FAILED = "failed"  # a deferred activation failed; only a reload can install a policy


class ModelSource(Protocol):
    """What the guard needs from the backend to activate: the served model's id."""

    def model_ids(self) -> list[str]: ...

    async def ready(self) -> bool: ...


def verify_context(messages: Sequence[Message]) -> VerifyContext:
    """The conversation before the candidate. ``question``/``history`` are what the *user*
    said (known to them); ``turns`` is every message in order, every role, so the checks read
    earlier assistant turns with the candidate and point at system, tool and assistant
    passages. System prompts and retrieved documents are not counted as known: repeating a
    forget fact from a RAG context to the user is exactly the leak."""
    turns = tuple(
        # A message as text: its content, then the arguments of the tools it called.
        Turn(m.role, "\n".join([m.content, *(f"{c.name}({c.arguments})" for c in m.tool_calls)]))
        for m in messages
    )
    said = [m.content for m in messages if m.role == "user"]
    if not said:
        return VerifyContext(question="", turns=turns)
    return VerifyContext(question=said[-1], history=tuple(said[:-1]), turns=turns)


def build_suite(settings: UnlearningSettings) -> VerifierSuite:
    """Load the configured forget set and build its verifiers (seconds for embeddings)."""
    assert settings.forget_set is not None
    try:
        forget_set: ForgetSet = load_forget_set(settings.forget_set)
        return VerifierSuite(forget_set, suite_config(settings))
    except (ForgetSetError, VerifierConfigError) as exc:
        raise GuardStartError(str(exc)) from exc


def suite_config(settings: UnlearningSettings) -> SuiteConfig:
    return SuiteConfig(
        verifiers=tuple(settings.verifiers),
        aggregation=settings.aggregation,
        flag_threshold=settings.flag_threshold,
        timeout_s=settings.verifier_timeout_seconds,
        options=settings.verifier_options,
    )


class Guard:
    """Checks candidate answers against the forget set and owns the loop policy.

    ``suite`` and ``policy`` are replaced together by :meth:`install` (hot reload); a check
    reads ``suite`` when it starts, so it always runs against the newest forget set.
    """

    def __init__(
        self,
        suite: VerifierSuite,
        settings: Settings,
        metrics: Metrics,
        models: ModelSource | None = None,
    ) -> None:
        self.suite = suite
        self._settings = settings
        self._metrics = metrics
        self._models = models
        self._state = GuardState.DEFERRED
        self._policy: ActivePolicy | None = None
        self._activating = asyncio.Lock()
        self.artifact: Artifact | None = None
        self.model_id: str | None = None
        metrics.forget_set_targets.set(len(suite.forget_set.targets))

    @classmethod
    def from_settings(
        cls, settings: Settings, metrics: Metrics, models: ModelSource | None = None
    ) -> Guard | None:
        """The configured guard, still DEFERRED; ``None`` without a forget set."""
        if settings.unlearning.forget_set is None:
            return None
        return cls(build_suite(settings.unlearning), settings, metrics, models)

    @classmethod
    def required(cls, settings: Settings, command: str) -> Guard:
        """The guard an offline command (calibrate, verify, a benchmark) cannot run without."""
        guard = cls.from_settings(settings, Metrics())
        if guard is None:
            raise ConfigError(f"{command} needs unlearning.forget_set in the configuration")
        return guard

    @property
    def state(self) -> GuardState:
        return self._state

    @property
    def policy(self) -> ActivePolicy | None:
        """The policy in force, or ``None`` while no guarded answer may be served."""
        serving = self._state in (GuardState.ACTIVE, GuardState.STALE)
        return self._policy if serving else None

    def start(self) -> None:
        """Activate now if the model id is known, else stay DEFERRED (the upstream is down).
        Raises :class:`GuardStartError` when the configuration cannot be served."""
        ids = self._models.model_ids() if self._models is not None else []
        if ids:
            self.activate(ids[0])
        elif self._state is GuardState.DEFERRED:
            logger.warning("upstream model not known yet; guarded requests get 503 until it is")

    def activate(self, model_id: str) -> ActivePolicy:
        """Resolve the loop policy and check the artifact against this configuration."""
        settings = self._settings
        current = current_fingerprints(settings, self.forget_set, self.suite.config, model_id)
        artifact = read_configured_artifact(settings.unlearning)
        policy = policy_for(settings.unlearning, artifact, current)
        self.model_id = model_id
        self.install(self.suite, artifact, policy)
        return policy

    async def ensure_active(self) -> ActivePolicy:
        """The policy in force; a DEFERRED guard activates once the upstream answers.
        Raises 503 (:class:`ServiceUnavailableError`) while there is none."""
        if self.policy is None and self._state is GuardState.DEFERRED:
            async with self._activating:  # one request activates; the others wait for it
                await self._activate_deferred()
        if self.policy is None:  # a forget set without a policy must not serve (fail closed)
            raise ServiceUnavailableError("The unlearning policy is not active yet.")
        return self.policy

    async def _activate_deferred(self) -> None:
        if self._state is not GuardState.DEFERRED or self._models is None:
            return
        if not self._models.model_ids() and not await self._models.ready():
            return
        ids = self._models.model_ids()
        if not ids:
            return
        try:
            self.activate(ids[0])
        except GuardStartError as exc:
            self._state = GuardState.FAILED
            logger.error("the unlearning policy cannot be activated: %s", exc)

    def install(
        self, suite: VerifierSuite, artifact: Artifact | None, policy: ActivePolicy
    ) -> VerifierSuite:
        """Switch to a new state in one step; returns the suite it replaced."""
        previous = self.suite
        self.suite, self.artifact, self._policy = suite, artifact, policy
        self._state = GuardState.STALE if policy.stale else GuardState.ACTIVE
        self._metrics.policy_stale.set(1 if policy.stale else 0)
        self._metrics.forget_set_targets.set(len(suite.forget_set.targets))
        return previous

    @property
    def sampling(self) -> GuardedSampling:
        """Sampling of guarded candidates: what the guarantee was measured with."""
        return GuardedSampling.of(self._settings.unlearning)

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
