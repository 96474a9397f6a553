"""A throwaway PostgreSQL server for the tests: ``initdb`` in a temporary directory, started
with ``pg_ctl`` on a free port, torn down afterwards.

Uses the Debian/Ubuntu server binaries (``/usr/lib/postgresql/<version>/bin``, package
``postgresql``). ``initdb`` refuses to run as root, so as root the cluster runs as the
``postgres`` system user the package creates. Fail (never skip) when neither is there: a
machine that runs ``make test`` must run these tests.

Fixtures: ``postgres`` (one cluster per session) and ``postgres_url`` (a fresh database in
it per test).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

BIN_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "lethe"


def pg_bin() -> Path:
    versions = sorted(
        (p for p in BIN_ROOT.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        pytest.fail(
            f"PostgreSQL server binaries not found under {BIN_ROOT} (apt-get install postgresql)"
        )
    return versions[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresCluster:
    """One cluster in a temporary directory; ``stop()``/``start()`` simulate an outage."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="lethe-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root needs the 'postgres' user (package postgresql)")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.user = "postgres"
        self._run(
            "initdb", "-D", str(self.data), "--auth=trust", f"--username={SUPERUSER}",
            "--encoding=UTF8", "--no-sync",
        )  # fmt: skip
        self._names = itertools.count()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin / tool), *args],
            check=True,
            user=self.user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def new_database(self) -> str:
        name = f"lethe_test_{next(self._names)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def postgres_url(postgres: PostgresCluster) -> str:
    return postgres.new_database()
