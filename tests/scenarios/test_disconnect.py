"""A client that goes away cancels the backend work (real server, real sockets)."""

from __future__ import annotations

import json
import socket
import time

import pytest

from server.app import create_app
from server.backends.scripted import ScriptedBackend
from tests.conftest import settings_with
from tests.server.live import serve_in_thread

pytestmark = [pytest.mark.e2e]


def _send_and_hang_up(base_url: str, body: dict[str, object], read_first: bool) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        if read_first:
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(0.3)


def _wait_for(condition: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.02)
    return False


def test_non_streaming_disconnect_cancels_backend() -> None:
    backend = ScriptedBackend(delay=30)
    app = create_app(settings_with(), backend=backend)
    with serve_in_thread(app) as url:
        _send_and_hang_up(url, {"messages": [{"role": "user", "content": "hi"}]}, False)
        assert _wait_for(lambda: backend.cancelled == 1)
        assert len(backend.calls) == 1


def test_streaming_disconnect_cancels_backend() -> None:
    backend = ScriptedBackend(delay=30)
    app = create_app(settings_with(server={"keepalive_seconds": 0.05}), backend=backend)
    with serve_in_thread(app) as url:
        body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        _send_and_hang_up(url, body, True)
        assert _wait_for(lambda: backend.cancelled == 1)


def test_keepalive_comments_while_backend_is_slow() -> None:
    import httpx

    backend = ScriptedBackend(delay=0.5)
    app = create_app(settings_with(server={"keepalive_seconds": 0.1}), backend=backend)
    with serve_in_thread(app) as url:
        body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        text = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=10).text
    assert text.count(": keep-alive") >= 2
    assert text.rstrip().endswith("data: [DONE]")
