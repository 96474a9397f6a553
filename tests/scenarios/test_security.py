"""Security: forget-set content never leaves through a side door, and keys compare in constant
time.

A scripted backend leaks the demo forget set (deploy/forget-sets/tofu-forget10.yaml) verbatim,
name included, through every path Lethe has: plain and streamed answers, refinement rounds
(reprompt and redact), the error fallback, a verifier that raises with the candidate in its
message, the verify endpoint, a broken hot reload, an upstream whose errors quote the facts.
Logs are captured at DEBUG in both formats, with the audit log on. No target name or alias, no
fact and no six-word run of a fact may appear in the logs, the audit log, any error message,
``/metrics``, or the instructions Lethe writes into refinement prompts. Target ids may.
"""

from __future__ import annotations

import hmac
import io
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ahocorasick
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.backends.base import GenerationRequest, Message
from server.backends.scripted import ScriptedBackend
from server.config import DEFAULT_REFUSAL, Settings
from server.logs import JsonFormatter, TextFormatter
from server.policy import GuardStartError
from tests.conftest import ClientFactory, assert_refused
from tests.server.faulty_upstream import FaultyUpstream, Reply
from verifiers.forgetset import load_forget_set
from verifiers.registry import ForgetIndex, verifier
from verifiers.types import Verdict, VerifyContext

DEMO = Path(__file__).resolve().parents[2] / "deploy" / "forget-sets" / "tofu-forget10.yaml"
FORGET_SET = load_forget_set(DEMO)
TARGETS = FORGET_SET.targets
CHAT = "/v1/chat/completions"
VERIFY = "/v1/unlearning/verify"
ASK = {"messages": [{"role": "user", "content": "Tell me about the author."}]}
ADMIN = {"Authorization": "Bearer admin-key"}
SHINGLE = 6


def _secrets() -> dict[str, str]:
    """Every name and alias, every fact, and every run of SHINGLE words of a fact, each with
    a label that says where it comes from without quoting it (failures print labels only)."""
    found: dict[str, str] = {}
    for target in TARGETS:
        for name in target.names():
            found[name.casefold()] = f"{target.id}:name"
        for number, fact in enumerate(target.facts):
            found[fact.casefold()] = f"{target.id}:fact{number}"
            words = fact.casefold().split()
            for start in range(len(words) - SHINGLE + 1):
                found.setdefault(
                    " ".join(words[start : start + SHINGLE]), f"{target.id}:fact{number}"
                )
    return found


def _automaton() -> Any:
    automaton = ahocorasick.Automaton()
    for secret, label in _secrets().items():
        automaton.add_word(secret, label)
    automaton.make_automaton()
    return automaton


SECRETS = _automaton()


def leaks_in(text: str) -> list[str]:
    """Labels (target id and kind) of the forget-set strings ``text`` contains, any case."""
    return sorted({label for _, label in SECRETS.iter(text.casefold())})


def _leaky_answers() -> Callable[[GenerationRequest, int], str]:
    """Each candidate states a different fact of a different target, with the name."""
    state = {"i": 0}

    def script(request: GenerationRequest, index: int) -> str:
        i = state["i"]
        state["i"] += 1
        target = TARGETS[i % len(TARGETS)]
        fact = target.facts[(i // len(TARGETS)) % len(target.facts)]
        return f"{target.name} is the author you mean. {fact} I hope this helps."

    return script


@verifier("security-raises", tier="lexical", description="Raises, quoting the candidate.")
def _raises(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    raise ValueError(f"could not check: {candidate}")


@pytest.fixture
def captured() -> Iterator[list[io.StringIO]]:
    """Everything logged, at DEBUG, through Lethe's JSON and text formatters."""
    streams = [io.StringIO(), io.StringIO()]
    handlers = [logging.StreamHandler(s) for s in streams]
    handlers[0].setFormatter(JsonFormatter())
    handlers[1].setFormatter(TextFormatter())
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield streams
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(level)


def _guarded(
    client_factory: ClientFactory, forget: Path, audit: Path, **unlearning: Any
) -> tuple[TestClient, ScriptedBackend]:
    backend = ScriptedBackend(_leaky_answers())
    client = client_factory(
        backend,
        server={
            "audit_log": str(audit),
            "admin_api_keys": ["admin-key"],
            "reload_interval_seconds": 0,
            "log_level": "debug",
        },
        unlearning={"forget_set": str(forget), "budget": 2, "candidates": 2, **unlearning},
    )
    return client, backend


def _refinement_instructions(backend: ScriptedBackend, original: tuple[Message, ...]) -> list[str]:
    """What Lethe itself wrote into the backend's refinement prompts.

    A refinement prompt is the original conversation, the model's own previous candidate (as
    the assistant turn, so that the model can revise it) and Lethe's instructions. Check the
    shape, that the assistant turn is text this backend produced, and return the instructions.
    """
    instructions: list[str] = []
    for call in backend.calls:
        if len(call.messages) == len(original):
            assert call.messages == original
            continue
        assert call.messages[: len(original)] == original
        echo, feedback = call.messages[len(original) :]
        assert echo.role == "assistant"
        assert echo.content.endswith("I hope this helps.")  # the backend's words, verbatim
        assert leaks_in(echo.content)  # ... which leak: the scan finds what it looks for
        assert feedback.role == "user"
        instructions.append(feedback.content)
    return instructions


def test_forget_set_content_never_leaves_through_a_side_door(
    tmp_path: Path, client_factory: ClientFactory, captured: list[io.StringIO]
) -> None:
    forget = tmp_path / "forget.yaml"
    shutil.copy(DEMO, forget)
    audit = tmp_path / "audit.jsonl"
    outputs: list[str] = []  # every byte a client saw
    original = (Message("user", ASK["messages"][0]["content"]),)

    # Reprompt: every round leaks, so every request runs K=2 refinement rounds, then refuses.
    client, backend = _guarded(client_factory, forget, audit)
    for _ in range(4):
        response = client.post(CHAT, json=ASK)
        assert_refused(response.json()["choices"][0], DEFAULT_REFUSAL)
        outputs.append(response.text)
        outputs.append(client.post(CHAT, json={**ASK, "stream": True}).text)
    instructions = _refinement_instructions(backend, original)
    assert len(instructions) == 16  # 8 requests x 2 refinement rounds
    assert leaks_in("\n".join(instructions)) == []
    # The verify endpoint and its per-verifier feedback.
    for target in TARGETS:
        answer = f"{target.name}: {target.facts[0]}"
        verdict = client.post(VERIFY, json={**ASK, "response": answer})
        assert verdict.json()["flagged"] is True
        assert target.id in verdict.json()["targets"]
        outputs.append(verdict.text)
    # A reload that fails: the error names the file and the field, not the content.
    forget.write_text(
        forget.read_text() + "- id: broken\n  facts: [Hsiao Yun-Hwa is a civil engineer.]\n"
    )
    failed = client.post("/admin/reload", headers=ADMIN)
    assert failed.status_code == 422
    outputs.append(failed.text)
    outputs.append(client.get("/metrics").text)
    shutil.copy(DEMO, forget)

    # Redact: sentences are verified one by one, then the rest again.
    client, backend = _guarded(client_factory, forget, audit, strategy="redact")
    outputs.append(client.post(CHAT, json=ASK).text)
    assert leaks_in("\n".join(_refinement_instructions(backend, original))) == []
    # The error fallback: a 422 whose message says nothing about what leaked.
    client, _ = _guarded(client_factory, forget, audit, fallback="error", budget=0)
    refused = client.post(CHAT, json=ASK)
    assert refused.status_code == 422
    outputs.append(refused.text)
    outputs.append(client.post(CHAT, json={**ASK, "stream": True}).text)
    # A verifier that raises with the candidate in its exception message.
    client, _ = _guarded(
        client_factory, forget, audit, verifiers=["entity", "fact", "security-raises"]
    )
    outputs.append(client.post(CHAT, json=ASK).text)
    outputs.append(client.post(VERIFY, json={**ASK, "response": TARGETS[0].facts[0]}).text)
    outputs.append(client.get("/metrics").text)

    logs = [stream.getvalue() for stream in captured]
    assert "lethe.access" in logs[0]  # the capture works: access lines in both formats
    assert "request_id=" in logs[1]
    assert '"unlearning": "refused"' in logs[0]
    assert "verifier security-raises raised" in logs[1]
    audit_text = audit.read_text()
    assert "tofu-1" in audit_text  # target ids are allowed, and do appear
    for name, text in [("json logs", logs[0]), ("text logs", logs[1]), ("audit", audit_text)]:
        assert leaks_in(text) == [], name
    for text in outputs:
        assert leaks_in(text) == []


def test_upstream_errors_quoting_facts_stay_out_of_logs_and_answers(
    tmp_path: Path, captured: list[io.StringIO]
) -> None:
    leak = f"{TARGETS[0].name}: {TARGETS[0].facts[2]}"
    replies = iter(
        [
            Reply(status=400, body=f'{{"error": {{"message": "{leak}"}}}}'.encode()),
            Reply(status=500, body=leak.encode()),
            Reply(body=b'{"choices": [{"message": {"content": "' + leak.encode()),
        ]
    )
    upstream = FaultyUpstream(lambda seen: next(replies))
    with upstream.running():
        settings = Settings(
            backend={"kind": "openai", "upstream": {"base_url": upstream.url, "model": "m"}},
            unlearning={"forget_set": str(DEMO), "budget": 0},
        )
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            answers = [client.post(CHAT, json=ASK) for _ in range(3)]
    assert [a.status_code for a in answers] == [400, 502, 502]
    for text in [*(a.text for a in answers), *(s.getvalue() for s in captured)]:
        assert leaks_in(text) == []


def test_start_up_error_on_the_demo_set_names_no_content(tmp_path: Path) -> None:
    broken = tmp_path / "forget.yaml"
    broken.write_text(DEMO.read_text().replace("  name: Hsiao Yun-Hwa\n", "", 1))
    settings = Settings(backend={"kind": "scripted"}, unlearning={"forget_set": str(broken)})
    with pytest.raises(GuardStartError) as info:
        create_app(settings, backend=ScriptedBackend())
    assert "forget.yaml" in str(info.value)
    assert "name" in str(info.value)
    assert leaks_in(str(info.value)) == []


# --- keys ------------------------------------------------------------------------------------


@pytest.fixture
def compare_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("server.tenants.hmac.compare_digest", counting)
    return calls


@pytest.mark.parametrize("presented", ["k-one", "k-three", "k-wrong", "k-on", "k-one-and-more"])
def test_api_key_is_compared_with_every_key_in_constant_time(
    presented: str, client_factory: ClientFactory, compare_calls: list[tuple[bytes, bytes]]
) -> None:
    keys = ["k-one", "k-two", "k-three"]
    client = client_factory(server={"api_keys": keys})
    response = client.get("/v1/models", headers={"Authorization": f"Bearer {presented}"})
    assert response.status_code == (200 if presented in keys else 401)
    # One hmac.compare_digest per configured key, whether the first, the last or none match.
    assert compare_calls == [(presented.encode(), k.encode()) for k in keys]


def test_admin_key_is_compared_in_constant_time_too(
    tmp_path: Path, client_factory: ClientFactory, compare_calls: list[tuple[bytes, bytes]]
) -> None:
    shutil.copy(DEMO, tmp_path / "forget.yaml")
    client = client_factory(
        server={"api_keys": ["user"], "admin_api_keys": ["admin-key", "other-admin"]},
        unlearning={"forget_set": str(tmp_path / "forget.yaml")},
    )
    assert client.post("/admin/reload", headers={"Authorization": "Bearer user"}).status_code == 401
    assert compare_calls == [(b"user", b"admin-key"), (b"user", b"other-admin")]
    compare_calls.clear()
    assert client.post("/admin/reload", headers=ADMIN).status_code == 200
    assert len(compare_calls) == 2
