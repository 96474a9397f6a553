"""Forget-set and artifact faults: missing, corrupt, or changed while a request is in flight.

At start-up an unusable file stops the server with a message naming the file (never its
content). At run time a reload that fails keeps the previous state (422 ``reload_failed``,
``lethe_reloads_total{outcome="failed"}``, ``/ready`` still 200), and a reload that lands while
a slow request is generating applies to that request's verification: the answer is checked
against the new forget set, never let through on the old one alone.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.backends.scripted import ScriptedBackend, fixed
from server.config import DEFAULT_REFUSAL
from server.policy import GuardStartError
from tests.conftest import ClientFactory, assert_refused, sse_json
from tests.server.test_policy import ASK, FORGET, LEAK, SAFE, _settings, _write_artifact
from tests.server.test_reload import ADMIN, SECOND_LEAK, SECOND_TARGET

CHAT = "/v1/chat/completions"
FACT_WORDS = ("Hsiao", "Yun-Hwa", "civil", "Orla", "marine")
BROKEN_FORGET_SETS = {
    "missing": None,
    "not UTF-8": b"\xff\xfe\x00version: 1\n",
    "invalid YAML": (FORGET + "  - id: [unclosed\n    name: The civil engineer\n").encode(),
    "target without a name": (FORGET + "  - id: t-2\n    facts: [A civil engineer.]\n").encode(),
    "not a mapping": b"- Hsiao Yun-Hwa\n- civil engineer\n",
    "empty": b"",
}
BROKEN_ARTIFACTS = {
    "missing": None,
    "not UTF-8": b"\x89PNG\r\n\x1a\n\x00\x00",
    "not JSON": b"{not json",
    "wrong schema": b'{"format": 1, "policy": "lax"}',
}


def _no_content(text: str) -> None:
    for word in FACT_WORDS:
        assert word not in text


def _write(path: Path, content: bytes | None) -> None:
    if content is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(content)


def _metric(client: TestClient, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# --- start-up -------------------------------------------------------------------------------


@pytest.mark.parametrize("content", BROKEN_FORGET_SETS.values(), ids=BROKEN_FORGET_SETS.keys())
def test_unusable_forget_set_stops_start_up(content: bytes | None, tmp_path: Path) -> None:
    settings = _settings(tmp_path)  # writes a good forget.yaml, then we break it
    _write(tmp_path / "forget.yaml", content)
    with pytest.raises(GuardStartError) as info:
        create_app(settings, backend=ScriptedBackend())
    assert "forget.yaml" in str(info.value)
    _no_content(str(info.value))


@pytest.mark.parametrize("content", BROKEN_ARTIFACTS.values(), ids=BROKEN_ARTIFACTS.keys())
def test_unusable_artifact_stops_start_up(content: bytes | None, tmp_path: Path) -> None:
    settings = _settings(tmp_path, artifact=str(tmp_path / "a.json"))
    _write(tmp_path / "a.json", content)
    with pytest.raises(GuardStartError) as info:
        create_app(settings, backend=ScriptedBackend())
    assert "a.json" in str(info.value)


@pytest.mark.parametrize("broken", ["forget_set", "artifact"])
@pytest.mark.e2e
def test_serve_exits_2_with_a_one_line_reason(broken: str, tmp_path: Path) -> None:
    (tmp_path / "forget.yaml").write_text(FORGET)
    (tmp_path / "a.json").write_bytes(b"\x89PNG\r\n")
    if broken == "forget_set":
        _write(tmp_path / "forget.yaml", BROKEN_FORGET_SETS["invalid YAML"])
    artifact = "artifact: a.json\n" if broken == "artifact" else ""
    config = tmp_path / "lethe.yaml"
    config.write_text(
        "backend: {kind: scripted}\nserver: {port: 0}\n"
        f"unlearning:\n  forget_set: forget.yaml\n  {artifact}"
    )
    lethe = Path(sys.executable).parent / "lethe"
    done = subprocess.run(
        [str(lethe), "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("lethe: ")
    assert ("forget.yaml" if broken == "forget_set" else "a.json") in done.stderr
    assert "Traceback" not in done.stderr
    _no_content(done.stderr)


# --- run time: a reload that fails keeps the previous state ----------------------------------


def _guarded(
    tmp_path: Path, client_factory: ClientFactory, backend: ScriptedBackend, **unlearning: Any
) -> TestClient:
    forget = tmp_path / "forget.yaml"
    if not forget.exists():
        forget.write_text(FORGET)
    return client_factory(
        backend,
        server={"admin_api_keys": ["admin-key"], "reload_interval_seconds": 0},
        unlearning={"forget_set": str(forget), "budget": 0, "candidates": 1, **unlearning},
    )


@pytest.mark.parametrize("content", BROKEN_FORGET_SETS.values(), ids=BROKEN_FORGET_SETS.keys())
def test_forget_set_broken_at_run_time_keeps_the_old_one(
    content: bytes | None, tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _guarded(tmp_path, client_factory, ScriptedBackend(fixed(LEAK)))
    _write(tmp_path / "forget.yaml", content)
    response = client.post("/admin/reload", headers=ADMIN)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["type"]) == ("reload_failed", "invalid_request_error")
    assert "forget.yaml" in error["message"]
    _no_content(response.text)
    assert _metric(client, 'lethe_reloads_total{outcome="failed",resource="forget_set"}') == 1
    answer = client.post(CHAT, json=ASK)
    assert answer.json()["unlearning"]["status"] == "refused"  # t-1 is still forgotten
    _no_content(answer.text)
    assert client.get("/ready").status_code == 200


@pytest.mark.parametrize("content", BROKEN_ARTIFACTS.values(), ids=BROKEN_ARTIFACTS.keys())
def test_artifact_broken_at_run_time_keeps_the_old_policy(
    content: bytes | None, tmp_path: Path, client_factory: ClientFactory
) -> None:
    _write_artifact(_settings(tmp_path), tmp_path / "a.json")
    client = _guarded(
        tmp_path, client_factory, ScriptedBackend(fixed(SAFE)), artifact=str(tmp_path / "a.json")
    )
    before = client.post(CHAT, json=ASK).json()["unlearning"]["guarantee"]
    _write(tmp_path / "a.json", content)
    response = client.post("/admin/reload", headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "reload_failed"
    assert "a.json" in response.json()["error"]["message"]
    assert _metric(client, 'lethe_reloads_total{outcome="failed",resource="artifact"}') == 1
    assert client.post(CHAT, json=ASK).json()["unlearning"]["guarantee"] == before
    assert client.get("/ready").status_code == 200


def test_watcher_keeps_serving_through_a_corrupt_file(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    forget = tmp_path / "forget.yaml"
    forget.write_text(FORGET)
    client = client_factory(
        ScriptedBackend(fixed(LEAK)),
        server={"reload_interval_seconds": 0.05},
        unlearning={"forget_set": str(forget), "budget": 0, "candidates": 1},
    )
    staged = tmp_path / "forget.yaml.new"
    staged.write_bytes(b"\xff\xfe\x00version: 1\n")
    staged.replace(forget)
    failed = 'lethe_reloads_total{outcome="failed",resource="forget_set"}'
    deadline = time.monotonic() + 10
    while _metric(client, failed) < 1:
        assert time.monotonic() < deadline, "the watcher never tried the corrupt file"
        time.sleep(0.05)
    answer = client.post(CHAT, json=ASK)
    assert answer.json()["unlearning"]["status"] == "refused"
    _no_content(answer.text)


# --- run time: the forget set changes while a request is in flight ---------------------------


# How long the scripted backend holds a request, so the change and the reload land while it is in
# flight: 0.5 s was too short once under a full `make test` on 2 loaded cores (the answer came
# back before the reload swapped the artifact).
IN_FLIGHT_S = 2.0


def _reload_during(
    client: TestClient, backend: ScriptedBackend, body: dict[str, Any], change: Any
) -> tuple[Any, Any]:
    """Send ``body``; once the (slow) backend has the request, apply ``change`` and reload.
    Returns the answer and the reload's response."""
    answers: list[Any] = []
    sender = threading.Thread(target=lambda: answers.append(client.post(CHAT, json=body)))
    sender.start()
    deadline = time.monotonic() + 10
    while not backend.calls:
        assert time.monotonic() < deadline, "the request never reached the backend"
        time.sleep(0.01)
    change()
    reload = client.post("/admin/reload", headers=ADMIN)
    sender.join(10)
    assert not sender.is_alive()
    return answers[0], reload


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_target_added_mid_request_is_enforced_on_that_request(
    stream: bool, tmp_path: Path, client_factory: ClientFactory
) -> None:
    backend = ScriptedBackend(fixed(SECOND_LEAK))
    client = _guarded(tmp_path, client_factory, backend)
    # Control: against the old forget set alone this answer passes.
    assert client.post(CHAT, json=ASK).json()["unlearning"]["status"] == "accepted"
    backend.calls.clear()
    backend.delay = IN_FLIGHT_S
    response, reload = _reload_during(
        client,
        backend,
        {**ASK, "stream": stream},
        lambda: (tmp_path / "forget.yaml").write_text(FORGET + SECOND_TARGET),
    )
    assert reload.json()["forget_set"]["outcome"] == "ok"
    _no_content(response.text)
    if stream:
        last = sse_json(response.text)[-1]
        assert last["unlearning"]["status"] == "refused"
    else:
        assert_refused(response.json()["choices"][0], DEFAULT_REFUSAL)
        assert response.json()["unlearning"]["status"] == "refused"


def test_forget_set_deleted_mid_request_still_verifies_against_the_old_one(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    backend = ScriptedBackend(fixed(LEAK), delay=0.5)
    client = _guarded(tmp_path, client_factory, backend)
    response, reload = _reload_during(client, backend, ASK, (tmp_path / "forget.yaml").unlink)
    assert reload.status_code == 422
    assert response.json()["unlearning"]["status"] == "refused"
    _no_content(response.text)


def test_reload_mid_request_that_outdates_the_artifact_marks_the_answer_stale(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    _write_artifact(_settings(tmp_path), tmp_path / "a.json")
    backend = ScriptedBackend(fixed(SAFE))
    client = _guarded(tmp_path, client_factory, backend, artifact=str(tmp_path / "a.json"))
    backend.delay = IN_FLIGHT_S
    # An artifact made for another model: the answer in flight is no longer covered by it.
    # (A forget set that changes is judged target by target, never stale: see test_reload.)
    response, reload = _reload_during(
        client,
        backend,
        ASK,
        lambda: _write_artifact(
            _settings(tmp_path), tmp_path / "a.json", backend_model="sha256:other"
        ),
    )
    assert reload.json()["stale"] is True
    info = response.json()["unlearning"]
    assert info["status"] == "accepted"
    assert info["guarantee"]["stale"] is True  # no longer covered by the artifact
    assert client.get("/ready").status_code == 503
