"""``lethe targets``: add, remove and list on the configured store (a server on the same store
enforces the change on its next request) or through a server's /admin/targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.app import create_app
from server.backends.scripted import ScriptedBackend
from server.cli import main
from server.config import load_settings
from tests.conftest import ClientFactory
from tests.server.live import serve_in_thread
from tests.server.test_policy import FORGET
from tests.server.test_targets_api import FACT_WORDS, NEW, RAG, repeat_context
from verifiers.forgetset import load_forget_set


def _config(tmp_path: Path, **server: Any) -> Path:
    (tmp_path / "forget.yaml").write_text(FORGET)
    config = {
        "backend": {"kind": "scripted"},
        "server": {"reload_interval_seconds": 0, **server},
        "unlearning": {
            "forget_set": "forget.yaml",
            "store": "sqlite:///state/lethe.sqlite3",
            "budget": 0,
            "candidates": 1,
        },
        "tenants": {"acme": {}},
    }
    path = tmp_path / "lethe.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _target_file(tmp_path: Path, body: dict[str, Any] = NEW, name: str = "new.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(body, allow_unicode=True))
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["targets", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_add_list_remove_on_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(_config(tmp_path, audit_log="audit.jsonl"))
    code, out, _ = _run(capsys, "add", "--config", config, str(_target_file(tmp_path)))
    assert (code, out.split()[:2]) == (0, ["created", "p-77"])
    assert (tmp_path / "state" / "lethe.sqlite3").exists()  # relative to the config file
    code, out, _ = _run(capsys, "add", "--config", config, str(_target_file(tmp_path)))
    assert (code, out.split()[0]) == (0, "unchanged")
    other = _target_file(tmp_path, {**NEW, "facts": ["Other."]}, "other.json")
    code, out, _ = _run(capsys, "add", "--config", config, str(other))
    assert (code, out.split()[0]) == (1, "conflict")
    code, out, _ = _run(capsys, "add", "--config", config, "--replace", str(other))
    assert (code, out.split()[0]) == (0, "replaced")
    code, out, _ = _run(capsys, "list", "--config", config, "--json")
    listed = [json.loads(line) for line in out.splitlines()]
    assert [(t["id"], t["source"], t["facts"]) for t in listed] == [
        ("p-77", "api", 1),
        ("t-1", "file", 1),
    ]
    for word in FACT_WORDS:
        assert word not in out
    code, out, _ = _run(capsys, "remove", "--config", config, "p-77", "p-78")
    assert code == 1
    assert out.splitlines()[0].startswith("deleted p-77")
    assert out.splitlines()[1].startswith("missing p-78")
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(a["operation"], a["outcome"]) for a in audit] == [
        ("put", "created"),
        ("put", "unchanged"),
        ("put", "conflict"),
        ("replace", "replaced"),
        ("delete", "deleted"),
        ("delete", "missing"),
    ]
    assert audit[0]["actor"].startswith("cli:")


def test_a_server_on_the_store_enforces_it_on_the_next_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], client_factory: ClientFactory
) -> None:
    config = _config(tmp_path)
    from fastapi.testclient import TestClient

    app = create_app(load_settings(config), backend=ScriptedBackend(repeat_context))
    with TestClient(app) as client:
        before = client.post("/v1/chat/completions", json=RAG).json()
        assert before["unlearning"]["status"] == "accepted"
        code, _, _ = _run(capsys, "add", "--config", str(config), str(_target_file(tmp_path)))
        assert code == 0
        after = client.post("/v1/chat/completions", json=RAG).json()
        assert after["unlearning"]["status"] == "refused"  # no wait, no reload


def test_forget_set_files_and_tenants(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(_config(tmp_path))
    both = {"version": 1, "targets": [NEW, {**NEW, "id": "p-78"}]}
    path = _target_file(tmp_path, both, "set.yaml")
    code, out, _ = _run(capsys, "add", "--config", config, "--tenant", "acme", str(path))
    assert code == 0
    assert [line.split()[1] for line in out.splitlines()] == ["p-77", "p-78"]
    code, out, _ = _run(capsys, "list", "--config", config, "--tenant", "acme")
    assert [line.split("\t")[0] for line in out.splitlines()] == ["p-77", "p-78"]
    code, out, _ = _run(capsys, "list", "--config", config)
    assert [line.split("\t")[0] for line in out.splitlines()] == ["t-1"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({k: v for k, v in NEW.items() if k != "name"}, "field name"),
        ({**NEW, "id": "bad id"}, "field id"),
        ({"version": 1, "targets": [{"id": "x", "facts": ["Secret fact."]}]}, "name"),
    ],
)
def test_bad_files_exit_2_naming_the_field_never_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: dict[str, Any], fragment: str
) -> None:
    config = str(_config(tmp_path))
    code, out, err = _run(capsys, "add", "--config", config, str(_target_file(tmp_path, body)))
    assert code == 2
    assert fragment in err
    for word in (*FACT_WORDS, "Secret"):
        assert word not in err + out


def test_without_a_store_or_tenant_it_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain.yaml").write_text("backend: {kind: scripted}\n")
    code, _, err = _run(
        capsys, "add", "--config", str(tmp_path / "plain.yaml"), str(_target_file(tmp_path))
    )
    assert (code, "unlearning.store is not set" in err) == (2, True)
    config = str(_config(tmp_path))
    code, _, err = _run(capsys, "list", "--config", config, "--tenant", "nope")
    assert (code, "unknown tenant" in err) == (2, True)


@pytest.mark.e2e
def test_through_a_server_with_the_admin_key_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, admin_api_keys=["admin-key"])
    app = create_app(load_settings(config), backend=ScriptedBackend(repeat_context))
    with serve_in_thread(app) as url:
        args = ("--config", str(config), "--url", url)
        code, _, err = _run(capsys, "add", *args, str(_target_file(tmp_path)))
        assert (code, "LETHE_ADMIN_KEY" in err) == (2, True)
        monkeypatch.setenv("LETHE_ADMIN_KEY", "admin-key")
        code, out, _ = _run(capsys, "add", *args, str(_target_file(tmp_path)))
        assert code == 0
        assert out.startswith("created p-77 (revision")
        assert "set-sha256:" in out
        code, out, _ = _run(capsys, "list", *args)
        assert [line.split("\t")[0] for line in out.splitlines()] == ["p-77", "t-1"]
        code, out, _ = _run(capsys, "remove", *args, "p-77")
        assert (code, out.strip()) == (0, "deleted p-77")


def test_export_writes_a_forget_set_file_that_loads_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path))
    _run(capsys, "add", "--config", config, str(_target_file(tmp_path)))
    out = tmp_path / "export.yaml"
    code, _, err = _run(capsys, "export", "--config", config, "--out", str(out))
    assert (code, "exported 2 targets" in err) == (0, True)
    assert out.stat().st_mode & 0o777 == 0o600  # it holds the facts
    exported = load_forget_set(out)
    assert [t.id for t in exported] == ["p-77", "t-1"]
    assert exported.by_id("p-77").facts == tuple(NEW["facts"])
    code, _, err = _run(capsys, "export", "--config", config, "--url", "http://127.0.0.1:9")
    assert (code, "never returns facts" in err) == (2, True)
