"""Upstream faults fail closed: a real, misbehaving HTTP upstream behind ``backend.kind: openai``.

For every fault: the documented status and OpenAI error code, a metric, ``/ready`` where it
applies, and not one byte of the upstream's (unverified, leaking) text reaches the client —
streaming included, where the stream ends with an error event and ``data: [DONE]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.backends.base import GenerationRequest, GenerationResult
from server.backends.scripted import ScriptedBackend
from server.config import Settings
from tests.conftest import ClientFactory, sse_events, sse_json
from tests.server.faulty_upstream import (
    FaultyUpstream,
    Reply,
    Seen,
    answer_with,
    completion,
    delta,
    free_port,
    sse,
)
from tests.server.test_policy import ASK, FORGET, LEAK, SAFE

pytestmark = [pytest.mark.e2e]

CHAT = "/v1/chat/completions"
LEAK_WORDS = ("Hsiao", "Yun-Hwa", "civil", "engineer")
TIMEOUT = 0.5


def _settings(
    base_url: str, forget: Path | None, model: str | None = "m", **unlearning: Any
) -> Settings:
    return Settings(
        backend={
            "kind": "openai",
            "upstream": {
                "base_url": base_url,
                "model": model,
                "connect_timeout": TIMEOUT,
                "read_timeout": TIMEOUT,
            },
        },
        server={"keepalive_seconds": 0.1},
        unlearning={
            "forget_set": str(forget) if forget is not None else None,
            "budget": 1,
            "candidates": 2,
            **unlearning,
        },
    )


@contextmanager
def _lethe(
    base_url: str, forget: Path | None, model: str | None = "m", **unlearning: Any
) -> Iterator[TestClient]:
    app = create_app(_settings(base_url, forget, model, **unlearning))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def forget(tmp_path: Path) -> Path:
    path = tmp_path / "forget.yaml"
    path.write_text(FORGET)
    return path


def _assert_no_leak(raw: bytes) -> None:
    for word in LEAK_WORDS:
        assert word.encode() not in raw, f"{word!r} reached the client"


def _metric(client: TestClient, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include ``labels`` (0 when absent)."""
    total = 0.0
    for line in client.get("/metrics").text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _stream_error(raw: bytes) -> dict[str, Any]:
    """The stream must end with one error event, then [DONE]."""
    text = raw.decode()
    events = sse_events(text)
    assert events[-1] == "[DONE]", text[-300:]
    last = json.loads(events[-2])
    assert set(last) == {"error"}, last
    assert set(last["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = last["error"]
    return error


LEAKING_JSON = completion([LEAK, LEAK])


@dataclass(frozen=True)
class Fault:
    name: str
    reply: Reply
    status: int
    code: str


FAULTS = [
    Fault(
        "status 500 whose body quotes the leak",
        Reply(status=500, body=json.dumps({"error": {"message": LEAK}}).encode()),
        502,
        "upstream_error",
    ),
    Fault(
        "status 400 whose message quotes the leak",
        Reply(status=400, body=json.dumps({"error": {"message": f"bad input: {LEAK}"}}).encode()),
        400,
        "upstream_rejected",
    ),
    Fault("hangs past read_timeout", Reply(hang=TIMEOUT * 4), 504, "upstream_timeout"),
    Fault(
        "malformed JSON", Reply(body=LEAKING_JSON[: len(LEAKING_JSON) // 2]), 502, "upstream_error"
    ),
    Fault(
        "JSON of the wrong shape",
        Reply(body=json.dumps({"choices": {"text": LEAK}}).encode()),
        502,
        "upstream_error",
    ),
    Fault(
        "malformed usage next to leaking choices",
        Reply(
            body=json.dumps(
                {
                    "choices": [
                        {"index": i, "message": {"content": LEAK}, "finish_reason": "stop"}
                        for i in range(2)
                    ],
                    "usage": {"prompt_tokens": "many", "completion_tokens": None},
                }
            ).encode()
        ),
        502,
        "upstream_error",
    ),
    Fault(
        "body cut short of its Content-Length",
        Reply(body=LEAKING_JSON[:-20], declared_length=len(LEAKING_JSON)),
        502,
        "upstream_error",
    ),
    Fault(
        "chunked body cut mid-way",
        Reply(chunks=[LEAKING_JSON[:60], LEAKING_JSON[60:-20]], cut=True),
        502,
        "upstream_error",
    ),
    Fault("connection closed without a reply", Reply(drop=True), 502, "upstream_error"),
    Fault("fewer candidates than asked", Reply(body=completion([LEAK])), 502, "upstream_error"),
    Fault("more candidates than asked", Reply(body=completion([LEAK] * 3)), 502, "upstream_error"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_guarded_request_fails_closed(fault: Fault, forget: Path) -> None:
    with (
        FaultyUpstream(lambda seen: fault.reply).running() as upstream,
        _lethe(upstream.url, forget) as client,
    ):
        response = client.post(CHAT, json=ASK)
        _assert_no_leak(response.content)
        assert response.status_code == fault.status, response.text
        error = response.json()["error"]
        assert error["code"] == fault.code
        assert set(error) == {"message", "type", "param", "code"}
        assert _metric(client, "lethe_backend_errors_total", backend="openai", code=fault.code)
        assert _metric(client, "lethe_http_requests_total", route=CHAT, code=str(fault.status)) == 1

        streamed = client.post(CHAT, json={**ASK, "stream": True})
        assert streamed.status_code == 200
        _assert_no_leak(streamed.content)
        assert _stream_error(streamed.content)["code"] == fault.code
        assert _metric(client, "lethe_backend_errors_total", code=fault.code) == 2
        assert len(upstream.chat_requests()) == 2  # one failed round each, never retried open


def test_fault_in_a_refinement_round_still_sends_nothing(forget: Path) -> None:
    """Round 1 leaks (rejected), round 2's upstream call fails: no round-1 text escapes."""

    calls: list[Seen] = []

    def script(seen: Seen) -> Reply:
        calls.append(seen)
        if len(calls) == 1:
            return Reply(body=completion([LEAK, LEAK]))
        return Reply(status=503, body=b"overloaded")

    upstream = FaultyUpstream(script)
    with upstream.running(), _lethe(upstream.url, forget) as client:
        response = client.post(CHAT, json=ASK)
        assert response.status_code == 502
        _assert_no_leak(response.content)
        assert len(upstream.chat_requests()) == 2
        # The refinement prompt went upstream; the client got none of round 1.
        assert upstream.chat_requests()[1]["messages"][-1]["role"] == "user"


def test_upstream_refusing_connections(forget: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with _lethe(url, forget) as client:
        response = client.post(CHAT, json=ASK)
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "upstream_error"
        assert response.json()["error"]["type"] == "upstream_error"
        streamed = client.post(CHAT, json={**ASK, "stream": True})
        assert _stream_error(streamed.content)["code"] == "upstream_error"
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["backend"] is False
        assert ready.json()["checks"]["policy"] is True  # the guard is fine; the upstream is not
        assert _metric(client, "lethe_backend_errors_total", code="upstream_error") == 2


def test_upstream_down_at_start_up_serves_once_it_is_up(forget: Path) -> None:
    """No model configured and the upstream down: Lethe starts, fails closed with 503 and
    /ready 503 (policy not active), then activates the policy when the upstream answers."""
    port = free_port()
    with _lethe(f"http://127.0.0.1:{port}/v1", forget, model=None) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {
            "backend": False,
            "policy": False,
            "artifact_current": False,
        }
        down = client.post(CHAT, json=ASK)
        assert down.status_code == 503
        assert down.json()["error"]["code"] == "service_unavailable"
        upstream = FaultyUpstream(answer_with(lambda n: [LEAK] * n), port=port)
        with upstream.running():
            assert client.get("/ready").status_code == 200
            response = client.post(CHAT, json=ASK)
            assert response.json()["unlearning"]["status"] == "refused"
            _assert_no_leak(response.content)
            assert upstream.chat_requests()[0]["model"] == "m"  # discovered from /models


@pytest.mark.parametrize(
    "models",
    [
        Reply(status=500, body=b"{}"),
        Reply(hang=TIMEOUT * 4),
        Reply(drop=True),
        Reply(body=b"<html>not json</html>", content_type="text/html"),
    ],
    ids=["500", "hang", "drop", "not-json"],
)
def test_ready_is_503_while_the_upstream_is_broken(models: Reply, forget: Path) -> None:
    upstream = FaultyUpstream(answer_with(lambda n: [SAFE] * n), models=lambda seen: models)
    with upstream.running(), _lethe(upstream.url, forget) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert ready.json()["checks"]["backend"] is False


def test_healthy_upstream_serves_verified_answers(forget: Path) -> None:
    """The control: the same wiring accepts a safe answer and refuses a leaking one."""
    answers = {"text": SAFE}
    upstream = FaultyUpstream(answer_with(lambda n: [answers["text"]] * n))
    with upstream.running(), _lethe(upstream.url, forget) as client:
        assert client.get("/ready").status_code == 200
        body = client.post(CHAT, json=ASK).json()
        assert body["choices"][0]["message"]["content"] == SAFE
        assert body["unlearning"]["status"] == "accepted"
        answers["text"] = LEAK
        refused = client.post(CHAT, json={**ASK, "stream": True})
        _assert_no_leak(refused.content)
        assert sse_json(refused.text)[-1]["unlearning"]["status"] == "refused"
        assert upstream.chat_requests()[0]["n"] == 2


# Without a forget set nothing is guarded: a cut stream may have sent text already, but it
# must still end with an error event and [DONE], and be counted.
@pytest.mark.parametrize(
    "chunks",
    [
        sse(delta(0, "Hello"), delta(0, " there")),  # cut: no finish, no [DONE]
        sse(delta(0, "Hello"), "{not json"),
        sse(delta(0, "Hello"), {"error": {"message": "oom"}}),
    ],
    ids=["cut", "malformed-chunk", "error-chunk"],
)
def test_unguarded_stream_cut_mid_way_ends_with_an_error(chunks: list[bytes]) -> None:
    upstream = FaultyUpstream(lambda seen: Reply(chunks=chunks, cut=True))
    with upstream.running(), _lethe(upstream.url, None) as client:
        response = client.post(CHAT, json={**ASK, "stream": True})
        assert response.status_code == 200
        assert _stream_error(response.content)["code"] == "upstream_error"
        assert _metric(client, "lethe_backend_errors_total", code="upstream_error") == 1
        assert "oom" not in response.text


def test_unguarded_stream_hang_times_out() -> None:
    upstream = FaultyUpstream(lambda seen: Reply(chunks=sse(delta(0, "Hi")), hang=TIMEOUT * 4))
    with upstream.running(), _lethe(upstream.url, None) as client:
        response = client.post(CHAT, json={**ASK, "stream": True})
        assert _stream_error(response.content)["code"] == "upstream_timeout"
        assert _metric(client, "lethe_backend_errors_total", code="upstream_timeout") == 1


class _CrashingBackend(ScriptedBackend):
    """A backend with a bug: raises an untyped error whose message quotes its output."""

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        raise RuntimeError(LEAK)


def test_backend_bug_is_a_bare_500_and_a_closed_stream(
    client_factory: ClientFactory, forget: Path
) -> None:
    client = client_factory(_CrashingBackend(), unlearning={"forget_set": str(forget)})
    response = client.post(CHAT, json=ASK)
    _assert_no_leak(response.content)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    streamed = client.post(CHAT, json={**ASK, "stream": True})
    _assert_no_leak(streamed.content)
    assert _stream_error(streamed.content)["type"] == "server_error"
    assert _metric(client, "lethe_http_requests_total", route=CHAT, code="500") == 1
