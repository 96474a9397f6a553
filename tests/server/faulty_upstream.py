"""A real, misbehaving OpenAI-compatible upstream for fault tests.

An asyncio HTTP/1.1 server on a loopback port, in a background thread, answering every request
the way the test scripts it: an error status, malformed JSON, a body cut off mid-way, silence
past the client's timeout, or a connection closed without a word. Raw sockets, so the bytes on
the wire are exactly what a broken server would send; nothing in Lethe is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

MODEL = "m"


@dataclass(frozen=True)
class Reply:
    """What the upstream does with one request."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    # Content-Length sent; larger than ``len(body)`` makes a body cut off mid-way.
    declared_length: int | None = None
    # Chunked transfer encoding; ``cut`` closes the connection before the final empty chunk.
    chunks: Sequence[bytes] | None = None
    cut: bool = False
    hang: float = 0.0  # seconds of silence before anything is sent
    drop: bool = False  # close the connection without answering


Script = Callable[["Seen"], Reply]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    body: Any


def completion(texts: Sequence[str]) -> bytes:
    """A well-formed chat completion with one choice per text."""
    return json.dumps(
        {
            "id": "chatcmpl-up",
            "object": "chat.completion",
            "created": 0,
            "model": MODEL,
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
                for i, text in enumerate(texts)
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
        }
    ).encode()


def sse(*events: object) -> list[bytes]:
    """SSE events as separate chunks (dicts are JSON-encoded, strings sent as they are)."""
    return [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode() for e in events]


def delta(index: int, text: str | None, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion.chunk",
        "choices": [{"index": index, "delta": {"content": text}, "finish_reason": finish}],
    }


def answer_with(texts_per_call: Callable[[int], Sequence[str]]) -> Script:
    """Chat completions that return ``texts_per_call(n)`` for a request asking ``n``."""

    def script(seen: Seen) -> Reply:
        n = int(seen.body.get("n", 1)) if isinstance(seen.body, dict) else 1
        return Reply(body=completion(texts_per_call(n)))

    return script


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class FaultyUpstream:
    """Serves ``GET /v1/models`` normally and everything else as ``script`` says, on ``port``
    (0: any free one)."""

    script: Script
    models: Script | None = None
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def chat_requests(self) -> list[Any]:
        return [s.body for s in self.seen if s.path.endswith("/chat/completions")]

    @contextlib.contextmanager
    def running(self) -> Iterator[FaultyUpstream]:
        started = threading.Event()
        stop: list[asyncio.Event] = []

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            stop.append(asyncio.Event())
            server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            self.port = server.sockets[0].getsockname()[1]
            started.set()
            async with server:
                await stop[0].wait()
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)

        thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
        thread.start()
        if not started.wait(10):
            raise RuntimeError("the faulty upstream did not start")
        try:
            yield self
        finally:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(stop[0].set)
            thread.join(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in header_lines if line)
        }
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        seen = Seen(method, path, body)
        self.seen.append(seen)
        if path.endswith("/models"):
            reply = (
                self.models(seen)
                if self.models is not None
                else Reply(body=json.dumps({"data": [{"id": MODEL}]}).encode())
            )
        else:
            reply = self.script(seen)
        await _send(writer, reply)


async def _send(writer: asyncio.StreamWriter, reply: Reply) -> None:
    if reply.hang:
        await asyncio.sleep(reply.hang)
    if reply.drop:
        return
    lines = [f"HTTP/1.1 {reply.status} X", f"content-type: {reply.content_type}"]
    lines.append("connection: close")
    if reply.chunks is not None:
        lines.append("transfer-encoding: chunked")
    else:
        length = reply.declared_length if reply.declared_length is not None else len(reply.body)
        lines.append(f"content-length: {length}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    if reply.chunks is None:
        writer.write(reply.body)
        await writer.drain()
        return
    for chunk in reply.chunks:
        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        await writer.drain()
        await asyncio.sleep(0.01)
    if not reply.cut:
        writer.write(b"0\r\n\r\n")
    await writer.drain()
