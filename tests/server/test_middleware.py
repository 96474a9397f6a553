"""The pure-ASGI middleware: body limit (413, also for chunked bodies) and in-flight limit
(429 with Retry-After; probes never limited)."""

from __future__ import annotations

import threading
from typing import Any

from server.backends.base import GenerationRequest, GenerationResult
from server.backends.scripted import ScriptedBackend
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
