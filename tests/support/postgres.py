"""The throwaway PostgreSQL server of the tests (:mod:`bench.postgres`), as fixtures:
``postgres`` (one cluster per session) and ``postgres_url`` (a fresh database in it per
test). A machine without the server binaries fails these tests (never skips them): a machine
that runs ``make test`` must run them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.postgres import PostgresCluster, PostgresUnavailable


def cluster() -> PostgresCluster:
    try:
        return PostgresCluster()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    started = cluster()
    started.start()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def postgres_url(postgres: PostgresCluster) -> str:
    return postgres.new_database()
