"""Start real server processes (tests and benchmarks) and wait until they answer."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(
    command: Sequence[str],
    ready_url: str,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` until the context exits; ready once ``ready_url`` answers 200."""
    output = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603 (commands built here, not user input)
        list(command),
        stdout=output,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                detail = log.read_text()[-2000:] if log is not None else ""
                raise RuntimeError(f"{command[0]} exited with {process.returncode}\n{detail}")
            try:
                if httpx.get(ready_url, timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ready_url} not ready after {timeout}s")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log is not None:
            output.close()  # type: ignore[union-attr]


def embedded_gguf() -> Path:
    from server.backends.llamacpp import embedded_model_path

    return embedded_model_path()


@contextmanager
def llama_cpp_upstream(log: Path | None = None) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server on the embedded GGUF; yields its /v1 URL."""
    with llama_cpp_upstream_on(None, log=log) as url:
        yield url


@contextmanager
def llama_cpp_upstream_on(
    cpu: int | None, *, threads: int | None = None, log: Path | None = None
) -> Iterator[str]:
    """Like :func:`llama_cpp_upstream`, pinned to core ``cpu`` (None: not pinned).

    ``threads`` sets both llama.cpp thread counts (generation and prompt batches); None keeps
    llama-cpp-python's defaults (half the cores, all the cores).
    """
    port = free_port()
    command = [
        str(BIN / "python"),
        "-m",
        "llama_cpp.server",
        "--model",
        str(embedded_gguf()),
        "--model_alias",
        "smollm2-upstream",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
    ]
    if threads is not None:
        command += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
    with running(pinned(command, cpu), f"http://127.0.0.1:{port}/v1/models", log=log):
        yield f"http://127.0.0.1:{port}/v1"


@contextmanager
def lethe_serve(
    env: dict[str, str] | None = None, log: Path | None = None, config: Path | None = None
) -> Iterator[str]:
    """A ``lethe serve`` process; yields its base URL (without /v1)."""
    with lethe_serve_on(None, env=env, log=log, config=config) as url:
        yield url


def pinned(command: Sequence[str], cpu: int | None) -> list[str]:
    """``command`` confined to CPU core ``cpu`` with taskset; unchanged if it cannot be."""
    if cpu is None or not hasattr(os, "sched_getaffinity") or shutil.which("taskset") is None:
        return list(command)
    cores = os.sched_getaffinity(0)
    if cpu not in cores or len(cores) < 2:
        return list(command)
    return ["taskset", "-c", str(cpu), *command]


@contextmanager
def lethe_serve_on(
    cpu: int | None,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    config: Path | None = None,
) -> Iterator[str]:
    """Like :func:`lethe_serve`, pinned to core ``cpu`` (None: not pinned), with ``--config``."""
    with lethe_serve_process(cpu, env=env, log=log, config=config) as (url, _):
        yield url


@contextmanager
def lethe_serve_process(
    cpu: int | None = None,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    config: Path | None = None,
    ready_timeout: float = 60.0,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like :func:`lethe_serve_on`, also yielding the server process (its pid, signals)."""
    port = free_port()
    command = [str(BIN / "lethe"), "serve", "--port", str(port)]
    if config is not None:
        command += ["--config", str(config)]
    command = pinned(command, cpu)
    ready = f"http://127.0.0.1:{port}/ready"
    with running(command, ready, env=env, log=log, timeout=ready_timeout) as process:
        yield f"http://127.0.0.1:{port}", process
