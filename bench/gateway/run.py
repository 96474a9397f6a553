"""``python -m bench gateway``: Lethe's cost over a direct upstream, and its own ceiling.

1. Overhead: the same chat requests sent straight to llama-cpp-python's server and through
   ``lethe serve`` in front of it, interleaved in A B B A blocks, at several concurrencies.
2. Ceiling: ``lethe serve`` with the instant scripted backend, driven by the load generator
   in its own process (each pinned to its own core when there are two).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Never

import httpx
from tqdm import tqdm

from bench.doc import write_section
from bench.gateway.report import (
    GatewayReport,
    Machine,
    OverheadRow,
    PathStats,
    ScriptedResult,
    render_gateway,
)
from bench.load.fixed import LoadResult, Progress, Summary, percentile, run_load, run_sync
from bench.processes import BIN, lethe_serve_on, llama_cpp_upstream_on, pinned

DIRECT, LETHE = "direct", "lethe"
SERVER_CPU, CLIENT_CPU = 0, 1
"""Core of the server measured (llama.cpp, or Lethe alone); core of what sends it load."""


@dataclass(frozen=True, slots=True)
class Plan:
    requests: int
    concurrencies: tuple[int, ...]
    repeats: int
    blocks: int
    max_tokens: int
    scripted_runs: int
    scripted_seconds: float
    scripted_warmup: float
    scripted_clients: int


FULL = Plan(200, (8, 32), 3, 2, 32, 5, 5.0, 1.0, 32)
QUICK = Plan(20, (4,), 1, 2, 16, 1, 2.0, 0.5, 32)


def prompts(count: int) -> list[str]:
    """``count`` distinct short prompts, by a fixed rule."""
    topics = ("the sea", "a library", "winter", "a bicycle", "coffee", "a mountain", "trains")
    return [
        f"Write one sentence about {topics[i % len(topics)]} and the number {i}."
        for i in range(count)
    ]


def chat_bodies(count: int, max_tokens: int, model: str | None) -> list[bytes]:
    """Deterministic (greedy) chat requests, so every path generates the same tokens."""
    head: dict[str, Any] = {} if model is None else {"model": model}
    return [
        json.dumps(
            {
                **head,
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": max_tokens,
                "temperature": 0,
                "top_p": 1,
            }
        ).encode()
        for prompt in prompts(count)
    ]


def note(message: str) -> None:
    """A permanent line on stderr, printed above the progress bar if one is showing."""
    tqdm.write(message, file=sys.stderr)


def bar(total: float, label: str, unit: str) -> tqdm[Never]:
    """A progress bar on stderr that goes away when closed.

    Shown on a terminal only (``disable=None``): in a log, lines rewritten in place are
    clutter, and the :func:`note` lines say what was done.
    """
    return tqdm(total=total, desc=label, unit=unit, file=sys.stderr, leave=False, disable=None)


def _stepper(shown: tqdm[Never]) -> Progress:
    """A :data:`Progress` callback moving ``shown`` on by one per finished request."""

    def step(_finished: int) -> None:
        shown.update()

    return step


@dataclass(slots=True)
class _PathRun:
    """One path's requests within one repeat, accumulated over its blocks."""

    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: int = 0
    bodies: dict[int, bytes] = field(default_factory=dict)

    def add(self, result: LoadResult, first_index: int) -> None:
        self.latencies += result.latencies
        self.elapsed += result.elapsed
        self.errors += result.errors
        self.bodies.update({first_index + i: body for i, body in result.bodies.items()})

    def stats(self) -> PathStats:
        return PathStats(
            p50_ms=percentile(self.latencies, 50) * 1000,
            p95_ms=percentile(self.latencies, 95) * 1000,
            throughput=len(self.latencies) / self.elapsed if self.elapsed else 0.0,
            errors=self.errors,
        )


def _block_order(blocks: int, repeat: int) -> Iterator[tuple[int, str]]:
    """A B B A ...: which path runs each block, starting path alternating per repeat."""
    for block in range(blocks):
        pair = (DIRECT, LETHE) if (block + repeat) % 2 == 0 else (LETHE, DIRECT)
        for path in pair:
            yield block, path


def _interleaved_repeat(
    urls: dict[str, str], bodies: list[bytes], clients: int, plan: Plan, repeat: int
) -> dict[str, _PathRun]:
    runs = {DIRECT: _PathRun(), LETHE: _PathRun()}
    size = -(-len(bodies) // plan.blocks)
    for block, path in _block_order(plan.blocks, repeat):
        first = block * size
        chunk = bodies[first : first + size]
        label = (
            f"overhead: {clients} clients, run {repeat + 1}/{plan.repeats}, block {block + 1}, "
            f"{path}"
        )
        with bar(len(chunk), label, "req") as shown:
            result = run_sync(
                run_load(
                    urls[path],
                    chunk,
                    concurrency=clients,
                    requests=len(chunk),
                    keep_bodies=True,
                    progress=_stepper(shown),
                )
            )
        runs[path].add(result, first)
        note(f"{label}: {result.throughput:.2f} req/s, {result.errors} errors")
    return runs


def _answer(body: bytes) -> str | None:
    try:
        return str(json.loads(body)["choices"][0]["message"]["content"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _identical(runs: list[dict[str, _PathRun]]) -> tuple[int, int]:
    """(answers identical on both paths, answers compared), over all repeats."""
    same = compared = 0
    for run in runs:
        for index, body in run[DIRECT].bodies.items():
            direct, lethe = _answer(body), _answer(run[LETHE].bodies.get(index, b""))
            if direct is not None and lethe is not None:
                compared += 1
                same += direct == lethe
    return same, compared


def _median_stats(stats: list[PathStats]) -> PathStats:
    return PathStats(
        p50_ms=statistics.median(s.p50_ms for s in stats),
        p95_ms=statistics.median(s.p95_ms for s in stats),
        throughput=statistics.median(s.throughput for s in stats),
        errors=sum(s.errors for s in stats),
    )


def _ratio(lethe: float, direct: float) -> float:
    return lethe / direct if direct else float("nan")


def _overhead_row(clients: int, runs: list[dict[str, _PathRun]]) -> OverheadRow:
    pairs = [(run[DIRECT].stats(), run[LETHE].stats()) for run in runs]
    same, compared = _identical(runs)
    return OverheadRow(
        concurrency=clients,
        repeats=len(runs),
        direct=_median_stats([d for d, _ in pairs]),
        lethe=_median_stats([g for _, g in pairs]),
        p50_ratio=statistics.median(_ratio(g.p50_ms, d.p50_ms) for d, g in pairs),
        p95_ratio=statistics.median(_ratio(g.p95_ms, d.p95_ms) for d, g in pairs),
        throughput_ratio=statistics.median(_ratio(g.throughput, d.throughput) for d, g in pairs),
        identical_answers=same,
        compared_answers=compared,
    )


def gateway_config(directory: Path) -> Path:
    """A config file with every default: no forget set, so Lethe is a plain gateway.

    Passed explicitly because ``lethe serve`` without ``--config`` in a source checkout
    serves the demo configuration, forget set included.
    """
    path = directory / "gateway-no-forget-set.yaml"
    path.write_text(
        "# python -m bench gateway: all defaults (no forget set); backend from env\n{}\n"
    )
    return path


def check_bypassed(url: str, body: bytes) -> None:
    """Fail fast unless Lethe answers as a plain gateway (``unlearning.status: bypassed``)."""
    response = httpx.post(
        url, content=body, headers={"Content-Type": "application/json"}, timeout=120
    )
    status = response.json().get("unlearning", {}).get("status") if response.is_success else None
    if status != "bypassed":
        raise RuntimeError(
            f"expected a plain gateway (unlearning.status 'bypassed') at {url}; got HTTP "
            f"{response.status_code}: {response.text[:300]}"
        )


def _upstream_model(base_url: str) -> str:
    response = httpx.get(f"{base_url}/models", timeout=10)
    response.raise_for_status()
    return str(response.json()["data"][0]["id"])


def can_pin() -> bool:
    """Whether there are two cores to give the server and its load one each."""
    return pinned(["true"], CLIENT_CPU) != ["true"]


def measure_overhead(plan: Plan, logs: Path) -> list[OverheadRow]:
    """Direct vs through Lethe, on one llama.cpp server, interleaved, per concurrency.

    llama.cpp gets one thread on its own core; Lethe shares the other with the load. With
    llama-cpp-python's default of a prompt-batch thread per core, prompt processing on a
    2-vCPU machine took 0.5-6 s instead of 0.2 s, noise that drowns what is measured.
    """
    model_cpu, gateway_cpu = (SERVER_CPU, CLIENT_CPU) if can_pin() else (None, None)
    rows = []
    upstream_log = logs / "llama_cpp_server.log"
    with llama_cpp_upstream_on(model_cpu, threads=1, log=upstream_log) as upstream:
        env = {"LETHE_BACKEND__KIND": "openai", "LETHE_BACKEND__UPSTREAM__BASE_URL": upstream}
        serve = lethe_serve_on(
            gateway_cpu, env=env, log=logs / "lethe_openai.log", config=gateway_config(logs)
        )
        with serve as lethe:
            bodies = chat_bodies(plan.requests, plan.max_tokens, _upstream_model(upstream))
            check_bypassed(f"{lethe}/v1/chat/completions", bodies[0])
            urls = {DIRECT: f"{upstream}/chat/completions", LETHE: f"{lethe}/v1/chat/completions"}
            for url in urls.values():  # warm-up, discarded: first loads, connection pools
                run_sync(run_load(url, bodies[:4], concurrency=2, requests=4))
            for clients in plan.concurrencies:
                runs = [
                    _interleaved_repeat(urls, bodies, clients, plan, repeat)
                    for repeat in range(plan.repeats)
                ]
                rows.append(_overhead_row(clients, runs))
                note(_describe(rows[-1]))
    return rows


def _describe(row: OverheadRow) -> str:
    return (
        f"overhead at {row.concurrency} clients: p50 {row.direct.p50_ms:.0f} → "
        f"{row.lethe.p50_ms:.0f} ms (ratio {row.p50_ratio:.3f}), throughput ratio "
        f"{row.throughput_ratio:.3f}"
    )


def _loadgen_command(url: str, bodies: Path, plan: Plan, cpu: int | None) -> list[str]:
    command = [
        str(BIN / "python"), "-m", "bench.load.fixed", "--url", url,
        "--bodies", str(bodies), "--concurrency", str(plan.scripted_clients),
        "--duration", str(plan.scripted_seconds), "--warmup", str(plan.scripted_warmup),
        "--json-out", "-",
    ]  # fmt: skip
    return pinned(command, cpu)


def measure_scripted(plan: Plan, logs: Path) -> ScriptedResult:
    """Lethe alone on the scripted backend, one worker, load from a separate process."""
    pin = can_pin()
    server_cpu, loadgen_cpu = (SERVER_CPU, CLIENT_CPU) if pin else (None, None)
    bodies = logs / "scripted_bodies.jsonl"
    bodies.write_bytes(b"\n".join(chat_bodies(plan.requests, plan.max_tokens, None)) + b"\n")
    env = {"LETHE_BACKEND__KIND": "scripted"}
    runs = []
    serve = lethe_serve_on(
        server_cpu, env=env, log=logs / "lethe_scripted.log", config=gateway_config(logs)
    )
    with serve as url:
        check_bypassed(f"{url}/v1/chat/completions", bodies.read_bytes().splitlines()[0])
        command = _loadgen_command(f"{url}/v1/chat/completions", bodies, plan, loadgen_cpu)
        label = f"scripted: {plan.scripted_seconds:g} s runs"
        with bar(plan.scripted_runs, label, "run") as shown:
            for index in range(plan.scripted_runs):
                done = subprocess.run(  # noqa: S603 (our own interpreter and module)
                    command, capture_output=True, text=True, check=True, timeout=120
                )
                runs.append(Summary.from_json(done.stdout))
                shown.update()
                note(
                    f"scripted run {index + 1}: {runs[-1].throughput:.0f} req/s, load "
                    f"generator at {runs[-1].client_cpu:.0%} of its core"
                )
    return ScriptedResult(
        plan.scripted_clients, plan.scripted_seconds, plan.scripted_warmup, pin, runs
    )


def _command(output: Path, quick: bool) -> str:
    parts = ["python", "-m", "bench", "gateway"]
    if quick:
        parts.append("--quick")
    if output != Path("docs/BENCHMARKS.md"):
        parts += ["--output", str(output)]
    return " ".join(parts)


def run_gateway(output: Path, *, quick: bool = False) -> int:
    """Run both measurements, write the ``gateway`` section of ``output``; 1 on errors."""
    plan = QUICK if quick else FULL
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lethe-bench-") as tmp:
        load_before = os.getloadavg()[0]
        scripted = measure_scripted(plan, Path(tmp))  # first: short, fails fast
        overhead = measure_overhead(plan, Path(tmp))
    setup = (
        "llama.cpp runs one thread (`--n_threads 1 --n_threads_batch 1`)"
        + (" pinned to core 0, `lethe serve` is pinned to core 1" if can_pin() else "")
        + ", and the load generator runs in the benchmark process."
    )
    report = GatewayReport(
        command=_command(output, quick),
        overhead_setup=setup,
        load_average=(load_before, os.getloadavg()[0]),
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=Machine.current(),
        quick=quick,
        requests=plan.requests,
        max_tokens=plan.max_tokens,
        minutes=(time.monotonic() - started) / 60,
        overhead=overhead,
        scripted=scripted,
    )
    write_section(output, "gateway", render_gateway(report))
    errors = scripted.errors + sum(r.direct.errors + r.lethe.errors for r in overhead)
    note(f"wrote {output}" + (f" ({errors} failed requests)" if errors else ""))
    return 1 if errors else 0


__all__ = ["FULL", "QUICK", "Plan", "bar", "chat_bodies", "note", "run_gateway"]
