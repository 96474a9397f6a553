"""Pure-ASGI middleware: request ids and access metrics, body-size limit, in-flight limit.

Pure ASGI (not ``BaseHTTPMiddleware``) so streaming responses pass through untouched and the
per-request cost stays in microseconds.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import LetheError, OverloadedError, PayloadTooLargeError
from server.logs import begin_request, log_access
from server.metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
KNOWN_ROUTES = frozenset(
    {
        "/v1/chat/completions",
        "/v1/unlearning/verify",
        "/v1/models",
        "/health",
        "/ready",
        "/metrics",
        "/admin/reload",
    }
)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


async def _send_error(
    send: Send, exc: LetheError, extra_headers: list[tuple[bytes, bytes]]
) -> None:
    import json

    body = json.dumps(exc.envelope()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in exc.headers.items()),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Accept or mint ``X-Request-Id``, echo it, and count every response by route and code."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, REQUEST_ID_HEADER)
        request_id = (
            given if given and _VALID_REQUEST_ID.match(given) else uuid.uuid4().hex.encode()
        )
        scope.setdefault("state", {})["request_id"] = request_id.decode()
        record = begin_request(request_id.decode())
        path = scope.get("path", "")
        route = path if path in KNOWN_ROUTES else "other"
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.http_requests.labels(route, str(status)).inc()
            self.metrics.http_duration.labels(route).observe(elapsed)
            log_access(record, scope.get("method", ""), route, status, elapsed)


# Before a 413, the rest of the body is read and thrown away (up to this much, for at most
# this long): a client that is still sending when the server closes gets a connection reset
# instead of the answer (Python's urllib does; curl reads the early 413). Past the bound the
# server answers anyway and closes: draining a hostile upload forever is worse.
DRAIN_MAX_BYTES = 64 << 20
DRAIN_MAX_SECONDS = 10.0
_CLOSE = [(b"connection", b"close")]


async def _drain(receive: Receive, more: bool) -> None:
    """Read and discard what is left of a request body, within the bounds above."""
    drained, deadline = 0, time.monotonic() + DRAIN_MAX_SECONDS
    while more and drained < DRAIN_MAX_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            message = await asyncio.wait_for(receive(), remaining)
        except TimeoutError:
            return
        if message["type"] != "http.request":
            return  # the client went away
        drained += len(message.get("body", b""))
        more = bool(message.get("more_body", False))


class BodyLimitMiddleware:
    """Answer 413 for bodies over ``max_bytes``, by Content-Length or while streaming in;
    the rest of the body is drained first so that every client can read the answer."""

    def __init__(self, app: ASGIApp, max_bytes: int, metrics: Metrics) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.metrics = metrics

    def _too_large(self) -> PayloadTooLargeError:
        self.metrics.rejected.labels("body_too_large").inc()
        return PayloadTooLargeError(f"Request body exceeds {self.max_bytes} bytes.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            error = self._too_large()
            await _drain(receive, more=True)
            await _send_error(send, error, _CLOSE)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    error = self._too_large()
                    await _drain(receive, bool(message.get("more_body", False)))
                    # FastAPI re-raises its own HTTPException from body parsing unchanged;
                    # the error mapper renders it as the 413 envelope.
                    raise HTTPException(413, error.message)
            return message

        await self.app(scope, limited_receive, send)


class InFlightLimitMiddleware:
    """Answer 429 with Retry-After once ``limit`` requests to ``/v1/`` are in progress."""

    def __init__(self, app: ASGIApp, limit: int, retry_after: int, metrics: Metrics) -> None:
        self.app = app
        self.limit = limit
        self.retry_after = retry_after
        self.metrics = metrics
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.metrics.rejected.labels("overloaded").inc()
            error = OverloadedError(
                "The server is handling its maximum number of requests; retry later.",
                retry_after=self.retry_after,
            )
            # As before a 413: a body left unread when the connection closes makes the
            # kernel reset it, and the client loses the 429 it was sent (seen under load).
            await _drain(receive, more=True)
            await _send_error(send, error, [])
            return
        self.in_flight += 1
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.metrics.in_flight.dec()


def middleware_state(scope: Scope) -> dict[str, Any]:
    state: dict[str, Any] = scope.setdefault("state", {})
    return state
