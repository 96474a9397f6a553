"""An in-memory backend: canned answers, no model. For tests and overhead benchmarks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

from server.backends.base import (
    Generation,
    GenerationRequest,
    GenerationResult,
    StreamDelta,
    Usage,
)

Script = Callable[[GenerationRequest, int], str | Generation]
"""Answer for (request, candidate index): text, or a whole generation (e.g. a tool call)."""

DEFAULT_ANSWER = "This is a scripted answer from Lethe's test backend."


def fixed(answer: str) -> Script:
    return lambda request, index: answer


def echo_context(request: GenerationRequest, index: int) -> str:
    """A model that repeats what it was given (system and user messages): the RAG leak."""
    return " ".join(m.content for m in request.messages if m.role in ("system", "user"))


def sequence(answers: Sequence[str]) -> Script:
    """Answer with the next item on every call, repeating the last one when exhausted."""
    state = {"i": 0}

    def script(request: GenerationRequest, index: int) -> str:
        answer = answers[min(state["i"], len(answers) - 1)]
        state["i"] += 1
        return answer

    return script


def _count_tokens(text: str) -> int:
    return len(text.split())


class ScriptedBackend:
    """Answers instantly (or after ``delay``) with what ``script`` says.

    ``calls`` records every request (unless ``record_calls`` is false: a served backend must
    not keep every request it ever saw) and ``cancelled`` counts calls that were cancelled
    while running, so tests can assert on batching and on cancellation.
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        model_id: str = "scripted",
        delay: float = 0.0,
        chunk_words: int = 1,
        record_calls: bool = True,
    ) -> None:
        self._script = script or fixed(DEFAULT_ANSWER)
        self._model_id = model_id
        self.delay = delay
        self._chunk_words = chunk_words
        self._record_calls = record_calls
        self.calls: list[GenerationRequest] = []
        self.cancelled = 0
        self.closed = False

    def model_ids(self) -> list[str]:
        return [self._model_id]

    async def start(self) -> None:
        return None

    async def ready(self) -> bool:
        return not self.closed

    async def aclose(self) -> None:
        self.closed = True

    def _answers(self, request: GenerationRequest) -> list[str]:
        return [g.text for g in self._generations(request)]

    def _generations(self, request: GenerationRequest) -> list[Generation]:
        if self._record_calls:
            self.calls.append(request)
        answers = [self._script(request, i) for i in range(request.n)]
        return [
            a if isinstance(a, Generation) else Generation(a, completion_tokens=_count_tokens(a))
            for a in answers
        ]

    def _usage(self, request: GenerationRequest, answers: list[str]) -> Usage:
        prompt = sum(_count_tokens(m.content) for m in request.messages)
        return Usage(prompt, sum(_count_tokens(a) for a in answers))

    async def _wait(self) -> None:
        if self.delay <= 0:
            return
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        generations = self._generations(request)
        await self._wait()
        return GenerationResult(
            generations=generations, usage=self._usage(request, [g.text for g in generations])
        )

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamDelta]:
        answers = self._answers(request)
        await self._wait()
        for index, answer in enumerate(answers):
            words = answer.split(" ")
            for start in range(0, len(words), self._chunk_words):
                piece = " ".join(words[start : start + self._chunk_words])
                yield StreamDelta(index=index, text=piece if start == 0 else " " + piece)
            yield StreamDelta(index=index, finish_reason="stop")
        yield StreamDelta(index=0, usage=self._usage(request, answers))
