"""What every target store offers: durable targets per scope, an ordered change log, and a
way to learn about other writers' changes.

A *scope* is the global forget set (``GLOBAL``) or one tenant's. Every write is one
transaction that bumps the store's *revision* (a counter in the database, incremented under
the writers' lock, so revisions become visible in order and a reader that has seen revision
``r`` has seen every change up to ``r``). Messages of errors raised here name the operation
and the exception type, never target content.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from verifiers.forgetset import Target

GLOBAL = ""
"""The scope of the targets every answer is checked against, whatever its tenant."""


def scope_label(scope: str) -> str:
    """The scope as metrics, logs and listings name it."""
    return scope or "global"


Source = Literal["file", "api"]
PutOutcome = Literal["created", "unchanged", "replaced"]


class StoreError(Exception):
    """The store could not be reached or a statement failed; nothing was applied."""


class TargetConflictError(Exception):
    """The id exists with other content and the write was not a replacement."""


class TargetMissingError(Exception):
    """No target with that id in that scope."""


def target_hash(target: Target) -> str:
    """Hash of one target's content (its id included), independent of key order."""
    blob = json.dumps(
        target.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def target_json(target: Target) -> str:
    return target.model_dump_json()


def parse_target(body: str) -> Target:
    return Target.model_validate_json(body)


@dataclass(frozen=True, slots=True)
class StoredTarget:
    scope: str
    target: Target
    content_hash: str
    source: Source
    added_at: float  # unix seconds of the first write of this id
    updated_at: float  # unix seconds of the last write that changed its content


@dataclass(frozen=True, slots=True)
class StoredArtifact:
    """A calibration artifact published to a scope. The newest publication of a scope is its
    active artifact. The body is the artifact's JSON as published: the store does not judge
    it, the server does (a stale or unreadable one is never installed as certified)."""

    scope: str
    artifact_id: str
    body: str
    created: float  # unix seconds of the publication that made it the newest
    revision: int
    actor: str
    # Target id -> content hash of the served targets it was calibrated on (ids and hashes
    # only); None when the publisher did not say.
    calibrated: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every target of every scope, and each scope's active artifact, as of ``revision``."""

    revision: int
    targets: tuple[StoredTarget, ...]
    artifacts: tuple[StoredArtifact, ...] = ()


@dataclass(frozen=True, slots=True)
class Delta:
    """What changed after a revision: the current rows of the ids written since, and the
    ids deleted since (``(scope, id)``); applying it brings a mirror to ``revision``.
    ``artifacts``: the active artifact of each scope that had one published since."""

    revision: int
    upserts: tuple[StoredTarget, ...]
    deletes: tuple[tuple[str, str], ...]
    artifacts: tuple[StoredArtifact, ...] = ()


@dataclass(frozen=True, slots=True)
class WriteResult:
    outcome: PutOutcome | Literal["deleted"]
    revision: int
    row: StoredTarget | None = None  # the row as stored (None after a deletion)


@dataclass(frozen=True, slots=True)
class PublishResult:
    """``published``: the artifact is now its scope's active one (a new revision);
    ``unchanged``: it already was (nothing written)."""

    outcome: Literal["published", "unchanged"]
    revision: int


def now() -> float:
    return time.time()


class TargetStore(Protocol):
    """A durable home for the forget sets that every replica reads."""

    @property
    def description(self) -> str:
        """Kind and location without credentials, for logs."""
        ...

    @property
    def durable(self) -> bool:
        """Whether an acknowledged write survives a crash (False: in memory)."""
        ...

    @property
    def local(self) -> bool:
        """Whether asking for the revision is cheap enough to do before every request."""
        ...

    def migrate(self) -> None: ...

    def revision(self) -> int: ...

    def snapshot(self) -> Snapshot: ...

    def changes_since(self, revision: int) -> Delta: ...

    def put(self, scope: str, target: Target, *, replace: bool, actor: str) -> WriteResult:
        """Create ``target`` (same id and content again: ``unchanged``); an id with other
        content raises :class:`TargetConflictError` unless ``replace``."""
        ...

    def delete(self, scope: str, target_id: str, *, actor: str) -> WriteResult:
        """Remove a target; :class:`TargetMissingError` if there is none."""
        ...

    def seed(self, scope: str, targets: Sequence[Target], file_hash: str, actor: str) -> int:
        """Make the file's targets the scope's ``file`` targets, unless this very file
        content was seeded before (then nothing changes: API edits survive restarts).
        Returns the number of targets written or removed."""
        ...

    def publish_artifact(
        self,
        scope: str,
        artifact_id: str,
        body: str,
        *,
        calibrated: Mapping[str, str] | None,
        actor: str,
    ) -> PublishResult:
        """Make this artifact the scope's active one (publishing an older one again makes it
        active again: a rollback). Already active: ``unchanged``, nothing written."""
        ...

    def seed_artifact(self, scope: str, artifact_id: str, body: str, actor: str) -> bool:
        """Publish the configured artifact file's artifact, unless that very artifact was
        seeded before (then a newer publication stays active across restarts). Returns
        whether it was published."""
        ...

    def artifacts(self) -> tuple[StoredArtifact, ...]:
        """The active artifact of every scope that has one."""
        ...

    def wait(self, timeout: float) -> None:
        """Block up to ``timeout`` seconds, returning early when another writer announced a
        change (PostgreSQL's LISTEN); a store without notifications just sleeps."""
        ...

    def close(self) -> None: ...
