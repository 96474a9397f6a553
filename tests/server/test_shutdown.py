"""Graceful shutdown: SIGTERM drains in-flight requests of a real ``lethe serve`` process."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from bench.processes import lethe_serve_process
from bench.reliability.checks import connection_refused, in_flight
from server.backends.scripted import DEFAULT_ANSWER
from tests.conftest import sse_events, sse_json

DELAY = 3.0
"""Seconds the scripted backend takes per answer: long enough to SIGTERM mid-request."""
GRACE = 30.0
"""uvicorn's ``timeout_graceful_shutdown`` in ``lethe serve``."""
FORGET_SET = Path(__file__).resolve().parents[2] / "deploy" / "forget-sets" / "tofu-forget10.yaml"


def _config(directory: Path, guarded: bool) -> Path:
    lines = [
        "backend:",
        "  kind: scripted",
        "  scripted:",
        f"    delay_seconds: {DELAY}",
        "server:",
        "  keepalive_seconds: 0.5",
        "  reload_interval_seconds: 0",
    ]
    if guarded:
        lines += ["unlearning:", f"  forget_set: {FORGET_SET}"]
    path = directory / "slow-scripted.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def _complete(client: httpx.AsyncClient, url: str, stream: bool) -> tuple[int, str]:
    body = {"messages": [{"role": "user", "content": "Tell me about the sea."}], "stream": stream}
    response = await client.post(f"{url}/v1/chat/completions", json=body)
    return response.status_code, response.text


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("guarded", [False, True], ids=["bypass", "guarded"])
async def test_sigterm_drains_in_flight_requests(tmp_path: Path, guarded: bool) -> None:
    config = _config(tmp_path, guarded)
    with lethe_serve_process(config=config, log=tmp_path / "serve.log") as (url, process):
        async with httpx.AsyncClient(timeout=60) as client:
            tasks = [
                asyncio.create_task(_complete(client, url, stream=i % 2 == 1)) for i in range(8)
            ]
            deadline = time.monotonic() + 10
            while await in_flight(client, url) < 8:  # /metrics is not under /v1: not counted
                assert time.monotonic() < deadline, "requests never became in flight"
                await asyncio.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()

            refused = False
            while time.monotonic() - signalled < 2.0:
                if refused := await connection_refused(url):
                    break
                await asyncio.sleep(0.05)
            assert refused, "new connections were still accepted 2 s after SIGTERM"
            assert not any(t.done() for t in tasks), "listener closed only after the drain"

            results = await asyncio.gather(*tasks)
        drained = time.monotonic() - signalled
        code = await asyncio.to_thread(process.wait, GRACE + 5)
        exited = time.monotonic() - signalled

    assert code == 0, (tmp_path / "serve.log").read_text()[-2000:]
    assert exited < GRACE
    assert drained > DELAY * 0.5  # the answers really were in progress at SIGTERM
    for index, (status, text) in enumerate(results):
        assert status == 200, text
        expected_status = "accepted" if guarded else "bypassed"
        if index % 2 == 1:
            assert text.endswith("data: [DONE]\n\n")
            assert sse_events(text)[-1] == "[DONE]"
            chunks = sse_json(text)
            content = "".join(
                c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]
            )
            assert content == DEFAULT_ANSWER
            assert chunks[-1]["unlearning"]["status"] == expected_status
        else:
            payload = json.loads(text)
            assert payload["choices"][0]["message"]["content"] == DEFAULT_ANSWER
            assert payload["choices"][0]["finish_reason"] == "stop"
            assert payload["unlearning"]["status"] == expected_status
