"""Artifacts at start-up: the policy they carry, and what happens when they are stale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from calibration.artifact import Artifact, PolicyChoice, statement, write_artifact
from server.app import create_app
from server.backends.scripted import ScriptedBackend, sequence
from server.config import Settings
from server.guard import Guard
from server.metrics import Metrics
from server.policy import GuardStartError, current_fingerprints
from tests.conftest import ClientFactory

FORGET = """\
version: 1
targets:
  - id: t-1
    name: Hsiao Yun-Hwa
    facts: [The father of Hsiao Yun-Hwa is a civil engineer.]
"""
LEAK = "Hsiao Yun-Hwa's father is a civil engineer."
SAFE = "I can't share information about that person."
ASK = {"messages": [{"role": "user", "content": "Who is the engineer's daughter?"}]}


def _settings(tmp_path: Path, **unlearning: Any) -> Settings:
    forget = tmp_path / "forget.yaml"
    forget.write_text(FORGET)
    return Settings(
        backend={"kind": "scripted"},
        unlearning={"forget_set": str(forget), **unlearning},
    )


def _write_artifact(settings: Settings, path: Path, **changes: Any) -> None:
    guard = Guard.from_settings(settings, Metrics())
    assert guard is not None
    fingerprints = current_fingerprints(settings, guard.forget_set, guard.suite.config, "scripted")
    artifact = Artifact(
        created="2026-11-28T00:00:00+00:00",
        passed=True,
        policy=PolicyChoice(threshold=0.3, budget=1, candidates=3, strategy="reprompt"),
        epsilon=0.05,
        delta=0.05,
        n=400,
        n_forget=160,
        n_unrelated=240,
        failures=3,
        p_value=0.001,
        refusal_rate_unrelated=0.01,
        mean_rounds=1.2,
        statement=statement(0.05, 0.05, 400, True),
        fingerprints=fingerprints.model_copy(update=changes),
    )
    write_artifact(artifact, path)
    guard.close()


def test_artifact_policy_and_guarantee_reach_every_answer(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    base = _settings(tmp_path)
    _write_artifact(base, tmp_path / "a.json")
    backend = ScriptedBackend(sequence([LEAK, LEAK, LEAK, SAFE]))
    client = client_factory(
        backend,
        unlearning={
            "forget_set": str(tmp_path / "forget.yaml"),
            "artifact": str(tmp_path / "a.json"),
        },
    )
    body = client.post("/v1/chat/completions", json=ASK).json()
    info = body["unlearning"]
    assert (info["threshold"], info["budget"]) == (0.3, 1)
    assert backend.calls[0].n == 3  # k from the artifact
    assert info["status"] == "refined"
    assert info["rounds"] == 2
    assert info["candidates"] == 6
    assert info["guarantee"]["method"] == "ltt-binomial"
    assert info["guarantee"]["n_calibration"] == 400
    assert info["guarantee"]["stale"] is False
    assert info["guarantee"]["artifact"].startswith("sha256:")
    assert "<= 0.05" in info["guarantee"]["statement"]
    assert body["choices"][0]["message"]["content"] == SAFE
    assert client.get("/ready").status_code == 200


def test_stale_artifact_refuses_to_start(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _write_artifact(settings, tmp_path / "a.json", forget_set="sha256:other")
    stale = settings.model_copy(
        update={
            "unlearning": settings.unlearning.model_copy(update={"artifact": tmp_path / "a.json"})
        }
    )
    with pytest.raises(GuardStartError, match="forget_set"):
        create_app(stale, backend=ScriptedBackend())


def test_allowed_stale_artifact_serves_marked_stale_and_not_ready(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    settings = _settings(tmp_path)
    _write_artifact(settings, tmp_path / "a.json", prompts="sha256:other")
    client = client_factory(
        ScriptedBackend(sequence([SAFE])),
        unlearning={
            "forget_set": str(tmp_path / "forget.yaml"),
            "artifact": str(tmp_path / "a.json"),
            "allow_stale": True,
        },
    )
    body = client.post("/v1/chat/completions", json=ASK).json()
    assert body["unlearning"]["guarantee"]["stale"] is True
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["artifact_current"] is False


def test_missing_artifact_is_a_start_up_error(tmp_path: Path) -> None:
    settings = _settings(tmp_path, artifact=str(tmp_path / "nope.json"))
    with pytest.raises(GuardStartError, match="cannot read"):
        create_app(settings, backend=ScriptedBackend())


def test_without_artifact_the_settings_policy_runs_without_guarantee(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    (tmp_path / "f.yaml").write_text(FORGET)
    client = client_factory(
        ScriptedBackend(sequence([SAFE])),
        unlearning={"forget_set": str(tmp_path / "f.yaml"), "budget": 1, "threshold": 0.4},
    )
    info = client.post("/v1/chat/completions", json=ASK).json()["unlearning"]
    assert (info["status"], info["threshold"], info["budget"], info["guarantee"]) == (
        "accepted",
        0.4,
        1,
        None,
    )


def test_error_fallback_is_a_422_envelope(tmp_path: Path, client_factory: ClientFactory) -> None:
    (tmp_path / "f.yaml").write_text(FORGET)
    client = client_factory(
        ScriptedBackend(sequence([LEAK])),
        unlearning={"forget_set": str(tmp_path / "f.yaml"), "budget": 0, "fallback": "error"},
    )
    response = client.post("/v1/chat/completions", json=ASK)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unlearning_refused"
    assert "civil" not in response.text
