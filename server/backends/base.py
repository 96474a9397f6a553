"""The one protocol every generator backend implements, and the value types it speaks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant", "tool", "developer"]
FinishReason = Literal["stop", "length", "content_filter", "tool_calls"]
JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model made; ``arguments`` is JSON text, as OpenAI sends it."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()  # an assistant turn that called tools
    tool_call_id: str | None = None  # a tool turn: which call it answers
    name: str | None = None  # a tool turn: the function's name, when the client gave it


@dataclass(frozen=True, slots=True)
class OutputShape:
    """What form the answer must take, passed through to the backend as OpenAI defines it.

    ``tools``: OpenAI tool definitions (``{"type": "function", "function": {"name",
    "description", "parameters"}}``). ``tool_choice``: ``"none"``, ``"auto"``, ``"required"``
    or ``{"type": "function", "function": {"name": ...}}``; ``None`` means OpenAI's default
    (``auto`` with tools). ``response_format``: ``{"type": "json_object"}`` or
    ``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``.
    """

    tools: tuple[JSON, ...] = ()
    tool_choice: str | JSON | None = None
    parallel_tool_calls: bool | None = None
    response_format: JSON | None = None

    @property
    def plain(self) -> bool:
        return not self.tools and self.response_format is None

    def __hash__(self) -> int:  # the JSON parts are dicts: hash their canonical text
        return hash(
            json.dumps(
                [self.tools, self.tool_choice, self.parallel_tool_calls, self.response_format],
                sort_keys=True,
            )
        )


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()  # the most likely tokens at this position


@dataclass(frozen=True, slots=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: tuple[tuple[int, float], ...] = ()  # (token id, bias), sorted by token id
    logprobs: bool = False  # return the sampled tokens' log probabilities
    top_logprobs: int = 0  # and this many alternatives at each position


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """Ask for ``n`` independent candidates for one conversation."""

    messages: tuple[Message, ...]
    sampling: SamplingParams
    n: int = 1
    shape: OutputShape = field(default_factory=OutputShape)
    # A text completion (POST /v1/completions): the raw prompt, continued without a chat
    # template; ``messages`` then holds it as one user turn, for the guard's context.
    prompt: str | None = None


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
    tool_calls: tuple[ToolCall, ...] = ()
    logprobs: tuple[TokenLogprob, ...] | None = None  # when asked for


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
