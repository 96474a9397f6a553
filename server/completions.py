"""The legacy text completions API (``POST /v1/completions``), through the same guarded loop.

The prompt is continued as raw text (no chat template). For the guard, the prompt is what the
user said. There is no conversation to re-prompt in, so refinement here is resampling (a
re-prompt strategy asks the same prompt again). A refused choice has ``finish_reason:
"content_filter"`` and empty text (``unlearning.refusal_style: text``: the refusal text).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from server.answer import Answer, ChoiceResult, RefusalStyle
from server.backends.base import FinishReason, TokenLogprob
from server.protocol import ChatCompletionRequest, UnlearningInfo, UsageInfo, Wire, usage_info
from server.streaming import DONE, sse_data

MAX_PROMPT_CHARS = 1 << 20  # the body limit bounds it too; this keeps one field sane


class CompletionRequest(Wire):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    model: str | None = None
    prompt: str | list[str] = Field(..., description="One prompt (a list of one is accepted).")
    max_tokens: int | None = Field(16, ge=1)  # OpenAI's default for this endpoint
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    n: int = Field(1, ge=1)
    stream: bool = False
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=-(2**63), le=2**64 - 1)
    presence_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    frequency_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    logprobs: int | None = Field(None, ge=0, le=5)
    echo: bool = False
    logit_bias: dict[str, float] | None = Field(None, max_length=1024)
    user: str | None = None
    best_of: int | None = Field(None, ge=1)
    suffix: str | None = None

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and len(value) != 1:
            raise ValueError("exactly one prompt is supported per request")
        text = value if isinstance(value, str) else value[0]
        if len(text) > MAX_PROMPT_CHARS:
            raise ValueError(f"prompt is longer than {MAX_PROMPT_CHARS} characters")
        return value

    def text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]

    def as_chat(self) -> ChatCompletionRequest:
        """The same request as a chat request, for the checks and sampling they share."""
        return ChatCompletionRequest.model_validate(
            {
                "messages": [{"role": "user", "content": self.text()}],
                "model": self.model,
                "n": self.n,
                "max_tokens": self.max_tokens,
                "temperature": self.temperature,
                "top_p": self.top_p,
                "stop": self.stop,
                "seed": self.seed,
                "presence_penalty": self.presence_penalty,
                "frequency_penalty": self.frequency_penalty,
                "logprobs": self.logprobs is not None or None,
                "top_logprobs": self.logprobs or None,
                "logit_bias": self.logit_bias,
            }
        )


class CompletionLogprobs(Wire):
    tokens: list[str]
    token_logprobs: list[float]
    top_logprobs: list[dict[str, float]] | None
    text_offset: list[int]


class CompletionChoice(Wire):
    index: int
    text: str
    finish_reason: FinishReason
    logprobs: CompletionLogprobs | None = None


class TextCompletion(Wire):
    id: str
    object: str = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: UsageInfo | None = None
    system_fingerprint: str
    unlearning: UnlearningInfo | None = None


def completion_id() -> str:
    return f"cmpl-{uuid.uuid4().hex}"


def text_choice(
    index: int, result: ChoiceResult, style: RefusalStyle, echo: str | None
) -> CompletionChoice:
    if result.refused:
        text = result.text if style == "text" else ""
        reason: FinishReason = "stop" if style == "text" else "content_filter"
        return CompletionChoice(index=index, text=(echo or "") + text, finish_reason=reason)
    reason = "stop" if result.finish_reason == "tool_calls" else result.finish_reason
    return CompletionChoice(
        index=index,
        text=(echo or "") + result.text,
        finish_reason=reason,
        logprobs=_logprobs(result.logprobs, len(echo or "")),
    )


def _logprobs(tokens: tuple[TokenLogprob, ...] | None, start: int) -> CompletionLogprobs | None:
    if tokens is None:
        return None
    offsets, at = [], start
    for token in tokens:
        offsets.append(at)
        at += len(token.token)
    tops = [dict(t.top) for t in tokens]
    return CompletionLogprobs(
        tokens=[t.token for t in tokens],
        token_logprobs=[t.logprob for t in tokens],
        top_logprobs=tops if any(tops) else None,
        text_offset=offsets,
    )


def text_completion(
    answer: Answer, model: str, fingerprint: str, style: RefusalStyle, echo: str | None
) -> TextCompletion:
    return TextCompletion(
        id=completion_id(),
        created=int(time.time()),
        model=model,
        choices=[text_choice(i, r, style, echo) for i, r in enumerate(answer.choices)],
        usage=usage_info(answer.usage.prompt_tokens, answer.usage.completion_tokens),
        system_fingerprint=fingerprint,
        unlearning=answer.info,
    )


async def text_events(completion: TextCompletion) -> AsyncIterator[bytes]:
    """A verified completion, streamed: one chunk per choice, then usage and the unlearning
    block on the last one (chunks share the completion object's shape), then [DONE]."""
    head: dict[str, Any] = completion.model_dump(exclude={"choices", "usage", "unlearning"})
    for choice in completion.choices:
        chunk = {**head, "choices": [choice.model_dump()]}
        yield sse_data(_json(chunk))
    last = {**head, "choices": [], "usage": _dump(completion.usage)}
    last["unlearning"] = _dump(completion.unlearning)
    yield sse_data(_json(last))
    yield DONE


def _dump(model: Wire | None) -> dict[str, Any] | None:
    return model.model_dump() if model is not None else None


def _json(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
