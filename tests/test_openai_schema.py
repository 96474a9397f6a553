"""The OpenAI-schema validator of tests/support, checked against hand-made bodies."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, cast

import httpx
import openai
import pytest

from tests.support.openai_schema import (
    check,
    check_sse,
    checking_hooks,
    schema_for,
    validator,
)

CHAT = "CreateChatCompletionResponse"
CHUNK = "CreateChatCompletionStreamResponse"


def chat_body(**message: Any) -> dict[str, Any]:
    """A minimal chat completion as OpenAI sends it, plus Lethe's ``unlearning`` key."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi.", "refusal": None, **message},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        "system_fingerprint": "fp_1",
        "unlearning": {"status": "bypassed"},
    }


def chunk(content: str, finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "m",
        "system_fingerprint": "fp_1",
        "choices": [
            {
                "index": 0,
                "delta": {"content": content},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": None,
    }


def sse(*payloads: object) -> str:
    return "".join(f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n" for p in payloads)


ERROR = {"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}}


def test_minimal_chat_completion_passes_with_lethes_extra_key() -> None:
    check(CHAT, chat_body())


def test_refusal_is_required_in_the_message() -> None:
    body = chat_body()
    del body["choices"][0]["message"]["refusal"]
    with pytest.raises(AssertionError, match=r"\$\.choices\[0\]\.message: 'refusal' is a required"):
        check(CHAT, body)


def test_system_fingerprint_may_be_absent_but_not_null() -> None:
    body = chat_body()
    del body["system_fingerprint"]
    check(CHAT, body)
    with pytest.raises(AssertionError, match=r"\$\.system_fingerprint: None is not of type"):
        check(CHAT, {**body, "system_fingerprint": None})


def test_tool_calls_may_be_absent_but_not_null() -> None:
    check(CHAT, chat_body())
    with pytest.raises(AssertionError, match=r"tool_calls: None is not of type 'array'"):
        check(CHAT, chat_body(tool_calls=None))


def test_every_error_is_listed() -> None:
    body = chat_body()
    del body["id"]
    body["object"] = "chat.completion.chunk"
    with pytest.raises(AssertionError, match="2 error") as caught:
        check(CHAT, body)
    assert "'id' is a required property" in str(caught.value)
    assert "$.object" in str(caught.value)


def test_stream_chunk_passes_with_nullable_fields_null() -> None:
    check(CHUNK, chunk("Hi"))  # finish_reason, logprobs, usage: `nullable: true` in the spec


def test_nullable_is_honoured_only_where_the_spec_says_it() -> None:
    body = chat_body()
    body["choices"][0]["finish_reason"] = None
    with pytest.raises(AssertionError, match="finish_reason"):
        check(CHAT, body)


def test_stream_chunk_with_wrong_object_fails() -> None:
    with pytest.raises(AssertionError, match=r"\$\.object: 'chat\.completion' is not one of"):
        check(CHUNK, {**chunk("Hi"), "object": "chat.completion"})


def test_check_sse_counts_chunks_and_ignores_comments() -> None:
    body = ": keep-alive\n\n" + sse(chunk("Hi"), {**chunk("", "stop"), "unlearning": {}}, "[DONE]")
    assert check_sse(CHUNK, body) == 2


@pytest.mark.parametrize(
    "body",
    [
        sse(chunk("Hi")),
        sse(chunk("Hi"), "[DONE]", chunk("late")),
        sse(chunk("Hi")) + "data: [DONE]",  # unterminated: an SSE parser never dispatches it
        "",
    ],
)
def test_check_sse_requires_done_last(body: str) -> None:
    with pytest.raises(AssertionError, match=r"does not end with 'data: \[DONE\]'"):
        check_sse(CHUNK, body)


def test_check_sse_rejects_an_invalid_chunk() -> None:
    with pytest.raises(AssertionError, match=r"event 1 \(CreateChatCompletionStreamResponse\)"):
        check_sse(CHUNK, sse(chunk("Hi"), {**chunk("x"), "created": "now"}, "[DONE]"))


def test_check_sse_rejects_a_payload_that_is_not_json() -> None:
    with pytest.raises(AssertionError, match="event 0: not JSON"):
        check_sse(CHUNK, sse("{oops", "[DONE]"))


def test_check_sse_holds_error_payloads_to_error_response() -> None:
    assert check_sse(CHUNK, sse(chunk("Hi"), ERROR, "[DONE]")) == 2
    with pytest.raises(AssertionError, match=r"event 1 \(ErrorResponse\)"):
        check_sse(CHUNK, sse(chunk("Hi"), {"error": "boom"}, "[DONE]"))


def test_error_response() -> None:
    check("ErrorResponse", ERROR)
    with pytest.raises(AssertionError, match=r"\$\.error: 'boom' is not of type 'object'"):
        check("ErrorResponse", {"error": "boom"})
    with pytest.raises(AssertionError, match="'code' is a required property"):
        check("ErrorResponse", {"error": {"message": "bad", "type": "x", "param": None}})


def test_unknown_schema_name_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="NoSuchSchema"):
        validator("NoSuchSchema")


@pytest.mark.parametrize(
    ("method", "path", "status", "streamed", "expected"),
    [
        ("POST", "/v1/chat/completions", 200, False, CHAT),
        ("POST", "/v1/chat/completions", 200, True, CHUNK),
        ("POST", "/v1/completions", 200, False, "CreateCompletionResponse"),
        ("POST", "/v1/completions", 200, True, "CreateCompletionResponse"),
        ("GET", "/v1/models", 200, False, "ListModelsResponse"),
        ("GET", "/v1/models/org/model-7b", 200, False, "Model"),
        ("GET", "/v1/models/m", 200, True, None),
        ("POST", "/v1/chat/completions", 400, False, "ErrorResponse"),
        ("POST", "/v1/chat/completions", 400, True, "ErrorResponse"),
        ("GET", "/v1/models/nope", 404, False, "ErrorResponse"),
        ("POST", "/v1/unlearning/verify", 503, False, "ErrorResponse"),
        ("POST", "/v1/unlearning/verify", 200, False, None),
        ("GET", "/health", 200, False, None),
        ("GET", "/health", 503, False, None),
        ("GET", "/v1/chat/completions", 200, False, None),
    ],
)
def test_schema_for(
    method: str, path: str, status: int, streamed: bool, expected: str | None
) -> None:
    assert schema_for(method, path, status, streamed) == expected


Handler = Callable[[httpx.Request], httpx.Response]


def checked_client(handler: Handler) -> httpx.Client:
    return httpx.Client(
        base_url="http://lethe.test",
        transport=httpx.MockTransport(handler),
        event_hooks=checking_hooks(),
    )


def replying(status: int, body: object) -> Handler:
    return lambda request: httpx.Response(status, json=body)


def test_hook_passes_valid_responses() -> None:
    with checked_client(replying(200, chat_body())) as client:
        assert client.post("/v1/chat/completions").json()["unlearning"] == {"status": "bypassed"}
    with checked_client(replying(404, ERROR)) as client:
        assert client.get("/v1/models/nope").status_code == 404
    with checked_client(replying(200, {"anything": True})) as client:
        client.get("/health")  # no OpenAI counterpart: not checked


@pytest.mark.parametrize(
    ("path", "status", "body", "match"),
    [
        ("/v1/chat/completions", 200, chat_body(tool_calls=None), "tool_calls"),
        ("/v1/models", 200, {"object": "list"}, "'data' is a required property"),
        ("/v1/chat/completions", 400, {"error": "boom"}, "ErrorResponse"),
    ],
)
def test_hook_raises_on_invalid_responses(path: str, status: int, body: object, match: str) -> None:
    with (
        checked_client(replying(status, body)) as client,
        pytest.raises(AssertionError, match=match),
    ):
        client.request("GET" if path == "/v1/models" else "POST", path)


def test_hook_requires_a_json_body_on_success() -> None:
    with (
        checked_client(lambda request: httpx.Response(200, text="ok")) as client,
        pytest.raises(AssertionError, match="expected a JSON body"),
    ):
        client.get("/v1/models")


def streaming(*payloads: object) -> Handler:
    """A handler whose SSE body arrives in pieces, as from a real socket."""

    def pieces() -> Iterator[bytes]:
        for payload in payloads:
            yield sse(payload).encode()

    headers = {"content-type": "text/event-stream; charset=utf-8"}
    return lambda request: httpx.Response(200, headers=headers, content=pieces())


def official_client(handler: Handler) -> openai.OpenAI:
    http_client = httpx.Client(transport=httpx.MockTransport(handler), event_hooks=checking_hooks())
    # openai>=3 is typed for httpx2 clients only, but takes a legacy httpx.Client at run time.
    return openai.OpenAI(
        base_url="http://lethe.test/v1",
        api_key="k",
        http_client=cast(Any, http_client),
        max_retries=0,
    )


def test_official_client_still_streams_after_the_hook_read_the_body() -> None:
    last = {**chunk("", "stop"), "unlearning": {"status": "bypassed"}}
    client = official_client(streaming(chunk("Hel"), chunk("lo"), last, "[DONE]"))
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    chunks = list(stream)
    assert [c.choices[0].delta.content for c in chunks] == ["Hel", "lo", ""]
    assert chunks[-1].model_extra == {"unlearning": {"status": "bypassed"}}


def test_official_client_sees_the_hooks_assertion_unwrapped() -> None:
    client = official_client(streaming(chunk("Hi")))  # no [DONE]
    with pytest.raises(AssertionError, match=r"\[DONE\]"):
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
    client = official_client(replying(200, chat_body(tool_calls=None)))
    with pytest.raises(AssertionError, match="tool_calls"):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
