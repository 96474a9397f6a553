"""The store's schema, as numbered migrations applied in order inside one transaction.

The same tables in SQLite and PostgreSQL; only column types differ. A migration is never
edited once released: add the next one. ``lethe_schema`` holds the version reached.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


def _tables(real: str) -> tuple[str, ...]:
    return (
        # One row: the revision counter. Every write transaction increments it first, which
        # also serialises writers, so revisions become visible in the order they were given.
        "CREATE TABLE lethe_revision (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "value BIGINT NOT NULL)",
        "INSERT INTO lethe_revision (id, value) VALUES (1, 0)",
        "CREATE TABLE lethe_targets ("
        "scope TEXT NOT NULL, target_id TEXT NOT NULL, body TEXT NOT NULL, "
        "content_hash TEXT NOT NULL, source TEXT NOT NULL, "
        f"added_at {real} NOT NULL, updated_at {real} NOT NULL, revision BIGINT NOT NULL, "
        "PRIMARY KEY (scope, target_id))",
        # The change log: what replicas replay, and a durable record of who changed what
        # (ids and hashes only, never content).
        "CREATE TABLE lethe_changes ("
        "revision BIGINT PRIMARY KEY, scope TEXT NOT NULL, target_id TEXT NOT NULL, "
        f"op TEXT NOT NULL, content_hash TEXT, actor TEXT NOT NULL, at {real} NOT NULL)",
        "CREATE TABLE lethe_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )


def _artifacts(real: str) -> tuple[str, ...]:
    return (
        # Calibration artifacts every replica installs: the newest row of a scope (highest
        # revision) is its active one. A write bumps the store revision, so replicas learn of
        # it through the same change propagation as targets. ``calibrated``: JSON of the
        # target ids and content hashes it was calibrated on (never content), or NULL.
        "CREATE TABLE lethe_artifacts ("
        "scope TEXT NOT NULL, artifact_id TEXT NOT NULL, body TEXT NOT NULL, "
        f"created {real} NOT NULL, revision BIGINT NOT NULL, actor TEXT NOT NULL, "
        "calibrated TEXT, PRIMARY KEY (scope, artifact_id))",
        "CREATE INDEX lethe_artifacts_revision ON lethe_artifacts (revision)",
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "targets, change log, revision counter, metadata",
        sqlite=_tables("REAL"),
        postgres=_tables("DOUBLE PRECISION"),
    ),
    Migration(
        2,
        "calibration artifacts per scope",
        sqlite=_artifacts("REAL"),
        postgres=_artifacts("DOUBLE PRECISION"),
    ),
)

LATEST = MIGRATIONS[-1].version
