"""OpenAI wire models for chat completions, plus Lethe's ``unlearning`` block."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from server.backends.base import FinishReason, Message, Role, ToolCall
from server.shapes import ResponseFormat, ToolChoice, ToolDefinition

# Bounded so that a hostile body cannot make validation itself expensive.
MAX_MESSAGES = 4096
MAX_STOP_SEQUENCES = 4


class Wire(BaseModel):
    """Base of every wire model: no NaN or infinity in numbers."""

    model_config = ConfigDict(allow_inf_nan=False)


class TextContentPart(Wire):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: str


class OtherContentPart(Wire):
    """A non-text part (image, audio, file); accepted by the schema, refused by the server."""

    model_config = ConfigDict(extra="allow")
    type: str


ContentPart = Annotated[TextContentPart | OtherContentPart, Field(union_mode="left_to_right")]


class FunctionCallWire(Wire):
    model_config = ConfigDict(extra="ignore")
    name: str
    arguments: str  # JSON text


class ToolCallWire(Wire):
    model_config = ConfigDict(extra="ignore")
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallWire

    @classmethod
    def of(cls, call: ToolCall) -> ToolCallWire:
        return cls(id=call.id, function=FunctionCallWire(name=call.name, arguments=call.arguments))


class ChatMessage(Wire):
    model_config = ConfigDict(extra="ignore")
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallWire] | None = Field(None, max_length=128)
    tool_call_id: str | None = None

    @field_validator("content")
    @classmethod
    def _text_only(cls, value: str | list[ContentPart] | None) -> str | list[ContentPart] | None:
        if isinstance(value, list):
            for part in value:
                if not isinstance(part, TextContentPart):
                    raise ValueError(
                        f"content part type {part.type!r} is not supported; only 'text' is"
                    )
        return value

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextContentPart))


class StreamOptions(Wire):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class ChatCompletionRequest(Wire):
    """The OpenAI body. Unknown fields are kept in ``model_extra`` (logged, then ignored)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    messages: list[ChatMessage] = Field(
        ..., max_length=MAX_MESSAGES, json_schema_extra={"minItems": 1}
    )
    model: str | None = None
    n: int = Field(1, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=-(2**63), le=2**64 - 1)
    presence_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    frequency_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None
    tools: list[ToolDefinition] | None = Field(None, max_length=128)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    logit_bias: dict[str, float] | None = Field(None, max_length=1024)

    @field_validator("logit_bias")
    @classmethod
    def _token_biases(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for token, bias in (value or {}).items():
            if not token.isdigit():
                raise ValueError("logit_bias keys must be token ids")
            if not -100 <= bias <= 100:
                raise ValueError("logit_bias values must be between -100 and 100")
        return value

    @model_validator(mode="after")
    def _top_logprobs_need_logprobs(self) -> ChatCompletionRequest:
        if self.top_logprobs and not self.logprobs:
            raise ValueError("top_logprobs requires logprobs: true")
        return self

    @field_validator("messages")
    @classmethod
    def _not_empty(cls, value: list[ChatMessage]) -> list[ChatMessage]:
        if not value:
            raise ValueError("messages must contain at least one message")
        return value

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > MAX_STOP_SEQUENCES:
            raise ValueError(f"at most {MAX_STOP_SEQUENCES} stop sequences are allowed")
        return value

    def stop_sequences(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        stops = [self.stop] if isinstance(self.stop, str) else self.stop
        return tuple(s for s in stops if s)

    def requested_max_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def backend_messages(self) -> tuple[Message, ...]:
        return tuple(backend_message(m) for m in self.messages)

    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


class UsageInfo(Wire):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class Guarantee(Wire):
    """What the calibration artifact certifies for this answer (docs/guarantee.md)."""

    method: str
    certified: bool = True  # never true while stale: a stale artifact certifies nothing here
    epsilon: float  # marginal risk level
    forget_epsilon: float | None = None  # forget-side risk level (null: per-query artifact)
    delta: float
    n_calibration: int  # calibration queries
    n_targets: int = 0  # calibration targets, the certificate's unit (0: per-query artifact)
    artifact: str
    stale: bool
    statement: str
    coverage: Literal["certified", "interim"] = "certified"  # which rule judged this answer


class VerifierSummary(Wire):
    name: str
    score: float
    latency_ms: float


class UnlearningInfo(Wire):
    status: Literal["accepted", "refined", "refused", "bypassed"]
    rounds: int = 0
    candidates: int = 0
    leakage_score: float | None = None
    threshold: float | None = None
    budget: int | None = None
    guarantee: Guarantee | None = None
    usage: UsageInfo | None = None  # everything the guard spent: all candidates, all rounds
    verifiers: list[VerifierSummary] = Field(default_factory=list)


class AssistantMessage(Wire):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None  # always sent: OpenAI's schema requires it (null when none)
    tool_calls: list[ToolCallWire] | None = None  # left out when there are none, as OpenAI does

    @model_serializer(mode="wrap")
    def _without_empty_tool_calls(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("tool_calls") is None:
            data.pop("tool_calls", None)
        return data


class TopLogprob(Wire):
    token: str
    logprob: float
    bytes: list[int] | None


class TokenLogprobWire(TopLogprob):
    top_logprobs: list[TopLogprob]


class ChoiceLogprobs(Wire):
    content: list[TokenLogprobWire] | None
    refusal: list[TokenLogprobWire] | None = None


class Choice(Wire):
    index: int
    message: AssistantMessage
    finish_reason: FinishReason | None = "stop"
    logprobs: ChoiceLogprobs | None = None


class ChatCompletion(Wire):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: UsageInfo
    system_fingerprint: str
    unlearning: UnlearningInfo


class VerifyRequest(Wire):
    """``POST /v1/unlearning/verify``: check an answer without generating one."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    messages: list[ChatMessage] = Field(default_factory=list, max_length=MAX_MESSAGES)
    response: str

    def backend_messages(self) -> tuple[Message, ...]:
        return tuple(backend_message(m) for m in self.messages)


class VerifierReport(Wire):
    name: str
    score: float
    latency_ms: float
    feedback: list[str]
    error: str | None = None


class VerifyResponse(Wire):
    leakage_score: float
    flagged: bool
    threshold: float
    targets: list[str]
    verifiers: list[VerifierReport]
    forget_set: str


class ReloadResult(Wire):
    outcome: Literal["ok", "unchanged", "failed"]


class ReloadResponse(Wire):
    """``POST /admin/reload``: what changed, and whether the artifact still applies."""

    forget_set: ReloadResult
    artifact: ReloadResult
    stale: bool
    forget_set_hash: str
    artifact_id: str | None


class ModelCard(Wire):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(default_factory=lambda: int(time.time()))
    owned_by: str = "lethe"


class ModelList(Wire):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def backend_message(message: ChatMessage) -> Message:
    calls = tuple(
        ToolCall(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or ()
    )
    return Message(message.role, message.text(), calls, message.tool_call_id, message.name)


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage_info(prompt_tokens: int, completion_tokens: int) -> UsageInfo:
    return UsageInfo(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )


def dump(model: BaseModel) -> str:
    return model.model_dump_json(exclude_none=False)


# Fields that would change what comes back and that Lethe does not implement: a 400 that names
# them, never silently dropped. Fields that change nothing in the reply (user, metadata,
# store, service_tier, ...) are accepted; any other unknown field is accepted and logged.
REFUSED_FIELDS = (
    "audio",
    "function_call",
    "functions",
    "prediction",
    "reasoning_effort",
    "verbosity",
    "web_search_options",
)
IGNORED_FIELDS = (
    "metadata",
    "prompt_cache_key",
    "safety_identifier",
    "service_tier",
    "store",
)


def refused_fields(request: ChatCompletionRequest) -> list[str]:
    extra: dict[str, Any] = request.model_extra or {}
    refused = [name for name in REFUSED_FIELDS if extra.get(name) is not None]
    modalities = extra.get("modalities")
    if modalities is not None and modalities != ["text"]:
        refused.append("modalities")
    return refused


def unknown_fields(request: ChatCompletionRequest) -> list[str]:
    extra: dict[str, Any] = request.model_extra or {}
    known = {*REFUSED_FIELDS, *IGNORED_FIELDS, "modalities"}
    return sorted(name for name in extra if name not in known)
