from __future__ import annotations

from typing import Any

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
from tests.conftest import ClientFactory

CHAT = "/v1/chat/completions"
HELLO = {"messages": [{"role": "user", "content": "hello"}]}


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


# Rendering through the app: every bad input gets an OpenAI-shaped error, never a 500.


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert body["error"]["code"] is None or isinstance(body["error"]["code"], str)
    error: dict[str, Any] = body["error"]
    return error


def test_malformed_json(client_factory: ClientFactory) -> None:
    response = client_factory().post(
        CHAT, content=b'{"messages": [', headers={"content-type": "application/json"}
    )
    error = _error(response, 400)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_json"


def test_schema_error_names_the_field(client_factory: ClientFactory) -> None:
    error = _error(client_factory().post(CHAT, json={**HELLO, "temperature": "hot"}), 400)
    assert error["param"] == "temperature"


def test_missing_messages(client_factory: ClientFactory) -> None:
    assert (
        _error(client_factory().post(CHAT, json={"model": "scripted"}), 400)["param"] == "messages"
    )


def test_empty_messages(client_factory: ClientFactory) -> None:
    error = _error(client_factory().post(CHAT, json={"messages": []}), 400)
    assert "at least one message" in error["message"]


@pytest.mark.parametrize("body", [[], "text", 42, None])
def test_body_not_an_object(client_factory: ClientFactory, body: object) -> None:
    _error(client_factory().post(CHAT, json=body), 400)


def test_unknown_model(client_factory: ClientFactory) -> None:
    error = _error(client_factory().post(CHAT, json={**HELLO, "model": "gpt-9"}), 404)
    assert error["code"] == "model_not_found"
    assert error["param"] == "model"


def test_n_above_cap(client_factory: ClientFactory) -> None:
    client = client_factory(generation={"max_n": 2})
    assert _error(client.post(CHAT, json={**HELLO, "n": 3}), 400)["param"] == "n"


def test_max_tokens_above_cap(client_factory: ClientFactory) -> None:
    client = client_factory(generation={"max_tokens_cap": 100, "default_max_tokens": 50})
    error = _error(client.post(CHAT, json={**HELLO, "max_tokens": 101}), 400)
    assert error["param"] == "max_tokens"


def test_unknown_path_and_wrong_method(client_factory: ClientFactory) -> None:
    client = client_factory()
    assert _error(client.get("/v1/nothing"), 404)["code"] == "not_found"
    assert _error(client.get(CHAT), 405)["code"] == "method_not_allowed"
