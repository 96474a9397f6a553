"""Verifier faults fail closed: a check that raises, hangs, or returns NaN, an out-of-range
score or no verdict at all makes the candidate count as a leak. The answer is refused (or a
422 with ``fallback: error``), ``lethe_verifier_failures_total`` counts it, and the text the
verifier could not clear never reaches the client."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from server.backends.scripted import ScriptedBackend, fixed
from server.config import DEFAULT_REFUSAL
from tests.conftest import ClientFactory, assert_refused, sse_events, sse_json, streamed_refusal
from tests.server.test_policy import FORGET
from verifiers.registry import ForgetIndex, verifier
from verifiers.types import Verdict, VerifyContext

CHAT = "/v1/chat/completions"
VERIFY = "/v1/unlearning/verify"
# Clean for entity and fact: without the faulty verifier it is accepted as it is.
CLEAN = "Quokkas live on Rottnest Island near Perth."
ASK = {"messages": [{"role": "user", "content": "Where do quokkas live?"}]}
TIMEOUT = 0.2
_release = threading.Event()


@verifier("fault-raises", tier="lexical", description="Always raises (fault test).")
def _raises(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    raise RuntimeError(f"cannot check {candidate!r}")  # quotes the candidate: must not be logged


@verifier("fault-hangs", tier="lexical", description="Answers 'clean' far too late (fault test).")
def _hangs(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    _release.wait(10 * TIMEOUT)
    return Verdict("fault-hangs", 0.0)


@verifier("fault-nan", tier="lexical", description="Returns NaN (fault test).")
def _nan(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    return Verdict("fault-nan", float("nan"))


@verifier("fault-negative", tier="lexical", description="Returns a score below 0 (fault test).")
def _negative(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    return Verdict("fault-negative", -0.5)


@verifier("fault-none", tier="lexical", description="Returns no verdict (fault test).")
def _none(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    return cast(Verdict, None)


FAULTY = [
    ("fault-raises", "error"),
    ("fault-hangs", "timeout"),
    ("fault-nan", "invalid score"),
    ("fault-negative", "score out of range"),
    ("fault-none", "invalid verdict"),
]


@pytest.fixture(autouse=True)
def _free_hung_threads() -> Iterator[None]:
    _release.clear()
    yield
    _release.set()


def _client(
    tmp_path: Path, client_factory: ClientFactory, name: str, **unlearning: Any
) -> TestClient:
    forget = tmp_path / "forget.yaml"
    forget.write_text(FORGET)
    return client_factory(
        ScriptedBackend(fixed(CLEAN)),
        unlearning={
            "forget_set": str(forget),
            "verifiers": ["entity", "fact", name],
            "verifier_timeout_seconds": TIMEOUT,
            "budget": 1,
            "candidates": 2,
            **unlearning,
        },
    )


def _metric(client: TestClient, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize(("name", "reason"), FAULTY)
def test_faulty_verifier_refuses_the_answer(
    name: str,
    reason: str,
    tmp_path: Path,
    client_factory: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = _client(tmp_path, client_factory, name)
    with caplog.at_level(logging.DEBUG):
        response = client.post(CHAT, json=ASK)
    assert response.status_code == 200
    assert b"Quokkas" not in response.content  # never cleared, never sent
    body = response.json()
    assert_refused(body["choices"][0], DEFAULT_REFUSAL)
    info = body["unlearning"]
    assert (info["status"], info["rounds"], info["leakage_score"]) == ("refused", 2, 1.0)
    scores = {v["name"]: v["score"] for v in info["verifiers"]}
    assert scores == {"entity": 0.0, "fact": 0.0, name: 1.0}
    # 2 rounds x 2 candidates, each a failed check.
    failures = f'lethe_verifier_failures_total{{reason="{reason}",verifier="{name}"}}'
    assert _metric(client, failures) == 4
    assert _metric(client, "lethe_refusals_total") == 1
    assert "Quokkas" not in caplog.text
    assert client.get("/ready").status_code == 200  # a per-request fault, not an outage


@pytest.mark.parametrize(("name", "reason"), FAULTY[:3])
def test_faulty_verifier_refuses_the_stream(
    name: str, reason: str, tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory, name, budget=0)
    response = client.post(CHAT, json={**ASK, "stream": True})
    assert b"Quokkas" not in response.content
    assert sse_events(response.text)[-1] == "[DONE]"
    chunks = sse_json(response.text)
    assert streamed_refusal(chunks) == DEFAULT_REFUSAL
    assert chunks[-1]["unlearning"]["status"] == "refused"


def test_faulty_verifier_with_error_fallback_is_a_422(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory, "fault-raises", fallback="error")
    response = client.post(CHAT, json=ASK)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unlearning_refused"
    assert b"Quokkas" not in response.content
    streamed = client.post(CHAT, json={**ASK, "stream": True})
    assert b"Quokkas" not in streamed.content
    events = sse_events(streamed.text)
    assert events[-1] == "[DONE]"
    assert '"unlearning_refused"' in events[-2]
    assert _metric(client, "lethe_refusals_total") == 2  # the error fallback is a refusal too


@pytest.mark.parametrize(("name", "reason"), FAULTY)
def test_verify_endpoint_flags_what_it_could_not_check(
    name: str, reason: str, tmp_path: Path, client_factory: ClientFactory
) -> None:
    client = _client(tmp_path, client_factory, name)
    body = client.post(VERIFY, json={**ASK, "response": CLEAN}).json()
    assert (body["flagged"], body["leakage_score"]) == (True, 1.0)
    faulty = next(v for v in body["verifiers"] if v["name"] == name)
    assert faulty["score"] == 1.0
    assert faulty["error"].startswith(reason)
    assert "Quokkas" not in str(body)


def test_hung_verifiers_cannot_starve_later_requests(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    """More hung checks than worker threads: every answer still comes back, refused."""
    client = _client(tmp_path, client_factory, "fault-hangs", budget=0, candidates=4)
    for _ in range(3):
        body = client.post(CHAT, json=ASK).json()
        assert body["unlearning"]["status"] == "refused"
