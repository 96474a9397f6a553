"""Calibration artifacts in the target store (SQLite file, in memory, a real PostgreSQL): the
newest publication of a scope is active, a publication bumps the revision and reaches other
handles through the change log's path, seeding from a file happens once per artifact, and
migration 2 upgrades a store made by migration 1 in place."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.store import GLOBAL, MEMORY_URL, TargetStore, open_store
from server.store.migrations import LATEST, MIGRATIONS
from tests.server.test_store import ALICE

BODY_1 = '{"created": "one"}'
BODY_2 = '{"created": "two"}'


@pytest.fixture(params=["sqlite", "memory", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TargetStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/lethe.sqlite3"
    elif request.param == "memory":
        url = MEMORY_URL
    else:
        url = str(request.getfixturevalue("postgres_url"))
    opened = open_store(url)
    opened.migrate()
    yield opened
    opened.close()


def test_the_newest_publication_of_a_scope_is_active(store: TargetStore) -> None:
    assert store.artifacts() == ()
    first = store.publish_artifact(GLOBAL, "sha256:a1", BODY_1, calibrated=None, actor="job")
    assert (first.outcome, first.revision) == ("published", 1)
    again = store.publish_artifact(GLOBAL, "sha256:a1", BODY_1, calibrated=None, actor="job")
    assert (again.outcome, again.revision) == ("unchanged", 1)  # already active: no write
    calibrated = {"t-1": "sha256:h1"}
    second = store.publish_artifact(GLOBAL, "sha256:a2", BODY_2, calibrated=calibrated, actor="job")
    assert second.revision == 2
    (active,) = store.artifacts()
    assert (active.artifact_id, active.body, active.revision) == ("sha256:a2", BODY_2, 2)
    assert active.calibrated == calibrated
    assert active.actor == "job"
    assert abs(active.created - time.time()) < 60
    # Publishing an older one again makes it active again (a rollback), with a new revision.
    back = store.publish_artifact(GLOBAL, "sha256:a1", BODY_1, calibrated=None, actor="ops")
    assert (back.outcome, back.revision) == ("published", 3)
    assert [a.artifact_id for a in store.artifacts()] == ["sha256:a1"]
    assert store.snapshot().artifacts == store.artifacts()


def test_scopes_have_their_own_active_artifact(store: TargetStore) -> None:
    store.publish_artifact(GLOBAL, "sha256:g", BODY_1, calibrated=None, actor="job")
    store.publish_artifact("acme", "sha256:t", BODY_2, calibrated=None, actor="job")
    store.publish_artifact(GLOBAL, "sha256:g2", BODY_2, calibrated=None, actor="job")
    active = {a.scope: a.artifact_id for a in store.artifacts()}
    assert active == {GLOBAL: "sha256:g2", "acme": "sha256:t"}


def test_a_publication_travels_with_the_changes(store: TargetStore) -> None:
    store.put(GLOBAL, ALICE, replace=False, actor="k")
    seen = store.revision()
    store.publish_artifact(GLOBAL, "sha256:a1", BODY_1, calibrated=None, actor="job")
    delta = store.changes_since(seen)
    assert delta.revision == seen + 1
    assert (delta.upserts, delta.deletes) == ((), ())  # no target changed
    assert [a.artifact_id for a in delta.artifacts] == ["sha256:a1"]
    assert store.changes_since(delta.revision).artifacts == ()


def test_a_seeded_file_is_published_once(store: TargetStore) -> None:
    assert store.seed_artifact(GLOBAL, "sha256:file", BODY_1, "file") is True
    assert store.seed_artifact(GLOBAL, "sha256:file", BODY_1, "file") is False
    # A newer publication survives a restart with the same file ...
    store.publish_artifact(GLOBAL, "sha256:job", BODY_2, calibrated=None, actor="job")
    assert store.seed_artifact(GLOBAL, "sha256:file", BODY_1, "file") is False
    assert [a.artifact_id for a in store.artifacts()] == ["sha256:job"]
    # ... and a new file wins.
    assert store.seed_artifact(GLOBAL, "sha256:file-2", BODY_1, "file") is True
    assert [a.artifact_id for a in store.artifacts()] == ["sha256:file-2"]


def test_postgres_notifies_a_publication(postgres_url: str) -> None:
    writer, listener = open_store(postgres_url), open_store(postgres_url)
    try:
        writer.migrate()
        listener.wait(0.01)  # LISTEN before the write
        writer.publish_artifact(GLOBAL, "sha256:a1", BODY_1, calibrated=None, actor="job")
        started = time.monotonic()
        listener.wait(10.0)
        assert time.monotonic() - started < 2.0
        assert [a.artifact_id for a in listener.artifacts()] == ["sha256:a1"]
    finally:
        writer.close()
        listener.close()


def test_migration_2_upgrades_a_version_1_store_in_place(tmp_path: Path) -> None:
    path = tmp_path / "lethe.sqlite3"
    with sqlite3.connect(path) as conn:  # a store as migration 1 left it, with a target
        conn.execute("CREATE TABLE lethe_schema (version INTEGER NOT NULL)")
        for statement in MIGRATIONS[0].sqlite:
            conn.execute(statement)
        conn.execute("INSERT INTO lethe_schema (version) VALUES (1)")
    store = open_store(f"sqlite:///{path}")
    try:
        store.migrate()
        assert (
            store.publish_artifact(
                GLOBAL, "sha256:a1", BODY_1, calibrated=None, actor="job"
            ).outcome
            == "published"
        )
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        versions = sorted(v for (v,) in conn.execute("SELECT version FROM lethe_schema"))
    assert versions == [1, LATEST] == [1, 2]


def test_migration_2_upgrades_a_version_1_postgres_store(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE lethe_schema (version INTEGER NOT NULL)")
        for statement in MIGRATIONS[0].postgres:
            conn.execute(statement.encode())
        conn.execute("INSERT INTO lethe_schema (version) VALUES (1)")
    store = open_store(postgres_url)
    try:
        store.migrate()
        store.publish_artifact(GLOBAL, "sha256:a1", BODY_1, calibrated=None, actor="job")
        assert [a.artifact_id for a in store.artifacts()] == ["sha256:a1"]
    finally:
        store.close()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT version FROM lethe_schema ORDER BY version").fetchall()
    assert [v for (v,) in rows] == [1, 2]
