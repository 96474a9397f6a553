"""Mixed chat load for ``python -m bench reliability``: plain and streaming requests, and clients
that hang up mid-stream, from many concurrent keep-alive connections of one httpx client.

Every request ends in exactly one :data:`Outcome`, so nothing can go missing from the count:

- ``ok``: 200 with a complete answer (JSON with ``choices``; a stream ending ``data: [DONE]``);
- ``aborted``: a streaming request the client hung up on by design, after the response head;
- ``rejected``: 429 (backpressure); the client waits ``Retry-After`` seconds, as OpenAI's does;
- ``http_error``: any other status (``server_error`` when 5xx);
- ``incomplete``: a response head arrived but the body was cut short, malformed or too slow;
- ``lost``: no HTTP response at all (refused, reset or timed out before the head).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import httpx

from bench.load.fixed import percentile, pooled_client

Kind = Literal["plain", "stream", "abort"]
Outcome = Literal["ok", "aborted", "rejected", "http_error", "server_error", "incomplete", "lost"]
OUTCOMES: tuple[Outcome, ...] = (
    "ok", "aborted", "rejected", "http_error", "server_error", "incomplete", "lost",
)  # fmt: skip

DEFAULT_PATTERN: tuple[Kind, ...] = ("plain",) * 5 + ("stream",) * 4 + ("abort",)
"""Request ``i`` is of kind ``pattern[i % len(pattern)]``: half streaming, 1 in 10 hung up."""
DONE = b"data: [DONE]\n\n"
_MAX_RETRY_WAIT = 5.0
_FAILED = (httpx.RequestError, TimeoutError)
"""Transport failures (refused, reset, cut-off body, bad framing) and the request budget."""


def complete(kind: Kind, body: bytes) -> bool:
    """Whether a 200 body is a whole answer of its kind."""
    if kind != "plain":
        return body.endswith(DONE)
    try:
        return bool(json.loads(body)["choices"])
    except (ValueError, KeyError, TypeError):
        return False


def chat_body(prompt: str, max_tokens: int, stream: bool) -> bytes:
    messages = [{"role": "user", "content": prompt}]
    return json.dumps({"messages": messages, "max_tokens": max_tokens, "stream": stream}).encode()


@dataclass(slots=True)
class Record:
    kind: Kind
    outcome: Outcome
    status: int
    latency: float
    retry_after: str | None = None


@dataclass(slots=True)
class MixedResult:
    records: list[Record] = field(default_factory=list)
    issued: int = 0
    elapsed: float = 0.0
    """Seconds from the first request to the last answer (the drain after the deadline too)."""

    def count(self, outcome: Outcome, kind: Kind | None = None) -> int:
        return sum(r.outcome == outcome and kind in (None, r.kind) for r in self.records)

    def statuses(self) -> Counter[int]:
        return Counter(r.status for r in self.records)

    def latencies(self, kind: Kind | None = None) -> list[float]:
        return [r.latency for r in self.records if r.outcome == "ok" and kind in (None, r.kind)]

    def ms(self, q: float, kind: Kind | None = None) -> float:
        return percentile(self.latencies(kind), q) * 1000

    @property
    def throughput(self) -> float:
        """Complete answers per second."""
        return self.count("ok") / self.elapsed if self.elapsed else 0.0

    def rejected_without_retry_after(self) -> int:
        return sum(r.outcome == "rejected" and not r.retry_after for r in self.records)


async def _send(
    client: httpx.AsyncClient, kind: Kind, request: httpx.Request, budget: float,
    abort_after: float,
) -> Record:  # fmt: skip
    """Send one request within ``budget`` seconds; its latency runs to the end of the body
    (or the hang-up)."""
    started = time.perf_counter()
    status: int | None = None  # set once the response head has arrived
    try:
        async with asyncio.timeout(budget):
            response = await client.send(request, stream=True)
            status = response.status_code
            try:
                if kind == "abort" and status == 200:
                    # The inner timeout only ends the wait for the first chunk, not the request.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(abort_after):
                            async for _ in response.aiter_raw():
                                break
                    # Closing a response whose body is unread closes its connection: the
                    # server sees the client hang up.
                    return Record(kind, "aborted", 200, time.perf_counter() - started)
                body = await response.aread()
            finally:
                await response.aclose()
    except _FAILED:
        outcome: Outcome = "lost" if status is None else "incomplete"
        return Record(kind, outcome, status or 0, time.perf_counter() - started)
    return Record(kind, _outcome(kind, status, body), status, time.perf_counter() - started,
                  response.headers.get("retry-after"))  # fmt: skip


def _outcome(kind: Kind, status: int, body: bytes) -> Outcome:
    if status == 200:
        return "ok" if complete(kind, body) else "incomplete"
    if status == 429:
        return "rejected"
    return "server_error" if status >= 500 else "http_error"


def _retry_wait(record: Record) -> float:
    if record.outcome == "lost":
        return 0.05  # do not spin against a server that is down
    if record.outcome != "rejected":
        return 0.0
    try:
        return min(float(record.retry_after or 1), _MAX_RETRY_WAIT)
    except ValueError:
        return 1.0


async def run_mixed(
    url: str,
    bodies: Sequence[tuple[Kind, bytes]],
    *,
    clients: int,
    duration: float,
    request_timeout: float = 300.0,
    abort_after: float = 0.25,
    progress: Callable[[MixedResult, float], None] | None = None,
    progress_every: float = 5.0,
) -> MixedResult:
    """``clients`` concurrent senders POST ``bodies`` (cycled) to ``url`` for ``duration`` s.

    Each sends one request after another, on one pooled client keeping ``clients``
    connections alive. No request starts after the deadline; those in progress finish (or
    time out). ``abort`` requests close their connection after the response head and the
    first body bytes, or ``abort_after`` seconds, whichever comes first.
    """
    result = MixedResult()
    started = time.perf_counter()
    deadline = started + duration

    async def sender(client: httpx.AsyncClient, requests: list[tuple[Kind, httpx.Request]]) -> None:
        while time.perf_counter() < deadline:
            kind, request = requests[result.issued % len(requests)]
            result.issued += 1
            record = await _send(client, kind, request, request_timeout, abort_after)
            result.records.append(record)
            if wait := _retry_wait(record):
                await asyncio.sleep(min(wait, max(0.0, deadline - time.perf_counter())))

    async def report() -> None:
        while True:
            await asyncio.sleep(progress_every)
            if progress is not None:
                progress(result, time.perf_counter() - started)

    reporter = asyncio.create_task(report())
    try:
        async with pooled_client(clients, request_timeout) as client:
            # Built once: a request with a bytes body can be sent again and again.
            requests = [(k, client.build_request("POST", url, content=b)) for k, b in bodies]
            await asyncio.gather(*(sender(client, requests) for _ in range(clients)))
    finally:
        reporter.cancel()
    result.elapsed = time.perf_counter() - started
    return result


__all__ = [
    "DEFAULT_PATTERN",
    "OUTCOMES",
    "Kind",
    "MixedResult",
    "Outcome",
    "Record",
    "chat_body",
    "complete",
    "run_mixed",
]
