"""Every bad input gets an OpenAI-shaped error with the right status; never a 500."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from server.backends.base import GenerationRequest, GenerationResult
from server.backends.scripted import ScriptedBackend
from tests.server.conftest import ClientFactory

CHAT = "/v1/chat/completions"
HELLO = {"messages": [{"role": "user", "content": "hello"}]}


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


def test_body_too_large_by_content_length(client_factory: ClientFactory) -> None:
    client = client_factory(server={"max_body_bytes": 2048})
    big = {"messages": [{"role": "user", "content": "x" * 5000}]}
    error = _error(client.post(CHAT, json=big), 413)
    assert error["code"] == "request_too_large"


def test_body_too_large_when_chunked(client_factory: ClientFactory) -> None:
    client = client_factory(server={"max_body_bytes": 2048})

    def chunks() -> Any:
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}]}'

    error = _error(
        client.post(CHAT, content=chunks(), headers={"content-type": "application/json"}), 413
    )
    assert error["code"] == "request_too_large"


def test_unknown_path_and_wrong_method(client_factory: ClientFactory) -> None:
    client = client_factory()
    assert _error(client.get("/v1/nothing"), 404)["code"] == "not_found"
    assert _error(client.get(CHAT), 405)["code"] == "method_not_allowed"


def test_auth_required_when_keys_configured(client_factory: ClientFactory) -> None:
    client = client_factory(server={"api_keys": ["k-one", "k-two"]})
    missing = _error(client.post(CHAT, json=HELLO), 401)
    assert missing["type"] == "authentication_error"
    assert missing["code"] == "invalid_api_key"
    wrong = client.post(CHAT, json=HELLO, headers={"Authorization": "Bearer k-three"})
    assert "Incorrect API key" in _error(wrong, 401)["message"]
    assert _error(client.get("/v1/models", headers={"Authorization": "Basic k-one"}), 401)
    ok = client.post(CHAT, json=HELLO, headers={"Authorization": "Bearer k-two"})
    assert ok.status_code == 200
    # Operational endpoints stay open for probes and scrapers.
    assert client.get("/health").status_code == 200


class _BlockingBackend(ScriptedBackend):
    """Holds every generate call until released, to fill the in-flight limit."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        import asyncio

        self.entered.set()
        while not self.release.is_set():
            await asyncio.sleep(0.01)
        return await super().generate(request)


def test_overload_answers_429_with_retry_after(client_factory: ClientFactory) -> None:
    backend = _BlockingBackend()
    client = client_factory(backend, server={"max_in_flight": 1, "retry_after_seconds": 3})
    results: dict[str, int] = {}
    first = threading.Thread(
        target=lambda: results.setdefault("first", client.post(CHAT, json=HELLO).status_code)
    )
    first.start()
    assert backend.entered.wait(5)
    try:
        response = client.post(CHAT, json=HELLO)
        error = _error(response, 429)
        assert error["type"] == "rate_limit_error"
        assert response.headers["retry-after"] == "3"
        assert client.get("/health").status_code == 200  # probes are never rate limited
    finally:
        backend.release.set()
        first.join(5)
    assert results["first"] == 200
    assert client.post(CHAT, json=HELLO).status_code == 200
