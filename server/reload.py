"""Hot reload of the seed forget-set files and the calibration artifacts, per scope.

Files are polled (no inotify dependency; Kubernetes swaps ConfigMap and Secret volumes by
replacing a symlink, which a stat of the resolved path sees). A changed seed file is written
to the target store (:meth:`LiveTargets.seed`), so every replica takes it in; so is a changed
artifact file (:meth:`LiveTargets.seed_artifact`: published unless that very artifact was
before), which the guards then install from the store. A scope's artifact file is its own
(a tenant without one runs under the global artifact). A reload that fails validation keeps
the previous state. A
forget set that changes is judged target by target (coverage), never by making the artifact
stale; an artifact made for another model, verifier set, sampling or prompt still is stale.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from server.artifacts import artifact_files, read_artifact_file
from server.config import Settings
from server.guard import Guard, read_seed
from server.metrics import Metrics
from server.policy import GuardStartError
from server.store import GLOBAL, StoreError
from server.targets import LiveTargets
from server.tenants import scope_settings

logger = logging.getLogger("lethe.reload")

Resource = Literal["forget_set", "artifact"]
Outcome = Literal["ok", "unchanged", "failed"]
_RANK: dict[Outcome, int] = {"unchanged": 0, "ok": 1, "failed": 2}


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

    def worst(self, other: ResourceResult) -> ResourceResult:
        return other if _RANK[other.outcome] > _RANK[self.outcome] else self


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


Key = tuple[str, Resource]


class Reloader:
    """Watches every scope's seed file and artifact and applies their changes."""

    def __init__(
        self, guards: Mapping[str, Guard], live: LiveTargets, settings: Settings, metrics: Metrics
    ) -> None:
        self._guards = guards
        self._live = live
        self._metrics = metrics
        self._settings = {scope: scope_settings(settings, scope) for scope in guards}
        self._paths: dict[Key, Path | None] = {}
        own_artifacts = artifact_files(settings)
        for scope, scoped in self._settings.items():
            self._paths[(scope, "forget_set")] = scoped.unlearning.forget_set
            self._paths[(scope, "artifact")] = own_artifacts.get(scope)
        self._stamps = {key: FileStamp.of(path) for key, path in self._paths.items()}
        self._lock = asyncio.Lock()

    async def reload(self, *, force: bool = False) -> ReloadReport:
        """Reload what changed on disk (everything if ``force``)."""
        async with self._lock:
            stamps = {key: FileStamp.of(path) for key, path in self._paths.items()}
            changed = [
                key
                for key, path in self._paths.items()
                if path is not None and (force or stamps[key] != self._stamps[key])
            ]
            self._stamps = stamps  # a broken file is retried when it changes again, not in a loop
            results: dict[Resource, ResourceResult] = {
                "forget_set": ResourceResult("unchanged"),
                "artifact": ResourceResult("unchanged"),
            }
            for scope, resource in changed:
                if resource == "forget_set":
                    result = await self._seed(scope)
                else:
                    result = await self._artifact(scope)
                self._count(resource, result)
                results[resource] = results[resource].worst(result)
            return self._report(results)

    async def watch(self, interval: float) -> None:
        """Poll until cancelled; errors are logged, never raised (the server keeps serving)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reload()
            except Exception:
                logger.exception("reload check failed; keeping the current state")

    async def _seed(self, scope: str) -> ResourceResult:
        path = self._paths[(scope, "forget_set")]
        assert path is not None
        try:
            seed = await asyncio.to_thread(read_seed, path)
            written = await self._live.seed(scope, seed)
        except GuardStartError as exc:
            return ResourceResult("failed", str(exc))
        except StoreError:
            return ResourceResult("failed", f"{path}: the target store cannot be written")
        return ResourceResult("ok" if written else "unchanged")

    async def _artifact(self, scope: str) -> ResourceResult:
        path = self._paths[(scope, "artifact")]
        assert path is not None
        try:
            artifact = await asyncio.to_thread(read_artifact_file, path)
            published = await self._live.seed_artifact(scope, artifact)
        except GuardStartError as exc:
            return ResourceResult("failed", str(exc))
        except StoreError:
            return ResourceResult("failed", f"{path}: the target store cannot be written")
        return ResourceResult("ok" if published else "unchanged")

    def _count(self, resource: Resource, result: ResourceResult) -> None:
        if result.outcome == "unchanged":
            return
        self._metrics.reloads.labels(resource, result.outcome).inc()
        if result.outcome == "failed":
            logger.error(
                "reload of %s failed, keeping the previous one: %s", resource, result.error
            )

    def _report(self, results: dict[Resource, ResourceResult]) -> ReloadReport:
        guard = self._guards[GLOBAL]
        policy = guard.policy
        report = ReloadReport(
            forget_set=results["forget_set"],
            artifact=results["artifact"],
            stale=policy is not None and policy.stale,
            forget_set_hash=self._live.forget_set_hash((GLOBAL,)),
            artifact_id=guard.artifact.artifact_id() if guard.artifact is not None else None,
        )
        if "ok" in (report.forget_set.outcome, report.artifact.outcome):
            logger.info(
                "reloaded: forget set %s, artifact %s, stale %s",
                report.forget_set_hash[:24],
                report.artifact_id,
                report.stale,
            )
        return report
