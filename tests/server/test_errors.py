from __future__ import annotations

import pytest

from server.errors import (
    AuthenticationError,
    InvalidRequestError,
    LetheError,
    ModelNotFoundError,
    OverloadedError,
    PayloadTooLargeError,
    UpstreamError,
    UpstreamTimeoutError,
    error_envelope,
    validation_error,
)


@pytest.mark.parametrize(
    ("error", "status", "etype", "code"),
    [
        (InvalidRequestError("x"), 400, "invalid_request_error", None),
        (AuthenticationError("x"), 401, "authentication_error", "invalid_api_key"),
        (ModelNotFoundError("x"), 404, "invalid_request_error", "model_not_found"),
        (PayloadTooLargeError("x"), 413, "invalid_request_error", "request_too_large"),
        (OverloadedError("x", retry_after=3), 429, "rate_limit_error", "server_overloaded"),
        (UpstreamError("x"), 502, "upstream_error", "upstream_error"),
        (UpstreamTimeoutError("x"), 504, "upstream_error", "upstream_timeout"),
        (LetheError("x"), 500, "server_error", None),
    ],
)
def test_typed_errors_render_the_openai_envelope(
    error: LetheError, status: int, etype: str, code: str | None
) -> None:
    assert error.status_code == status
    assert error.envelope() == {
        "error": {"message": "x", "type": etype, "param": None, "code": code}
    }


def test_overloaded_carries_retry_after() -> None:
    assert OverloadedError("busy", retry_after=7).headers == {"Retry-After": "7"}


def test_code_can_be_overridden_per_instance() -> None:
    error = InvalidRequestError("too long", param="messages", code="context_length_exceeded")
    assert error.envelope()["error"]["code"] == "context_length_exceeded"
    assert error.envelope()["error"]["param"] == "messages"
    assert InvalidRequestError("other").code is None


def test_envelope_helper() -> None:
    assert error_envelope("m", "t") == {
        "error": {"message": "m", "type": "t", "param": None, "code": None}
    }


def test_validation_error_names_the_field() -> None:
    error = validation_error(
        [{"type": "greater_than_equal", "loc": ("body", "n"), "msg": "Input should be >= 1"}]
    )
    assert error.status_code == 400
    assert error.param == "n"
    assert error.message == "n: Input should be >= 1"
    assert error.code == "invalid_value"


def test_validation_error_counts_the_rest() -> None:
    errors = [
        {"type": "missing", "loc": ("body", "messages"), "msg": "Field required"},
        {"type": "x", "loc": ("body", "n"), "msg": "bad"},
        {"type": "x", "loc": ("body", "top_p"), "msg": "bad"},
    ]
    assert validation_error(errors).message == "messages: Field required (and 2 more errors)"


def test_invalid_json_gets_its_own_code() -> None:
    error = validation_error(
        [
            {
                "type": "json_invalid",
                "loc": ("body", 1),
                "msg": "JSON decode error",
                "ctx": {"error": "Expecting value"},
            }
        ]
    )
    assert error.code == "invalid_json"
    assert "Expecting value" in error.message
