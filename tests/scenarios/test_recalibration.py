"""Recalibration in the background, end to end: two `lethe serve` replicas on one PostgreSQL
store; deletion requests that outgrow the calibrated forget set run interim on both; `lethe
calibrate --incremental --publish` recalibrates for the served set, and both replicas install
the new artifact within 2 s of its publication — answers name it, the new targets turn
certified, `lethe_interim_targets` drops — with `/ready` at 200 throughout and no restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bench.processes import BIN, free_port, running
from calibration.artifact import read_artifact
from server.cli import main
from tests.server.test_incremental import LATER, SERVED, base_dataset, write_forget_set

ADMIN = {"Authorization": "Bearer admin-key"}
PROPAGATION_LIMIT_SECONDS = 2.0


def rag(facts: tuple[str, ...]) -> dict[str, Any]:
    """A retrieval-style request: the context carries a person's facts."""
    return {
        "model": "scripted",
        "messages": [
            {"role": "system", "content": "Context: " + " ".join(facts)},
            {"role": "user", "content": "Summarise the context for me."},
        ],
    }


def guarantee(url: str, facts: tuple[str, ...]) -> dict[str, Any]:
    response = httpx.post(f"{url}/v1/chat/completions", json=rag(facts), timeout=10)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["unlearning"]["guarantee"]
    return found


def metric(url: str, line_start: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric line starting with {line_start}")


@contextmanager
def replicas(tmp_path: Path, config: Path, count: int) -> Iterator[list[str]]:
    with ExitStack() as stack:
        urls = []
        for number in range(count):
            port = free_port()
            env = {
                "LETHE_SERVER__PORT": str(port),
                "LETHE_SERVER__ADMIN_API_KEYS": '["admin-key"]',
            }
            url = f"http://127.0.0.1:{port}"
            command = [str(BIN / "lethe"), "serve", "--config", str(config)]
            log = tmp_path / f"replica-{number}.log"
            stack.enter_context(running(command, f"{url}/ready", env=env, log=log))
            urls.append(url)
        yield urls


def recalibrate(tmp_path: Path, config: Path) -> str:
    """``lethe calibrate --incremental --publish``; returns the id of the artifact made."""
    artifact = tmp_path / "out" / "artifact.json"
    code = main(
        ["calibrate", "--config", str(config), "--incremental", "--publish",
         "--dataset", str(tmp_path / "ds"), "--base-dataset", str(tmp_path / "base"),
         "--cache-dir", str(tmp_path / "cache"), "--artifact", str(artifact),
         "--report", str(tmp_path / "out" / "report.md"), "--general", str(tmp_path / "g.jsonl"),
         "--epsilon", "0.5", "--forget-epsilon", "0.5", "--delta", "0.5",
         "--max-budget", "1", "--candidates", "1", "--concurrency", "1"]
    )  # fmt: skip
    assert code == 0
    made = read_artifact(artifact)
    assert made.passed
    return made.artifact_id()


@pytest.mark.e2e
def test_a_published_recalibration_reaches_every_replica_within_2s(
    tmp_path: Path, postgres_url: str
) -> None:
    base_dataset(tmp_path / "base")
    (tmp_path / "g.jsonl").write_text('{"question": "Capital of Norway?", "answer": "Oslo"}\n')
    forget = write_forget_set(tmp_path / "forget.yaml", SERVED)
    config = tmp_path / "lethe.yaml"
    settings = {
        "backend": {"kind": "scripted", "scripted": {"echo": True}},
        "server": {"reload_interval_seconds": 0},
        "unlearning": {
            "forget_set": str(forget),
            "store": postgres_url,
            "verifiers": ["entity", "fact"],
            "budget": 0,
            "candidates": 1,
        },
    }
    config.write_text(yaml.safe_dump(settings))
    first = recalibrate(tmp_path, config)  # calibrated on the 3 served targets (up to 4)
    later_facts = LATER[0].facts

    with replicas(tmp_path, config, 2) as urls:
        for url in urls:
            answer = guarantee(url, SERVED[0].facts)
            assert (answer["artifact"], answer["coverage"], answer["stale"]) == (
                first,
                "certified",
                False,
            )
        for target in LATER:  # two deletion requests: five targets, more than calibrated
            body = target.model_dump(mode="json")
            added = httpx.post(f"{urls[0]}/admin/targets", json=body, headers=ADMIN, timeout=10)
            assert added.status_code == 201, added.text
        deadline = time.monotonic() + PROPAGATION_LIMIT_SECONDS
        for url in urls:
            while guarantee(url, later_facts)["coverage"] != "interim":
                assert time.monotonic() < deadline, f"{url}: the new targets are not interim"
                time.sleep(0.02)
            assert metric(url, 'lethe_interim_targets{scope="global"}') == 2

        second = recalibrate(tmp_path, config)  # published: the servers were not touched
        published = time.monotonic()
        assert second != first
        for url in urls:
            while guarantee(url, later_facts)["artifact"] != second:
                elapsed = time.monotonic() - published
                assert elapsed < PROPAGATION_LIMIT_SECONDS, f"{url}: not installed after {elapsed}"
                time.sleep(0.02)
        for url in urls:
            answer = guarantee(url, later_facts)
            assert (answer["coverage"], answer["stale"], answer["certified"]) == (
                "certified",
                False,
                True,
            )
            assert metric(url, 'lethe_interim_targets{scope="global"}') == 0
            assert httpx.get(f"{url}/ready", timeout=10).status_code == 200
