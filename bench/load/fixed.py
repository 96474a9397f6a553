"""A minimal asyncio HTTP/1.1 keep-alive load generator, fast enough to drive >1000 req/s.

A general-purpose client (httpx) spends about a millisecond of CPU per request, which would
make the load generator the bottleneck. This one encodes every request once up front and
parses only what framing needs: the status line, ``Content-Length`` or chunked encoding, and
``Connection: close``. Each concurrent client owns one keep-alive connection.

Run it as its own process, so it does not share a core with the server under test::

    python -m bench.load.fixed --url http://127.0.0.1:8000/v1/chat/completions \\
        --concurrency 32 --duration 5 --warmup 1 --cpu 1 --json-out -
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
Progress = Callable[[int], None]
"""Called with the number of requests finished so far (successful or not)."""

TRANSPORT_ERROR = 0
"""Status recorded when no HTTP response arrived: refused, reset, timed out or malformed."""

DEFAULT_BODY = b'{"messages":[{"role":"user","content":"hello"}],"max_tokens":16}'
_NO_BODY_STATUSES = frozenset({204, 304})


class ProtocolError(Exception):
    """The server's response is not HTTP/1.x we can frame."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only plain http:// URLs are supported, not {url!r}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.hostname, parts.port or 80, path)

    def post(self, body: bytes) -> bytes:
        """The complete request bytes for a JSON POST of ``body``."""
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode("ascii") + body


@dataclass(frozen=True, slots=True)
class Head:
    status: int
    content_length: int | None
    chunked: bool
    close: bool
    retry_after: str | None = None


def parse_head(raw: bytes) -> Head:
    """The status line and the headers framing needs (values compared case-insensitively)."""
    lines = raw.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    if not version.startswith(b"HTTP/1.") or not rest[:3].isdigit():
        raise ProtocolError(f"bad status line {lines[0][:80]!r}")
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get(b"content-length")
    if length is not None and not length.isdigit():
        raise ProtocolError(f"bad Content-Length {length[:40]!r}")
    connection = headers.get(b"connection", b"").lower()
    retry = headers.get(b"retry-after")
    return Head(
        status=int(rest[:3]),
        content_length=int(length) if length is not None else None,
        chunked=b"chunked" in headers.get(b"transfer-encoding", b"").lower(),
        close=connection == b"close" or (version == b"HTTP/1.0" and connection != b"keep-alive"),
        retry_after=retry.decode("latin-1") if retry is not None else None,
    )


async def read_chunk(reader: asyncio.StreamReader) -> bytes | None:
    """One chunk of a chunked body; None after the last (trailers consumed)."""
    size_line = await reader.readuntil(b"\r\n")
    try:
        size = int(size_line.split(b";", 1)[0], 16)
    except ValueError as exc:
        raise ProtocolError(f"bad chunk size {size_line[:40]!r}") from exc
    if size == 0:
        while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then a blank line
            pass
        return None
    return (await reader.readexactly(size + 2))[:-2]


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while (chunk := await read_chunk(reader)) is not None:
        parts.append(chunk)
    return b"".join(parts)


class Connection:
    """One keep-alive HTTP/1.1 connection; reopened transparently after a close."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(
            self._endpoint.host, self._endpoint.port
        )

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def request(self, payload: bytes) -> tuple[int, bytes]:
        """Send pre-encoded request bytes; return (status, body)."""
        if self._reader is None or self._writer is None:
            await self.open()
        assert self._reader is not None
        assert self._writer is not None
        self._writer.write(payload)
        head = await self._read_head(self._reader)
        body = await self._read_body(self._reader, head)
        if head.close or (head.content_length is None and not head.chunked):
            await self.close()
        return head.status, body

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader) -> Head:
        while True:
            head = parse_head((await reader.readuntil(b"\r\n\r\n"))[:-4])
            if not 100 <= head.status < 200:  # skip interim responses (100 Continue)
                return head

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, head: Head) -> bytes:
        if head.status in _NO_BODY_STATUSES:
            return b""
        if head.chunked:
            return await read_chunked(reader)
        if head.content_length is not None:
            return await reader.readexactly(head.content_length)
        return await reader.read()  # framed by the server closing the connection


@dataclass(slots=True)
class LoadResult:
    """What one run measured. Latencies are of successful (2xx) requests, in seconds."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed: float = 0.0
    bodies: dict[int, bytes] = field(default_factory=dict)

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def throughput(self) -> float:
        """Successful requests per second of wall time."""
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> Summary:
        return Summary(
            completed=self.completed,
            errors=self.errors,
            statuses={str(s): n for s, n in sorted(self.statuses.items())},
            elapsed=self.elapsed,
            throughput=self.throughput,
            p50_ms=percentile(self.latencies, 50) * 1000,
            p95_ms=percentile(self.latencies, 95) * 1000,
            p99_ms=percentile(self.latencies, 99) * 1000,
        )


@dataclass(frozen=True, slots=True)
class Summary:
    """A :class:`LoadResult` reduced to numbers; what the command line prints as JSON."""

    completed: int
    errors: int
    statuses: dict[str, int]
    elapsed: float
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Summary:
        return cls(**json.loads(text))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile with linear interpolation (NumPy's default); NaN if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class _Schedule:
    """Hands out request numbers until ``total`` are issued or ``deadline`` passes."""

    def __init__(self, total: int | None, deadline: float | None) -> None:
        self._total = total
        self._deadline = deadline
        self._issued = 0

    def next(self) -> int | None:
        if self._total is not None and self._issued >= self._total:
            return None
        if self._deadline is not None and time.perf_counter() >= self._deadline:
            return None
        self._issued += 1
        return self._issued - 1


@dataclass(slots=True)
class _Run:
    payloads: list[bytes]
    schedule: _Schedule
    result: LoadResult
    timeout: float
    keep_bodies: bool
    progress: Progress | None
    finished: int = 0

    def record(self, index: int, status: int, latency: float, body: bytes) -> None:
        self.result.statuses[status] += 1
        if 200 <= status < 300:
            self.result.latencies.append(latency)
        if self.keep_bodies:
            self.result.bodies[index] = body
        self.finished += 1
        if self.progress is not None:
            self.progress(self.finished)


async def _client(run: _Run, connection: Connection) -> None:
    try:
        while (index := run.schedule.next()) is not None:
            payload = run.payloads[index % len(run.payloads)]
            started = time.perf_counter()
            try:
                async with asyncio.timeout(run.timeout):
                    status, body = await connection.request(payload)
            except (OSError, EOFError, asyncio.LimitOverrunError, ProtocolError, TimeoutError):
                await connection.close()
                status, body = TRANSPORT_ERROR, b""
            run.record(index, status, time.perf_counter() - started, body)
            if status == TRANSPORT_ERROR:
                await asyncio.sleep(0.01)  # do not spin against a server that is down
    finally:
        await connection.close()


async def _open_quietly(connection: Connection) -> None:
    with contextlib.suppress(OSError):  # the first request retries, and records the failure
        await connection.open()


async def run_load(
    url: str,
    bodies: Sequence[bytes],
    *,
    concurrency: int,
    requests: int | None = None,
    duration: float | None = None,
    keep_bodies: bool = False,
    request_timeout: float = 300.0,
    progress: Progress | None = None,
) -> LoadResult:
    """POST ``bodies`` (cycled) to ``url`` from ``concurrency`` clients.

    Stops after ``requests`` requests or ``duration`` seconds (exactly one must be given).
    Request ``i`` sends ``bodies[i % len(bodies)]``; with ``keep_bodies`` its response body
    is kept as ``result.bodies[i]``. Connections are opened before the clock starts.
    """
    if (requests is None) == (duration is None):
        raise ValueError("give exactly one of requests= and duration=")
    if not bodies or concurrency < 1:
        raise ValueError("need at least one body and one client")
    endpoint = Endpoint.parse(url)
    connections = [Connection(endpoint) for _ in range(concurrency)]
    await asyncio.gather(*(_open_quietly(c) for c in connections))
    started = time.perf_counter()
    deadline = started + duration if duration is not None else None
    run = _Run(
        payloads=[endpoint.post(body) for body in bodies],
        schedule=_Schedule(requests, deadline),
        result=LoadResult(),
        timeout=request_timeout,
        keep_bodies=keep_bodies,
        progress=progress,
    )
    await asyncio.gather(*(_client(run, c) for c in connections))
    run.result.elapsed = time.perf_counter() - started
    return run.result


def run_sync(work: Awaitable[T]) -> T:
    """Run a coroutine to completion on uvloop when it is installed, else on asyncio."""

    async def main() -> T:
        return await work

    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main())


def read_bodies(path: Path) -> list[bytes]:
    """One request body per non-empty line (JSON Lines)."""
    return [line.encode() for line in path.read_text().splitlines() if line.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.load.fixed", description=__doc__)
    parser.add_argument("--url", required=True, help="Full http:// URL to POST to.")
    parser.add_argument("--bodies", type=Path, help="JSON Lines file of request bodies.")
    parser.add_argument("--concurrency", type=int, default=32, help="Concurrent clients.")
    stop = parser.add_mutually_exclusive_group(required=True)
    stop.add_argument("--requests", type=int, help="Stop after this many requests.")
    stop.add_argument("--duration", type=float, help="Stop after this many seconds.")
    parser.add_argument("--warmup", type=float, default=0.0, help="Unmeasured seconds first.")
    parser.add_argument("--timeout", type=float, default=300.0, help="Per-request timeout.")
    parser.add_argument("--cpu", type=int, help="Pin this process to one CPU core.")
    parser.add_argument("--json-out", default="-", help="Where the JSON summary goes (- stdout).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    bodies = read_bodies(args.bodies) if args.bodies else [DEFAULT_BODY]
    shared: dict[str, Any] = {"concurrency": args.concurrency, "request_timeout": args.timeout}
    if args.warmup > 0:
        run_sync(run_load(args.url, bodies, duration=args.warmup, **shared))
    result = run_sync(
        run_load(args.url, bodies, requests=args.requests, duration=args.duration, **shared)
    )
    text = result.summary().to_json()
    if args.json_out == "-":
        print(text)
    else:
        Path(args.json_out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
