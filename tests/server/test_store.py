"""The target stores (SQLite file, SQLite in memory, a real PostgreSQL): idempotent writes,
conflicts, the change log replicas replay, seeding from a file, and migrations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from bench.postgres import PostgresCluster
from server.store import (
    GLOBAL,
    MEMORY_URL,
    StoreError,
    TargetConflictError,
    TargetMissingError,
    TargetStore,
    open_store,
    target_hash,
)
from server.store.migrations import LATEST
from server.store.sql import POSTGRES, SQLITE, Dialect
from verifiers.forgetset import Target

ALICE = Target(id="t-1", name="Alice Quornby", facts=("Alice Quornby keeps bees in Oslo.",))
BOB = Target(id="t-2", name="Bob Trevellian", aliases=("B. T.",), facts=("Bob sails.",))


@pytest.fixture(params=["sqlite", "memory", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/nested/lethe.sqlite3"
    if request.param == "memory":
        return MEMORY_URL
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[TargetStore]:
    opened = open_store(store_url)
    opened.migrate()
    yield opened
    opened.close()


def test_put_is_idempotent_and_conflicts_on_other_content(store: TargetStore) -> None:
    first = store.put(GLOBAL, ALICE, replace=False, actor="k1")
    assert (first.outcome, first.revision) == ("created", 1)
    again = store.put(GLOBAL, ALICE, replace=False, actor="k1")
    assert (again.outcome, again.revision) == ("unchanged", 1)
    changed = ALICE.model_copy(update={"facts": ("Alice Quornby moved to Bergen.",)})
    with pytest.raises(TargetConflictError):
        store.put(GLOBAL, changed, replace=False, actor="k1")
    assert store.revision() == 1  # the conflict applied nothing
    replaced = store.put(GLOBAL, changed, replace=True, actor="k1")
    assert (replaced.outcome, replaced.revision) == ("replaced", 2)
    [row] = store.snapshot().targets
    assert row.target == changed
    assert row.content_hash == target_hash(changed)
    assert row.source == "api"
    assert row.added_at <= row.updated_at


def test_scopes_are_separate(store: TargetStore) -> None:
    store.put(GLOBAL, ALICE, replace=False, actor="k")
    store.put("acme", ALICE.model_copy(update={"name": "Other"}), replace=False, actor="k")
    snapshot = store.snapshot()
    assert [(r.scope, r.target.id) for r in snapshot.targets] == [("", "t-1"), ("acme", "t-1")]
    store.delete("acme", "t-1", actor="k")
    assert [r.scope for r in store.snapshot().targets] == [""]
    with pytest.raises(TargetMissingError):
        store.delete("acme", "t-1", actor="k")


def test_changes_since_replays_puts_and_deletes(store: TargetStore) -> None:
    store.put(GLOBAL, ALICE, replace=False, actor="k")
    seen = store.revision()
    assert store.changes_since(seen).upserts == ()
    store.put(GLOBAL, BOB, replace=False, actor="k")
    store.delete(GLOBAL, "t-1", actor="k")
    delta = store.changes_since(seen)
    assert delta.revision == seen + 2
    assert [r.target for r in delta.upserts] == [BOB]
    assert delta.deletes == ((GLOBAL, "t-1"),)
    # Put and removed again after the revision: only the deletion remains to apply.
    store.put(GLOBAL, ALICE, replace=False, actor="k")
    store.delete(GLOBAL, "t-1", actor="k")
    assert store.changes_since(seen).deletes == ((GLOBAL, "t-1"),)


def test_seed_applies_a_file_once_and_keeps_api_targets(store: TargetStore) -> None:
    assert store.seed(GLOBAL, [ALICE, BOB], "sha256:file-1", actor="file") == 2
    assert store.seed(GLOBAL, [ALICE, BOB], "sha256:file-1", actor="file") == 0
    api = Target(id="t-3", name="Cleo Marchbank")
    store.put(GLOBAL, api, replace=False, actor="k")
    # An API edit of a file target survives a restart (same file: no re-seed).
    edited = BOB.model_copy(update={"facts": ("Bob rows.",)})
    store.put(GLOBAL, edited, replace=True, actor="k")
    assert store.seed(GLOBAL, [ALICE, BOB], "sha256:file-1", actor="file") == 0
    assert {r.target.id: r.target for r in store.snapshot().targets}["t-2"] == edited
    # A new file: its targets win, file targets it no longer lists go, API targets stay.
    assert store.seed(GLOBAL, [BOB], "sha256:file-2", actor="file") == 2  # t-1 out, t-2 back
    ids = sorted(r.target.id for r in store.snapshot().targets)
    assert ids == ["t-2", "t-3"]
    assert {r.target.id: r.target for r in store.snapshot().targets}["t-2"] == BOB


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_two_handles_see_each_others_writes(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two replicas (or a server and the CLI) on one store; in memory has no second handle."""
    store_url = (
        f"sqlite:///{tmp_path}/lethe.sqlite3"
        if kind == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    first, second = open_store(store_url), open_store(store_url)
    try:
        first.migrate()
        second.migrate()  # migrating twice is harmless
        seen = second.revision()
        first.put(GLOBAL, ALICE, replace=False, actor="k")
        assert [r.target for r in second.changes_since(seen).upserts] == [ALICE]
    finally:
        first.close()
        second.close()


def test_migrations_record_the_schema_version(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "lethe.sqlite3"
    store = open_store(f"sqlite:///{path}")
    store.migrate()
    store.migrate()
    store.close()
    with sqlite3.connect(path) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM lethe_schema")]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert versions == list(range(1, LATEST + 1))  # each migration once, in order
    assert journal == "wal"


def test_postgres_statements_are_sqlites_with_psycopg_placeholders() -> None:
    for field in fields(Dialect):
        pg, lite = getattr(POSTGRES, field.name), getattr(SQLITE, field.name)
        # A literal % would be read by psycopg as a placeholder; a ? is only ever one.
        assert "%" not in lite, field.name
        assert pg.count("%s") == lite.count("?"), field.name
        assert "?" not in pg, field.name


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(StoreError, match="sqlite:/// or postgresql://"):
        open_store("mysql://db/lethe")


def test_postgres_notifies_other_replicas_at_once(postgres_url: str) -> None:
    writer, listener = open_store(postgres_url), open_store(postgres_url)
    try:
        writer.migrate()
        listener.wait(0.01)  # LISTEN before the write
        writer.put(GLOBAL, ALICE, replace=False, actor="k")
        started = time.monotonic()
        listener.wait(10.0)
        assert time.monotonic() - started < 2.0
    finally:
        writer.close()
        listener.close()


def test_postgres_outage_raises_store_error_then_recovers(postgres: PostgresCluster) -> None:
    url = postgres.new_database()
    store = open_store(url)
    try:
        store.migrate()
        store.put(GLOBAL, ALICE, replace=False, actor="k")
        postgres.stop()
        try:
            with pytest.raises(StoreError) as caught:
                store.put(GLOBAL, BOB, replace=False, actor="k")
            assert "Bob" not in str(caught.value)  # errors never quote content
        finally:
            postgres.start()
        store.put(GLOBAL, BOB, replace=False, actor="k")  # reconnects by itself
        assert store.revision() == 2
    finally:
        store.close()
