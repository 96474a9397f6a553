"""``python -m bench reliability``: the mixed-load client's accounting, and a quick run end
to end."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bench.load.mixed import Kind, chat_body, run_mixed
from bench.paths import REPO
from bench.processes import BIN
from bench.reliability.checks import connection_refused

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK_JSON = b'{"choices":[{"message":{"content":"hi"}}]}'
STREAM = b"data: {}\n\ndata: [DONE]\n\n"
BUSY = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"
FAIL = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"


def _chunked(body: bytes, status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nTransfer-Encoding: chunked\r\n" + extra + b"\r\n"
        + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    )  # fmt: skip


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    return await reader.readexactly(length)


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/v1/chat/completions"


async def test_every_request_gets_exactly_one_outcome() -> None:
    """Answers by request body: whole, cut-off stream, 429, 503, and no answer at all."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                body = await _read_request(reader)
                if b"cut" in body:
                    writer.write(_chunked(b"data: {}\n\n")[:-5])  # no last chunk: then close
                    break
                if b"busy" in body:
                    writer.write(
                        b"HTTP/1.1 429 Too Many\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"
                    )
                elif b"fail" in body:
                    writer.write(FAIL)
                elif b"drop" in body:
                    break
                else:
                    writer.write(_chunked(STREAM if b'"stream": true' in body else OK_JSON))
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    names = ["plain ok", "stream ok", "stream cut", "busy", "fail", "drop", "abort"]
    kinds: list[Kind] = ["plain", "stream", "stream", "plain", "plain", "plain", "abort"]
    bodies = [(k, chat_body(n, 4, k != "plain")) for n, k in zip(names, kinds, strict=True)]
    async with serving(handler) as url:
        result = await run_mixed(url, bodies, clients=1, duration=0.5, request_timeout=5)
    assert result.issued == len(result.records) >= len(bodies)
    first = [(r.kind, r.outcome, r.status) for r in result.records[: len(bodies)]]
    assert first == [
        ("plain", "ok", 200),
        ("stream", "ok", 200),
        ("stream", "incomplete", 200),
        ("plain", "rejected", 429),
        ("plain", "server_error", 503),
        ("plain", "lost", 0),
        ("abort", "aborted", 200),
    ]
    assert result.records[3].retry_after == "0"
    assert result.count("ok") == len(result.latencies()) >= 2


async def test_a_connection_reset_while_connecting_counts_as_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def reset(host: str, port: int) -> None:
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(asyncio, "open_connection", reset)
    assert await connection_refused("http://127.0.0.1:9")


async def test_a_served_connection_is_not_refused() -> None:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        assert not await connection_refused(f"http://127.0.0.1:{port}")
    assert await connection_refused(f"http://127.0.0.1:{port}")


@pytest.mark.slow
@pytest.mark.e2e
def test_quick_reliability_benchmark_end_to_end(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n\nintro stays\n")
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "python"), "-m", "bench", "reliability", "--quick", "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert done.returncode == 0, done.stderr[:2000] + "\n[…]\n" + done.stderr[-2000:]
    assert time.monotonic() - started < 60
    assert "scripted round 2/2:" in done.stderr  # progress lines
    text = output.read_text()
    assert text.startswith("# Benchmarks\n\nintro stays\n")
    section = text.split("<!-- BEGIN reliability -->\n", 1)[1].split("\n<!-- END reliability", 1)[0]
    assert section.startswith("## Reliability")
    assert "`python -m bench reliability --quick --output" in section
    rows = [line for line in section.splitlines() if line.startswith("| scripted |")]
    assert len(rows) == 3  # two load rounds and the RSS row
    for row in rows[:2]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        requests, complete, rate = int(cells[3]), int(cells[4]), float(cells[5])
        assert requests >= complete > 100
        assert rate > 0
        assert int(cells[8]) > 0  # some clients hung up mid-stream
        assert cells[11:14] == ["0", "0", "0"]  # 5xx, incomplete, lost
        assert float(cells[14]) > 20  # RSS after the round, MiB
    targets = section.split("### Targets", 1)[1]
    assert targets.count("**met**") == 6
    assert "**missed**" not in targets
    assert "4 × 200, 8 × 429, Retry-After ['2']" in targets
    assert "8/8 complete 200, exit status 0" in targets
