"""Hot reload: POST /admin/reload and file polling swap the forget set and artifact, a
broken file keeps the old state, and a forget set the artifact does not cover is stale."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from server.backends.scripted import ScriptedBackend, fixed
from tests.conftest import ClientFactory
from tests.server.test_policy import ASK, FORGET, LEAK, SAFE, _settings, _write_artifact

SECOND_TARGET = """\
  - id: t-2
    name: Orla Vantgrieve
    facts: [Orla Vantgrieve's mother is a marine biologist.]
"""
SECOND_LEAK = "Orla Vantgrieve grew up with a mother who is a marine biologist."
ADMIN = {"Authorization": "Bearer admin-key"}


def _client(
    tmp_path: Path, client_factory: ClientFactory, answer: str, **unlearning: Any
) -> TestClient:
    forget = tmp_path / "forget.yaml"
    if not forget.exists():
        forget.write_text(FORGET)
    return client_factory(
        ScriptedBackend(fixed(answer)),
        server={"admin_api_keys": ["admin-key"], "reload_interval_seconds": 0},
        unlearning={"forget_set": str(forget), "budget": 0, "candidates": 1, **unlearning},
    )


def _ask(client: TestClient) -> dict[str, Any]:
    body: dict[str, Any] = client.post("/v1/chat/completions", json=ASK).json()
    return body


def _metric(client: TestClient, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric line starting with {line_start}")


def test_reload_adds_a_target_that_is_enforced_at_once(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory, SECOND_LEAK)
    assert _ask(client)["unlearning"]["status"] == "accepted"  # t-2 not forgotten yet
    (tmp_path / "forget.yaml").write_text(FORGET + SECOND_TARGET)
    response = client.post("/admin/reload", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["forget_set"]["outcome"] == "ok"
    assert response.json()["stale"] is False  # no artifact: nothing to go stale
    assert _ask(client)["unlearning"]["status"] == "refused"
    assert _metric(client, 'lethe_reloads_total{outcome="ok",resource="forget_set"}') == 1
    assert _metric(client, "lethe_forget_set_targets ") == 2


def test_broken_forget_set_keeps_the_old_one_and_names_only_the_place(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory, LEAK)
    (tmp_path / "forget.yaml").write_text(FORGET + "  - id: t-2\n    facts: [The secret is 42.]\n")
    response = client.post("/admin/reload", headers=ADMIN)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "reload_failed"
    assert "forget.yaml" in error["message"]
    assert "name" in error["message"]
    assert "secret" not in error["message"]
    assert "civil" not in error["message"]
    assert _ask(client)["unlearning"]["status"] == "refused"  # old target still enforced
    assert _metric(client, 'lethe_reloads_total{outcome="failed",resource="forget_set"}') == 1


def test_same_content_is_unchanged(tmp_path: Path, client_factory: ClientFactory) -> None:
    client = _client(tmp_path, client_factory, SAFE)
    (tmp_path / "forget.yaml").write_text(FORGET)
    body = client.post("/admin/reload", headers=ADMIN).json()
    assert body["forget_set"]["outcome"] == "unchanged"


def test_a_target_the_artifact_was_not_calibrated_on_is_interim_not_stale(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    """A new target never makes the artifact stale (/ready stays 200): the certificate
    covers the targets it was calibrated on, and the new one runs under the interim rule."""
    _write_artifact(_settings(tmp_path), tmp_path / "a.json")
    client = _client(tmp_path, client_factory, SAFE, artifact=str(tmp_path / "a.json"))
    assert client.get("/ready").status_code == 200
    assert _ask(client)["unlearning"]["guarantee"]["coverage"] == "certified"
    (tmp_path / "forget.yaml").write_text(FORGET + SECOND_TARGET)
    body = client.post("/admin/reload", headers=ADMIN).json()
    assert (body["forget_set"]["outcome"], body["stale"]) == ("ok", False)
    assert client.get("/ready").status_code == 200
    assert _metric(client, "lethe_policy_stale ") == 0
    assert _metric(client, 'lethe_interim_targets{scope="global"}') == 1
    assert _ask(client)["unlearning"]["guarantee"]["coverage"] == "certified"  # t-2 untouched


def test_corrupt_artifact_keeps_the_previous_policy(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    _write_artifact(_settings(tmp_path), tmp_path / "a.json")
    client = _client(tmp_path, client_factory, SAFE, artifact=str(tmp_path / "a.json"))
    before = _ask(client)["unlearning"]["guarantee"]["artifact"]
    (tmp_path / "a.json").write_text("{not json")
    response = client.post("/admin/reload", headers=ADMIN)
    assert response.status_code == 422
    assert "a.json" in response.json()["error"]["message"]
    assert _ask(client)["unlearning"]["guarantee"]["artifact"] == before
    assert client.get("/ready").status_code == 200


def test_admin_needs_its_own_key(tmp_path: Path, client_factory: ClientFactory) -> None:
    (tmp_path / "forget.yaml").write_text(FORGET)
    client = client_factory(
        ScriptedBackend(),
        server={"api_keys": ["user-key"], "admin_api_keys": ["admin-key"]},
        unlearning={"forget_set": str(tmp_path / "forget.yaml")},
    )
    user = {"Authorization": "Bearer user-key"}
    assert client.post("/admin/reload", headers=user).status_code == 401
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload", headers=ADMIN).status_code == 200


def test_admin_is_off_without_admin_keys(client_factory: ClientFactory) -> None:
    client = client_factory(server={"api_keys": ["user-key"]})
    response = client.post("/admin/reload", headers={"Authorization": "Bearer user-key"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_polling_picks_up_a_changed_file(tmp_path: Path, client_factory: ClientFactory) -> None:
    forget = tmp_path / "forget.yaml"
    forget.write_text(FORGET)
    client = client_factory(
        ScriptedBackend(fixed(SECOND_LEAK)),
        server={"reload_interval_seconds": 0.05},
        unlearning={"forget_set": str(forget), "budget": 0, "candidates": 1},
    )
    assert _ask(client)["unlearning"]["status"] == "accepted"
    # Replace the file the way Kubernetes does (new inode), not by writing in place.
    staged = tmp_path / "forget.yaml.new"
    staged.write_text(FORGET + SECOND_TARGET)
    staged.replace(forget)
    deadline = time.monotonic() + 10
    while _metric(client, "lethe_forget_set_targets ") != 2:
        assert time.monotonic() < deadline, "the watcher did not reload the forget set"
        time.sleep(0.05)
    assert _ask(client)["unlearning"]["status"] == "refused"
