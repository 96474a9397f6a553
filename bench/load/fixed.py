"""An asyncio keep-alive load generator on httpx, for a fixed load of POSTs.

One pooled ``httpx.AsyncClient`` per run holds a keep-alive connection per concurrent client;
each request is built once up front, and response bodies are kept as bytes, never parsed.
httpx still costs a millisecond or more of CPU per request, and more the larger the pool
(httpcore scans every pooled connection on each request), so at high rates the client can
be the bottleneck: the summary's ``client_cpu`` (share of one core used) tells when it was.

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
from typing import TypeVar

import httpx

T = TypeVar("T")
Progress = Callable[[int], None]
"""Called with the number of requests finished so far (successful or not)."""

TRANSPORT_ERROR = 0
"""Status recorded when no HTTP response arrived: refused, reset, timed out or malformed."""

DEFAULT_BODY = b'{"messages":[{"role":"user","content":"hello"}],"max_tokens":16}'
JSON_HEADERS = {"Content-Type": "application/json"}


def pooled_client(connections: int, timeout: float = 300.0) -> httpx.AsyncClient:
    """A client keeping up to ``connections`` connections alive, for that many senders.

    Its ``timeout`` applies to each connect, read and write; callers bound each whole request
    with ``asyncio.timeout``. The pool never makes a request wait for a connection, as no more
    than ``connections`` are in flight at once.
    """
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    # trust_env=False: load goes straight to the server under test, whatever the proxy
    # variables of the environment say.
    return httpx.AsyncClient(limits=limits, timeout=timeout, headers=JSON_HEADERS, trust_env=False)


@dataclass(slots=True)
class LoadResult:
    """What one run measured. Latencies are of successful (2xx) requests, in seconds."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed: float = 0.0
    bodies: dict[int, bytes] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    """CPU time this process spent during the run (it runs nothing else meanwhile)."""

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
            client_cpu=self.cpu_seconds / self.elapsed if self.elapsed > 0 else math.nan,
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
    client_cpu: float = math.nan
    """Share of one core the load generator used; near 1, the client set the rate, not the
    server under test."""

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
    requests: list[httpx.Request]
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


async def _sender(run: _Run, client: httpx.AsyncClient) -> None:
    """Sends the scheduled requests one after another (the pool gives it a connection)."""
    while (index := run.schedule.next()) is not None:
        # Sending a built request again is safe: it has a bytes body and no auth flow.
        request = run.requests[index % len(run.requests)]
        started = time.perf_counter()
        try:
            async with asyncio.timeout(run.timeout):
                response = await client.send(request)  # reads the whole body
            status, body = response.status_code, response.content
        except (httpx.RequestError, TimeoutError):
            status, body = TRANSPORT_ERROR, b""
        run.record(index, status, time.perf_counter() - started, body)
        if status == TRANSPORT_ERROR:
            await asyncio.sleep(0.01)  # do not spin against a server that is down


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
    client: httpx.AsyncClient | None = None,
) -> LoadResult:
    """POST ``bodies`` (cycled) to ``url`` from ``concurrency`` concurrent senders.

    Stops after ``requests`` requests or ``duration`` seconds (exactly one must be given).
    Request ``i`` sends ``bodies[i % len(bodies)]``; with ``keep_bodies`` its response body
    is kept as ``result.bodies[i]``. ``client`` (from :func:`pooled_client`) lets runs share
    warm connections; by default the run has its own, closed at the end.
    """
    if (requests is None) == (duration is None):
        raise ValueError("give exactly one of requests= and duration=")
    if not bodies or concurrency < 1:
        raise ValueError("need at least one body and one client")
    pool: contextlib.AbstractAsyncContextManager[httpx.AsyncClient] = (
        pooled_client(concurrency, request_timeout)
        if client is None
        else contextlib.nullcontext(client)
    )
    async with pool as active:
        started, cpu_started = time.perf_counter(), time.process_time()
        deadline = started + duration if duration is not None else None
        run = _Run(
            requests=[active.build_request("POST", url, content=body) for body in bodies],
            schedule=_Schedule(requests, deadline),
            result=LoadResult(),
            timeout=request_timeout,
            keep_bodies=keep_bodies,
            progress=progress,
        )
        await asyncio.gather(*(_sender(run, active) for _ in range(concurrency)))
        run.result.elapsed = time.perf_counter() - started
        run.result.cpu_seconds = time.process_time() - cpu_started
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

    async def warm_then_measure() -> LoadResult:
        # One client for both, so the measured run starts on the connections the warm-up
        # opened: connection setup is not what is measured.
        async with pooled_client(args.concurrency, args.timeout) as client:
            if args.warmup > 0:
                await run_load(args.url, bodies, concurrency=args.concurrency,
                               duration=args.warmup, request_timeout=args.timeout,
                               client=client)  # fmt: skip
            return await run_load(args.url, bodies, concurrency=args.concurrency,
                                  requests=args.requests, duration=args.duration,
                                  request_timeout=args.timeout, client=client)  # fmt: skip

    result = run_sync(warm_then_measure())
    text = result.summary().to_json()
    if args.json_out == "-":
        print(text)
    else:
        Path(args.json_out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
