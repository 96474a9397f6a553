"""Calibration artifacts from the target store: each scope's active one, parsed once, handed to
the guards that run under it, and exported as metrics.

An artifact reaches the store three ways: the configured file (``unlearning.artifact``, a
tenant's ``artifact``) seeds its scope once per artifact, like the forget-set file seeds the
targets; ``lethe artifacts publish FILE``; ``lethe calibrate --incremental --publish``. The
newest publication of a scope is active, and a publication bumps the store revision, so every
replica takes it in the way it takes in targets (before the next request on SQLite, on
LISTEN/NOTIFY or the poll on PostgreSQL) and installs it without a restart.

A tenant without an artifact of its own runs under the global one. A body the server cannot
read is logged (by artifact id and scope) and skipped: the previous artifact stays in force.
Installing goes through the guard's usual path (:meth:`server.guard.Guard.policy_for`), so an
artifact whose fingerprints differ from this server's is installed *stale* (never certified),
exactly as a changed artifact file is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from calibration.artifact import Artifact, ArtifactError, parse_artifact, read_artifact
from server.config import Settings
from server.guard import Guard
from server.metrics import Metrics
from server.policy import GuardStartError
from server.store import GLOBAL, StoredArtifact, TargetStore, scope_label

logger = logging.getLogger("lethe.artifacts")

ArtifactListener = Callable[[Artifact | None], None]


def artifact_files(settings: Settings) -> dict[str, Path]:
    """Each scope's own configured artifact file (a tenant without one has none here: it
    runs under the global artifact)."""
    files = {GLOBAL: settings.unlearning.artifact}
    files.update({name: tenant.artifact for name, tenant in settings.tenants.items()})
    return {scope: path for scope, path in files.items() if path is not None}


def read_artifact_file(path: Path) -> Artifact:
    """A configured artifact file, validated before anything is written to a store."""
    try:
        return read_artifact(path)
    except ArtifactError as exc:
        raise GuardStartError(str(exc)) from exc


def body_of(artifact: Artifact) -> str:
    return artifact.model_dump_json(indent=2)


def created_at(artifact: Artifact) -> float | None:
    """The artifact's ``created`` as unix seconds (None if it is not an ISO 8601 time)."""
    try:
        return datetime.fromisoformat(artifact.created).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class ActiveArtifact:
    row: StoredArtifact
    artifact: Artifact
    artifact_id: str  # of the parsed artifact (what answers' ``guarantee.artifact`` says)


class ArtifactMirror:
    """Every scope's active artifact as last read from the store, and who listens to which."""

    def __init__(self, seeds: Mapping[str, Artifact], metrics: Metrics) -> None:
        self._seeds = dict(seeds)
        self._metrics = metrics
        self.active: dict[str, ActiveArtifact] = {}
        self._listeners: dict[str, list[ArtifactListener]] = {}
        self._given: dict[str, str | None] = {}  # scope -> artifact id last given to listeners

    def seed(self, store: TargetStore) -> None:
        """Publish the configured files' artifacts (each once: see ``seed_artifact``)."""
        for scope, artifact in self._seeds.items():
            store.seed_artifact(scope, artifact.artifact_id(), body_of(artifact), "file")

    def remember_seed(self, scope: str, artifact: Artifact) -> None:
        self._seeds[scope] = artifact

    def apply(self, rows: Iterable[StoredArtifact]) -> None:
        """Take in the store's active artifacts (parsing each new one; a thread may run this)."""
        for row in rows:
            current = self.active.get(row.scope)
            if current is not None and current.row.artifact_id == row.artifact_id:
                self.active[row.scope] = ActiveArtifact(row, current.artifact, current.artifact_id)
                continue
            where = f"artifact {row.artifact_id[:19]} in the store ({scope_label(row.scope)})"
            try:
                artifact = parse_artifact(row.body, where)
            except ArtifactError as exc:
                self._metrics.reloads.labels("artifact", "failed").inc()
                logger.error("cannot install a published artifact, keeping the previous: %s", exc)
                continue
            self.active[row.scope] = ActiveArtifact(row, artifact, artifact.artifact_id())

    def _in_force(self, scope: str) -> ActiveArtifact | None:
        return self.active.get(scope) or self.active.get(GLOBAL)

    def artifact_for(self, scope: str) -> Artifact | None:
        """The artifact ``scope``'s answers run under: its own, else the global one."""
        found = self._in_force(scope)
        return found.artifact if found is not None else None

    def calibrated(self, artifact: Artifact | None) -> dict[str, str]:
        """Target id -> content hash of the served targets ``artifact`` was calibrated on, as
        its publisher recorded them (empty when unknown)."""
        if artifact is None:
            return {}
        wanted = artifact.artifact_id()
        for active in self.active.values():
            if active.artifact_id == wanted and active.row.calibrated is not None:
                return dict(active.row.calibrated)
        return {}

    def listen(self, scope: str, listener: ArtifactListener) -> None:
        """``listener`` hears of each change of the artifact in force for ``scope`` (the
        one in force now is read by the guard itself, when it activates)."""
        self._listeners.setdefault(scope, []).append(listener)
        found = self._in_force(scope)
        self._given[scope] = found.artifact_id if found is not None else None

    def notify(self) -> None:
        """Tell the listeners of every scope whose artifact in force changed (event loop;
        cheap when nothing did). A listener that fails is told again on the next call."""
        for scope, listeners in self._listeners.items():
            found = self._in_force(scope)
            artifact_id = found.artifact_id if found is not None else None
            if artifact_id == self._given.get(scope):
                continue
            try:
                for listener in listeners:
                    listener(found.artifact if found is not None else None)
            except Exception:
                logger.exception("installing artifact %s failed; will retry", artifact_id)
                continue
            self._given[scope] = artifact_id
            logger.info("artifact %s now in force for %s", artifact_id, scope_label(scope))

    def update_gauges(self, in_force: Mapping[str, Artifact | None]) -> None:
        """Age and creation time of the artifact each scope's guard has in force."""
        now = time.time()
        for scope, artifact in in_force.items():
            made = created_at(artifact) if artifact is not None else None
            if artifact is None or made is None:
                continue
            label = scope_label(scope)
            self._metrics.artifact_created.labels(label).set(made)
            self._metrics.artifact_age.labels(label).set(max(0.0, now - made))
            active = self._in_force(scope)
            if active is not None and active.artifact is artifact:
                self._metrics.artifact_published.labels(label).set(active.row.created)


def installer(guard: Guard) -> ArtifactListener:
    """What a live guard does when its scope's artifact in force changes: install it through
    the usual policy path (stale when its fingerprints differ). A guard not serving yet reads
    it when it activates."""

    def install(artifact: Artifact | None) -> None:
        if guard.policy is None:
            return
        try:
            policy = guard.policy_for(artifact)
        except GuardStartError as exc:
            logger.error("cannot install the published artifact, keeping the previous: %s", exc)
            return
        guard.install(guard.suite, artifact, policy)

    return install
