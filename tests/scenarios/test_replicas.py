"""Two `lethe serve` replicas on one PostgreSQL store: a target added through one is refused
by the other within 2 s, and removed from both; /ready stays 200 on both throughout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from bench.processes import BIN, free_port, running
from tests.server.test_policy import FORGET
from tests.server.test_targets_api import NEW, RAG

ADMIN = {"Authorization": "Bearer admin-key"}
PROPAGATION_LIMIT_SECONDS = 2.0


@contextmanager
def replicas(tmp_path: Path, store: str, count: int) -> Iterator[list[str]]:
    """``count`` servers on ``store`` (scripted model that repeats its context)."""
    (tmp_path / "forget.yaml").write_text(FORGET)
    config = tmp_path / "lethe.yaml"
    config.write_text("unlearning:\n  forget_set: forget.yaml\n  budget: 0\n  candidates: 1\n")
    with ExitStack() as stack:
        urls = []
        for number in range(count):
            port = free_port()
            env = {
                "LETHE_BACKEND__KIND": "scripted",
                "LETHE_BACKEND__SCRIPTED__ECHO": "true",
                "LETHE_SERVER__PORT": str(port),
                "LETHE_SERVER__ADMIN_API_KEYS": '["admin-key"]',
                "LETHE_UNLEARNING__STORE": store,
            }
            url = f"http://127.0.0.1:{port}"
            command = [str(BIN / "lethe"), "serve", "--config", str(config)]
            log = tmp_path / f"replica-{number}.log"
            stack.enter_context(running(command, f"{url}/ready", env=env, log=log))
            urls.append(url)
        yield urls


def status(url: str) -> str:
    response = httpx.post(f"{url}/v1/chat/completions", json=RAG, timeout=10)
    assert response.status_code == 200, response.text
    value: str = response.json()["unlearning"]["status"]
    return value


def wait_for(url: str, wanted: str, limit: float) -> float:
    """Seconds until ``url`` answers the RAG question with ``wanted``."""
    started = time.monotonic()
    while status(url) != wanted:
        assert time.monotonic() - started < limit, f"{url} still not {wanted} after {limit}s"
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.mark.e2e
def test_a_target_added_on_one_replica_is_refused_on_the_other_within_2s(
    tmp_path: Path, postgres_url: str
) -> None:
    with replicas(tmp_path, postgres_url, 2) as (first, second):
        assert status(second) == "accepted"
        added = httpx.post(f"{first}/admin/targets", json=NEW, headers=ADMIN, timeout=10)
        assert added.status_code == 201
        assert status(first) == "refused"  # at once where it was written
        elapsed = wait_for(second, "refused", PROPAGATION_LIMIT_SECONDS)
        assert elapsed < PROPAGATION_LIMIT_SECONDS
        for url in (first, second):
            assert httpx.get(f"{url}/ready", timeout=10).status_code == 200
        removed = httpx.delete(f"{second}/admin/targets/p-77", headers=ADMIN, timeout=10)
        assert removed.status_code == 204
        listed = httpx.get(f"{first}/admin/targets", headers=ADMIN, timeout=10)
        deadline = time.monotonic() + PROPAGATION_LIMIT_SECONDS
        while "p-77" in {t["id"] for t in listed.json()["data"]}:
            assert time.monotonic() < deadline
            time.sleep(0.02)
            listed = httpx.get(f"{first}/admin/targets", headers=ADMIN, timeout=10)
