"""The pure-ASGI middleware: body limit (413, also for chunked bodies) and in-flight limit
(429 with Retry-After; probes never limited)."""

from __future__ import annotations

import threading
from collections.abc import MutableMapping
from typing import Any

from server.backends.base import GenerationRequest, GenerationResult
from server.backends.scripted import ScriptedBackend
from server.metrics import Metrics
from server.middleware import InFlightLimitMiddleware
from tests.conftest import ClientFactory
from tests.server.test_errors import CHAT, HELLO, _error


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


async def test_a_429_reads_the_request_body_first() -> None:
    """Answered before its body is read, a request's connection would be reset on close and
    the client would never see the 429."""
    bodies = [
        {"type": "http.request", "body": b'{"messages": ', "more_body": True},
        {"type": "http.request", "body": b"[]}", "more_body": False},
    ]
    received: list[dict[str, Any]] = []
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append(bodies[len(received)])
        return received[-1]

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("over the limit: the app is never called")

    limited = InFlightLimitMiddleware(app, limit=0, retry_after=1, metrics=Metrics())
    await limited({"type": "http", "path": "/v1/chat/completions"}, receive, send)
    assert len(received) == 2  # the whole body, before answering
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 429
