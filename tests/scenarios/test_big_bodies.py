"""A body over the limit gets a 413 that every client can read, on a real socket: Python's
urllib sends the whole body before reading, so the server must drain it before answering."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from server.app import create_app
from server.backends.scripted import ScriptedBackend
from tests.conftest import settings_with
from tests.server.live import serve_in_thread

pytestmark = [pytest.mark.e2e]


@pytest.mark.parametrize("size", [3 << 20, 20 << 20])
def test_urllib_reads_the_413_of_a_big_upload(size: int) -> None:
    app = create_app(settings_with(server={"max_body_bytes": 1 << 20}), backend=ScriptedBackend())
    body = json.dumps({"messages": [{"role": "user", "content": "x" * size}]}).encode()
    with serve_in_thread(app) as url:
        request = urllib.request.Request(
            f"{url}/v1/chat/completions", data=body, headers={"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=30)
        assert info.value.code == 413
        envelope = json.loads(info.value.read())
        assert envelope["error"]["code"] == "request_too_large"
