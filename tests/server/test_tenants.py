"""Tenants: a tenant's targets are enforced on its own answers (plus the global ones) and
never affect, nor appear in, another tenant's answers, listings, metrics or errors; a
tenant's admin key administers that tenant only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from calibration.artifact import read_artifact
from server.backends.scripted import ScriptedBackend
from server.config import ConfigError, Settings
from server.tenants import KeyRing, key_id
from tests.conftest import ClientFactory
from tests.server.test_policy import FORGET, _write_artifact
from tests.server.test_targets_api import FACT_WORDS, NEW, RAG, repeat_context

GLOBAL_ADMIN = {"Authorization": "Bearer admin-key"}
ACME_ADMIN = {"Authorization": "Bearer acme-admin"}
BETA_ADMIN = {"Authorization": "Bearer beta-admin"}
USERS = {"global": "user-key", "acme": "acme-key", "beta": "beta-key"}


def _client(tmp_path: Path, client_factory: ClientFactory) -> TestClient:
    (tmp_path / "forget.yaml").write_text(FORGET)
    return client_factory(
        ScriptedBackend(repeat_context),
        server={
            "api_keys": ["user-key"],
            "admin_api_keys": ["admin-key"],
            "reload_interval_seconds": 0,
        },
        unlearning={
            "forget_set": str(tmp_path / "forget.yaml"),
            "store": f"sqlite:///{tmp_path}/lethe.sqlite3",
            "budget": 0,
            "candidates": 1,
        },
        tenants={
            "acme": {"api_keys": ["acme-key"], "admin_api_keys": ["acme-admin"]},
            "beta": {"api_keys": ["beta-key"], "admin_api_keys": ["beta-admin"]},
        },
    )


def _status(client: TestClient, who: str) -> str:
    response = client.post(
        "/v1/chat/completions", json=RAG, headers={"Authorization": f"Bearer {USERS[who]}"}
    )
    assert response.status_code == 200, response.text
    status: str = response.json()["unlearning"]["status"]
    return status


def _ids(client: TestClient, headers: dict[str, str], query: str = "") -> list[str]:
    response = client.get(f"/admin/targets{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["data"]]


def test_a_tenant_target_is_enforced_for_that_tenant_only(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory)
    added = client.post("/admin/targets", json=NEW, headers=ACME_ADMIN)
    assert added.status_code == 201
    assert added.json()["tenant"] == "acme"
    assert _status(client, "acme") == "refused"
    assert _status(client, "beta") == "accepted"
    assert _status(client, "global") == "accepted"
    beta_verify = client.post(
        "/v1/unlearning/verify",
        json={**RAG, "response": " ".join(NEW["facts"])},
        headers={"Authorization": "Bearer beta-key"},
    ).json()
    assert (beta_verify["flagged"], beta_verify["targets"]) == (False, [])


def test_global_targets_apply_to_every_tenant(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory)
    assert client.post("/admin/targets", json=NEW, headers=GLOBAL_ADMIN).status_code == 201
    assert {who: _status(client, who) for who in USERS} == dict.fromkeys(USERS, "refused")


def test_tenant_admins_see_and_change_their_tenant_only(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory)
    client.post("/admin/targets", json=NEW, headers=ACME_ADMIN)
    assert _ids(client, ACME_ADMIN) == ["p-77"]
    assert _ids(client, BETA_ADMIN) == []
    assert _ids(client, GLOBAL_ADMIN) == ["t-1"]
    assert _ids(client, GLOBAL_ADMIN, "?tenant=acme") == ["p-77"]
    denied = client.get("/admin/targets?tenant=acme", headers=BETA_ADMIN)
    assert denied.status_code == 403
    assert "p-77" not in denied.text
    assert "acme" not in denied.text
    # The same id in another tenant is another target: no conflict reveals acme's.
    mine = {**NEW, "facts": ["Something else entirely."]}
    assert client.post("/admin/targets", json=mine, headers=BETA_ADMIN).status_code == 201
    assert client.delete("/admin/targets/p-77", headers=BETA_ADMIN).status_code == 204
    assert _ids(client, ACME_ADMIN) == ["p-77"]  # acme's target untouched
    assert client.get("/admin/targets?tenant=nope", headers=GLOBAL_ADMIN).status_code == 404
    assert client.post("/admin/reload", headers=ACME_ADMIN).status_code == 403  # global files


def test_metrics_name_scopes_never_targets(tmp_path: Path, client_factory: ClientFactory) -> None:
    client = _client(tmp_path, client_factory)
    client.post("/admin/targets", json=NEW, headers=ACME_ADMIN)
    _status(client, "acme")
    metrics = client.get("/metrics").text
    assert 'lethe_scope_targets{scope="acme"} 1.0' in metrics
    assert 'lethe_scope_targets{scope="beta"} 0.0' in metrics
    assert "p-77" not in metrics
    for word in FACT_WORDS:
        assert word not in metrics


def test_keys_resolve_to_their_scope_and_are_named_by_hash() -> None:
    settings = Settings(
        server={"api_keys": ["g"], "admin_api_keys": ["ga"]},
        tenants={"acme": {"api_keys": ["a"], "admin_api_keys": ["aa"]}},
    )
    keys = KeyRing(settings)
    found = keys.api("a")
    assert found is not None
    assert (found.scope, found.key) == ("acme", key_id("a"))
    assert keys.api("aa") is None  # an admin key is not a /v1 key
    admin = keys.admin("ga")
    assert admin is not None
    assert admin.scope == ""
    assert "ga" not in key_id("ga")


@pytest.mark.parametrize(
    "tenants",
    [
        {"acme": {"api_keys": ["same-secret"]}, "beta": {"api_keys": ["same-secret"]}},
        {"acme": {"admin_api_keys": ["same-secret"]}},
    ],
)
def test_a_key_of_two_owners_is_a_config_error_that_never_shows_it(
    tenants: dict[str, Any],
) -> None:
    settings = Settings(server={"api_keys": ["same-secret"]}, tenants=tenants)
    with pytest.raises(ConfigError) as info:
        KeyRing(settings)
    assert "also a key of" in str(info.value)
    assert "same-secret" not in str(info.value)


def test_tenant_names_are_checked() -> None:
    with pytest.raises(ValueError, match="tenants"):
        Settings(tenants={"Bad Name": {}})


TENANT_FORGET = """\
version: 1
targets:
  - id: a-1
    name: Perpetua Lindqvist
    facts: [Perpetua Lindqvist grows saffron in Visby.]
"""


def test_a_tenant_runs_under_its_own_artifact(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    (tmp_path / "forget.yaml").write_text(FORGET)
    (tmp_path / "acme.yaml").write_text(TENANT_FORGET)
    acme = Settings(backend={"kind": "scripted"}, unlearning={"forget_set": tmp_path / "acme.yaml"})
    _write_artifact(acme, tmp_path / "acme.json")
    client = client_factory(
        ScriptedBackend(repeat_context),
        server={"api_keys": ["user-key"], "reload_interval_seconds": 0},
        unlearning={
            "forget_set": str(tmp_path / "forget.yaml"),
            "store": f"sqlite:///{tmp_path}/lethe.sqlite3",
            "budget": 0,
            "candidates": 1,
        },
        tenants={
            "acme": {
                "api_keys": ["acme-key"],
                "forget_set": str(tmp_path / "acme.yaml"),
                "artifact": str(tmp_path / "acme.json"),
            }
        },
    )
    asked = {**RAG, "messages": [*RAG["messages"][:1], {"role": "user", "content": "Hi."}]}
    own = client.post(
        "/v1/chat/completions", json=asked, headers={"Authorization": "Bearer acme-key"}
    ).json()["unlearning"]
    assert own["guarantee"]["artifact"] == read_artifact(tmp_path / "acme.json").artifact_id()
    assert own["guarantee"]["coverage"] == "certified"
    others = client.post(
        "/v1/chat/completions", json=asked, headers={"Authorization": "Bearer user-key"}
    ).json()["unlearning"]
    assert others["guarantee"] is None  # the global scope has no artifact
    assert client.get("/ready").status_code == 200
