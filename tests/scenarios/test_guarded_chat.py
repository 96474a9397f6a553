"""Chat completions and the verify endpoint with a forget set configured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from server.backends.scripted import ScriptedBackend, fixed
from server.config import DEFAULT_REFUSAL
from server.guard import GuardState
from tests.conftest import ClientFactory, assert_refused, sse_events, sse_json, streamed_refusal

CHAT = "/v1/chat/completions"
VERIFY = "/v1/unlearning/verify"
FORGET = """\
version: 1
name: guarded-test
targets:
  - id: t-1
    name: Hsiao Yun-Hwa
    facts:
      - The father of Hsiao Yun-Hwa is a civil engineer.
      - Hsiao Yun-Hwa was born in Taipei.
"""
LEAK = "Her father is a civil engineer, and her name is Hsiao Yun-Hwa."
SAFE = "Paris is the capital of France."
ASK = {"messages": [{"role": "user", "content": "Tell me about the author."}]}


@pytest.fixture
def unlearning(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "forget.yaml"
    path.write_text(FORGET)
    return {"forget_set": str(path)}


def test_safe_answer_is_accepted_with_metadata(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    client = client_factory(ScriptedBackend(fixed(SAFE)), unlearning=unlearning)
    body = client.post(CHAT, json=ASK).json()
    assert body["choices"][0]["message"]["content"] == SAFE
    info = body["unlearning"]
    assert info["status"] == "accepted"
    assert info["leakage_score"] == 0.0
    assert info["threshold"] == 0.5
    assert [v["name"] for v in info["verifiers"]] == ["entity", "fact"]


def test_leaking_answer_is_refused_never_returned(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    client = client_factory(ScriptedBackend(fixed(LEAK)), unlearning=unlearning)
    response = client.post(CHAT, json=ASK)
    body = response.json()
    assert_refused(body["choices"][0], DEFAULT_REFUSAL)
    assert body["unlearning"]["status"] == "refused"
    assert body["unlearning"]["leakage_score"] == 1.0
    assert "civil" not in response.text
    assert "Hsiao" not in response.text
    assert 'lethe_completions_total{status="refused"} 1.0' in client.get("/metrics").text


def test_streaming_never_sends_a_rejected_token(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    client = client_factory(ScriptedBackend(fixed(LEAK)), unlearning=unlearning)
    body = client.post(CHAT, json={**ASK, "stream": True}).text
    assert "civil" not in body
    assert "Hsiao" not in body
    assert sse_events(body)[-1] == "[DONE]"
    chunks = sse_json(body)
    assert streamed_refusal(chunks) == DEFAULT_REFUSAL
    assert chunks[-1]["unlearning"]["status"] == "refused"


def test_streaming_safe_answer_arrives_whole(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    client = client_factory(ScriptedBackend(fixed(SAFE)), unlearning=unlearning)
    body = client.post(
        CHAT, json={**ASK, "stream": True, "stream_options": {"include_usage": True}}
    ).text
    chunks = sse_json(body)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == SAFE
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    assert chunks[-1]["unlearning"]["status"] == "accepted"


def test_facts_in_the_system_prompt_still_count_as_leaks(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    rag = {
        "messages": [
            {"role": "system", "content": "Notes: her father is a civil engineer."},
            {"role": "user", "content": "What does Hsiao Yun-Hwa's father do?"},
        ]
    }
    client = client_factory(
        ScriptedBackend(fixed("He is a civil engineer.")), unlearning=unlearning
    )
    assert client.post(CHAT, json=rag).json()["unlearning"]["status"] == "refused"


def test_verify_endpoint(client_factory: ClientFactory, unlearning: dict[str, Any]) -> None:
    client = client_factory(unlearning=unlearning)
    leak = client.post(VERIFY, json={**ASK, "response": LEAK}).json()
    assert leak["flagged"] is True
    assert leak["leakage_score"] == 1.0
    assert leak["targets"] == ["t-1"]
    assert {v["name"] for v in leak["verifiers"]} == {"entity", "fact"}
    assert all(isinstance(v["feedback"], list) for v in leak["verifiers"])
    assert "civil" not in str(leak)
    assert leak["forget_set"].startswith("set-sha256:")  # the hash of the live forget set
    safe = client.post(VERIFY, json={"response": SAFE}).json()
    assert (safe["flagged"], safe["leakage_score"], safe["targets"]) == (False, 0.0, [])


def test_verify_without_forget_set_is_503(client_factory: ClientFactory) -> None:
    response = client_factory().post(VERIFY, json={"response": "x"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unlearning_not_configured"


def test_verify_rejects_bad_bodies(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    client = client_factory(unlearning=unlearning)
    assert client.post(VERIFY, json={"messages": []}).status_code == 400
    assert client.post(VERIFY, json={"response": 3}).status_code == 400


def test_bad_forget_set_stops_start_up(tmp_path: Path, client_factory: ClientFactory) -> None:
    from server.policy import GuardStartError

    path = tmp_path / "bad.yaml"
    path.write_text("targets:\n  - id: x\n")
    with pytest.raises(GuardStartError, match=r"bad\.yaml:2"):
        client_factory(unlearning={"forget_set": str(path)})


def test_forget_set_without_active_policy_fails_closed(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    client = client_factory(ScriptedBackend(fixed(LEAK)), unlearning=unlearning)
    client.app.state.guard._state = GuardState.FAILED  # type: ignore[attr-defined]
    response = client.post(CHAT, json=ASK)
    assert response.status_code == 503
    assert "civil" not in response.text
    streamed = client.post(CHAT, json={**ASK, "stream": True}).text
    assert "civil" not in streamed
    assert sse_events(streamed)[-1] == "[DONE]"


def test_refusal_style_text_keeps_the_plain_answer_form(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    client = client_factory(
        ScriptedBackend(fixed(LEAK)), unlearning={**unlearning, "refusal_style": "text"}
    )
    body = client.post(CHAT, json=ASK).json()
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": DEFAULT_REFUSAL, "refusal": None}
    assert choice["finish_reason"] == "stop"
    assert body["unlearning"]["status"] == "refused"
    chunks = sse_json(client.post(CHAT, json={**ASK, "stream": True}).text)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == DEFAULT_REFUSAL
    assert not any(c["choices"][0]["delta"].get("refusal") for c in chunks if c["choices"])


def test_usage_bills_the_returned_answer_and_the_block_reports_all_spent(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    # Round 1: two leaking candidates; round 2: safe ones. Only the returned one is billed.
    backend = ScriptedBackend(lambda request, i: LEAK if len(request.messages) == 1 else SAFE)
    client = client_factory(
        backend, unlearning={**unlearning, "budget": 1, "candidates": 2, "threshold": 0.3}
    )
    body = client.post(CHAT, json={**ASK, "n": 2}).json()
    assert body["unlearning"]["status"] == "refined"
    prompt = body["usage"]["prompt_tokens"]
    assert prompt == len(ASK["messages"][0]["content"].split())  # the client's prompt, once
    assert body["usage"]["completion_tokens"] == 2 * len(SAFE.split())  # two returned choices
    spent = body["unlearning"]["usage"]
    # Per choice: two leaking candidates, then two safe ones.
    assert spent["completion_tokens"] == 2 * 2 * (len(LEAK.split()) + len(SAFE.split()))
    assert spent["prompt_tokens"] > 2 * prompt  # every round's prompt, for both choices


def test_a_refusal_bills_the_prompt_only(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    client = client_factory(ScriptedBackend(fixed(LEAK)), unlearning=unlearning)
    body = client.post(CHAT, json=ASK).json()
    assert body["usage"]["completion_tokens"] == 0
    assert body["usage"]["prompt_tokens"] > 0
    assert body["unlearning"]["usage"]["completion_tokens"] > 0


def test_a_prefill_is_verified_together_with_its_continuation(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    """The continuation alone names nobody; with the client's prefill it is the fact."""
    client = client_factory(ScriptedBackend(fixed("a civil engineer.")), unlearning=unlearning)
    alone = client.post(CHAT, json=ASK).json()
    assert alone["unlearning"]["status"] == "accepted"
    prefill = {"role": "assistant", "content": "The father of Hsiao Yun-Hwa is"}
    body = client.post(CHAT, json={"messages": [*ASK["messages"], prefill]}).json()
    assert body["unlearning"]["status"] == "refused"
    assert "civil" not in json.dumps(body["choices"])
