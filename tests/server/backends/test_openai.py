"""The upstream backend's protocol handling and error mapping, over an in-memory transport.

The same backend against a real upstream process is in test_upstream_live.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from server.backends.base import GenerationRequest, Message, SamplingParams, StreamDelta
from server.backends.openai import OpenAIUpstreamBackend
from server.config import UpstreamSettings
from server.errors import (
    InvalidRequestError,
    LetheError,
    OverloadedError,
    UpstreamError,
    UpstreamTimeoutError,
)

Handler = Callable[[httpx.Request], httpx.Response]
REQUEST = GenerationRequest(
    messages=(Message("user", "hi"),), sampling=SamplingParams(max_tokens=8, seed=5), n=2
)


def _completion(n: int, text: str = "ok") -> dict[str, Any]:
    return {
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": f"{text}{i}"},
                "finish_reason": "stop" if i == 0 else "length",
            }
            for i in reversed(range(n))
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }


def _backend(handler: Handler, **settings: Any) -> OpenAIUpstreamBackend:
    return OpenAIUpstreamBackend(
        UpstreamSettings(base_url="http://up/v1", model="m", **settings),
        transport=httpx.MockTransport(handler),
    )


async def test_batched_call_passes_n_and_sampling_through() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        assert request.url.path == "/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer up-key"
        return httpx.Response(200, json=_completion(2))

    result = await _backend(handler, api_key="up-key").generate(REQUEST)
    assert [g.text for g in result.generations] == ["ok0", "ok1"]  # sorted by index
    assert [g.finish_reason for g in result.generations] == ["stop", "length"]
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (3, 4)
    assert len(seen) == 1
    assert seen[0]["n"] == 2
    assert seen[0]["model"] == "m"
    assert (seen[0]["max_tokens"], seen[0]["seed"], seen[0]["stream"]) == (8, 5, False)


async def test_fan_out_sends_n_requests_with_offset_seeds() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        return httpx.Response(200, json=_completion(1, text=f"s{body['seed']}-"))

    result = await _backend(handler, fan_out_n=True).generate(REQUEST)
    assert sorted(b["seed"] for b in seen) == [5, 6]
    assert all(b["n"] == 1 for b in seen)
    assert [g.text for g in result.generations] == ["s5-0", "s6-0"]


async def test_model_is_discovered_when_not_configured() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "discovered"}]})
        assert json.loads(request.content)["model"] == "discovered"
        return httpx.Response(200, json=_completion(1))

    backend = OpenAIUpstreamBackend(
        UpstreamSettings(base_url="http://up/v1"), transport=httpx.MockTransport(handler)
    )
    await backend.start()
    assert backend.model_ids() == ["discovered"]
    await backend.generate(GenerationRequest(REQUEST.messages, REQUEST.sampling, n=1))


def _raise(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("handler", "error", "status"),
    [
        (_raise(httpx.ConnectError("refused")), UpstreamError, 502),
        (_raise(httpx.ReadTimeout("slow")), UpstreamTimeoutError, 504),
        (_raise(httpx.RemoteProtocolError("cut")), UpstreamError, 502),
        (lambda r: httpx.Response(500, json={"error": {"message": "boom"}}), UpstreamError, 502),
        (lambda r: httpx.Response(503), UpstreamError, 502),
        (lambda r: httpx.Response(504), UpstreamTimeoutError, 504),
        (lambda r: httpx.Response(401), UpstreamError, 502),
        (lambda r: httpx.Response(200, content=b"not json"), UpstreamError, 502),
        (lambda r: httpx.Response(200, json={"choices": "?"}), UpstreamError, 502),
        (lambda r: httpx.Response(200, json=_completion(1)), UpstreamError, 502),  # 1 of 2
        (
            lambda r: httpx.Response(400, json={"error": {"message": "bad stop"}}),
            InvalidRequestError,
            400,
        ),
        (lambda r: httpx.Response(429, headers={"retry-after": "9"}), OverloadedError, 429),
    ],
)
async def test_upstream_failures_map_to_typed_errors(
    handler: Handler, error: type[LetheError], status: int
) -> None:
    with pytest.raises(error) as info:
        await _backend(handler).generate(REQUEST)
    assert info.value.status_code == status


async def test_429_keeps_the_upstream_retry_after() -> None:
    with pytest.raises(OverloadedError) as info:
        await _backend(lambda r: httpx.Response(429, headers={"retry-after": "9"})).generate(
            REQUEST
        )
    assert info.value.headers["Retry-After"] == "9"


def _sse(*events: object) -> bytes:
    lines = []
    for event in events:
        payload = event if isinstance(event, str) else json.dumps(event)
        lines.append(f"data: {payload}\n\n")
    return "".join(lines).encode()


def _delta(index: int, text: str | None, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": index, "delta": {"content": text}, "finish_reason": finish}]}


async def _collect(backend: OpenAIUpstreamBackend) -> list[StreamDelta]:
    return [d async for d in backend.stream(REQUEST)]


async def test_stream_parses_interleaved_candidates_and_usage() -> None:
    body = _sse(
        _delta(0, "a"),
        _delta(1, "b"),
        _delta(0, None, "stop"),
        _delta(1, "c", "length"),
        {"choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 3}},
        "[DONE]",
    )
    deltas = await _collect(_backend(lambda r: httpx.Response(200, content=body)))
    assert [(d.index, d.text, d.finish_reason) for d in deltas if d.usage is None] == [
        (0, "a", None),
        (1, "b", None),
        (0, "", "stop"),
        (1, "c", "length"),
    ]
    assert deltas[-1].usage is not None
    assert deltas[-1].usage.completion_tokens == 3


@pytest.mark.parametrize(
    "body",
    [
        _sse(_delta(0, "a")),  # cut: no finish, no [DONE]
        _sse(_delta(0, "a"), _delta(1, "b", "stop"), "[DONE]"),  # candidate 0 never finished
        _sse(_delta(0, "a"), "{not json"),
        _sse(_delta(0, "a"), {"error": {"message": "oom"}}),
    ],
)
async def test_broken_streams_raise(body: bytes) -> None:
    with pytest.raises(UpstreamError):
        await _collect(_backend(lambda r: httpx.Response(200, content=body)))


async def test_stream_http_error_before_first_byte() -> None:
    with pytest.raises(UpstreamError):
        await _collect(_backend(lambda r: httpx.Response(500)))


async def test_ready_reflects_upstream_reachability() -> None:
    up = {"ok": True}

    def handler(request: httpx.Request) -> httpx.Response:
        if not up["ok"]:
            raise httpx.ConnectError("down")
        return httpx.Response(200, json={"data": [{"id": "m"}]})

    backend = _backend(handler)
    assert await backend.ready()
    up["ok"] = False
    backend._ready_at = 0.0  # skip the short success cache
    assert not await backend.ready()
