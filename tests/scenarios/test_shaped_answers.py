"""Tool calls, JSON replies and logprobs through the guard (scripted backend): the shape
passes through, the values are verified like text, a leaking call is refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.backends.base import Generation, GenerationRequest, TokenLogprob, ToolCall
from server.backends.scripted import ScriptedBackend
from server.config import DEFAULT_REFUSAL
from tests.conftest import ClientFactory, assert_refused, sse_events, sse_json
from tests.scenarios.test_guarded_chat import FORGET

CHAT = "/v1/chat/completions"
LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a person up.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
}
ASK = {"messages": [{"role": "user", "content": "Find something for me."}], "tools": [LOOKUP]}


def _call(arguments: dict[str, Any], name: str = "lookup") -> Generation:
    return Generation(
        "", "tool_calls", tool_calls=(ToolCall("call_1", name, json.dumps(arguments)),)
    )


def _always(generation: Generation) -> Callable[[GenerationRequest, int], Generation]:
    return lambda request, index: generation


@pytest.fixture
def unlearning(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "forget.yaml"
    path.write_text(FORGET)
    return {"forget_set": str(path), "budget": 0}


def test_a_safe_tool_call_comes_back_as_tool_calls(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    backend = ScriptedBackend(lambda r, i: _call({"query": "weather in Paris"}))
    client = client_factory(backend, unlearning=unlearning)
    body = client.post(CHAT, json={**ASK, "tool_choice": "required"}).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == "lookup"
    assert json.loads(call["function"]["arguments"]) == {"query": "weather in Paris"}
    assert body["unlearning"]["status"] == "accepted"
    shape = backend.calls[0].shape
    assert shape.tools[0]["function"]["name"] == "lookup"
    assert shape.tool_choice == "required"


def test_a_tool_call_that_leaks_in_its_arguments_is_refused(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    leak = {"query": "Hsiao Yun-Hwa father civil engineer"}
    client = client_factory(ScriptedBackend(lambda r, i: _call(leak)), unlearning=unlearning)
    response = client.post(CHAT, json=ASK)
    assert "civil" not in response.text
    assert "Hsiao" not in response.text
    assert_refused(response.json()["choices"][0], DEFAULT_REFUSAL)


def test_a_call_to_an_unknown_function_or_with_bad_arguments_is_never_accepted(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    for bad in (_call({"query": "x"}, name="other"), _call({"q": 3})):
        client = client_factory(ScriptedBackend(_always(bad)), unlearning=unlearning)
        body = client.post(CHAT, json=ASK).json()
        assert body["unlearning"]["status"] == "refused"
        scores = {v["name"]: v["score"] for v in body["unlearning"]["verifiers"]}
        assert scores["shape"] == 1.0


def test_tool_calls_stream_as_delta_tool_calls(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    client = client_factory(
        ScriptedBackend(lambda r, i: _call({"query": "Paris"})), unlearning=unlearning
    )
    text = client.post(CHAT, json={**ASK, "stream": True}).text
    assert sse_events(text)[-1] == "[DONE]"
    chunks = sse_json(text)
    pieces = [
        piece
        for c in chunks
        if c["choices"]
        for piece in c["choices"][0]["delta"].get("tool_calls") or ()
    ]
    assert [(p["index"], p["function"]["name"]) for p in pieces] == [(0, "lookup")]
    assert json.loads(pieces[0]["function"]["arguments"]) == {"query": "Paris"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_results_are_context_not_what_the_user_said(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    """Repeating a forget fact that a tool returned is a leak, like repeating a RAG note."""
    notes = "The father of Hsiao Yun-Hwa is a civil engineer."
    client = client_factory(ScriptedBackend(lambda r, i: f"Sure: {notes}"), unlearning=unlearning)
    messages = [
        {"role": "user", "content": "Look it up."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"query": "author"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": notes},
    ]
    response = client.post(CHAT, json={"messages": messages, "tools": [LOOKUP]})
    assert response.status_code == 200
    assert "civil" not in response.text


def _json_reply(request: GenerationRequest, index: int) -> str:
    return json.dumps({"city": "Paris", "country": "France"})


def test_json_replies_are_verified_and_checked_against_the_schema(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "place", "schema": schema}}
    ok = client_factory(ScriptedBackend(_json_reply), unlearning=unlearning)
    body = ok.post(CHAT, json={**ASK, "tools": None, "response_format": fmt}).json()
    assert json.loads(body["choices"][0]["message"]["content"])["city"] == "Paris"
    strict = {**schema, "required": ["city", "country", "population"]}
    bad_fmt = {"type": "json_schema", "json_schema": {"name": "place", "schema": strict}}
    bad = client_factory(ScriptedBackend(_json_reply), unlearning=unlearning)
    body = bad.post(CHAT, json={**ASK, "tools": None, "response_format": bad_fmt}).json()
    assert body["unlearning"]["status"] == "refused"  # never returned invalid for the schema
    leak = client_factory(
        ScriptedBackend(lambda r, i: json.dumps({"who": "Hsiao Yun-Hwa", "job": "civil engineer"})),
        unlearning=unlearning,
    )
    obj = {"type": "json_object"}
    response = leak.post(CHAT, json={**ASK, "tools": None, "response_format": obj})
    assert "civil" not in response.text
    assert response.json()["unlearning"]["status"] == "refused"


def test_logprobs_of_the_returned_answer_and_no_alternatives_under_a_forget_set(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    tokens = (TokenLogprob("Par", -0.1), TokenLogprob("is", -0.2))
    backend = ScriptedBackend(lambda r, i: Generation("Paris", logprobs=tokens))
    client = client_factory(backend, unlearning=unlearning)
    body = client.post(CHAT, json={**ASK, "tools": None, "logprobs": True}).json()
    content = body["choices"][0]["logprobs"]["content"]
    assert [(t["token"], t["logprob"]) for t in content] == [("Par", -0.1), ("is", -0.2)]
    refused = client.post(CHAT, json={**ASK, "logprobs": True, "top_logprobs": 2})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "top_logprobs"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tool_choice": {"type": "function", "function": {"name": "missing"}}}, "tool_choice"),
        ({"audio": {"voice": "alloy", "format": "mp3"}}, "audio"),
        ({"prediction": {"type": "content", "content": "x"}}, "prediction"),
    ],
)
def test_what_cannot_be_honoured_is_a_400_that_names_it(
    client_factory: ClientFactory, fields: dict[str, Any], param: str
) -> None:
    response = client_factory().post(CHAT, json={**ASK, **fields})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
