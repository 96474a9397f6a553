"""Artifacts published to the store are installed without a restart: answers' ``guarantee``
names the new artifact, targets it covers turn ``certified`` (``lethe_interim_targets``
drops), a stale one is installed stale (never certified), a broken one is skipped, a restart
keeps the publication over the seed file, and a replica on PostgreSQL installs it within 2 s."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from calibration.artifact import read_artifact
from server.backends.scripted import ScriptedBackend
from server.cli import main
from server.store import GLOBAL, open_store
from tests.conftest import ClientFactory
from tests.server.test_policy import FORGET, OVER_TARGETS, _settings, _write
from tests.server.test_targets_api import ADMIN, NEW, RAG, repeat_context

PROPAGATION_LIMIT_SECONDS = 2.0


def over_targets(tmp_path: Path, name: str, size: int, **fingerprints: Any) -> Path:
    """A certificate over targets for the test server's configuration, covering forget sets
    of up to ``size`` targets (``fingerprints``: fields made to differ: a stale one)."""
    path = tmp_path / name
    fields = {
        **OVER_TARGETS,
        "max_forget_set_size": size,
        "created": f"2026-12-0{size}T00:00:00+00:00",
    }
    _write(_settings(tmp_path), path, fields, fingerprints)
    return path


def serve(
    tmp_path: Path, client_factory: ClientFactory, store: str | None = None, **unlearning: Any
) -> TestClient:
    forget = tmp_path / "forget.yaml"
    if not forget.exists():
        forget.write_text(FORGET)
    return client_factory(
        ScriptedBackend(repeat_context),
        server={"admin_api_keys": ["admin-key"], "reload_interval_seconds": 0},
        unlearning={
            "forget_set": str(forget),
            "store": store or f"sqlite:///{tmp_path}/lethe.sqlite3",
            "budget": 0,
            "candidates": 1,
            **unlearning,
        },
    )


def guarantee(client: TestClient) -> dict[str, Any]:
    response = client.post("/v1/chat/completions", json=RAG)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["unlearning"]["guarantee"]
    return found


def metric(client: TestClient, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric line starting with {line_start}")


def publish(tmp_path: Path, artifact: Path) -> None:
    config = tmp_path / "cli.yaml"
    config.write_text(f"unlearning:\n  store: sqlite:///{tmp_path}/lethe.sqlite3\n")
    assert main(["artifacts", "publish", "--config", str(config), str(artifact)]) == 0


def test_a_published_artifact_turns_interim_targets_certified_without_a_restart(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    small = over_targets(tmp_path, "small.json", 1)
    client = serve(tmp_path, client_factory, artifact=str(small))
    assert guarantee(client)["artifact"] == read_artifact(small).artifact_id()
    assert client.post("/admin/targets", json=NEW, headers=ADMIN).status_code == 201
    # Two targets: more than the artifact calibrated, so the new one runs interim.
    before = guarantee(client)
    assert (before["coverage"], before["stale"]) == ("interim", False)
    assert metric(client, 'lethe_interim_targets{scope="global"}') == 1

    larger = over_targets(tmp_path, "larger.json", 2)
    publish(tmp_path, larger)
    after = guarantee(client)  # the next request: no reload, no restart
    assert after["artifact"] == read_artifact(larger).artifact_id()
    assert (after["coverage"], after["stale"], after["certified"]) == ("certified", False, True)
    assert metric(client, 'lethe_interim_targets{scope="global"}') == 0
    listed = {
        t["id"]: t["coverage"] for t in client.get("/admin/targets", headers=ADMIN).json()["data"]
    }
    assert listed == {"t-1": "certified", "p-77": "certified"}
    assert client.get("/ready").status_code == 200
    created = metric(client, 'lethe_artifact_created_timestamp_seconds{scope="global"}')
    assert created == datetime(2026, 12, 2, tzinfo=UTC).timestamp()  # the artifact's `created`
    assert metric(client, 'lethe_artifact_age_seconds{scope="global"}') > 0
    published = metric(client, 'lethe_artifact_published_timestamp_seconds{scope="global"}')
    assert abs(published - time.time()) < 60

    # A restart keeps the publication: the unchanged seed file is not published again.
    restarted = serve(tmp_path, client_factory, artifact=str(small))
    assert guarantee(restarted)["artifact"] == read_artifact(larger).artifact_id()


def test_a_stale_publication_is_installed_stale_and_a_rollback_restores(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    good = over_targets(tmp_path, "good.json", 2)
    client = serve(tmp_path, client_factory, artifact=str(good))
    other_model = over_targets(tmp_path, "other.json", 3, backend_model="sha256:other")
    publish(tmp_path, other_model)
    stale = guarantee(client)
    assert stale["artifact"] == read_artifact(other_model).artifact_id()
    assert (stale["stale"], stale["certified"], stale["coverage"]) == (True, False, "interim")
    assert stale["statement"].startswith("NOT CERTIFIED for this server")
    assert client.get("/ready").status_code == 503  # as a stale artifact file is
    publish(tmp_path, good)  # publishing an older artifact again makes it active again
    back = guarantee(client)
    assert (back["artifact"], back["stale"]) == (read_artifact(good).artifact_id(), False)
    assert client.get("/ready").status_code == 200


def test_an_unreadable_publication_keeps_the_artifact_in_force(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    good = over_targets(tmp_path, "good.json", 2)
    client = serve(tmp_path, client_factory, artifact=str(good))
    store = open_store(f"sqlite:///{tmp_path}/lethe.sqlite3")
    store.publish_artifact(GLOBAL, "sha256:broken", "{not json", calibrated=None, actor="t")
    store.close()
    assert guarantee(client)["artifact"] == read_artifact(good).artifact_id()
    assert metric(client, 'lethe_reloads_total{outcome="failed",resource="artifact"}') == 1
    assert client.get("/ready").status_code == 200


def test_a_tenant_without_its_own_artifact_follows_the_global_one(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    (tmp_path / "forget.yaml").write_text(FORGET)
    client = client_factory(
        ScriptedBackend(repeat_context),
        server={"api_keys": ["user-key"], "reload_interval_seconds": 0},
        unlearning={
            "forget_set": str(tmp_path / "forget.yaml"),
            "store": f"sqlite:///{tmp_path}/lethe.sqlite3",
            "artifact": str(over_targets(tmp_path, "first.json", 2)),
            "budget": 0,
            "candidates": 1,
        },
        tenants={"acme": {"api_keys": ["acme-key"]}},
    )
    newer = over_targets(tmp_path, "newer.json", 3)
    publish(tmp_path, newer)
    answer = client.post(
        "/v1/chat/completions", json=RAG, headers={"Authorization": "Bearer acme-key"}
    )
    assert (
        answer.json()["unlearning"]["guarantee"]["artifact"] == read_artifact(newer).artifact_id()
    )


def test_a_publication_is_written_to_the_audit_log(tmp_path: Path) -> None:
    config = tmp_path / "cli.yaml"
    config.write_text(
        f"server:\n  audit_log: {tmp_path}/audit.jsonl\n"
        f"unlearning:\n  store: sqlite:///{tmp_path}/lethe.sqlite3\n"
    )
    artifact = over_targets(tmp_path, "first.json", 2)
    for _ in range(2):  # the second time it is already active
        assert main(["artifacts", "publish", "--config", str(config), str(artifact)]) == 0
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(a["event"], a["outcome"]) for a in lines] == [
        ("artifact_published", "published"),
        ("artifact_published", "unchanged"),
    ]
    first = lines[0]
    assert first["artifact"] == read_artifact(artifact).artifact_id()
    assert (first["tenant"], first["certified"]) == (None, True)
    assert first["actor"].startswith("cli:")
    assert lines[1]["revision"] == first["revision"]


def test_a_replica_on_postgresql_installs_a_publication_within_2s(
    tmp_path: Path, client_factory: ClientFactory, postgres_url: str
) -> None:
    first_artifact = over_targets(tmp_path, "first.json", 2)
    replicas = [
        serve(tmp_path, client_factory, postgres_url, artifact=str(first_artifact))
        for _ in range(2)
    ]
    newer = read_artifact(over_targets(tmp_path, "newer.json", 3))
    store = open_store(postgres_url)
    try:
        store.publish_artifact(
            GLOBAL, newer.artifact_id(), newer.model_dump_json(), calibrated=None, actor="t"
        )
    finally:
        store.close()
    started = time.monotonic()
    for replica in replicas:
        while guarantee(replica)["artifact"] != newer.artifact_id():
            elapsed = time.monotonic() - started
            assert elapsed < PROPAGATION_LIMIT_SECONDS, f"not installed after {elapsed:.2f} s"
            time.sleep(0.02)
    assert time.monotonic() - started < PROPAGATION_LIMIT_SECONDS
