"""The guard: the forget set's verifier suite, the loop policy in force, and its life cycle.

Life cycle (:class:`GuardState`)::

    create ──model id known──▶ ACTIVE ◀──reload──▶ STALE
       │                         ▲
       └─ upstream down ─▶ DEFERRED ──ensure_active()──┘
                                 └── activation fails ──▶ FAILED ──reload──▶ ACTIVE/STALE

Without a forget set there is no guard at all (answers are ``bypassed``). Only ACTIVE and
STALE serve guarded answers; in UNLOADED, DEFERRED and FAILED guarded requests get 503 (fail
closed). UNLOADED is a served guard whose target store could not be read yet; its first
forget set makes it DEFERRED. A served guard's forget set comes from the target store
(:mod:`server.targets`) and is replaced live by :meth:`Guard.use_forget_set` without touching
the policy: a changed forget set is judged target by target (``coverage``: certified, or the
interim rule), never by making the artifact stale. No HTTP types here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from calibration.artifact import Artifact, Fingerprints
from server.backends.base import Message
from server.config import ConfigError, Settings, UnlearningSettings
from server.coverage import Coverage, CoverageRule, InterimView, strict, touched
from server.errors import ServiceUnavailableError
from server.guarded import GuardedSampling
from server.layered import LayeredSuite
from server.metrics import Metrics
from server.policy import (
    ActivePolicy,
    GuardStartError,
    current_fingerprints,
    policy_for,
    read_configured_artifact,
)
from server.protocol import Guarantee, VerifierReport, VerifyResponse
from server.store import GLOBAL
from verifiers.forgetset import ForgetSet, ForgetSetError, load_forget_set
from verifiers.registry import VerifierConfigError
from verifiers.suite import SuiteConfig, VerifierSuite
from verifiers.types import LeakageReport, Turn, VerifyContext

logger = logging.getLogger("lethe.guard")


class GuardState(StrEnum):
    UNLOADED = "unloaded"  # no forget set yet: the target store could not be read
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


def read_seed(path: Path) -> ForgetSet:
    """A seed file, validated before anything is written to a store (exit 2 when bad)."""
    try:
        return load_forget_set(path)
    except ForgetSetError as exc:
        raise GuardStartError(str(exc)) from exc


def judged_fingerprints(
    settings: Settings,
    forget_set: ForgetSet,
    config: SuiteConfig,
    model_id: str,
    artifact: Artifact | None,
) -> Fingerprints:
    """This server's fingerprints as a live guard compares them with ``artifact``: the forget
    set is judged target by target (coverage), so it never makes the artifact stale (a
    deletion request must not take the server out of its load balancer)."""
    current = current_fingerprints(settings, forget_set, config, model_id)
    if artifact is None or "forget_set" not in type(current).model_fields:
        return current
    return current.model_copy(update={"forget_set": artifact.fingerprints.forget_set})


def suite_config(settings: UnlearningSettings) -> SuiteConfig:
    return SuiteConfig(
        verifiers=tuple(settings.verifiers),
        aggregation=settings.aggregation,
        flag_threshold=settings.flag_threshold,
        timeout_s=settings.verifier_timeout_seconds,
        options=settings.verifier_options,
    )


PolicyListener = Callable[[CoverageRule], None]
Refresh = Callable[[], Awaitable[None]]
ArtifactSource = Callable[[], Artifact | None]


class Guard:
    """Checks candidate answers against the forget set and owns the loop policy.

    ``suite`` and ``policy`` are replaced together by :meth:`install` (hot reload), the suite
    alone by :meth:`use_forget_set` (a live forget-set change); a check reads ``suite`` when
    it starts, so it always runs against the newest forget set.

    A served guard is *live*: ``scopes`` names the forget sets its answers are checked against
    (the global one, and a tenant's own), ``refresh`` takes in other writers' changes before a
    request, and ``on_policy`` hears of each installed policy, whose certificate then judges
    which targets are interim; ``artifacts`` gives the artifact in force from the store (an
    offline guard reads the configured file). An offline guard (calibration, benchmarks) is
    none of that.
    """

    def __init__(
        self,
        suite: LayeredSuite | None,
        settings: Settings,
        metrics: Metrics,
        models: ModelSource | None = None,
        *,
        scopes: tuple[str, ...] | None = None,
        refresh: Refresh | None = None,
        on_policy: PolicyListener | None = None,
        artifacts: ArtifactSource | None = None,
    ) -> None:
        self._suite = suite
        self._settings = settings
        self._metrics = metrics
        self._models = models
        self._state = GuardState.DEFERRED if suite is not None else GuardState.UNLOADED
        self._policy: ActivePolicy | None = None
        self._activating = asyncio.Lock()
        self._live = scopes is not None
        self._scopes = scopes or (GLOBAL,)
        self._refresh = refresh
        self._on_policy = on_policy
        self._artifacts = artifacts
        self._interim = InterimView()
        self.artifact: Artifact | None = None
        self.model_id: str | None = None
        self._count_targets()

    @classmethod
    def from_settings(
        cls, settings: Settings, metrics: Metrics, models: ModelSource | None = None
    ) -> Guard | None:
        """The guard of the configured forget-set file, still DEFERRED (offline commands and
        tests); ``None`` without a forget set. A server's guards come from the store."""
        if settings.unlearning.forget_set is None:
            return None
        suite = LayeredSuite.single(build_suite(settings.unlearning))
        return cls(suite, settings, metrics, models)

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
    def scopes(self) -> tuple[str, ...]:
        return self._scopes

    @property
    def suite(self) -> LayeredSuite:
        """The verifiers of the forget set in force (503 before one was ever loaded)."""
        if self._suite is None:
            raise ServiceUnavailableError(
                "The forget set is not loaded yet (the target store cannot be read)."
            )
        return self._suite

    def use_forget_set(self, suite: LayeredSuite, interim: InterimView) -> None:
        """A new forget set from the store, in force from the next check; the policy stays."""
        self._suite, self._interim = suite, interim
        if self._state is GuardState.UNLOADED:
            self._state = GuardState.DEFERRED
        self._count_targets()

    def _count_targets(self) -> None:
        if self._suite is not None and self._scopes[-1] == GLOBAL:
            self._metrics.forget_set_targets.set(self._suite.size)

    @property
    def policy(self) -> ActivePolicy | None:
        """The policy in force, or ``None`` while no guarded answer may be served."""
        serving = self._state in (GuardState.ACTIVE, GuardState.STALE)
        return self._policy if serving else None

    def start(self) -> None:
        """Activate now if the model id is known, else stay DEFERRED (the upstream is down).
        Raises :class:`GuardStartError` when the configuration cannot be served."""
        if self._state is GuardState.UNLOADED:
            return  # nothing to activate yet; the first forget set makes it DEFERRED
        ids = self._models.model_ids() if self._models is not None else []
        if ids:
            self.activate(ids[0])
        elif self._state is GuardState.DEFERRED:
            logger.warning("upstream model not known yet; guarded requests get 503 until it is")

    def activate(self, model_id: str) -> ActivePolicy:
        """Resolve the loop policy and check the artifact against this configuration."""
        if self._artifacts is not None:
            artifact = self._artifacts()
        else:
            artifact = read_configured_artifact(self._settings.unlearning)
        policy = self.policy_for(artifact, model_id, running=False)
        self.model_id = model_id
        self.install(self.suite, artifact, policy)
        return policy

    def policy_for(
        self, artifact: Artifact | None, model_id: str | None = None, *, running: bool = True
    ) -> ActivePolicy:
        """The policy ``artifact`` gives this guard's configuration (stale or not)."""
        settings, suite = self._settings, self.suite
        model = model_id if model_id is not None else self.model_id or ""
        if self._live:
            current = judged_fingerprints(settings, suite.forget_set, suite.config, model, artifact)
        else:
            current = current_fingerprints(settings, suite.forget_set, suite.config, model)
        return policy_for(settings.unlearning, artifact, current, running=running)

    async def ensure_active(self) -> ActivePolicy:
        """The policy in force; a DEFERRED guard activates once the upstream answers.
        Raises 503 (:class:`ServiceUnavailableError`) while there is none."""
        if self._refresh is not None:
            await self._refresh()  # another writer's target is enforced from this request on
        if self._state is GuardState.UNLOADED:
            raise ServiceUnavailableError(
                "The forget set is not loaded yet (the target store cannot be read)."
            )
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
        self, suite: LayeredSuite, artifact: Artifact | None, policy: ActivePolicy
    ) -> LayeredSuite | None:
        """Switch to a new state in one step; returns the suite it replaced."""
        previous = self._suite
        self._suite, self.artifact, self._policy = suite, artifact, policy
        self._state = GuardState.STALE if policy.stale else GuardState.ACTIVE
        if self._scopes[-1] == GLOBAL:
            self._metrics.policy_stale.set(1 if policy.stale else 0)
        self._count_targets()
        if self._on_policy is not None:
            self._on_policy(CoverageRule(artifact, {}, policy.stale))
        return previous

    @property
    def sampling(self) -> GuardedSampling:
        """Sampling of guarded candidates: what the guarantee was measured with."""
        return GuardedSampling.of(self._settings.unlearning, self.artifact)

    @property
    def forget_set(self) -> ForgetSet:
        return self.suite.forget_set

    @property
    def forget_set_hash(self) -> str:
        """The hash of the forget set in force, without listing it."""
        return self.suite.hash

    async def check(self, messages: Sequence[Message], candidate: str) -> LeakageReport:
        """Verify one candidate in a worker thread (embedding tiers take milliseconds); a
        report that flags an interim target is a certain leak (the interim rule)."""
        suite, interim = self.suite, self._interim
        try:
            report = await asyncio.to_thread(suite.check, verify_context(messages), candidate)
        except RuntimeError as exc:  # executor shut down during reload or exit
            raise ServiceUnavailableError("The verifiers are not available.") from exc
        self._record(report)
        return strict(report, interim)

    def coverage(self, reports: Iterable[LeakageReport]) -> Coverage:
        """Which rule the answer these reports judged ran under: ``interim`` if any of them
        named an interim target (or the artifact is stale), else ``certified``."""
        policy = self.policy
        if policy is not None and policy.stale:
            return "interim"
        return "interim" if touched(reports, self._interim) else "certified"

    def with_coverage(
        self, guarantee: Guarantee | None, reports: Iterable[LeakageReport]
    ) -> Guarantee | None:
        if guarantee is None:
            return None
        return guarantee.model_copy(update={"coverage": self.coverage(reports)})

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
        if self._suite is not None:
            self._suite.close()


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
        forget_set=guard.forget_set_hash,
    )
