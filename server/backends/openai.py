"""Backend for any OpenAI-compatible upstream over HTTP — in production, ``vllm serve``."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx

from server.backends.base import (
    GenerationRequest,
    GenerationResult,
    StreamDelta,
    Usage,
)
from server.backends.openai_tokens import UpstreamTokenizer, server_root
from server.backends.openai_wire import (
    finish_reason,
    generation,
    shape_fields,
    text_generation,
    wire_messages,
)
from server.config import UpstreamSettings
from server.errors import (
    InvalidRequestError,
    LetheError,
    OverloadedError,
    UpstreamError,
    UpstreamTimeoutError,
)

logger = logging.getLogger("lethe.backends.openai")

_READY_CACHE_SECONDS = 2.0


def _usage(payload: Any) -> Usage:
    """Token counts; a malformed usage object is the upstream's fault, not a reason to 500."""
    if not isinstance(payload, dict):
        return Usage()
    try:
        return Usage(
            int(payload.get("prompt_tokens") or 0), int(payload.get("completion_tokens") or 0)
        )
    except (TypeError, ValueError, OverflowError) as exc:
        raise UpstreamError("The upstream returned malformed usage counts.") from exc


def _is_model_list(response: httpx.Response) -> bool:
    """Whether a 200 from ``/models`` is an OpenAI model list (not, say, a proxy's HTML)."""
    try:
        payload = response.json()
    except ValueError:
        return False
    return isinstance(payload, dict) and isinstance(payload.get("data"), list)


def _status_error(response: httpx.Response) -> LetheError:
    """Map an upstream error status to what Lethe's client should see.

    The upstream's own message is never passed on (nor logged): an upstream may echo its
    input, and in the guarded loop that input holds rejected candidates.
    """
    status = response.status_code
    if status == 429:
        retry = response.headers.get("retry-after", "1")
        return OverloadedError(
            "The upstream model server is overloaded; retry later.",
            retry_after=int(retry) if retry.isdigit() and len(retry) < 6 else 1,
        )
    if status in (400, 422):
        # The upstream judged the request itself invalid: that is the client's to fix.
        return InvalidRequestError(
            f"The upstream model server rejected the request (status {status}); check "
            "max_tokens against the model's context length and the sampling parameters.",
            code="upstream_rejected",
        )
    if status in (504, 408):
        return UpstreamTimeoutError(f"The upstream model server timed out (status {status}).")
    return UpstreamError(f"The upstream model server failed (status {status}).")


def _chunk_deltas(chunk: dict[str, Any], n: int) -> list[StreamDelta]:
    """The deltas of one ``chat.completion.chunk``; a chunk of another shape is an error."""
    deltas: list[StreamDelta] = []
    try:
        for choice in chunk.get("choices") or []:
            index = int(choice.get("index", 0))
            if not 0 <= index < n:
                raise UpstreamError(f"The upstream streamed candidate {index}; {n} were asked.")
            text = (choice.get("delta") or {}).get("content") or ""
            reason = choice.get("finish_reason")
            deltas.append(
                StreamDelta(
                    index=index,
                    text=str(text),
                    finish_reason=finish_reason(reason) if reason is not None else None,
                )
            )
    except (TypeError, ValueError, AttributeError) as exc:
        raise UpstreamError("The upstream sent a malformed stream chunk.") from exc
    if chunk.get("usage"):
        deltas.append(StreamDelta(index=0, usage=_usage(chunk["usage"])))
    return deltas


class OpenAIUpstreamBackend:
    """Forwards generation to ``settings.base_url``; ``n`` is passed through so vLLM batches."""

    def __init__(
        self,
        settings: UpstreamSettings,
        *,
        served_model_name: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._served_name = served_model_name
        self._upstream_model = settings.model
        headers = {}
        if settings.api_key is not None:
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        self._client = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(
                settings.read_timeout, connect=settings.connect_timeout, pool=settings.read_timeout
            ),
            limits=httpx.Limits(
                max_connections=settings.max_connections,
                max_keepalive_connections=settings.max_connections,
            ),
            transport=transport,
        )
        self._ready_at = 0.0
        self._tokenizer = UpstreamTokenizer(
            self._client, server_root(settings.base_url), self._resolve_model
        )

    def model_ids(self) -> list[str]:
        name = self._served_name or self._upstream_model
        return [name] if name else []

    async def start(self) -> None:
        try:
            await self._resolve_model()
        except LetheError as exc:
            # Start anyway: /ready stays 503 until the upstream answers.
            logger.warning("upstream not reachable at start-up: %s", exc.message)

    async def _resolve_model(self) -> str:
        if self._upstream_model is None:
            async with self._errors_mapped():
                response = await self._client.get("models")
            if response.status_code != 200:
                raise _status_error(response)
            try:
                self._upstream_model = str(response.json()["data"][0]["id"])
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise UpstreamError("The upstream returned no usable model list.") from exc
        return self._upstream_model

    async def ready(self) -> bool:
        if time.monotonic() - self._ready_at < _READY_CACHE_SECONDS:
            return True
        try:
            await self._resolve_model()
            async with self._errors_mapped():
                response = await self._client.get("models", timeout=self._settings.connect_timeout)
        except LetheError:
            return False
        if response.status_code != 200 or not _is_model_list(response):
            return False
        self._ready_at = time.monotonic()
        return True

    async def aclose(self) -> None:
        await self._client.aclose()

    async def tokenize(self, text: str) -> list[int]:
        async with self._errors_mapped():
            return await self._tokenizer.tokenize(text)

    async def detokenize(self, tokens: Sequence[int]) -> str:
        async with self._errors_mapped():
            return await self._tokenizer.detokenize(tokens)

    @asynccontextmanager
    async def _errors_mapped(self) -> AsyncIterator[None]:
        try:
            yield
        except httpx.TimeoutException as exc:
            raise UpstreamTimeoutError("The upstream model server timed out.") from exc
        except httpx.HTTPError as exc:
            logger.warning("upstream transport error: %s", type(exc).__name__)
            raise UpstreamError("The upstream model server is unreachable.") from exc

    async def _body(self, request: GenerationRequest, *, stream: bool) -> dict[str, Any]:
        sampling = request.sampling
        body: dict[str, Any] = {
            "model": await self._resolve_model(),
            **(
                {"prompt": request.prompt}
                if request.prompt is not None
                else {"messages": wire_messages(request.messages)}
            ),
            "n": request.n,
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "presence_penalty": sampling.presence_penalty,
            "frequency_penalty": sampling.frequency_penalty,
            "stream": stream,
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if stream:
            body["stream_options"] = {"include_usage": True}
        body.update(shape_fields(request))
        return body

    def _fanned_out(self, request: GenerationRequest) -> list[GenerationRequest]:
        """One n=1 request per candidate, seeds offset like a batched call's would be."""
        seed = request.sampling.seed
        return [
            replace(
                request,
                n=1,
                sampling=replace(request.sampling, seed=None if seed is None else seed + i),
            )
            for i in range(request.n)
        ]

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        if self._settings.fan_out_n and request.n > 1:
            parts = await asyncio.gather(*(self._generate(r) for r in self._fanned_out(request)))
            usage = Usage(
                parts[0].usage.prompt_tokens, sum(p.usage.completion_tokens for p in parts)
            )
            return GenerationResult([g for p in parts for g in p.generations], usage)
        return await self._generate(request)

    async def _generate(self, request: GenerationRequest) -> GenerationResult:
        body = await self._body(request, stream=False)
        async with self._errors_mapped():
            endpoint = "completions" if request.prompt is not None else "chat/completions"
            response = await self._client.post(endpoint, json=body)
        if response.status_code != 200:
            raise _status_error(response)
        try:
            payload = response.json()
            choices = sorted(payload["choices"], key=lambda c: int(c.get("index", 0)))
            parse = text_generation if request.prompt is not None else generation
            generations = [parse(c) for c in choices]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UpstreamError("The upstream returned a malformed completion.") from exc
        if len(generations) != request.n:
            raise UpstreamError(
                f"The upstream returned {len(generations)} candidates; {request.n} were asked."
            )
        usage = _usage(payload.get("usage"))
        if request.n == 1:  # the only case where the upstream's usage is one candidate's own
            generations = [replace(generations[0], completion_tokens=usage.completion_tokens)]
        return GenerationResult(generations=generations, usage=usage)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamDelta]:
        if not (self._settings.fan_out_n and request.n > 1):
            async for delta in self._stream(request):
                yield delta
            return
        usage = Usage()
        for index, part in enumerate(self._fanned_out(request)):
            async for delta in self._stream(part):
                if delta.usage is not None:
                    prompt = delta.usage.prompt_tokens if index == 0 else 0
                    usage = usage + Usage(prompt, delta.usage.completion_tokens)
                else:
                    yield replace(delta, index=index)
        yield StreamDelta(index=0, usage=usage)

    async def _stream(self, request: GenerationRequest) -> AsyncIterator[StreamDelta]:
        body = await self._body(request, stream=True)
        async with (
            self._errors_mapped(),
            self._client.stream("POST", "chat/completions", json=body) as response,
        ):
            if response.status_code != 200:
                await response.aread()
                raise _status_error(response)
            async for delta in self._parse_sse(response, request.n):
                yield delta

    async def _parse_sse(self, response: httpx.Response, n: int) -> AsyncIterator[StreamDelta]:
        finished: set[int] = set()
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                chunk = json.loads(data)
            except ValueError as exc:
                raise UpstreamError("The upstream sent a malformed stream chunk.") from exc
            if not isinstance(chunk, dict) or "error" in chunk:
                raise UpstreamError("The upstream reported an error mid-stream.")
            for delta in _chunk_deltas(chunk, n):
                if delta.finish_reason is not None:
                    finished.add(delta.index)
                yield delta
        else:
            raise UpstreamError("The upstream stream ended without [DONE].")
        if len(finished) < n:
            raise UpstreamError("The upstream stream ended before every candidate finished.")
