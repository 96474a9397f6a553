"""Hot reload of the forget set and the calibration artifact.

Files are polled (no inotify dependency; Kubernetes swaps ConfigMap and Secret volumes by
replacing a symlink, which a stat of the resolved path sees). A reload that fails validation
keeps the previous state; a forget set the artifact was not calibrated for makes the server
stale, exactly as at start-up with ``allow_stale`` (answers say ``"stale": true``, /ready 503).
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from calibration.artifact import Artifact
from server.config import Settings
from server.guard import Guard, build_suite
from server.metrics import Metrics
from server.policy import (
    ActivePolicy,
    GuardStartError,
    current_fingerprints,
    policy_for,
    read_configured_artifact,
)
from verifiers.suite import VerifierSuite

logger = logging.getLogger("lethe.reload")

Resource = Literal["forget_set", "artifact"]
Outcome = Literal["ok", "unchanged", "failed"]
# A replaced suite may still be checking a candidate; close it once that must be over.
RETIRE_AFTER_MIN_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class FileStamp:
    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path | None) -> FileStamp | None:
        if path is None:
            return None
        try:
            st = os.stat(path)  # follows symlinks: a swapped ..data link shows a new inode
        except OSError:
            return None
        return cls(st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass(frozen=True, slots=True)
class ResourceResult:
    outcome: Outcome
    error: str | None = None  # file, line and field only: never forget-set content


@dataclass(frozen=True, slots=True)
class ReloadReport:
    forget_set: ResourceResult
    artifact: ResourceResult
    stale: bool
    forget_set_hash: str
    artifact_id: str | None

    @property
    def failed(self) -> bool:
        return "failed" in (self.forget_set.outcome, self.artifact.outcome)


@dataclass(slots=True)
class _Staged:
    """What a reload built off the event loop, applied in one step on it."""

    suite: VerifierSuite
    artifact: Artifact | None
    results: dict[Resource, ResourceResult] = field(default_factory=dict)
    policy: ActivePolicy | None = None


class Reloader:
    """Watches the configured files and swaps the guard's state when they change."""

    def __init__(self, guard: Guard, settings: Settings, metrics: Metrics) -> None:
        self._guard = guard
        self._settings = settings
        self._metrics = metrics
        self._lock = asyncio.Lock()
        self._paths: dict[Resource, Path | None] = {
            "forget_set": settings.unlearning.forget_set,
            "artifact": settings.unlearning.artifact,
        }
        self._stamps = {name: FileStamp.of(path) for name, path in self._paths.items()}
        self._retire_after = max(
            RETIRE_AFTER_MIN_SECONDS, 2 * settings.unlearning.verifier_timeout_seconds
        )
        self._retired: list[VerifierSuite] = []

    async def reload(self, *, force: bool = False) -> ReloadReport:
        """Reload what changed on disk (everything if ``force``)."""
        async with self._lock:
            stamps = {name: FileStamp.of(path) for name, path in self._paths.items()}
            changed = {
                name
                for name, path in self._paths.items()
                if path is not None and (force or stamps[name] != self._stamps[name])
            }
            self._stamps = stamps  # a broken file is retried when it changes again, not in a loop
            staged = await asyncio.to_thread(self._stage, changed)
            return self._apply(staged)

    async def watch(self, interval: float) -> None:
        """Poll until cancelled; errors are logged, never raised (the server keeps serving)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reload()
            except Exception:
                logger.exception("reload check failed; keeping the current state")

    def close(self) -> None:
        for suite in self._retired:
            suite.close()
        self._retired.clear()

    def _stage(self, changed: set[Resource]) -> _Staged:
        guard, unlearning = self._guard, self._settings.unlearning
        staged = _Staged(guard.suite, guard.artifact)
        staged.results["forget_set"] = ResourceResult("unchanged")
        staged.results["artifact"] = ResourceResult("unchanged")
        if "forget_set" in changed:
            try:
                suite = build_suite(unlearning)
            except GuardStartError as exc:
                staged.results["forget_set"] = ResourceResult("failed", str(exc))
            else:
                if suite.forget_set.content_hash == guard.suite.forget_set.content_hash:
                    suite.close()  # same content (e.g. touched or re-mounted): keep the warm one
                else:
                    staged.suite = suite
                    staged.results["forget_set"] = ResourceResult("ok")
        if "artifact" in changed:
            try:
                staged.artifact = read_configured_artifact(unlearning)
            except GuardStartError as exc:
                staged.results["artifact"] = ResourceResult("failed", str(exc))
            else:
                staged.results["artifact"] = ResourceResult("ok")
        if any(r.outcome == "ok" for r in staged.results.values()):
            staged.policy = self._policy(staged.suite, staged.artifact)
        return staged

    def _policy(self, suite: VerifierSuite, artifact: Artifact | None) -> ActivePolicy:
        model_id = self._guard.model_id or ""
        current = current_fingerprints(self._settings, suite.forget_set, suite.config, model_id)
        return policy_for(self._settings.unlearning, artifact, current, running=True)

    def _apply(self, staged: _Staged) -> ReloadReport:
        guard = self._guard
        if staged.policy is not None:
            previous = guard.install(staged.suite, staged.artifact, staged.policy)
            if previous is not staged.suite:
                self._retire(previous)
        for name, result in staged.results.items():
            if result.outcome == "unchanged":
                continue
            self._metrics.reloads.labels(name, result.outcome).inc()
            if result.outcome == "failed":
                logger.error(
                    "reload of %s failed, keeping the previous one: %s", name, result.error
                )
        policy = guard.policy
        report = ReloadReport(
            forget_set=staged.results["forget_set"],
            artifact=staged.results["artifact"],
            stale=policy is not None and policy.stale,
            forget_set_hash=guard.forget_set.content_hash,
            artifact_id=guard.artifact.artifact_id() if guard.artifact is not None else None,
        )
        if staged.policy is not None:
            logger.info(
                "reloaded: forget set %s (%d targets), artifact %s, stale %s",
                report.forget_set_hash[:12],
                len(guard.forget_set.targets),
                report.artifact_id,
                report.stale,
            )
        return report

    def _retire(self, suite: VerifierSuite) -> None:
        self._retired.append(suite)

        def close() -> None:
            if suite in self._retired:
                self._retired.remove(suite)
                suite.close()

        asyncio.get_running_loop().call_later(self._retire_after, close)
