"""Chat completion serving: request → backend → OpenAI response. No HTTP types here."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from server.backends.base import (
    Backend,
    GenerationRequest,
    GenerationResult,
    SamplingParams,
    StreamDelta,
    Usage,
)
from server.config import GenerationSettings
from server.errors import InvalidRequestError, LetheError, ModelNotFoundError
from server.metrics import Metrics
from server.protocol import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    UnlearningInfo,
    completion_id,
    unknown_fields,
    usage_info,
)
from server.streaming import DONE, KEEPALIVE, sse_data, with_keepalive

logger = logging.getLogger("lethe.serving")


@dataclass(frozen=True, slots=True)
class PreparedChat:
    model: str
    call: GenerationRequest
    include_usage: bool


class ChatService:
    """Turns validated OpenAI requests into backend calls and OpenAI responses."""

    def __init__(
        self,
        backend: Backend,
        *,
        backend_kind: str,
        generation: GenerationSettings,
        metrics: Metrics,
        keepalive_seconds: float,
    ) -> None:
        self.backend = backend
        self._kind = backend_kind
        self._generation = generation
        self._metrics = metrics
        self._keepalive = keepalive_seconds

    def model_ids(self) -> list[str]:
        return self.backend.model_ids()

    def prepare(self, request: ChatCompletionRequest) -> PreparedChat:
        """Check the request against what this server offers, before any response starts."""
        model = self._resolve_model(request.model)
        caps = self._generation
        if request.n > caps.max_n:
            raise InvalidRequestError(
                f"n must be at most {caps.max_n} on this server.", param="n", code="invalid_value"
            )
        max_tokens = request.requested_max_tokens()
        if max_tokens is not None and max_tokens > caps.max_tokens_cap:
            raise InvalidRequestError(
                f"max_tokens must be at most {caps.max_tokens_cap} on this server.",
                param="max_tokens",
                code="invalid_value",
            )
        extra = unknown_fields(request)
        if extra:
            logger.debug("ignoring unsupported request fields: %s", ", ".join(extra))
        sampling = SamplingParams(
            max_tokens=max_tokens or caps.default_max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            stop=request.stop_sequences(),
            seed=request.seed,
            presence_penalty=request.presence_penalty,
            frequency_penalty=request.frequency_penalty,
        )
        call = GenerationRequest(
            messages=request.backend_messages(), sampling=sampling, n=request.n
        )
        return PreparedChat(model=model, call=call, include_usage=request.include_usage())

    def _resolve_model(self, requested: str | None) -> str:
        served = self.model_ids()
        if requested is None or requested == "":
            if not served:
                raise ModelNotFoundError("No model is being served yet.", param="model")
            return served[0]
        if requested not in served:
            raise ModelNotFoundError(
                f"The model '{requested[:100]}' does not exist on this server.", param="model"
            )
        return requested

    async def _generate(self, call: GenerationRequest) -> GenerationResult:
        started = time.perf_counter()
        try:
            result = await self.backend.generate(call)
        except LetheError as exc:
            self._metrics.backend_errors.labels(self._kind, exc.code or "error").inc()
            raise
        self._metrics.backend_latency.labels(self._kind, "generate").observe(
            time.perf_counter() - started
        )
        self._count(len(result.generations), result.usage)
        return result

    def _count(self, candidates: int, usage: Usage) -> None:
        self._metrics.candidates.inc(candidates)
        self._metrics.tokens.labels("prompt").inc(usage.prompt_tokens)
        self._metrics.tokens.labels("completion").inc(usage.completion_tokens)

    async def complete(self, chat: PreparedChat) -> ChatCompletion:
        result = await self._generate(chat.call)
        self._metrics.completions.labels("bypassed").inc()
        return ChatCompletion(
            id=completion_id(),
            created=int(time.time()),
            model=chat.model,
            choices=[
                Choice(
                    index=i,
                    message=AssistantMessage(content=g.text),
                    finish_reason=g.finish_reason,
                )
                for i, g in enumerate(result.generations)
            ],
            usage=usage_info(result.usage.prompt_tokens, result.usage.completion_tokens),
            unlearning=UnlearningInfo(
                status="bypassed", rounds=1, candidates=len(result.generations)
            ),
        )

    async def stream(self, chat: PreparedChat) -> AsyncIterator[bytes]:
        """SSE bytes; errors after the response has started become an error event."""
        call = chat.call
        writer = _ChunkWriter(completion_id(), chat.model, chat.include_usage)
        deltas = _timed(self.backend.stream(call), self._metrics, self._kind)
        usage = Usage()
        try:
            for index in range(call.n):
                yield writer.role(index)
            async for delta in with_keepalive(deltas, self._keepalive):
                if delta is None:
                    yield KEEPALIVE
                elif delta.usage is not None:
                    usage = delta.usage
                else:
                    for event in writer.delta(delta):
                        yield event
            self._count(call.n, usage)
            self._metrics.completions.labels("bypassed").inc()
            info = UnlearningInfo(status="bypassed", rounds=1, candidates=call.n)
            for event in writer.finish(usage, info):
                yield event
        except LetheError as exc:
            self._metrics.backend_errors.labels(self._kind, exc.code or "error").inc()
            yield sse_data(_json(exc.envelope()))
        yield DONE


async def _timed(
    source: AsyncIterator[StreamDelta], metrics: Metrics, kind: str
) -> AsyncIterator[StreamDelta]:
    started = time.perf_counter()
    async for item in source:
        yield item
    metrics.backend_latency.labels(kind, "stream").observe(time.perf_counter() - started)


def _json(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


class _ChunkWriter:
    """Frames OpenAI ``chat.completion.chunk`` events; the last event carries ``unlearning``.

    The most recent finish chunk is held back so that ``unlearning`` (and, when asked, the
    usage chunk) rides on the final event whatever order the candidates finish in.
    """

    def __init__(self, cid: str, model: str, include_usage: bool) -> None:
        self._head = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        self._include_usage = include_usage
        self._held: dict[str, Any] | None = None

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        chunk = {**self._head, "choices": choices}
        if self._include_usage:
            chunk["usage"] = None
        return chunk

    def _choice(
        self, index: int, delta: dict[str, str], finish_reason: str | None = None
    ) -> dict[str, Any]:
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

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
