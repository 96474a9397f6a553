"""The store's logic over a DB-API cursor, shared by SQLite and PostgreSQL.

Statements are fixed text with bound parameters (``Dialect`` holds each driver's spelling of
them); nothing is ever built from strings. Each write runs in one transaction opened by the
driver module (:meth:`SqlStore._write`), which the revision bump serialises.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from typing import Any, Protocol

from server.store.base import (
    Delta,
    PublishResult,
    Snapshot,
    Source,
    StoredArtifact,
    StoredTarget,
    TargetConflictError,
    TargetMissingError,
    WriteResult,
    now,
    parse_target,
    target_hash,
    target_json,
)
from server.store.migrations import MIGRATIONS, Migration
from verifiers.forgetset import Target


class Cursor(Protocol):
    def execute(self, query: Any, params: Any = ..., /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    """One driver's statements; SQLite's and PostgreSQL's differ only in the placeholder
    (``?`` or ``%s``)."""

    schema_create: str
    schema_version: str
    schema_set: str
    revision: str
    bump: str
    get: str
    upsert: str
    remove: str
    log: str
    all_targets: str
    changed_since: str
    meta_get: str
    meta_set: str
    file_ids: str
    artifact_active: str
    artifacts_active: str
    artifacts_since: str
    artifact_upsert: str


SQLITE = Dialect(
    schema_create="CREATE TABLE IF NOT EXISTS lethe_schema (version INTEGER NOT NULL)",
    schema_version="SELECT max(version) FROM lethe_schema",
    schema_set="INSERT INTO lethe_schema (version) VALUES (?)",
    revision="SELECT value FROM lethe_revision WHERE id = 1",
    bump="UPDATE lethe_revision SET value = value + 1 WHERE id = 1 RETURNING value",
    get=(
        "SELECT content_hash, source, added_at, body, updated_at FROM lethe_targets "
        "WHERE scope = ? AND target_id = ?"
    ),
    upsert=(
        "INSERT INTO lethe_targets (scope, target_id, body, content_hash, source, added_at, "
        "updated_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (scope, target_id) DO UPDATE SET body = excluded.body, "
        "content_hash = excluded.content_hash, source = excluded.source, "
        "updated_at = excluded.updated_at, revision = excluded.revision"
    ),
    remove="DELETE FROM lethe_targets WHERE scope = ? AND target_id = ?",
    log=(
        "INSERT INTO lethe_changes (revision, scope, target_id, op, content_hash, actor, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"
    ),
    all_targets=(
        "SELECT scope, target_id, body, content_hash, source, added_at, updated_at "
        "FROM lethe_targets ORDER BY scope, target_id"
    ),
    # The current row (if any) of every id written after a revision.
    changed_since=(
        "SELECT c.scope, c.target_id, t.body, t.content_hash, t.source, t.added_at, "
        "t.updated_at FROM (SELECT DISTINCT scope, target_id FROM lethe_changes "
        "WHERE revision > ?) c LEFT JOIN lethe_targets t "
        "ON t.scope = c.scope AND t.target_id = c.target_id"
    ),
    meta_get="SELECT value FROM lethe_meta WHERE key = ?",
    meta_set=(
        "INSERT INTO lethe_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    ),
    file_ids="SELECT target_id FROM lethe_targets WHERE scope = ? AND source = 'file'",
    artifact_active=(
        "SELECT artifact_id FROM lethe_artifacts WHERE scope = ? ORDER BY revision DESC LIMIT 1"
    ),
    # A scope's active artifact is its newest publication (highest revision).
    artifacts_active=(
        "SELECT scope, artifact_id, body, created, revision, actor, calibrated "
        "FROM lethe_artifacts a WHERE revision = "
        "(SELECT max(revision) FROM lethe_artifacts b WHERE b.scope = a.scope) ORDER BY scope"
    ),
    artifacts_since=(
        "SELECT scope, artifact_id, body, created, revision, actor, calibrated "
        "FROM lethe_artifacts a WHERE revision > ? AND revision = "
        "(SELECT max(revision) FROM lethe_artifacts b WHERE b.scope = a.scope) ORDER BY scope"
    ),
    artifact_upsert=(
        "INSERT INTO lethe_artifacts (scope, artifact_id, body, created, revision, actor, "
        "calibrated) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (scope, artifact_id) DO UPDATE SET body = excluded.body, "
        "created = excluded.created, revision = excluded.revision, actor = excluded.actor, "
        "calibrated = COALESCE(excluded.calibrated, lethe_artifacts.calibrated)"
    ),
)

# psycopg spells a placeholder ``%s``. The statements hold no other ``?`` and no ``%``
# (psycopg would read a literal one as a placeholder), which a test checks.
POSTGRES = Dialect(**{f.name: getattr(SQLITE, f.name).replace("?", "%s") for f in fields(Dialect)})


def _row(row: Sequence[Any]) -> StoredTarget:
    scope, _, body, content_hash, source, added_at, updated_at = row
    return StoredTarget(
        str(scope), parse_target(str(body)), str(content_hash), source, added_at, updated_at
    )


def _artifact_row(row: Sequence[Any]) -> StoredArtifact:
    scope, artifact_id, body, created, revision, actor, calibrated = row
    mapping = json.loads(calibrated) if calibrated is not None else None
    return StoredArtifact(
        str(scope), str(artifact_id), str(body), float(created), int(revision), str(actor), mapping
    )


class SqlStore(ABC):
    """Targets, change log and revision over SQL; subclasses own connections and
    transactions."""

    def __init__(self, sql: Dialect) -> None:
        self._sql = sql

    @abstractmethod
    def _write(self) -> AbstractContextManager[Cursor]:
        """A cursor inside one write transaction (committed on exit, rolled back on error)."""

    @abstractmethod
    def _read(self) -> AbstractContextManager[Cursor]:
        """A cursor inside one read transaction (a consistent snapshot)."""

    def migrate(self) -> None:
        sql = self._sql
        with self._write() as cur:
            self._lock_schema(cur)
            cur.execute(sql.schema_create)
            cur.execute(sql.schema_version)
            current = cur.fetchone()[0] or 0
            for migration in MIGRATIONS:
                if migration.version <= current:
                    continue
                for statement in self._statements(migration):
                    cur.execute(statement)
                cur.execute(sql.schema_set, (migration.version,))

    @abstractmethod
    def _lock_schema(self, cur: Cursor) -> None:
        """Keep two replicas from migrating at once."""

    @abstractmethod
    def _statements(self, migration: Migration) -> tuple[str, ...]: ...

    def revision(self) -> int:
        with self._read() as cur:
            cur.execute(self._sql.revision)
            return int(cur.fetchone()[0])

    def snapshot(self) -> Snapshot:
        with self._read() as cur:
            cur.execute(self._sql.revision)
            revision = int(cur.fetchone()[0])
            cur.execute(self._sql.all_targets)
            targets = tuple(_row(r) for r in cur.fetchall())
            cur.execute(self._sql.artifacts_active)
            artifacts = tuple(_artifact_row(r) for r in cur.fetchall())
        return Snapshot(revision, targets, artifacts)

    def changes_since(self, revision: int) -> Delta:
        with self._read() as cur:
            cur.execute(self._sql.revision)
            latest = int(cur.fetchone()[0])
            if latest == revision:
                return Delta(latest, (), ())
            cur.execute(self._sql.changed_since, (revision,))
            rows = cur.fetchall()
            cur.execute(self._sql.artifacts_since, (revision,))
            artifacts = tuple(_artifact_row(r) for r in cur.fetchall())
        upserts = tuple(_row(r) for r in rows if r[2] is not None)
        deletes = tuple((str(r[0]), str(r[1])) for r in rows if r[2] is None)
        return Delta(latest, upserts, deletes, artifacts)

    def artifacts(self) -> tuple[StoredArtifact, ...]:
        with self._read() as cur:
            cur.execute(self._sql.artifacts_active)
            return tuple(_artifact_row(r) for r in cur.fetchall())

    def publish_artifact(
        self,
        scope: str,
        artifact_id: str,
        body: str,
        *,
        calibrated: Mapping[str, str] | None,
        actor: str,
    ) -> PublishResult:
        with self._write() as cur:
            return self._publish(cur, scope, artifact_id, body, calibrated, actor)

    def seed_artifact(self, scope: str, artifact_id: str, body: str, actor: str) -> bool:
        key = f"seed-artifact:{scope}"
        with self._write() as cur:
            cur.execute(self._sql.meta_get, (key,))
            row = cur.fetchone()
            if row is not None and row[0] == artifact_id:
                return False
            result = self._publish(cur, scope, artifact_id, body, None, actor)
            cur.execute(self._sql.meta_set, (key, artifact_id))
        return result.outcome == "published"

    def _publish(
        self,
        cur: Cursor,
        scope: str,
        artifact_id: str,
        body: str,
        calibrated: Mapping[str, str] | None,
        actor: str,
    ) -> PublishResult:
        cur.execute(self._sql.artifact_active, (scope,))
        active = cur.fetchone()
        if active is not None and active[0] == artifact_id:
            cur.execute(self._sql.revision)
            return PublishResult("unchanged", int(cur.fetchone()[0]))
        revision = self._bump(cur)
        mapping = json.dumps(dict(calibrated), sort_keys=True) if calibrated is not None else None
        cur.execute(
            self._sql.artifact_upsert,
            (scope, artifact_id, body, now(), revision, actor, mapping),
        )
        self._notify(cur, revision)
        return PublishResult("published", revision)

    def put(self, scope: str, target: Target, *, replace: bool, actor: str) -> WriteResult:
        content = target_hash(target)
        with self._write() as cur:
            cur.execute(self._sql.get, (scope, target.id))
            existing = cur.fetchone()
            if existing is not None and existing[0] == content:
                hash_, source, added_at, body, updated_at = existing
                row = StoredTarget(scope, parse_target(body), hash_, source, added_at, updated_at)
                cur.execute(self._sql.revision)
                return WriteResult("unchanged", int(cur.fetchone()[0]), row)
            if existing is not None and not replace:
                raise TargetConflictError(target.id)
            added_at = existing[2] if existing is not None else None
            revision, row = self._upsert(cur, scope, target, content, "api", actor, added_at)
        return WriteResult("replaced" if existing is not None else "created", revision, row)

    def delete(self, scope: str, target_id: str, *, actor: str) -> WriteResult:
        with self._write() as cur:
            cur.execute(self._sql.get, (scope, target_id))
            if cur.fetchone() is None:
                raise TargetMissingError(target_id)
            revision = self._remove(cur, scope, target_id, actor)
        return WriteResult("deleted", revision)

    def seed(self, scope: str, targets: Sequence[Target], file_hash: str, actor: str) -> int:
        key = f"seed:{scope}"
        written = 0
        with self._write() as cur:
            cur.execute(self._sql.meta_get, (key,))
            row = cur.fetchone()
            if row is not None and row[0] == file_hash:
                return 0
            listed = {t.id for t in targets}
            cur.execute(self._sql.file_ids, (scope,))
            for (target_id,) in cur.fetchall():
                if target_id not in listed:
                    self._remove(cur, scope, str(target_id), actor)
                    written += 1
            for target in targets:
                content = target_hash(target)
                cur.execute(self._sql.get, (scope, target.id))
                existing = cur.fetchone()
                if existing is None or existing[0] != content:
                    added_at = existing[2] if existing is not None else None
                    self._upsert(cur, scope, target, content, "file", actor, added_at)
                    written += 1
            cur.execute(self._sql.meta_set, (key, file_hash))
        return written

    def _bump(self, cur: Cursor) -> int:
        cur.execute(self._sql.bump)
        return int(cur.fetchone()[0])

    def _upsert(
        self,
        cur: Cursor,
        scope: str,
        target: Target,
        content: str,
        source: Source,
        actor: str,
        added_at: float | None,
    ) -> tuple[int, StoredTarget]:
        revision = self._bump(cur)
        at = now()
        first = at if added_at is None else added_at
        body = target_json(target)
        cur.execute(
            self._sql.upsert, (scope, target.id, body, content, source, first, at, revision)
        )
        cur.execute(self._sql.log, (revision, scope, target.id, "put", content, actor, at))
        self._notify(cur, revision)
        return revision, StoredTarget(scope, target, content, source, first, at)

    def _remove(self, cur: Cursor, scope: str, target_id: str, actor: str) -> int:
        revision = self._bump(cur)
        cur.execute(self._sql.remove, (scope, target_id))
        cur.execute(self._sql.log, (revision, scope, target_id, "delete", None, actor, now()))
        self._notify(cur, revision)
        return revision

    @abstractmethod
    def _notify(self, cur: Cursor, revision: int) -> None:
        """Tell other replicas when the transaction commits."""
