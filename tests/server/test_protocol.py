from __future__ import annotations

import pytest
from pydantic import ValidationError

from server.backends.base import Message
from server.protocol import ChatCompletionRequest, refused_fields, unknown_fields


def _request(**fields: object) -> ChatCompletionRequest:
    body: dict[str, object] = {"messages": [{"role": "user", "content": "hi"}], **fields}
    return ChatCompletionRequest.model_validate(body)


def test_minimal_request_gets_openai_defaults() -> None:
    request = _request()
    assert request.n == 1
    assert request.temperature == 1.0
    assert request.top_p == 1.0
    assert request.stream is False
    assert request.model is None


def test_unknown_fields_are_kept_aside_not_rejected() -> None:
    request = _request(logit_bias={"1": 2}, tools=[], some_vendor_flag=True, store=False)
    assert unknown_fields(request) == ["some_vendor_flag"]  # store changes nothing: known
    assert request.logit_bias == {"1": 2}
    assert request.tools == []


@pytest.mark.parametrize(
    ("fields", "refused"),
    [
        ({"audio": {"voice": "x"}}, ["audio"]),
        ({"modalities": ["text", "audio"]}, ["modalities"]),
        ({"functions": [{"name": "f"}]}, ["functions"]),
        ({"modalities": ["text"], "user": "u", "metadata": {"a": "b"}}, []),
    ],
)
def test_fields_that_would_change_the_reply_are_refused_by_name(
    fields: dict[str, object], refused: list[str]
) -> None:
    assert refused_fields(_request(**fields)) == refused


@pytest.mark.parametrize(
    "fields",
    [
        {"top_logprobs": 2},  # without logprobs
        {"logit_bias": {"not-a-token": 1}},
        {"logit_bias": {"5": 101}},
        {"tools": [{"type": "function", "function": {"name": "has space"}}]},
        {"response_format": {"type": "json_schema"}},  # no schema given
    ],
)
def test_bad_shape_fields_are_validation_errors(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _request(**fields)


def test_empty_messages_rejected() -> None:
    with pytest.raises(ValidationError, match="at least one message"):
        ChatCompletionRequest.model_validate({"messages": []})


@pytest.mark.parametrize(
    "field",
    [
        {"n": 0},
        {"temperature": 2.5},
        {"temperature": float("nan")},
        {"top_p": 0},
        {"max_tokens": 0},
        {"presence_penalty": -3},
        {"frequency_penalty": float("inf")},
        {"stop": ["a", "b", "c", "d", "e"]},
    ],
)
def test_out_of_range_values_rejected(field: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _request(**field)


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    assert _request(max_tokens=10, max_completion_tokens=20).requested_max_tokens() == 20
    assert _request(max_tokens=10).requested_max_tokens() == 10
    assert _request().requested_max_tokens() is None


def test_stop_accepts_string_or_list_and_drops_empty() -> None:
    assert _request(stop="END").stop_sequences() == ("END",)
    assert _request(stop=["a", "", "b"]).stop_sequences() == ("a", "b")
    assert _request().stop_sequences() == ()


def test_text_content_parts_are_joined() -> None:
    request = ChatCompletionRequest.model_validate(
        {
            "messages": [
                {"role": "system", "content": "be brief"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Hello, "},
                        {"type": "text", "text": "you"},
                    ],
                },
                {"role": "assistant", "content": None},
            ]
        }
    )
    assert request.backend_messages() == (
        Message("system", "be brief"),
        Message("user", "Hello, you"),
        Message("assistant", ""),
    )


def test_non_text_content_parts_rejected_with_their_type() -> None:
    with pytest.raises(ValidationError, match="image_url"):
        ChatCompletionRequest.model_validate(
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "http://x"}}],
                    }
                ]
            }
        )


def test_unknown_role_rejected() -> None:
    with pytest.raises(ValidationError):
        ChatCompletionRequest.model_validate({"messages": [{"role": "wizard", "content": "x"}]})


def test_include_usage() -> None:
    assert _request(stream=True, stream_options={"include_usage": True}).include_usage()
    assert not _request(stream=True).include_usage()
