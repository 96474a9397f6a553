"""The shared store for many replicas: PostgreSQL through psycopg 3.

Writes run in transactions that also ``pg_notify`` the change; every replica LISTENs on one
connection and re-reads the change log when told (or when its poll interval passes, in case a
notification was lost with a connection). A lost connection is reopened on the next call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from server.store.base import StoreError
from server.store.migrations import Migration
from server.store.sql import POSTGRES, Cursor, SqlStore

CHANNEL = "lethe_targets"
# Any fixed number: the advisory lock that keeps two replicas from migrating at once.
MIGRATION_LOCK = 0x1E7E
# Seconds to wait for a connection; a dead peer is noticed through TCP keepalives and
# tcp_user_timeout (milliseconds) rather than after the kernel's minutes-long defaults.
CONNECT: dict[str, str | int | None] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": 5000,
}


def describe(url: str) -> str:
    """``postgresql host:port/db`` without user or password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "postgresql (unparsable URL)"
    host = info.get("host") or "localhost"
    return f"postgresql {host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


class PostgresStore(SqlStore):
    def __init__(self, url: str) -> None:
        super().__init__(POSTGRES)
        self._url = url
        self._conn: psycopg.Connection[Any] | None = None
        self._listener: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._listen_lock = threading.Lock()

    @property
    def description(self) -> str:
        return describe(self._url)

    @property
    def durable(self) -> bool:
        return True

    @property
    def local(self) -> bool:
        return False

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            # The URL's own settings win over these defaults.
            conninfo = make_conninfo("", **{**CONNECT, **conninfo_to_dict(self._url)})
            return psycopg.connect(conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to {self.description} ({type(exc).__name__})"
            ) from exc

    def _statements(self, migration: Migration) -> tuple[str, ...]:
        return migration.postgres

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            conn = self._conn
            try:
                with conn.transaction(), conn.cursor() as cur:
                    yield cur
            except psycopg.Error as exc:
                if conn.broken or conn.closed:
                    self._conn = None
                raise StoreError(f"{self.description}: {type(exc).__name__}") from exc

    def _write(self) -> Any:
        return self._transaction()

    def _read(self) -> Any:
        return self._transaction()

    def _lock_schema(self, cur: Cursor) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))

    def _notify(self, cur: Cursor, revision: int) -> None:
        # Delivered when (and only if) the transaction commits.
        cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(revision)))

    def wait(self, timeout: float) -> None:
        with self._listen_lock:
            try:
                if self._listener is None or self._listener.closed:
                    self._listener = self._connect()
                    self._listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                    pass
            except (StoreError, psycopg.Error):
                if self._listener is not None:
                    self._listener.close()
                self._listener = None
                time.sleep(timeout)  # the next read reports the outage; do not spin

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        with self._listen_lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
