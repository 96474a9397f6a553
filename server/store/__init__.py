"""Where the forget sets live: SQLite (embedded, the default) or PostgreSQL (many replicas).

``open_store(url)`` picks the implementation from the URL scheme; see :mod:`server.store.base`
for what every store offers.
"""

from __future__ import annotations

from server.store.base import (
    GLOBAL,
    Delta,
    PublishResult,
    Snapshot,
    StoredArtifact,
    StoredTarget,
    StoreError,
    TargetConflictError,
    TargetMissingError,
    TargetStore,
    WriteResult,
    scope_label,
    target_hash,
)

SQLITE_PREFIX = "sqlite:///"
MEMORY_URL = "sqlite:///:memory:"


def sqlite_path(url: str) -> str:
    """``sqlite:///relative/file`` or ``sqlite:////absolute/file`` -> the file path."""
    return url[len(SQLITE_PREFIX) :]


def open_store(url: str) -> TargetStore:
    """The store ``url`` names (not yet migrated). Raises :class:`StoreError`."""
    if url.startswith(SQLITE_PREFIX):
        from server.store.sqlite import SqliteStore

        return SqliteStore(sqlite_path(url))
    if url.startswith(("postgresql://", "postgres://")):
        from server.store.postgres import PostgresStore

        return PostgresStore(url)
    raise StoreError("unlearning.store must start with sqlite:/// or postgresql://")


__all__ = [
    "GLOBAL",
    "MEMORY_URL",
    "Delta",
    "PublishResult",
    "Snapshot",
    "StoreError",
    "StoredArtifact",
    "StoredTarget",
    "TargetConflictError",
    "TargetMissingError",
    "TargetStore",
    "WriteResult",
    "open_store",
    "scope_label",
    "target_hash",
]
