"""From a validated OpenAI request to the backend request the loop runs: every check of what
this server offers (model, n, max_tokens, fields it cannot honour) happens here, before any
response starts."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from server.backends.base import GenerationRequest, SamplingParams
from server.completions import CompletionRequest
from server.config import GenerationSettings
from server.errors import InvalidRequestError, ModelNotFoundError, ServiceUnavailableError
from server.protocol import ChatCompletionRequest, refused_fields, unknown_fields
from server.shapes import output_shape

logger = logging.getLogger("lethe.serving")


@dataclass(frozen=True, slots=True)
class PreparedChat:
    model: str
    call: GenerationRequest
    include_usage: bool


def prepare_chat(
    request: ChatCompletionRequest, served: list[str], caps: GenerationSettings, guarded: bool
) -> PreparedChat:
    """Check the request against what this server offers, before any response starts."""
    model = resolve_model(request.model, served)

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
    refused = refused_fields(request)
    if refused:
        raise InvalidRequestError(
            f"'{refused[0]}' is not supported by this server.",
            param=refused[0],
            code="unsupported_parameter",
        )
    if request.top_logprobs and guarded:
        # Alternatives are tokens the model did not say: a side channel for forget content.
        raise InvalidRequestError(
            "top_logprobs is not available while a forget set is enforced: the "
            "alternative tokens could reveal what the answer must not.",
            param="top_logprobs",
            code="unsupported_parameter",
        )
    extra = unknown_fields(request)
    if extra:
        logger.debug("ignoring unknown request fields: %s", ", ".join(extra))
    try:
        shape = output_shape(
            request.tools,
            request.tool_choice,
            request.parallel_tool_calls,
            request.response_format,
        )
    except ValueError as exc:
        raise InvalidRequestError(str(exc), param="tool_choice") from exc
    sampling = SamplingParams(
        max_tokens=max_tokens or caps.default_max_tokens,
        temperature=request.temperature,
        top_p=request.top_p,
        stop=request.stop_sequences(),
        seed=request.seed,
        presence_penalty=request.presence_penalty,
        frequency_penalty=request.frequency_penalty,
        logit_bias=tuple(sorted((int(k), v) for k, v in (request.logit_bias or {}).items())),
        logprobs=bool(request.logprobs),
        top_logprobs=request.top_logprobs or 0,
    )
    call = GenerationRequest(
        messages=request.backend_messages(), sampling=sampling, n=request.n, shape=shape
    )
    return PreparedChat(model=model, call=call, include_usage=request.include_usage())


def prepare_text(
    request: CompletionRequest, served: list[str], caps: GenerationSettings, guarded: bool
) -> PreparedChat:
    """A text completion: checked like a chat request, sent as a raw prompt."""
    if request.suffix:
        raise InvalidRequestError(
            "'suffix' is not supported by this server.",
            param="suffix",
            code="unsupported_parameter",
        )
    if request.best_of is not None and request.best_of != request.n:
        raise InvalidRequestError(
            "best_of other than n is not supported: the guard already chooses among candidates.",
            param="best_of",
            code="unsupported_parameter",
        )
    chat = prepare_chat(request.as_chat(), served, caps, guarded)
    return replace(chat, call=replace(chat.call, prompt=request.text()))


def resolve_model(requested: str | None, served: list[str]) -> str:
    if not served:  # an upstream that has not answered yet: unavailable, not "not found"
        raise ServiceUnavailableError(
            "No model is being served yet: the upstream model server has not answered."
        )
    if requested is None or requested == "":
        return served[0]
    if requested not in served:
        raise ModelNotFoundError(
            f"The model '{requested[:100]}' does not exist on this server.", param="model"
        )
    return requested
