"""A throwaway PostgreSQL server: ``initdb`` in a temporary directory, started with
``pg_ctl`` on a free port, removed afterwards (the benchmarks' and the tests' store).

Uses the Debian/Ubuntu server binaries (``/usr/lib/postgresql/<version>/bin``, package
``postgresql``). ``initdb`` refuses to run as root, so as root the cluster runs as the
``postgres`` system user the package creates.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from bench.processes import free_port

BIN_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "lethe"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries, or no user to run them as."""


def pg_bin() -> Path:
    versions = sorted(
        (p for p in BIN_ROOT.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise PostgresUnavailable(
            f"PostgreSQL server binaries not found under {BIN_ROOT} (apt-get install postgresql)"
        )
    return versions[-1]


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
            except KeyError as exc:
                raise PostgresUnavailable(
                    "running as root needs the 'postgres' user (package postgresql)"
                ) from exc
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.user = "postgres"
        self._run(
            "initdb", "-D", str(self.data), "--auth=trust", f"--username={SUPERUSER}",
            "--encoding=UTF8", "--no-sync",
        )  # fmt: skip
        self._names = itertools.count()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(  # noqa: S603 (fixed binaries and arguments)
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
        name = f"lethe_{next(self._names)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
