"""Artifacts at start-up: the policy they carry, and what happens when they are stale."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from calibration.artifact import Artifact, PolicyChoice, read_artifact, statement, write_artifact
from server import policy as policy_module
from server.app import create_app
from server.backends.scripted import ScriptedBackend, sequence
from server.config import Settings
from server.guard import Guard
from server.metrics import Metrics
from server.policy import (
    GuardStartError,
    code_fingerprints,
    current_fingerprints,
    file_sha256,
    policy_for,
    weights_fingerprint,
)
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
OVER_TARGETS: dict[str, Any] = {
    "format": 2,
    "method": "ltt-hb-targets",
    "unit": "target",
    "forget_epsilon": 0.1,
    "n_targets": 120,
    "target_kinds": ["person"],
    "max_forget_set_size": 15,
    "max_tokens": 48,
}
ASK = {"messages": [{"role": "user", "content": "Who is the engineer's daughter?"}]}


def _settings(tmp_path: Path, **unlearning: Any) -> Settings:
    forget = tmp_path / "forget.yaml"
    forget.write_text(FORGET)
    return Settings(
        backend={"kind": "scripted"},
        unlearning={"forget_set": str(forget), **unlearning},
    )


def _write_artifact(settings: Settings, path: Path, **changes: Any) -> None:
    """A per-query artifact (the format-1 kind) for ``settings``, with fingerprint ``changes``."""
    _write(settings, path, {}, changes)


def _write_over_targets(settings: Settings, path: Path, **changes: Any) -> None:
    """A certificate over targets (format 2) for ``settings``, with fingerprint ``changes``."""
    _write(settings, path, OVER_TARGETS, changes)


def _write(
    settings: Settings, path: Path, fields: Mapping[str, Any], changes: Mapping[str, Any]
) -> None:
    guard = Guard.from_settings(settings, Metrics())
    assert guard is not None
    fingerprints = current_fingerprints(settings, guard.forget_set, guard.suite.config, "scripted")
    made = Artifact(
        format=1,
        method="ltt-binomial",
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
        statement="",
        fingerprints=fingerprints.model_copy(update=changes),
    ).model_copy(update=dict(fields))
    write_artifact(made.model_copy(update={"statement": statement(made)}), path)
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
    assert "at most 0.05" in info["guarantee"]["statement"]
    assert body["choices"][0]["message"]["content"] == SAFE
    assert client.get("/ready").status_code == 200


def test_stale_artifact_refuses_to_start(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _write_artifact(settings, tmp_path / "a.json", verifiers="sha256:other")
    stale = settings.model_copy(
        update={
            "unlearning": settings.unlearning.model_copy(update={"artifact": tmp_path / "a.json"})
        }
    )
    with pytest.raises(GuardStartError, match="verifiers"):
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


def _served(tmp_path: Path, **unlearning: Any) -> dict[str, Any]:
    return {
        "forget_set": str(tmp_path / "forget.yaml"),
        "artifact": str(tmp_path / "a.json"),
        **unlearning,
    }


def test_every_answer_shows_both_numbers_and_the_unit(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    _write_over_targets(_settings(tmp_path), tmp_path / "a.json")
    client = client_factory(ScriptedBackend(sequence([SAFE])), unlearning=_served(tmp_path))
    guarantee = client.post("/v1/chat/completions", json=ASK).json()["unlearning"]["guarantee"]
    assert guarantee["method"] == "ltt-hb-targets"
    assert (guarantee["epsilon"], guarantee["forget_epsilon"]) == (0.05, 0.1)
    assert (guarantee["n_calibration"], guarantee["n_targets"]) == (400, 120)
    assert guarantee["certified"] is True
    assert "reveals a fact of that target" in guarantee["statement"]
    assert "Per returned choice" in guarantee["statement"]


def test_guarded_max_tokens_are_clamped_to_the_calibrated_value(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    _write_over_targets(_settings(tmp_path), tmp_path / "a.json")
    backend = ScriptedBackend(sequence([SAFE, SAFE]))
    client = client_factory(backend, unlearning=_served(tmp_path))
    client.post("/v1/chat/completions", json={**ASK, "max_tokens": 2000})
    client.post("/v1/chat/completions", json={**ASK, "max_tokens": 20})
    assert [c.sampling.max_tokens for c in backend.calls] == [48, 20]


def test_a_stale_artifact_is_never_shown_as_certified(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    _write_over_targets(_settings(tmp_path), tmp_path / "a.json", loop_code="sha256:old")
    client = client_factory(
        ScriptedBackend(sequence([SAFE])), unlearning=_served(tmp_path, allow_stale=True)
    )
    guarantee = client.post("/v1/chat/completions", json=ASK).json()["unlearning"]["guarantee"]
    assert (guarantee["stale"], guarantee["certified"]) == (True, False)
    assert guarantee["statement"].startswith("NOT CERTIFIED for this server")


def test_a_certificate_over_targets_does_not_pin_the_forget_set(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _write_over_targets(settings, tmp_path / "t.json", forget_set="sha256:x")
    _write_artifact(settings, tmp_path / "q.json", forget_set="sha256:x")
    guard = Guard.from_settings(settings, Metrics())
    assert guard is not None
    current = current_fingerprints(settings, guard.forget_set, guard.suite.config, "scripted")
    guard.close()
    over_targets = read_artifact(tmp_path / "t.json")
    assert not policy_for(settings.unlearning, over_targets, current).stale
    per_query = read_artifact(tmp_path / "q.json")
    with pytest.raises(GuardStartError, match="forget_set"):
        policy_for(settings.unlearning, per_query, current)


def test_fingerprints_hash_the_weights_and_the_code(tmp_path: Path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF weights, version one")
    settings = Settings(backend={"kind": "llamacpp", "llamacpp": {"model_path": str(gguf)}})
    first = weights_fingerprint(settings, "model")
    assert first == weights_fingerprint(settings, "another id")  # the bytes, not the name
    gguf.write_bytes(b"GGUF weights, version two")
    assert weights_fingerprint(settings, "model") != first  # new mtime and size: hashed again
    upstream = Settings(backend={"kind": "openai", "upstream": {"model_revision": "abc123"}})
    moved = Settings(backend={"kind": "openai", "upstream": {"model_revision": "def456"}})
    assert weights_fingerprint(upstream, "m") != weights_fingerprint(moved, "m")
    codes = code_fingerprints()
    assert set(codes) == {"verifier_code", "judge_code", "loop_code"}
    assert all(value.startswith("sha256:") for value in codes.values())
    assert len(set(codes.values())) == 3


def test_a_model_file_is_hashed_once_per_version(tmp_path: Path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"weights")
    hashes = policy_module._file_sha256
    before = hashes.cache_info()
    assert file_sha256(gguf) == hashlib.sha256(b"weights").hexdigest()
    file_sha256(gguf)
    after = hashes.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)
    gguf.write_bytes(b"new weights")  # another size (and mtime): hashed again
    assert file_sha256(gguf) == hashlib.sha256(b"new weights").hexdigest()
