"""The load generator against real sockets, the report writer, and ``python -m bench gateway``."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bench.load.fixed import TRANSPORT_ERROR, Summary, percentile, run_load
from bench.paths import REPO
from bench.processes import BIN, free_port
from server.app import create_app
from server.backends.scripted import DEFAULT_ANSWER
from server.config import Settings
from tests.server.live import serve_in_thread

HELLO = json.dumps({"messages": [{"role": "user", "content": "hello"}]}).encode()


@pytest.fixture(scope="module")
def lethe_url() -> Iterator[str]:
    with serve_in_thread(create_app(Settings(backend={"kind": "scripted"}))) as url:
        yield url


async def test_counts_every_request_and_keeps_bodies(lethe_url: str) -> None:
    seen: list[int] = []
    result = await run_load(
        f"{lethe_url}/v1/chat/completions",
        [HELLO],
        concurrency=4,
        requests=50,
        keep_bodies=True,
        progress=seen.append,
    )
    assert result.completed == 50
    assert result.errors == 0
    assert dict(result.statuses) == {200: 50}
    assert seen == list(range(1, 51))
    assert sorted(result.bodies) == list(range(50))
    answers = {json.loads(b)["choices"][0]["message"]["content"] for b in result.bodies.values()}
    assert answers == {DEFAULT_ANSWER}
    assert 0 < min(result.latencies) <= max(result.latencies) < result.elapsed
    assert result.throughput == pytest.approx(50 / result.elapsed)


async def test_non_2xx_are_errors_without_latencies(lethe_url: str) -> None:
    result = await run_load(f"{lethe_url}/no/such/route", [HELLO], concurrency=3, requests=10)
    assert dict(result.statuses) == {404: 10}
    assert result.errors == 10
    assert result.completed == 0
    assert result.throughput == 0
    assert math.isnan(result.summary().p50_ms)


async def test_refused_connections_are_transport_errors() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1/chat/completions"
    result = await run_load(url, [HELLO], concurrency=2, requests=4)
    assert dict(result.statuses) == {TRANSPORT_ERROR: 4}
    assert result.errors == 4


async def test_duration_mode_stops_near_the_deadline(lethe_url: str) -> None:
    result = await run_load(
        f"{lethe_url}/v1/chat/completions", [HELLO], concurrency=2, duration=0.3
    )
    assert result.completed > 10
    assert result.errors == 0
    assert 0.3 <= result.elapsed < 1.0


class SlowChunkedServer:
    """Answers every request after ``delay`` with a chunked body, optionally closing."""

    def __init__(self, delay: float, close: bool) -> None:
        self.delay = delay
        self.close = close
        self.connections = 0
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                body = await reader.readexactly(length)
                self.requests += 1
                await asyncio.sleep(self.delay)
                connection = b"close" if self.close else b"keep-alive"
                writer.write(
                    b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n"
                    b"Connection: " + connection + b"\r\n\r\n"
                    b"4;ext=1\r\necho\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
                )
                await writer.drain()
                if self.close:
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(handler: SlowChunkedServer) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/anything"


async def test_latency_framing_and_keep_alive() -> None:
    handler = SlowChunkedServer(delay=0.05, close=False)
    async with serving(handler) as url:
        started = time.perf_counter()
        result = await run_load(url, [b'{"a":1}', b'{"b":2}'], concurrency=2, requests=6,
                                keep_bodies=True)  # fmt: skip
        wall = time.perf_counter() - started
    assert dict(result.statuses) == {201: 6}
    assert handler.connections == 2
    assert all(0.05 <= latency < 0.5 for latency in result.latencies)
    assert wall >= 3 * 0.05  # each client sent three requests one after another
    assert result.bodies[0] == b'echo{"a":1}'
    assert result.bodies[1] == b'echo{"b":2}'


async def test_reconnects_after_connection_close() -> None:
    handler = SlowChunkedServer(delay=0.0, close=True)
    async with serving(handler) as url:
        result = await run_load(url, [b"{}"], concurrency=2, requests=8)
    assert dict(result.statuses) == {201: 8}
    assert handler.requests == 8
    assert handler.connections >= 8


def test_percentile_interpolates_linearly() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 100) == 4.0
    assert percentile(values, 95) == pytest.approx(3.85)
    assert math.isnan(percentile([], 50))


def test_loadgen_runs_as_its_own_process(lethe_url: str, tmp_path: Path) -> None:
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_bytes(HELLO + b"\n" + HELLO + b"\n")
    out = tmp_path / "summary.json"
    command = [str(BIN / "python"), "-m", "bench.load.fixed", "--url",
               f"{lethe_url}/v1/chat/completions", "--bodies", str(bodies),
               "--concurrency", "4", "--requests", "40", "--json-out", str(out)]  # fmt: skip
    subprocess.run(command, check=True, timeout=60)
    summary = Summary.from_json(out.read_text())
    assert summary.completed == 40
    assert summary.errors == 0
    assert summary.statuses == {"200": 40}
    assert 0 < summary.p50_ms <= summary.p95_ms <= summary.p99_ms


@pytest.mark.slow
def test_quick_gateway_benchmark_end_to_end(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n\nintro stays\n")
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "python"), "-m", "bench", "gateway", "--quick", "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.monotonic() - started < 90
    text = output.read_text()
    assert text.startswith("# Benchmarks\n\nintro stays\n")
    section = text.split("<!-- BEGIN gateway -->\n", 1)[1].split("\n<!-- END gateway -->", 1)[0]
    assert section.startswith("## Gateway overhead")
    assert "`python -m bench gateway --quick --output" in section
    assert "| clients | p50 direct / Lethe (ms) | p50 ratio |" in section
    overhead_row = next(line for line in section.splitlines() if line.startswith("| 4 |"))
    cells = [c.strip() for c in overhead_row.strip("|").split("|")]
    assert float(cells[2]) > 0  # p50 ratio
    assert cells[-1] == "0"  # no failed requests
    scripted_row = next(line for line in section.splitlines() if line.startswith("| scripted"))
    assert float(scripted_row.split("|")[5]) > 0  # median req/s
    assert "### Targets" in section
