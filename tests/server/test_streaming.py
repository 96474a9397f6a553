"""SSE framing, the held-back finish chunk, and keep-alive iteration that never cancels the
pending item."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from server.backends.base import StreamDelta, Usage
from server.protocol import UnlearningInfo
from server.streaming import DONE, KEEPALIVE, ChunkWriter, sse_error, with_keepalive

INFO = UnlearningInfo(status="bypassed", rounds=1, candidates=1)


def _events(frames: list[bytes]) -> list[dict[str, Any]]:
    out = []
    for frame in frames:
        assert frame.startswith(b"data: ")
        assert frame.endswith(b"\n\n")
        out.append(json.loads(frame[len(b"data: ") : -2]))
    return out


def test_frames_are_sse_data_lines() -> None:
    assert DONE == b"data: [DONE]\n\n"
    assert KEEPALIVE.startswith(b":")  # a comment: clients ignore it
    error = sse_error({"error": {"message": "m", "type": "t", "param": None, "code": None}})
    assert _events([error])[0]["error"]["message"] == "m"


def test_text_is_split_into_deltas_that_join_back() -> None:
    writer = ChunkWriter("chatcmpl-1", "m", include_usage=False)
    text = "Paris is  the capital.\nYes."
    events = _events(writer.text(0, text, "stop") + writer.finish(Usage(3, 4), INFO))
    joined = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
    assert joined == text
    assert all(e["object"] == "chat.completion.chunk" and e["id"] == "chatcmpl-1" for e in events)
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["unlearning"]["status"] == "bypassed"
    assert all("unlearning" not in e for e in events[:-1])


def test_the_finish_chunk_is_held_back_until_the_next_event() -> None:
    writer = ChunkWriter("c", "m", include_usage=False)
    assert writer.delta(StreamDelta(index=0, finish_reason="length")) == []
    released = _events(writer.delta(StreamDelta(index=1, text="x")))
    assert [e["choices"][0]["finish_reason"] for e in released] == ["length", None]


def test_with_usage_the_last_chunk_has_no_choices_and_the_usage() -> None:
    writer = ChunkWriter("c", "m", include_usage=True)
    frames = writer.text(0, "hi", "stop") + writer.finish(Usage(2, 1), INFO)
    events = _events(frames)
    assert all(e["usage"] is None for e in events[:-1])
    assert events[-1]["choices"] == []
    assert events[-1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
    assert events[-2]["choices"][0]["finish_reason"] == "stop"


async def test_keepalive_yields_none_while_waiting_and_keeps_the_item() -> None:
    release = asyncio.Event()
    cancelled: list[bool] = []

    async def slow() -> AsyncIterator[str]:
        try:
            await release.wait()
            yield "item"
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    seen: list[str | None] = []
    async for item in with_keepalive(slow(), 0.01):
        seen.append(item)
        if seen.count(None) == 3:
            release.set()
    assert seen[:3] == [None, None, None]
    assert seen[-1] == "item"
    assert cancelled == []  # waiting never cancelled the pending item


async def test_a_deadline_wakes_the_wait_before_the_keepalive_interval() -> None:
    async def silent() -> AsyncIterator[str]:
        await asyncio.Event().wait()
        yield "never"

    deadline = time.monotonic() + 0.05
    stream = with_keepalive(silent(), 60.0, deadline)
    assert isinstance(stream, AsyncGenerator)
    async with asyncio.timeout(30):  # a 60 s keep-alive would blow this
        assert await anext(stream) is None
    assert time.monotonic() >= deadline
    await stream.aclose()


async def test_closing_the_iterator_cancels_and_closes_the_source() -> None:
    closed: list[bool] = []

    async def endless() -> AsyncIterator[int]:
        try:
            await asyncio.Event().wait()
            yield 1
        finally:
            closed.append(True)

    stream = with_keepalive(endless(), 0.01)
    assert isinstance(stream, AsyncGenerator)
    assert await anext(stream) is None
    await stream.aclose()
    assert closed == [True]
