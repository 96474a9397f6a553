"""Results of ``python -m bench gateway`` and their Markdown section in docs/BENCHMARKS.md.

docs/BENCHMARKS.md holds one section per benchmark suite, each between
``<!-- BEGIN name -->`` and ``<!-- END name -->``; a suite rewrites only its own section.
"""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass

from bench.doc import cpu_model
from bench.load.fixed import Summary

P50_RATIO_TARGET = 1.05
SCRIPTED_TARGET_RPS = 1000.0
CLIENT_BOUND = 0.9
"""Share of its core above which the load generator, not Lethe, set the scripted rate."""


@dataclass(frozen=True, slots=True)
class PathStats:
    """One path (direct or through Lethe) at one concurrency."""

    p50_ms: float
    p95_ms: float
    throughput: float
    errors: int


@dataclass(frozen=True, slots=True)
class OverheadRow:
    """Direct vs Lethe at one concurrency; stats and ratios are medians over the repeats."""

    concurrency: int
    repeats: int
    direct: PathStats
    lethe: PathStats
    p50_ratio: float
    p95_ratio: float
    throughput_ratio: float
    identical_answers: int
    compared_answers: int


@dataclass(frozen=True, slots=True)
class ScriptedResult:
    """Lethe alone, instant scripted backend, one uvicorn worker; one Summary per run."""

    clients: int
    seconds: float
    warmup: float
    pinned: bool
    runs: list[Summary]

    @property
    def median_throughput(self) -> float:
        return statistics.median(r.throughput for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)

    def median_ms(self, name: str) -> float:
        return statistics.median(float(getattr(r, name)) for r in self.runs)

    @property
    def client_cpu(self) -> float:
        """Median share of one core the load generator used (NaN for older summaries)."""
        return statistics.median(r.client_cpu for r in self.runs)

    @property
    def client_bound(self) -> bool:
        return self.client_cpu >= CLIENT_BOUND


@dataclass(frozen=True, slots=True)
class Machine:
    cores: int
    cpu: str
    python: str
    system: str

    @classmethod
    def current(cls) -> Machine:
        return cls(
            cores=os.cpu_count() or 1,
            cpu=cpu_model(),
            python=platform.python_version(),
            system=f"{platform.system()} {platform.release()}",
        )


@dataclass(frozen=True, slots=True)
class GatewayReport:
    command: str
    overhead_setup: str
    load_average: tuple[float, float]
    date: str
    machine: Machine
    quick: bool
    requests: int
    max_tokens: int
    minutes: float
    overhead: list[OverheadRow]
    scripted: ScriptedResult

    @property
    def overhead_met(self) -> bool:
        return all(row.p50_ratio <= P50_RATIO_TARGET for row in self.overhead)

    @property
    def scripted_met(self) -> bool:
        return self.scripted.median_throughput >= SCRIPTED_TARGET_RPS


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _overhead_table(rows: list[OverheadRow]) -> list[str]:
    lines = [
        "| clients | p50 direct / Lethe (ms) | p50 ratio | p95 direct / Lethe (ms) "
        "| p95 ratio | req/s direct / Lethe | throughput ratio | identical answers | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        d, g = r.direct, r.lethe
        lines.append(
            f"| {r.concurrency} | {d.p50_ms:.0f} / {g.p50_ms:.0f} | {r.p50_ratio:.3f} "
            f"| {d.p95_ms:.0f} / {g.p95_ms:.0f} | {r.p95_ratio:.3f} "
            f"| {d.throughput:.2f} / {g.throughput:.2f} | {r.throughput_ratio:.3f} "
            f"| {r.identical_answers}/{r.compared_answers} | {d.errors + g.errors} |"
        )
    return lines


def _scripted_table(s: ScriptedResult) -> list[str]:
    rates = [r.throughput for r in s.runs]
    return [
        "| backend | uvicorn workers | clients | runs × seconds | req/s (median) "
        "| req/s (min–max) | p50 (ms) | p99 (ms) | load generator CPU | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| scripted (instant) | 1 | {s.clients} | {len(s.runs)} × {s.seconds:g} "
        f"| {s.median_throughput:.0f} | {min(rates):.0f}–{max(rates):.0f} "
        f"| {s.median_ms('p50_ms'):.1f} | {s.median_ms('p99_ms'):.1f} | {s.client_cpu:.0%} "
        f"| {s.errors} |",
    ]


def _queueing_sentence(rows: list[OverheadRow]) -> list[str]:
    if len(rows) < 2 or not rows[0].direct.throughput:
        return []
    low, high = rows[0], rows[-1]
    steady = abs(high.direct.throughput / low.direct.throughput - 1) < 0.1
    return [
        f"Direct throughput is {low.direct.throughput:.2f} req/s at {low.concurrency} clients "
        f"and {high.direct.throughput:.2f} at {high.concurrency}"
        + (
            " — llama.cpp's server generates one request at a time — while p50 latency grows "
            f"from {low.direct.p50_ms:.0f} to {high.direct.p50_ms:.0f} ms: at "
            f"{high.concurrency} clients latency is mostly time spent queueing."
            if steady
            else "."
        )
    ]


def _overhead_sentence(rows: list[OverheadRow]) -> list[str]:
    usable = [r for r in rows if r.direct.throughput and r.lethe.throughput]
    if not usable:
        return []
    extra = [1000 / r.lethe.throughput - 1000 / r.direct.throughput for r in usable]
    generation = [1000 / r.direct.throughput for r in usable]
    return [
        "Counted as serial time per request (1/throughput), going through Lethe changes the "
        f"cost by {_signed_range(extra)} ms against {_plain_range(generation)} ms of "
        "generation per request; differences of a few ms are within run-to-run noise."
    ]


def _ceiling_sentence(s: ScriptedResult) -> list[str]:
    rate = s.median_throughput
    if not rate:
        return []
    if s.client_bound:
        return [
            f"With an instant backend one worker answered {rate:.0f} req/s, but the load "
            f"generator (httpx) used {s.client_cpu:.0%} of its core: it, not Lethe, set that "
            "rate, so Lethe's own ceiling is higher than measured here."
        ]
    return [
        f"With an instant backend one worker serves {rate:.0f} req/s, about "
        f"{1000 / rate:.2f} ms of one core per request for Lethe's own HTTP, validation and "
        "JSON work."
    ]


def _interpretation(report: GatewayReport) -> str:
    sentences = [
        *_queueing_sentence(report.overhead),
        *_overhead_sentence(report.overhead),
        *_ceiling_sentence(report.scripted),
    ]
    if report.quick:
        sentences.append("This was a `--quick` smoke run: too few requests to trust the ratios.")
    return " ".join(sentences)


def _plain_range(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.0f}" if round(low) == round(high) else f"{low:.0f}–{high:.0f}"


def _signed_range(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:+.1f}" if abs(high - low) < 0.05 else f"{low:+.1f} to {high:+.1f}"


def render_gateway(report: GatewayReport) -> str:
    """The Markdown body of the ``gateway`` section, markers excluded."""
    m, s = report.machine, report.scripted
    repeats = report.overhead[0].repeats if report.overhead else 0
    ratios = ", ".join(f"{r.p50_ratio:.3f} at {r.concurrency}" for r in report.overhead)
    pinning = "server pinned to core 0, load generator to core 1" if s.pinned else "not pinned"
    lines = [
        "## Gateway overhead",
        "",
        f"- Machine: {m.cores} cores, {m.cpu}, Python {m.python}, {m.system}",
        f"- Date: {report.date} (run took {report.minutes:.1f} min; 1-minute load average "
        f"{report.load_average[0]:.2f} at the start, {report.load_average[1]:.2f} at the end)",
        f"- Command: `{report.command}`",
        "",
        "### Lethe vs llama.cpp's server directly",
        "",
        f"The same {report.requests} chat requests (distinct short prompts, temperature 0, "
        f"max_tokens {report.max_tokens}) sent straight to llama-cpp-python's OpenAI-compatible "
        "server on the embedded SmolLM2-135M GGUF, and through `lethe serve` "
        "(`backend.kind: openai`, no forget set) in front of that same server. The two paths "
        "alternate in blocks (A B B A) within each run so machine noise hits both. "
        f"{report.overhead_setup} "
        f"Each row is the median of {repeats} run{'s' if repeats != 1 else ''}; ratios are "
        "Lethe / direct, computed per run, then the median taken.",
        "",
        *_overhead_table(report.overhead),
        "",
        "### Lethe alone, instant backend",
        "",
        "`lethe serve` with `backend.kind: scripted` (answers instantly with canned text), one "
        "uvicorn worker, driven by `python -m bench.load.fixed` in a separate process "
        f"({pinning}); each run starts with {s.warmup:g} s of unmeasured warm-up.",
        "",
        *_scripted_table(s),
        "",
        "### Targets",
        "",
        f"- Gateway p50 latency ratio ≤ {P50_RATIO_TARGET} at every concurrency: "
        f"{_met(report.overhead_met)} ({ratios}).",
        f"- Scripted backend ≥ {SCRIPTED_TARGET_RPS:.0f} req/s with one worker: "
        f"{_met(report.scripted_met)} ({s.median_throughput:.0f} req/s"
        + ("; limited by the load generator, see below)." if s.client_bound else ")."),
        "",
        _interpretation(report),
    ]
    return "\n".join(lines)
