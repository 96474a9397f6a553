"""The one protocol every generator backend implements, and the value types it speaks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant", "tool", "developer"]
FinishReason = Literal["stop", "length", "content_filter"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """Ask for ``n`` independent candidates for one conversation."""

    messages: tuple[Message, ...]
    sampling: SamplingParams
    n: int = 1


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True, slots=True)
class Generation:
    text: str
    finish_reason: FinishReason = "stop"
    completion_tokens: int | None = None  # this candidate's own count, when the backend knows


@dataclass(frozen=True, slots=True)
class GenerationResult:
    generations: list[Generation]
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class StreamDelta:
    """A piece of candidate ``index``; the last piece of a candidate has ``finish_reason``."""

    index: int
    text: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage | None = None  # set once, on the final delta of the whole stream


@runtime_checkable
class Backend(Protocol):
    """A text generator. Implementations must be safe to call from concurrent tasks."""

    def model_ids(self) -> list[str]:
        """Ids clients may put in ``model``; the first is the default."""
        ...

    async def start(self) -> None:
        """Load or connect; called once by the app's lifespan before serving."""
        ...

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Return ``request.n`` candidates. Cancelling the awaiting task stops the work."""
        ...

    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamDelta]:
        """Yield pieces of ``request.n`` candidates as they are produced."""
        ...

    async def ready(self) -> bool:
        """Whether the backend can serve now (model loaded, upstream reachable)."""
        ...

    async def aclose(self) -> None: ...
