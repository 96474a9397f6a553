from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.backends.base import Backend
from server.backends.scripted import ScriptedBackend
from server.config import Settings
from tests.support.openai_schema import checking_hooks

ClientFactory = Callable[..., TestClient]
# The throwaway PostgreSQL fixtures (``postgres``, ``postgres_url``).
pytest_plugins = ["tests.support.postgres"]


def settings_with(**sections: dict[str, Any]) -> Settings:
    data: dict[str, Any] = {"backend": {"kind": "scripted"}}
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return Settings(**data)


@pytest.fixture
def client_factory() -> Iterator[ClientFactory]:
    clients: list[TestClient] = []

    def make(backend: Backend | None = None, **sections: dict[str, Any]) -> TestClient:
        app = create_app(settings_with(**sections), backend=backend or ScriptedBackend())
        client = TestClient(app, raise_server_exceptions=False)
        # Every /v1 body and streamed chunk the tests receive must match OpenAI's own schema.
        client.event_hooks = checking_hooks()
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def sse_events(body: str) -> list[str]:
    """Data payloads of an SSE body, comments dropped, in order."""
    return [line[len("data: ") :] for line in body.split("\n") if line.startswith("data: ")]


def sse_json(body: str) -> list[dict[str, Any]]:
    return [json.loads(e) for e in sse_events(body) if e != "[DONE]"]


def assert_refused(choice: dict[str, Any], refusal: str) -> None:
    """A refused choice, the OpenAI way: no content, the refusal text, content_filter."""
    assert choice["message"]["content"] is None
    assert choice["message"]["refusal"] == refusal
    assert choice["finish_reason"] == "content_filter"


def streamed_refusal(chunks: list[dict[str, Any]]) -> str:
    """The refusal text of a streamed, refused choice 0; it must carry no content."""
    deltas = [c["choices"][0] for c in chunks if c["choices"]]
    assert "".join(d["delta"].get("content") or "" for d in deltas) == ""
    assert deltas[-1]["finish_reason"] == "content_filter"
    return "".join(d["delta"].get("refusal") or "" for d in deltas)
