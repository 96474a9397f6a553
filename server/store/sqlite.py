"""The embedded store: one SQLite file (WAL, ``synchronous=FULL``: a committed write is on
disk before it is acknowledged), or ``:memory:`` for a server without a store configured."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.store.base import StoreError
from server.store.migrations import Migration
from server.store.sql import SQLITE, Cursor, SqlStore

MEMORY = ":memory:"
# Seconds a writer waits for another process's write lock (a CLI next to a server).
BUSY_TIMEOUT_MS = 10_000


def _connect(path: str) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        if path != MEMORY:
            conn.execute("PRAGMA journal_mode=WAL")
        # FULL: the WAL is synced on every commit, so an acknowledged write survives a crash
        # or a power cut (NORMAL would only survive a crash of the process).
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the SQLite store ({type(exc).__name__})") from exc
    return conn


class SqliteStore(SqlStore):
    def __init__(self, path: str) -> None:
        super().__init__(SQLITE)
        self._path = path
        if path != MEMORY:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the directory of the SQLite store {path}") from exc
        self._writer = _connect(path)
        # Readers get their own connection: in WAL mode they never wait for a writer's
        # fsync, so the revision check before a request stays in the microseconds.
        self._reader = self._writer if path == MEMORY else _connect(path)
        self._write_lock = threading.Lock()
        self._read_lock = self._write_lock if path == MEMORY else threading.Lock()
        # Set by close: a server's watcher thread sleeping in wait() wakes at once, so
        # shutting down never waits out the poll interval.
        self._closed = threading.Event()

    @property
    def description(self) -> str:
        return "sqlite (in memory)" if self._path == MEMORY else f"sqlite {self._path}"

    @property
    def durable(self) -> bool:
        return self._path != MEMORY

    @property
    def local(self) -> bool:
        return True

    def _statements(self, migration: Migration) -> tuple[str, ...]:
        return migration.sqlite

    @contextmanager
    def _write(self) -> Iterator[Cursor]:
        with self._write_lock:
            cur = self._writer.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                yield cur
                cur.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"SQLite write failed ({type(exc).__name__})") from exc
            except BaseException:
                self._rollback()
                raise
            finally:
                cur.close()

    def _rollback(self) -> None:
        if self._writer.in_transaction:
            self._writer.execute("ROLLBACK")

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        with self._read_lock:
            cur = self._reader.cursor()
            try:
                cur.execute("BEGIN")
                yield cur
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite read failed ({type(exc).__name__})") from exc
            finally:
                if self._reader.in_transaction:
                    self._reader.execute("COMMIT")
                cur.close()

    def _lock_schema(self, cur: Cursor) -> None:
        """``BEGIN IMMEDIATE`` already holds the database's one write lock."""

    def _notify(self, cur: Cursor, revision: int) -> None:
        """SQLite has no notifications: readers compare revisions (cheap, it is local)."""

    def wait(self, timeout: float) -> None:
        self._closed.wait(timeout)

    def close(self) -> None:
        self._closed.set()
        with self._write_lock:
            self._writer.close()
        if self._reader is not self._writer:
            with self._read_lock:
                self._reader.close()
