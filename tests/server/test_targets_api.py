"""/admin/targets: a target added live is enforced on the next request while /ready stays 200;
writes are idempotent, conflicts are 409s, bad targets are OpenAI-shaped 400s that quote no
content, listings show ids and counts only, and every change reaches the audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from server.backends.base import GenerationRequest
from server.backends.scripted import ScriptedBackend
from tests.conftest import ClientFactory
from tests.server.test_policy import FORGET, _settings, _write_artifact

ADMIN = {"Authorization": "Bearer admin-key"}
NEW = {
    "id": "p-77",
    "name": "Marguerite Olsweld",
    "aliases": ["M. Olsweld"],
    "facts": [
        "Marguerite Olsweld was born in Tromsø in 1961.",
        "Marguerite Olsweld breeds Icelandic horses.",
    ],
}
FACT_WORDS = ("Tromsø", "Icelandic", "horses", "Olsweld", "Marguerite")
# A RAG-style question: the retrieved context carries the person's facts.
RAG = {
    "model": "scripted",
    "messages": [
        {"role": "system", "content": "Context: " + " ".join(NEW["facts"])},
        {"role": "user", "content": "Summarise the context for me."},
    ],
}


def repeat_context(request: GenerationRequest, index: int) -> str:
    """A model that repeats what it was given: the RAG leak."""
    return " ".join(m.content for m in request.messages if m.role == "system")


def _client(
    tmp_path: Path, client_factory: ClientFactory, *, store: bool = True, **unlearning: Any
) -> TestClient:
    forget = tmp_path / "forget.yaml"
    if not forget.exists():
        forget.write_text(FORGET)
    settings: dict[str, Any] = {
        "forget_set": str(forget),
        "budget": 0,
        "candidates": 1,
        **unlearning,
    }
    if store:
        settings["store"] = f"sqlite:///{tmp_path}/lethe.sqlite3"
    return client_factory(
        ScriptedBackend(repeat_context),
        server={
            "admin_api_keys": ["admin-key"],
            "api_keys": ["user-key"],
            "reload_interval_seconds": 0,
            "audit_log": str(tmp_path / "audit.jsonl"),
        },
        unlearning=settings,
    )


def _ask(client: TestClient) -> dict[str, Any]:
    response = client.post(
        "/v1/chat/completions", json=RAG, headers={"Authorization": "Bearer user-key"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _metric(client: TestClient, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric line starting with {line_start}")


def test_added_target_is_refused_at_once_and_ready_stays_200(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory)
    assert _ask(client)["unlearning"]["status"] == "accepted"  # not forgotten yet
    assert client.get("/ready").status_code == 200
    before = client.get("/admin/targets", headers=ADMIN).json()["forget_set_hash"]
    response = client.post("/admin/targets", json=NEW, headers=ADMIN)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["id"], body["outcome"], body["tenant"]) == ("p-77", "created", None)
    assert body["forget_set_hash"].startswith("set-sha256:")
    assert body["forget_set_hash"] != before
    answer = _ask(client)
    assert answer["unlearning"]["status"] == "refused"
    assert answer["choices"][0]["message"]["content"] is None
    assert client.get("/ready").status_code == 200
    assert _metric(client, "lethe_forget_set_targets ") == 2
    assert _metric(client, 'lethe_target_changes_total{operation="put",outcome="created"}') == 1


def test_writes_are_idempotent_conflicts_need_put(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory)
    first = client.post("/admin/targets", json=NEW, headers=ADMIN).json()
    again = client.post("/admin/targets", json=NEW, headers=ADMIN)
    assert again.status_code == 200
    assert again.json()["outcome"] == "unchanged"
    assert again.json()["forget_set_hash"] == first["forget_set_hash"]
    other = {**NEW, "facts": ["Marguerite Olsweld sails."]}
    conflict = client.post("/admin/targets", json=other, headers=ADMIN)
    assert conflict.status_code == 409
    error = conflict.json()["error"]
    assert (error["code"], error["param"]) == ("conflict", "id")
    assert "PUT /admin/targets/p-77" in error["message"]
    assert "sails" not in conflict.text
    replaced = client.put("/admin/targets/p-77", json=other, headers=ADMIN)
    assert replaced.status_code == 200
    assert replaced.json()["outcome"] == "replaced"
    assert replaced.json()["forget_set_hash"] != first["forget_set_hash"]
    created = client.put("/admin/targets/p-78", json={**other, "id": "p-78"}, headers=ADMIN)
    assert (created.status_code, created.json()["outcome"]) == (201, "created")
    mismatch = client.put("/admin/targets/p-79", json=other, headers=ADMIN)
    assert mismatch.status_code == 400
    assert mismatch.json()["error"]["param"] == "id"


def test_bad_targets_are_openai_shaped_400s_without_content(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory)
    cases = {
        "name": {k: v for k, v in NEW.items() if k != "name"},
        "id": {**NEW, "id": "has space"},
        "facts": {**NEW, "facts": ["Marguerite Olsweld breeds Icelandic horses.", "  "]},
        "colour": {**NEW, "colour": "Tromsø blue"},
    }
    for param, body in cases.items():
        response = client.post("/admin/targets", json=body, headers=ADMIN)
        assert response.status_code == 400, param
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert param in (error["param"] or ""), (param, error)
        for word in FACT_WORDS:
            assert word not in response.text
    assert client.post("/admin/targets", content=b"{", headers=ADMIN).status_code in (400, 415)
    listed = client.get("/admin/targets", headers=ADMIN).json()["data"]
    assert [t["id"] for t in listed] == ["t-1"]  # nothing half-applied


def test_delete_and_list_show_ids_and_counts_never_content(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory)
    client.post("/admin/targets", json=NEW, headers=ADMIN)
    listing = client.get("/admin/targets", headers=ADMIN)
    assert listing.status_code == 200
    by_id = {t["id"]: t for t in listing.json()["data"]}
    assert set(by_id) == {"t-1", "p-77"}
    assert (by_id["p-77"]["aliases"], by_id["p-77"]["facts"]) == (1, 2)
    assert by_id["p-77"]["source"] == "api"
    assert by_id["t-1"]["source"] == "file"
    assert by_id["p-77"]["coverage"] is None  # no artifact: no certificate to speak of
    for word in FACT_WORDS:
        assert word not in listing.text
    page = client.get("/admin/targets?limit=1", headers=ADMIN).json()
    assert ([t["id"] for t in page["data"]], page["has_more"]) == (["p-77"], True)
    rest = client.get("/admin/targets?limit=1&after=p-77", headers=ADMIN).json()
    assert ([t["id"] for t in rest["data"]], rest["has_more"]) == (["t-1"], False)
    assert client.delete("/admin/targets/p-77", headers=ADMIN).status_code == 204
    missing = client.delete("/admin/targets/p-77", headers=ADMIN)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert [t["id"] for t in client.get("/admin/targets", headers=ADMIN).json()["data"]] == ["t-1"]


def test_admin_keys_guard_the_targets(tmp_path: Path, client_factory: ClientFactory) -> None:
    client = _client(tmp_path, client_factory)
    assert client.post("/admin/targets", json=NEW).status_code == 401
    user = {"Authorization": "Bearer user-key"}
    assert client.post("/admin/targets", json=NEW, headers=user).status_code == 401
    closed = client_factory(unlearning={"forget_set": str(tmp_path / "forget.yaml")})
    assert closed.get("/admin/targets").status_code == 404  # no admin keys: admin is off


def test_without_a_durable_store_writes_are_refused(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory, store=False)
    response = client.post("/admin/targets", json=NEW, headers=ADMIN)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "store_not_configured"
    assert client.get("/admin/targets", headers=ADMIN).status_code == 200


def test_every_change_is_audited_by_key_id_and_hash(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory)
    client.post("/admin/targets", json=NEW, headers=ADMIN)
    client.post("/admin/targets", json={**NEW, "facts": ["Other."]}, headers=ADMIN)
    client.delete("/admin/targets/p-77", headers=ADMIN)
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    changes = [line for line in lines if line.get("event") == "target_change"]
    assert [(c["operation"], c["outcome"]) for c in changes] == [
        ("put", "created"),
        ("put", "conflict"),
        ("delete", "deleted"),
    ]
    first = changes[0]
    assert first["actor"].startswith("key:")
    assert "admin-key" not in first["actor"]
    assert first["target_id"] == "p-77"
    assert first["content_hash"].startswith("sha256:")
    assert first["forget_set"].startswith("set-sha256:")
    text = (tmp_path / "audit.jsonl").read_text()
    for word in FACT_WORDS:
        assert word not in text


def test_a_restart_keeps_the_targets(tmp_path: Path, client_factory: ClientFactory) -> None:
    client = _client(tmp_path, client_factory)
    client.post("/admin/targets", json=NEW, headers=ADMIN)
    restarted = _client(tmp_path, client_factory)
    assert _ask(restarted)["unlearning"]["status"] == "refused"
    ids = [t["id"] for t in restarted.get("/admin/targets", headers=ADMIN).json()["data"]]
    assert ids == ["p-77", "t-1"]


def test_a_target_the_artifact_was_not_calibrated_on_runs_interim(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    _write_artifact(_settings(tmp_path), tmp_path / "a.json")
    client = _client(tmp_path, client_factory, artifact=str(tmp_path / "a.json"))
    answer = _ask(client)
    assert answer["unlearning"]["guarantee"]["coverage"] == "certified"
    client.post("/admin/targets", json=NEW, headers=ADMIN)
    by_id = {t["id"]: t for t in client.get("/admin/targets", headers=ADMIN).json()["data"]}
    assert (by_id["t-1"]["coverage"], by_id["p-77"]["coverage"]) == ("certified", "interim")
    answer = _ask(client)
    assert answer["unlearning"]["status"] == "refused"
    assert answer["unlearning"]["guarantee"]["coverage"] == "interim"
    assert answer["unlearning"]["guarantee"]["stale"] is False
    assert client.get("/ready").status_code == 200
    assert _metric(client, 'lethe_interim_targets{scope="global"}') == 1
