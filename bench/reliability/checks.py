"""Backpressure and graceful-shutdown checks of ``python -m bench reliability``, on real servers
with a slow scripted backend (``backend.scripted.delay_seconds``)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from bench.load.mixed import Kind, chat_body, complete
from bench.processes import lethe_serve_process
from bench.reliability.report import Backpressure, Drain
from server.cli import GRACEFUL_SHUTDOWN_SECONDS


def slow_config(path: Path, delay: float, max_in_flight: int = 64, retry_after: int = 1) -> Path:
    """A plain gateway (no forget set) on a scripted backend taking ``delay`` s per answer."""
    path.write_text(
        "# python -m bench reliability: slow scripted backend, no forget set\n"
        f"backend:\n  kind: scripted\n  scripted:\n    delay_seconds: {delay}\n"
        f"server:\n  max_in_flight: {max_in_flight}\n  retry_after_seconds: {retry_after}\n"
        "  keepalive_seconds: 0.5\n"
    )
    return path


async def _post(client: httpx.AsyncClient, url: str, kind: Kind) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.post(
        f"{url}/v1/chat/completions",
        content=chat_body("Tell me about the sea.", 16, kind != "plain"),
        headers={"Content-Type": "application/json"},
    )
    return response, time.perf_counter() - started


def _client(connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(timeout=60, limits=limits)


async def _backpressure(url: str, sent: int) -> list[tuple[httpx.Response, float]]:
    async with _client(sent) as client:
        return await asyncio.gather(*(_post(client, url, "plain") for _ in range(sent)))


def check_backpressure(logs: Path, limit: int, sent: int, retry_after: int) -> Backpressure:
    """``sent`` requests at once against ``server.max_in_flight: limit``."""
    delay = 1.0
    config = slow_config(logs / "backpressure.yaml", delay, limit, retry_after)
    with lethe_serve_process(config=config, log=logs / "lethe_backpressure.log") as (url, _):
        results = asyncio.run(_backpressure(url, sent))
    ok = [t for r, t in results if r.status_code == 200 and complete("plain", r.content)]
    rejected = [(r, t) for r, t in results if r.status_code == 429]
    return Backpressure(
        limit=limit,
        retry_after=retry_after,
        delay=delay,
        sent=sent,
        ok=len(ok),
        rejected=len(rejected),
        retry_after_values=[r.headers.get("retry-after", "") for r, _ in rejected],
        rejected_max_ms=max((t for _, t in rejected), default=float("nan")) * 1000,
        ok_min_ms=min(ok, default=float("nan")) * 1000,
    )


async def in_flight(client: httpx.AsyncClient, url: str) -> float:
    """The server's ``lethe_requests_in_flight`` gauge."""
    for line in (await client.get(f"{url}/metrics")).text.splitlines():
        if line.startswith("lethe_requests_in_flight "):
            return float(line.split()[1])
    raise RuntimeError("lethe_requests_in_flight missing from /metrics")


async def connection_refused(url: str) -> bool:
    """Whether a new TCP connection to ``url``'s host and port is turned away.

    Reset counts as refused: a connection the kernel queued on the listening socket just as
    the server closed it is reset, and asyncio reports that from ``connect`` (CI saw it).
    """
    host, port = url.removeprefix("http://").split(":")
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    writer.close()
    return False


async def _terminate(
    client: httpx.AsyncClient, url: str, pid: int, count: int
) -> tuple[float | None, float]:
    """SIGTERM once ``count`` requests are in flight: (seconds until refused, SIGTERM time)."""
    for _ in range(200):  # up to 10 s for every request to reach the app
        if await in_flight(client, url) >= count:
            break
        await asyncio.sleep(0.05)
    signalled = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    while time.monotonic() - signalled < 3.0:
        if await connection_refused(url):
            return time.monotonic() - signalled, signalled
        await asyncio.sleep(0.02)
    return None, signalled


async def _drain(url: str, pid: int, count: int) -> tuple[int, float | None, float]:
    """(complete 200s, seconds until connections were refused, SIGTERM time)."""
    kinds: list[Kind] = ["plain" if i % 2 == 0 else "stream" for i in range(count)]
    async with _client(count + 1) as client:
        tasks = [asyncio.create_task(_post(client, url, kind)) for kind in kinds]
        try:
            refused_after, signalled = await _terminate(client, url, pid, count)
        finally:  # an error above is raised with the requests' outcomes collected, not lost
            results = await asyncio.gather(*tasks, return_exceptions=True)
    done = sum(
        not isinstance(r, BaseException)
        and r[0].status_code == 200
        and complete(kind, r[0].content)
        for r, kind in zip(results, kinds, strict=True)
    )
    return done, refused_after, signalled


def check_drain(logs: Path, count: int) -> Drain:
    """``count`` requests in flight, then SIGTERM: do they all finish, does it exit 0?"""
    delay = 2.0
    config = slow_config(logs / "drain.yaml", delay)
    with lethe_serve_process(config=config, log=logs / "lethe_drain.log") as (url, process):
        done, refused_after, signalled = asyncio.run(_drain(url, process.pid, count))
        try:
            code: int | None = process.wait(GRACEFUL_SHUTDOWN_SECONDS + 10)
        except subprocess.TimeoutExpired:
            code = None
        exited = time.monotonic() - signalled
    return Drain(
        in_flight=count,
        completed=done,
        refused_after_seconds=refused_after,
        exit_code=code,
        exit_seconds=exited,
        grace=GRACEFUL_SHUTDOWN_SECONDS,
        delay=delay,
    )
