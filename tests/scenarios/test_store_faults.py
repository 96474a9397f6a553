"""The target store failing, on a real PostgreSQL server that is stopped and started, and a
`lethe serve` killed with SIGKILL while it writes: guarded answers fail closed when nothing
was ever loaded, the last good forget set stays in force when the store goes away later, and
no acknowledged write is ever lost."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from bench.postgres import PostgresCluster
from bench.processes import BIN, free_port, running
from server.backends.scripted import ScriptedBackend
from server.store import GLOBAL, open_store
from tests.conftest import ClientFactory
from tests.server.test_policy import FORGET
from tests.server.test_targets_api import NEW, RAG, repeat_context
from tests.support.postgres import cluster as new_cluster

ADMIN = {"Authorization": "Bearer admin-key"}


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    """A cluster of its own: these tests stop and start it."""
    own = new_cluster()
    own.start()
    try:
        yield own
    finally:
        own.close()


def _client(tmp_path: Path, client_factory: ClientFactory, store: str) -> TestClient:
    (tmp_path / "forget.yaml").write_text(FORGET)
    return client_factory(
        ScriptedBackend(repeat_context),
        server={"admin_api_keys": ["admin-key"], "reload_interval_seconds": 0},
        unlearning={
            "forget_set": str(tmp_path / "forget.yaml"),
            "store": store,
            "store_poll_seconds": 0.1,
            "budget": 0,
            "candidates": 1,
        },
    )


def _until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(name)


def _ask(client: TestClient) -> Any:
    return client.post("/v1/chat/completions", json=RAG)


def test_store_unreachable_at_start_fails_closed_until_it_answers(
    tmp_path: Path, client_factory: ClientFactory, cluster: PostgresCluster
) -> None:
    url = cluster.new_database()
    cluster.stop()
    client = _client(tmp_path, client_factory, url)
    refused = _ask(client)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "service_unavailable"
    ready = client.get("/ready")
    assert (ready.status_code, ready.json()["checks"]["policy"]) == (503, False)
    assert _metric(client, "lethe_store_up") == 0
    assert client.post("/admin/targets", json=NEW, headers=ADMIN).status_code == 503
    cluster.start()
    _until(lambda: client.get("/ready").status_code == 200)
    assert _ask(client).json()["unlearning"]["status"] == "accepted"
    assert client.post("/admin/targets", json=NEW, headers=ADMIN).status_code == 201
    assert _ask(client).json()["unlearning"]["status"] == "refused"


def test_store_lost_while_serving_keeps_the_last_good_forget_set(
    tmp_path: Path, client_factory: ClientFactory, cluster: PostgresCluster
) -> None:
    client = _client(tmp_path, client_factory, cluster.new_database())
    assert client.post("/admin/targets", json=NEW, headers=ADMIN).status_code == 201
    cluster.stop()
    try:
        _until(lambda: _metric(client, "lethe_store_up") == 0)
        assert _ask(client).json()["unlearning"]["status"] == "refused"  # still enforced
        assert _metric(client, "lethe_forget_set_targets") == 2  # never an empty set
        assert client.get("/ready").status_code == 200
        other = {**NEW, "id": "p-78"}
        lost = client.post("/admin/targets", json=other, headers=ADMIN)
        assert lost.status_code == 503
        assert lost.json()["error"]["code"] == "store_unavailable"
    finally:
        cluster.start()
    _until(lambda: client.post("/admin/targets", json=other, headers=ADMIN).status_code == 201)
    assert _metric(client, "lethe_store_up") == 1
    ids = [t["id"] for t in client.get("/admin/targets", headers=ADMIN).json()["data"]]
    assert ids == ["p-77", "p-78", "t-1"]


@pytest.mark.e2e
def test_kill_9_during_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    store = tmp_path / "lethe.sqlite3"
    port = free_port()
    env = {
        "LETHE_BACKEND__KIND": "scripted",
        "LETHE_SERVER__PORT": str(port),
        "LETHE_SERVER__ADMIN_API_KEYS": '["admin-key"]',
        "LETHE_UNLEARNING__STORE": f"sqlite:///{store}",
    }
    acknowledged: list[str] = []
    stop = threading.Event()
    base = f"http://127.0.0.1:{port}"

    def writer(worker: int) -> None:
        with httpx.Client(base_url=base, headers=ADMIN, timeout=10) as http:
            for number in range(100_000):
                if stop.is_set():
                    return
                target: dict[str, Any] = {**NEW, "id": f"w{worker}-{number}"}
                try:
                    response = http.post("/admin/targets", json=target)
                except httpx.HTTPError:
                    return  # the server is gone: this write was never acknowledged
                if response.status_code == 201:
                    acknowledged.append(target["id"])

    command = [str(BIN / "lethe"), "serve", "--config", str(_config(tmp_path))]
    with running(command, f"{base}/health", env=env, log=tmp_path / "serve.log") as process:
        threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        _until(lambda: len(acknowledged) >= 50)
        process.kill()  # SIGKILL: no shutdown, no flush
        process.wait()
        stop.set()
        for thread in threads:
            thread.join(15)
    stored = open_store(f"sqlite:///{store}")
    try:
        ids = {row.target.id for row in stored.snapshot().targets if row.scope == GLOBAL}
    finally:
        stored.close()
    assert set(acknowledged) <= ids
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _config(tmp_path: Path) -> Path:
    (tmp_path / "forget.yaml").write_text(FORGET)
    path = tmp_path / "lethe.yaml"
    path.write_text("unlearning:\n  forget_set: forget.yaml\n")
    return path
