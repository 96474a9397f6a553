"""Chat completion serving: request → backend → OpenAI response. No HTTP types here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import TypeVar

from server.answer import (
    Answer,
    ChoiceResult,
    RefusalStyle,
    answer_of,
    decision_of,
    system_fingerprint,
    unlearning_info,
    wire_choice,
    wire_logprobs,
)
from server.backends.base import (
    Backend,
    GenerationRequest,
    GenerationResult,
    StreamDelta,
    Usage,
)
from server.completions import CompletionRequest, TextCompletion, text_completion, text_events
from server.config import GenerationSettings
from server.errors import (
    LetheError,
    RequestTimeoutError,
    as_lethe_error,
)
from server.guard import Guard
from server.guarded import choice_request, guarded_request
from server.logs import AuditLog, Decision, note_decision
from server.loop import LoopOutcome, UnlearningLoop, UnlearningRefusedError
from server.metrics import Metrics
from server.prepare import PreparedChat, prepare_chat, prepare_text
from server.protocol import (
    ChatCompletion,
    ChatCompletionRequest,
    UnlearningInfo,
    completion_id,
    usage_info,
)
from server.refinement.base import tokenizer_of
from server.streaming import DONE, KEEPALIVE, ChunkWriter, sse_error, with_keepalive
from verifiers.types import LeakageReport

T = TypeVar("T")
logger = logging.getLogger("lethe.serving")


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
        guard: Guard | None = None,
        audit: AuditLog | None = None,
        refusal_style: RefusalStyle = "openai",
        deadline_seconds: float = 600.0,
    ) -> None:
        self._refusal_style = refusal_style
        self._deadline = deadline_seconds
        self.backend = backend
        self._audit = audit
        self._kind = backend_kind
        self._generation = generation
        self._metrics = metrics
        self._keepalive = keepalive_seconds
        self._guard = guard

    def model_ids(self) -> list[str]:
        return self.backend.model_ids()

    def prepare(self, request: ChatCompletionRequest) -> PreparedChat:
        """Check the request against what this server offers, before any response starts."""
        return prepare_chat(request, self.model_ids(), self._generation, self._guard is not None)

    def prepare_text(self, request: CompletionRequest) -> PreparedChat:
        return prepare_text(request, self.model_ids(), self._generation, self._guard is not None)

    async def complete_text(self, chat: PreparedChat, echo: str | None) -> TextCompletion:
        answer = await self._answer(chat)
        self._metrics.completions.labels(answer.info.status).inc()
        fingerprint = self.fingerprint(chat.model)
        return text_completion(answer, chat.model, fingerprint, self._refusal_style, echo)

    async def stream_text(self, chat: PreparedChat, echo: str | None) -> AsyncIterator[bytes]:
        """Verified first, then streamed; keep-alive comments while the loop runs."""
        completion: TextCompletion | None = None
        try:
            work = _once(self.complete_text(chat, echo))
            async for item in with_keepalive(work, self._keepalive):
                if item is None:
                    yield KEEPALIVE
                else:
                    completion = item
        except Exception as exc:  # the 200 is sent: every failure becomes an error event
            if not isinstance(exc, LetheError):
                logger.exception("stream failed")
            yield sse_error(as_lethe_error(exc).envelope())
            yield DONE
            return
        assert completion is not None
        async for event in text_events(completion):
            yield event

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

    async def _answer(self, chat: PreparedChat) -> Answer:
        """The answer within the request's deadline; past it the work is cancelled."""
        try:
            async with asyncio.timeout(self._deadline):
                return await self._answer_now(chat)
        except TimeoutError:
            raise RequestTimeoutError(
                f"The request took longer than {self._deadline:g} s and was cancelled."
            ) from None

    async def _answer_now(self, chat: PreparedChat) -> Answer:
        """Generate; with a forget set, run the unlearning loop once per requested choice."""
        if self._guard is None:
            result = await self._generate(chat.call)
            choices = [ChoiceResult.of(g) for g in result.generations]
            info = UnlearningInfo(status="bypassed", rounds=1, candidates=len(choices))
            return Answer(choices, result.usage, info)
        guard = self._guard
        active = await guard.ensure_active()  # 503 while there is no policy (fail closed)
        loop = UnlearningLoop(
            self._generate, guard.check_all, active.loop, tokenizer_of(self.backend)
        )
        call = guarded_request(chat.call, guard.sampling)
        try:
            outcomes = await _all([loop.run(choice_request(call, i)) for i in range(call.n)])
        except UnlearningRefusedError as refusal:  # the `error` fallback: a refusal all the same
            self._metrics.refusals.inc()
            info = unlearning_info([refusal.outcome], active)
            info.guarantee = guard.with_coverage(info.guarantee, _reports([refusal.outcome]))
            self._record_decision(decision_of([refusal.outcome], info, guard))
            raise
        refused = sum(o.status == "refused" for o in outcomes)
        if refused:
            self._metrics.refusals.inc(refused)
        self._metrics.rounds.observe(max(len(o.rounds) for o in outcomes))
        info = unlearning_info(outcomes, active)
        info.guarantee = guard.with_coverage(info.guarantee, _reports(outcomes))
        latest = guard.policy
        if latest is not active and latest is not None and latest.stale and info.guarantee:
            # Reloaded mid-request: checked against a forget set the artifact does not cover.
            info.guarantee = info.guarantee.model_copy(update={"stale": True})
        self._record_decision(decision_of(outcomes, info, guard))
        return answer_of(outcomes, info)

    def _record_decision(self, decision: Decision) -> None:
        note_decision(decision)
        if self._audit is not None:
            try:
                self._audit.write(decision)
            except OSError as exc:  # a full disk must not turn answers into errors
                logger.error("audit log write failed (%s)", type(exc).__name__)

    async def complete(self, chat: PreparedChat) -> ChatCompletion:
        answer = await self._answer(chat)
        self._metrics.completions.labels(answer.info.status).inc()
        return ChatCompletion(
            id=completion_id(),
            created=int(time.time()),
            model=chat.model,
            choices=[
                wire_choice(i, result, self._refusal_style)
                for i, result in enumerate(answer.choices)
            ],
            usage=usage_info(answer.usage.prompt_tokens, answer.usage.completion_tokens),
            system_fingerprint=self.fingerprint(chat.model),
            unlearning=answer.info,
        )

    def fingerprint(self, model: str) -> str:
        guard = self._guard
        artifact = guard.artifact.artifact_id() if guard and guard.artifact else None
        return system_fingerprint(model, artifact)

    async def stream(self, chat: PreparedChat) -> AsyncIterator[bytes]:
        """SSE bytes; errors after the response has started become an error event.

        With a forget set, nothing is sent before the answer is verified: keep-alive comments
        hold the connection while the candidates are generated and checked.
        """
        writer = ChunkWriter(
            completion_id(), chat.model, chat.include_usage, self.fingerprint(chat.model)
        )
        try:
            if self._guard is None and chat.call.shape.plain and not chat.call.sampling.logprobs:
                async for event in self._passthrough(chat, writer):
                    yield event
            else:
                async for event in self._verified(chat, writer):
                    yield event
        except Exception as exc:  # the 200 is sent: every failure becomes an error event
            if not isinstance(exc, LetheError):
                logger.exception("stream failed")
            yield sse_error(as_lethe_error(exc).envelope())
        yield DONE

    async def _verified(self, chat: PreparedChat, writer: ChunkWriter) -> AsyncIterator[bytes]:
        answer: Answer | None = None
        async for item in with_keepalive(_once(self._answer(chat)), self._keepalive):
            if item is None:
                yield KEEPALIVE
            else:
                answer = item
        assert answer is not None
        self._metrics.completions.labels(answer.info.status).inc()
        for index, result in enumerate(answer.choices):
            yield writer.role(index)
            for event in self._framed(writer, index, result):
                yield event
        for event in writer.finish(answer.usage, answer.info):
            yield event

    def _framed(self, writer: ChunkWriter, index: int, result: ChoiceResult) -> list[bytes]:
        if result.refused and self._refusal_style == "openai":
            return writer.refusal(index, result.text)
        if result.tool_calls:
            return writer.tool_calls(index, result.tool_calls)
        logprobs = wire_logprobs(result.logprobs)
        tokens = [t.model_dump() for t in logprobs.content or ()] if logprobs else None
        return writer.text(index, result.text, result.finish_reason, tokens)

    async def _passthrough(self, chat: PreparedChat, writer: ChunkWriter) -> AsyncIterator[bytes]:
        call = chat.call
        deltas = _timed(self.backend.stream(call), self._metrics, self._kind)
        usage = Usage()
        for index in range(call.n):
            yield writer.role(index)
        # A deadline checked on every item (the keep-alive wakes up at the deadline too), not
        # a timeout scope: those must not span the yields of an async generator.
        deadline = time.monotonic() + self._deadline
        try:
            async for delta in with_keepalive(deltas, self._keepalive, deadline):
                if time.monotonic() >= deadline:
                    raise RequestTimeoutError(
                        f"The request took longer than {self._deadline:g} s and was cancelled."
                    )
                if delta is None:
                    yield KEEPALIVE
                elif delta.usage is not None:
                    usage = delta.usage
                else:
                    for event in writer.delta(delta):
                        yield event
        except LetheError as exc:
            self._metrics.backend_errors.labels(self._kind, exc.code or "error").inc()
            raise
        self._count(call.n, usage)
        self._metrics.completions.labels("bypassed").inc()
        info = UnlearningInfo(status="bypassed", rounds=1, candidates=call.n)
        for event in writer.finish(usage, info):
            yield event


async def _all(works: Sequence[Awaitable[T]]) -> list[T]:
    """``asyncio.gather``, except that the first failure cancels the others: a choice that
    failed makes the whole answer an error, so its siblings' backend work is waste."""
    tasks = [asyncio.ensure_future(work) for work in works]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()  # no-op for finished tasks


def _reports(outcomes: Sequence[LoopOutcome]) -> list[LeakageReport]:
    """Every report the answer's verification produced (for its coverage)."""
    return [r for outcome in outcomes for round_reports in outcome.reports for r in round_reports]


async def _once(work: Awaitable[T]) -> AsyncIterator[T]:
    yield await work


async def _timed(
    source: AsyncIterator[StreamDelta], metrics: Metrics, kind: str
) -> AsyncIterator[StreamDelta]:
    started = time.perf_counter()
    async for item in source:
        yield item
    metrics.backend_latency.labels(kind, "stream").observe(time.perf_counter() - started)
