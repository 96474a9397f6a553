"""The routes: health, readiness, models, metrics, request ids, and the API-key dependency."""

from __future__ import annotations

import asyncio

import pytest

from server.backends.scripted import ScriptedBackend
from server.routes import ClientDisconnected, cancel_on_disconnect
from tests.conftest import ClientFactory
from tests.server.test_errors import _error

CHAT = "/v1/chat/completions"
HELLO = {"messages": [{"role": "user", "content": "hello"}]}


def test_request_id_echoed_or_minted(client_factory: ClientFactory) -> None:
    client = client_factory()
    given = client.post(CHAT, json=HELLO, headers={"X-Request-Id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    minted = client.post(CHAT, json=HELLO)
    assert len(minted.headers["x-request-id"]) == 32
    # A hostile id (header injection, huge) is replaced, not echoed.
    hostile = client.post(CHAT, json=HELLO, headers={"X-Request-Id": "a" * 500})
    assert hostile.headers["x-request-id"] != "a" * 500
    # Errors carry the id too.
    error = client.post(CHAT, json={"messages": []}, headers={"X-Request-Id": "err-1"})
    assert error.headers["x-request-id"] == "err-1"


def test_models_lists_the_served_id(client_factory: ClientFactory) -> None:
    body = client_factory(ScriptedBackend(model_id="tiny")).get("/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["tiny"]
    assert body["data"][0]["object"] == "model"


def test_health_and_ready(client_factory: ClientFactory) -> None:
    backend = ScriptedBackend()
    client = client_factory(backend)
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").status_code == 200
    backend.closed = True
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["backend"] is False


def test_metrics_are_prometheus_with_lethe_prefix(client_factory: ClientFactory) -> None:
    client = client_factory()
    client.post(CHAT, json=HELLO)
    client.post(CHAT, json={"messages": []})
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'lethe_http_requests_total{code="200",route="/v1/chat/completions"} 1.0' in text
    assert 'lethe_http_requests_total{code="400",route="/v1/chat/completions"} 1.0' in text
    assert 'lethe_completions_total{status="bypassed"} 1.0' in text
    assert "lethe_candidates_total 1.0" in text
    metric_names = {line.split(" ")[2] for line in text.splitlines() if line.startswith("# TYPE")}
    assert metric_names
    assert all(name.startswith("lethe_") for name in metric_names)


def test_two_apps_do_not_share_metrics(client_factory: ClientFactory) -> None:
    first, second = client_factory(), client_factory()
    first.post(CHAT, json=HELLO)
    assert 'lethe_completions_total{status="bypassed"} 1.0' in first.get("/metrics").text
    assert 'lethe_completions_total{status="bypassed"} 1.0' not in second.get("/metrics").text


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


def test_a_served_model_can_be_retrieved_by_id(client_factory: ClientFactory) -> None:
    client = client_factory(ScriptedBackend(model_id="org/model-7b"))
    card = client.get("/v1/models/org/model-7b")
    assert card.status_code == 200
    assert card.json()["id"] == "org/model-7b"
    assert card.json()["object"] == "model"
    missing = _error(client.get("/v1/models/other"), 404)
    assert missing["code"] == "model_not_found"


class _Disconnecting:
    """A request whose client has hung up."""

    async def receive(self) -> dict[str, str]:
        return {"type": "http.disconnect"}


async def test_a_disconnect_waits_for_the_work_to_unwind() -> None:
    """Work that takes a moment to stop (a generation thread finishing its token) is awaited
    to its end: the caller sees ClientDisconnected, never a half-cancelled task."""
    unwound = asyncio.Event()

    async def slow_to_stop() -> str:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)
            unwound.set()
            raise
        return "never"

    with pytest.raises(ClientDisconnected):
        await cancel_on_disconnect(_Disconnecting(), slow_to_stop())  # type: ignore[arg-type]
    assert unwound.is_set()


async def test_work_that_finishes_first_returns_its_result() -> None:
    class Quiet:
        async def receive(self) -> dict[str, str]:
            await asyncio.sleep(60)
            return {"type": "http.disconnect"}

    async def quick() -> str:
        return "done"

    assert await cancel_on_disconnect(Quiet(), quick()) == "done"  # type: ignore[arg-type]
