"""The OpenAI wire format as the upstream backend speaks it: messages and output-shape fields
out (passed through as OpenAI defines them, so vLLM applies its own tool parsers, grammars and
logprobs), candidates with tool calls and logprobs back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from server.backends.base import (
    FinishReason,
    Generation,
    GenerationRequest,
    Message,
    TokenLogprob,
    ToolCall,
)


def wire_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        item: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            item["content"] = m.content or None
            item["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in m.tool_calls
            ]
        if m.tool_call_id is not None:
            item["tool_call_id"] = m.tool_call_id
        if m.name is not None and m.role == "tool":
            item["name"] = m.name
        out.append(item)
    return out


def shape_fields(request: GenerationRequest) -> dict[str, Any]:
    """The request's tools, response format, logprobs and logit bias, as OpenAI names them."""
    shape, sampling = request.shape, request.sampling
    body: dict[str, Any] = {}
    if shape.tools:
        body["tools"] = list(shape.tools)
        if shape.tool_choice is not None:
            body["tool_choice"] = shape.tool_choice
        if shape.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = shape.parallel_tool_calls
    if shape.response_format is not None:
        body["response_format"] = shape.response_format
    if sampling.logprobs and request.prompt is not None:  # text completions: one int
        body["logprobs"] = sampling.top_logprobs
    elif sampling.logprobs:
        body["logprobs"] = True
        if sampling.top_logprobs:
            body["top_logprobs"] = sampling.top_logprobs
    if sampling.logit_bias:
        body["logit_bias"] = {str(token): bias for token, bias in sampling.logit_bias}
    return body


def finish_reason(value: Any) -> FinishReason:
    if value in ("length", "content_filter", "tool_calls"):
        return cast(FinishReason, value)
    return "stop"


def generation(choice: dict[str, Any]) -> Generation:
    """One upstream choice; raises KeyError/TypeError/ValueError when it is malformed."""
    message = choice["message"]
    calls = tuple(
        ToolCall(str(c["id"]), str(c["function"]["name"]), str(c["function"]["arguments"]))
        for c in message.get("tool_calls") or ()
    )
    return Generation(
        text=str(message.get("content") or ""),
        finish_reason="tool_calls" if calls else finish_reason(choice.get("finish_reason")),
        tool_calls=calls,
        logprobs=_logprobs(choice.get("logprobs")),
    )


def text_generation(choice: dict[str, Any]) -> Generation:
    """One choice of a text completion (``/v1/completions``)."""
    logprobs = choice.get("logprobs")
    tokens = None
    if isinstance(logprobs, dict) and logprobs.get("tokens") is not None:
        tops = logprobs.get("top_logprobs") or [None] * len(logprobs["tokens"])
        tokens = tuple(
            TokenLogprob(
                str(token),
                float(lp or 0.0),
                tuple((str(a), float(v)) for a, v in (top or {}).items()),
            )
            for token, lp, top in zip(
                logprobs["tokens"], logprobs.get("token_logprobs") or [], tops, strict=False
            )
        )
    return Generation(
        text=str(choice["text"]),
        finish_reason=finish_reason(choice.get("finish_reason")),
        logprobs=tokens,
    )


def _logprobs(payload: Any) -> tuple[TokenLogprob, ...] | None:
    if not isinstance(payload, dict) or payload.get("content") is None:
        return None
    return tuple(
        TokenLogprob(
            str(t["token"]),
            float(t["logprob"]),
            tuple((str(a["token"]), float(a["logprob"])) for a in t.get("top_logprobs") or ()),
        )
        for t in payload["content"]
    )
