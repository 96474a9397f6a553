"""ChatService through the app, without a forget set: OpenAI shapes, sampling passed through,
streaming framing, backend failures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from server.backends.base import GenerationRequest, StreamDelta
from server.backends.scripted import ScriptedBackend, fixed
from server.errors import UpstreamError
from tests.conftest import ClientFactory, sse_events, sse_json

CHAT = "/v1/chat/completions"
HELLO = {"messages": [{"role": "user", "content": "hello"}]}


def test_non_streaming_completion_has_openai_shape_and_bypassed_block(
    client_factory: ClientFactory,
) -> None:
    client = client_factory(ScriptedBackend(fixed("Hi there")))
    response = client.post(CHAT, json={**HELLO, "model": "scripted"})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == "scripted"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi there", "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    assert body["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    assert body["system_fingerprint"].startswith("fp_")
    assert body["unlearning"]["status"] == "bypassed"
    assert body["unlearning"]["candidates"] == 1


def test_model_defaults_to_the_served_one(client_factory: ClientFactory) -> None:
    response = client_factory().post(CHAT, json=HELLO)
    assert response.status_code == 200
    assert response.json()["model"] == "scripted"


def test_n_is_passed_to_the_backend_in_one_call(client_factory: ClientFactory) -> None:
    backend = ScriptedBackend(lambda request, i: f"answer {i}")
    response = client_factory(backend).post(CHAT, json={**HELLO, "n": 3})
    assert [c["message"]["content"] for c in response.json()["choices"]] == [
        "answer 0",
        "answer 1",
        "answer 2",
    ]
    assert [call.n for call in backend.calls] == [3]


def test_sampling_parameters_reach_the_backend(client_factory: ClientFactory) -> None:
    backend = ScriptedBackend()
    client_factory(backend).post(
        CHAT,
        json={
            **HELLO,
            "max_completion_tokens": 33,
            "temperature": 0.3,
            "top_p": 0.9,
            "stop": ["\n\n"],
            "seed": 7,
            "presence_penalty": 0.5,
            "frequency_penalty": -0.5,
            "logit_bias": {"1": 1},
        },
    )
    sampling = backend.calls[0].sampling
    assert (sampling.max_tokens, sampling.temperature, sampling.top_p) == (33, 0.3, 0.9)
    assert (sampling.stop, sampling.seed) == (("\n\n",), 7)
    assert (sampling.presence_penalty, sampling.frequency_penalty) == (0.5, -0.5)


def test_streaming_sends_role_content_finish_then_done(client_factory: ClientFactory) -> None:
    client = client_factory(ScriptedBackend(fixed("one two three")))
    with client.stream("POST", CHAT, json={**HELLO, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = response.read().decode()
    events = sse_events(body)
    assert events[-1] == "[DONE]"
    chunks = sse_json(body)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "one two three"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["unlearning"]["status"] == "bypassed"
    assert all("usage" not in c for c in chunks)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)


def test_streaming_usage_chunk_is_last_when_asked(client_factory: ClientFactory) -> None:
    client = client_factory(ScriptedBackend(fixed("a b")))
    body = client.post(
        CHAT, json={**HELLO, "stream": True, "stream_options": {"include_usage": True}}
    ).text
    chunks = sse_json(body)
    assert all("usage" in c for c in chunks)
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    assert chunks[-1]["unlearning"]["status"] == "bypassed"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_streaming_n_2_keeps_candidates_apart(client_factory: ClientFactory) -> None:
    backend = ScriptedBackend(lambda request, i: f"cand {i}")
    body = client_factory(backend).post(CHAT, json={**HELLO, "stream": True, "n": 2}).text
    texts = {0: "", 1: ""}
    finished = set()
    for chunk in sse_json(body):
        for choice in chunk["choices"]:
            texts[choice["index"]] += choice["delta"].get("content", "")
            if choice["finish_reason"]:
                finished.add(choice["index"])
    assert texts == {0: "cand 0", 1: "cand 1"}
    assert finished == {0, 1}


class _FailingStream(ScriptedBackend):
    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamDelta]:
        yield StreamDelta(index=0, text="partial")
        raise UpstreamError("The upstream model server failed (status 500).")


def test_stream_error_becomes_error_event_then_done(client_factory: ClientFactory) -> None:
    body = client_factory(_FailingStream()).post(CHAT, json={**HELLO, "stream": True}).text
    events = sse_events(body)
    assert events[-1] == "[DONE]"
    error = sse_json(body)[-1]
    assert error["error"]["code"] == "upstream_error"
    assert error["error"]["type"] == "upstream_error"


class _FailingGenerate(ScriptedBackend):
    async def generate(self, request: GenerationRequest) -> object:  # type: ignore[override]
        raise UpstreamError("The upstream model server is unreachable.")


def test_backend_failure_is_502_envelope(client_factory: ClientFactory) -> None:
    response = client_factory(_FailingGenerate()).post(CHAT, json=HELLO)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"


@pytest.mark.slow  # the streamed half waits out the backend's 5 s (deadline checked per item)
def test_the_request_deadline_bounds_all_the_work(client_factory: ClientFactory) -> None:
    backend = ScriptedBackend(fixed("late"), delay=5.0)
    client = client_factory(backend, server={"request_timeout_seconds": 0.2})
    response = client.post(CHAT, json=HELLO)
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "request_timeout"
    assert backend.cancelled == 1  # the backend work was cancelled, not left running
    streamed = client.post(CHAT, json={**HELLO, "stream": True, "n": 1})
    events = sse_events(streamed.text)
    assert events[-1] == "[DONE]"
    assert '"request_timeout"' in events[-2]
