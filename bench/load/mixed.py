"""Mixed chat load for ``python -m bench reliability``: plain and streaming requests, and clients
that hang up mid-stream, from many concurrent keep-alive HTTP/1.1 connections.

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

from bench.load.fixed import (
    Endpoint,
    Head,
    ProtocolError,
    parse_head,
    percentile,
    read_chunk,
    read_chunked,
)

Kind = Literal["plain", "stream", "abort"]
Outcome = Literal["ok", "aborted", "rejected", "http_error", "server_error", "incomplete", "lost"]
OUTCOMES: tuple[Outcome, ...] = (
    "ok", "aborted", "rejected", "http_error", "server_error", "incomplete", "lost",
)  # fmt: skip

DEFAULT_PATTERN: tuple[Kind, ...] = ("plain",) * 5 + ("stream",) * 4 + ("abort",)
"""Request ``i`` is of kind ``pattern[i % len(pattern)]``: half streaming, 1 in 10 hung up."""
DONE = b"data: [DONE]\n\n"
_MAX_RETRY_WAIT = 5.0


async def read_body(reader: asyncio.StreamReader, head: Head) -> bytes:
    if head.chunked:
        return await read_chunked(reader)
    if head.content_length is not None:
        return await reader.readexactly(head.content_length)
    return await reader.read()


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


class _Client:
    """One keep-alive connection sending the scheduled requests one after another."""

    def __init__(self, endpoint: Endpoint, timeout: float, abort_after: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.abort_after = abort_after
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def send(self, kind: Kind, payload: bytes) -> Record:
        started = time.perf_counter()
        head: Head | None = None
        try:
            async with asyncio.timeout(self.timeout):
                if self.reader is None or self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(
                        self.endpoint.host, self.endpoint.port
                    )
                self.writer.write(payload)
                head = parse_head((await self.reader.readuntil(b"\r\n\r\n"))[:-4])
                if kind == "abort" and head.status == 200:
                    with contextlib.suppress(TimeoutError):  # the inner timeout, not the outer
                        async with asyncio.timeout(self.abort_after):
                            await read_chunk(self.reader)
                    await self.close()
                    return Record(kind, "aborted", 200, time.perf_counter() - started)
                body = await read_body(self.reader, head)
        except (OSError, EOFError, asyncio.LimitOverrunError, ProtocolError, TimeoutError):
            await self.close()
            outcome: Outcome = "lost" if head is None else "incomplete"
            status = 0 if head is None else head.status
            return Record(kind, outcome, status, time.perf_counter() - started)
        latency = time.perf_counter() - started
        if head.close or (head.content_length is None and not head.chunked):
            await self.close()
        return Record(kind, _outcome(kind, head.status, body), head.status, latency,
                      head.retry_after)  # fmt: skip


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
    """``clients`` connections POST ``bodies`` (cycled) to ``url`` for ``duration`` seconds.

    No request starts after the deadline; those in progress finish (or time out). ``abort``
    requests close the connection after the response head and the first body chunk, or
    ``abort_after`` seconds, whichever comes first.
    """
    endpoint = Endpoint.parse(url)
    payloads = [(kind, endpoint.post(body)) for kind, body in bodies]
    result = MixedResult()
    started = time.perf_counter()
    deadline = started + duration

    async def client() -> None:
        connection = _Client(endpoint, request_timeout, abort_after)
        try:
            while time.perf_counter() < deadline:
                kind, payload = payloads[result.issued % len(payloads)]
                result.issued += 1
                record = await connection.send(kind, payload)
                result.records.append(record)
                if wait := _retry_wait(record):
                    await asyncio.sleep(min(wait, max(0.0, deadline - time.perf_counter())))
        finally:
            await connection.close()

    async def report() -> None:
        while True:
            await asyncio.sleep(progress_every)
            if progress is not None:
                progress(result, time.perf_counter() - started)

    reporter = asyncio.create_task(report())
    try:
        await asyncio.gather(*(client() for _ in range(clients)))
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
    "parse_head",
    "run_mixed",
]
