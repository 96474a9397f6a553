"""Server-sent events: framing, keep-alive comments, and cancellation-safe iteration."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVar

from server.backends.base import FinishReason, StreamDelta, ToolCall, Usage
from server.protocol import UnlearningInfo, usage_info

T = TypeVar("T")

KEEPALIVE = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_data(payload: str) -> bytes:
    return b"data: " + payload.encode() + b"\n\n"


def sse_error(envelope: dict[str, Any]) -> bytes:
    return sse_data(_json(envelope))


async def with_keepalive(
    source: AsyncIterator[T], interval: float, deadline: float | None = None
) -> AsyncIterator[T | None]:
    """Yield ``source``'s items, and ``None`` whenever ``interval`` seconds pass without one.

    With ``deadline`` (a ``time.monotonic()`` instant) a ``None`` also comes as soon as it
    passes, so a caller that checks its deadline on every item is on time, not up to one
    ``interval`` late. Waiting never cancels the pending ``__anext__`` (which would tear down a
    backend stream); closing this iterator cancels it and closes ``source``.
    """
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            timeout = interval
            if deadline is not None:
                timeout = max(0.0, min(interval, deadline - time.monotonic()))
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:
                yield None
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield item
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


def _json(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


class ChunkWriter:
    """Frames OpenAI ``chat.completion.chunk`` events; the last event carries ``unlearning``.

    The most recent finish chunk is held back so that ``unlearning`` (and, when asked, the
    usage chunk) rides on the final event whatever order the candidates finish in.
    """

    def __init__(
        self, cid: str, model: str, include_usage: bool, fingerprint: str | None = None
    ) -> None:
        self._head: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        if fingerprint is not None:
            self._head["system_fingerprint"] = fingerprint
        self._include_usage = include_usage
        self._held: dict[str, Any] | None = None

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        chunk = {**self._head, "choices": choices}
        if self._include_usage:
            chunk["usage"] = None
        return chunk

    def _choice(
        self,
        index: int,
        delta: dict[str, Any],
        finish_reason: str | None = None,
        logprobs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "index": index,
            "delta": delta,
            "logprobs": logprobs,
            "finish_reason": finish_reason,
        }

    def role(self, index: int) -> bytes:
        return sse_data(
            _json(self._chunk([self._choice(index, {"role": "assistant", "content": ""})]))
        )

    def delta(self, delta: StreamDelta) -> list[bytes]:
        events = self._release()
        if delta.text:
            choice = self._choice(delta.index, {"content": delta.text})
            events.append(sse_data(_json(self._chunk([choice]))))
        if delta.finish_reason is not None:
            self._held = self._chunk([self._choice(delta.index, {}, delta.finish_reason)])
        return events

    def _release(self) -> list[bytes]:
        held, self._held = self._held, None
        return [] if held is None else [sse_data(_json(held))]

    def finish(self, usage: Usage, info: UnlearningInfo) -> list[bytes]:
        if self._include_usage:
            events = self._release()
            last = self._chunk([])
            last["usage"] = usage_info(usage.prompt_tokens, usage.completion_tokens).model_dump()
        else:
            events = []
            last, self._held = self._held or self._chunk([]), None
        last["unlearning"] = info.model_dump()
        events.append(sse_data(_json(last)))
        return events

    def refusal(self, index: int, text: str) -> list[bytes]:
        """A refused choice, as OpenAI streams one: the text in ``delta.refusal``, then
        ``finish_reason: "content_filter"``."""
        events = self._release()
        events.append(sse_data(_json(self._chunk([self._choice(index, {"refusal": text})]))))
        self._held = self._chunk([self._choice(index, {}, "content_filter")])
        return events

    def tool_calls(self, index: int, calls: Sequence[ToolCall]) -> list[bytes]:
        """Whole, already verified tool calls, each in one ``delta.tool_calls`` piece."""
        events = self._release()
        for number, call in enumerate(calls):
            piece = {
                "index": number,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            choice = self._choice(index, {"tool_calls": [piece]})
            events.append(sse_data(_json(self._chunk([choice]))))
        self._held = self._chunk([self._choice(index, {}, "tool_calls")])
        return events

    def text(
        self,
        index: int,
        text: str,
        finish_reason: FinishReason,
        logprobs: Sequence[dict[str, Any]] | None = None,
    ) -> list[bytes]:
        """A whole, already verified answer, framed as a few content deltas; with logprobs,
        one delta per token, each carrying its own."""
        events: list[bytes] = []
        if logprobs and "".join(t["token"] for t in logprobs) == text:
            for token in logprobs:
                choice = self._choice(
                    index, {"content": token["token"]}, logprobs={"content": [token]}
                )
                events += [*self._release(), sse_data(_json(self._chunk([choice])))]
        else:
            for piece in re.findall(r"\s*\S+", text) or [""]:
                events += self.delta(StreamDelta(index=index, text=piece))
        events += self.delta(StreamDelta(index=index, finish_reason=finish_reason))
        return events
