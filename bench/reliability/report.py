"""Results of ``python -m bench reliability`` and their "Reliability" section of
docs/BENCHMARKS.md."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.gateway.report import Machine
from bench.load.mixed import MixedResult

RSS_GROWTH_LIMIT = 0.05
"""A second identical round may grow the server's RSS by at most this share."""


@dataclass(frozen=True, slots=True)
class Round:
    """One load round against one server, reduced to numbers."""

    clients: int
    seconds: float
    elapsed: float
    requests: int
    ok: int
    aborted: int
    rejected: int
    rejected_without_retry_after: int
    http_error: int
    server_error: int
    incomplete: int
    lost: int
    throughput: float
    p50_ms: float
    p99_ms: float
    plain_p50_ms: float
    stream_p50_ms: float
    rss_after_mib: float

    @classmethod
    def of(cls, result: MixedResult, clients: int, seconds: float, rss_mib: float) -> Round:
        return cls(
            clients=clients,
            seconds=seconds,
            elapsed=result.elapsed,
            requests=len(result.records),
            ok=result.count("ok"),
            aborted=result.count("aborted"),
            rejected=result.count("rejected"),
            rejected_without_retry_after=result.rejected_without_retry_after(),
            http_error=result.count("http_error"),
            server_error=result.count("server_error"),
            incomplete=result.count("incomplete"),
            lost=result.count("lost"),
            throughput=result.throughput,
            p50_ms=result.ms(50),
            p99_ms=result.ms(99),
            plain_p50_ms=result.ms(50, "plain"),
            stream_p50_ms=result.ms(50, "stream"),
            rss_after_mib=rss_mib,
        )


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    setup: str
    max_in_flight: int
    rss_before_mib: float
    rss_peak_mib: float
    rounds: list[Round]

    @property
    def growth(self) -> float:
        """RSS growth over the second round, as a share of the RSS after the first."""
        if len(self.rounds) < 2 or not self.rounds[0].rss_after_mib:
            return math.nan
        first, last = self.rounds[0].rss_after_mib, self.rounds[-1].rss_after_mib
        return (last - first) / first


@dataclass(frozen=True, slots=True)
class Backpressure:
    limit: int
    retry_after: int
    delay: float
    sent: int
    ok: int
    rejected: int
    retry_after_values: list[str]
    rejected_max_ms: float
    ok_min_ms: float

    @property
    def met(self) -> bool:
        return (
            self.ok == self.limit
            and self.rejected == self.sent - self.limit
            and self.retry_after_values == [str(self.retry_after)] * self.rejected
        )


@dataclass(frozen=True, slots=True)
class Drain:
    in_flight: int
    completed: int
    refused_after_seconds: float | None
    exit_code: int | None
    exit_seconds: float
    grace: float
    delay: float

    @property
    def met(self) -> bool:
        return (
            self.completed == self.in_flight
            and self.refused_after_seconds is not None
            and self.exit_code == 0
            and self.exit_seconds < self.grace
        )


@dataclass(frozen=True, slots=True)
class ReliabilityReport:
    command: str
    date: str
    machine: Machine
    quick: bool
    minutes: float
    load_average: tuple[float, float]
    scenarios: list[Scenario]
    backpressure: Backpressure
    drain: Drain


def _met(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def _ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _load_table(scenarios: list[Scenario]) -> list[str]:
    lines = [
        "| scenario | round | clients × s | requests | complete 200 | req/s | p50 / p99 (ms) "
        "| p50 plain / stream (ms) | hung up | 429 | other 4xx | 5xx | incomplete | lost "
        "| RSS after (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scenarios:
        for number, r in enumerate(s.rounds, 1):
            lines.append(
                f"| {s.name} | {number} | {r.clients} × {r.seconds:g} | {r.requests} | {r.ok} "
                f"| {r.throughput:.1f} | {_ms(r.p50_ms)} / {_ms(r.p99_ms)} "
                f"| {_ms(r.plain_p50_ms)} / {_ms(r.stream_p50_ms)} | {r.aborted} | {r.rejected} "
                f"| {r.http_error} | {r.server_error} | {r.incomplete} | {r.lost} "
                f"| {r.rss_after_mib:.1f} |"
            )
    return lines


def _rss_table(scenarios: list[Scenario]) -> list[str]:
    lines = [
        "| scenario | RSS at start (MiB) | after round 1 | after round 2 | round-2 growth "
        "| peak (VmHWM) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in scenarios:
        after = [f"{r.rss_after_mib:.1f}" for r in s.rounds] + ["–", "–"]
        lines.append(
            f"| {s.name} | {s.rss_before_mib:.1f} | {after[0]} | {after[1]} "
            f"| {s.growth * 100:+.1f} % | {s.rss_peak_mib:.1f} |"
        )
    return lines


def _totals(scenarios: list[Scenario], name: str) -> int:
    return sum(int(getattr(r, name)) for s in scenarios for r in s.rounds)


def _targets(report: ReliabilityReport) -> list[str]:
    s, b, d = report.scenarios, report.backpressure, report.drain
    errors, lost, broken = (_totals(s, n) for n in ("server_error", "lost", "incomplete"))
    no_retry = _totals(s, "rejected_without_retry_after")
    growth = ", ".join(f"{x.name} {x.growth * 100:+.1f} %" for x in s)
    grew = all(x.growth <= RSS_GROWTH_LIMIT for x in s)  # NaN compares False: missed
    refused = (
        f"new connections refused {d.refused_after_seconds:.2f} s after SIGTERM"
        if d.refused_after_seconds is not None
        else "new connections were still accepted"
    )
    return [
        f"- Zero 5xx: {_met(errors == 0)} ({errors} over all rounds).",
        f"- Zero lost requests (no HTTP response) and zero cut-off answers: "
        f"{_met(lost == 0 and broken == 0)} ({lost} lost, {broken} incomplete).",
        f"- Every 429 carries Retry-After: {_met(no_retry == 0)} "
        f"({_totals(s, 'rejected')} under load, {no_retry} without it).",
        f"- In-flight limit {b.limit}: {b.sent} concurrent requests get exactly {b.limit} × 200 "
        f"and {b.sent - b.limit} × 429 `Retry-After: {b.retry_after}`: {_met(b.met)} "
        f"({b.ok} × 200, {b.rejected} × 429, Retry-After {sorted(set(b.retry_after_values))}).",
        f"- No RSS growth (second identical round ≤ {RSS_GROWTH_LIMIT * 100:.0f} % over the "
        f"first): {_met(grew)} ({growth}).",
        f"- SIGTERM drains in-flight requests: {_met(d.met)} ({d.completed}/{d.in_flight} "
        f"complete 200, exit status {d.exit_code} after {d.exit_seconds:.1f} s, {refused}).",
    ]


def _queueing(s: Scenario, r: Round) -> str:
    """Little's law: with the in-flight limit full, an admitted request waits limit / rate."""
    if not r.rejected or not r.throughput:
        return (
            f"{s.name}: no request was turned away; {r.throughput:.1f} complete answers/s at "
            f"p50 {_ms(r.p50_ms)} ms."
        )
    return (
        f"{s.name}: the in-flight limit was reached and {r.rejected} requests got 429 in the "
        f"last round; with {s.max_in_flight} admitted at a time and {r.throughput:.1f} answers/s, "
        f"an admitted request waits about {s.max_in_flight} / {r.throughput:.1f} s ≈ "
        f"{_ms(1000 * s.max_in_flight / r.throughput)} ms (measured p50 {_ms(r.p50_ms)} ms): "
        "time queued inside the limit, which bounds it, instead of a queue without end."
    )


def _interpretation(report: ReliabilityReport) -> list[str]:
    lines = [f"- {_queueing(s, s.rounds[-1])}" for s in report.scenarios if s.rounds]
    busiest = max(report.load_average)
    if busiest > report.machine.cores:
        lines.append(
            f"- The machine was shared with other work (1-minute load average up to "
            f"{busiest:.1f} on {report.machine.cores} cores, and the benchmark ran under "
            "`nice`): absolute rates and latencies are lower than an idle machine's; the counts "
            "of errors and lost requests are what this section checks."
        )
    return lines


def render_reliability(report: ReliabilityReport) -> str:
    """The Markdown body of the ``reliability`` section, markers excluded."""
    m, b, d = report.machine, report.backpressure, report.drain
    lines = [
        "## Reliability",
        "",
        f"- Machine: {m.cores} cores, {m.cpu}, Python {m.python}, {m.system}",
        f"- Date: {report.date} (run took {report.minutes:.1f} min; 1-minute load average "
        f"{report.load_average[0]:.2f} at the start, {report.load_average[1]:.2f} at the end)",
        f"- Command: `{report.command}`",
        "",
        "### Load: mixed traffic, two identical rounds per server",
        "",
        "Each scenario is a real `lethe serve` process (one uvicorn worker, default "
        f"`server.max_in_flight` {report.scenarios[0].max_in_flight if report.scenarios else 0}), "
        "guarded: the demo forget set `deploy/forget-sets/tofu-forget10.yaml` is loaded, so every "
        "answer goes through the verifiers — what users run. Clients run in the benchmark process "
        "(asyncio, one httpx client keeping a connection alive per client, loopback; nothing is "
        "pinned). Requests cycle through 5 plain, 4 streaming, and 1 streaming request the "
        "client hangs up on after the response head and the first body bytes or 0.25 s (*hung "
        "up*; by design, not an error). A 429 "
        "makes its client wait `Retry-After` seconds, as OpenAI's client does. No request starts "
        "after the round's deadline; those in progress finish, so *req/s* is complete answers "
        "over the whole round including that drain. *Lost* = no HTTP response at all; "
        "*incomplete* = a 200 whose body was cut off or malformed. Latencies are of complete "
        "200s.",
        "",
        *(f"- **{s.name}**: {s.setup}" for s in report.scenarios),
        "",
        *_load_table(report.scenarios),
        "",
        "RSS is the server process's `VmRSS` from `/proc/PID/status`: once ready, after each "
        "round; the peak is `VmHWM`.",
        "",
        *_rss_table(report.scenarios),
        "",
        "### Backpressure and graceful shutdown",
        "",
        f"A `lethe serve` with `server.max_in_flight: {b.limit}`, `server.retry_after_seconds: "
        f"{b.retry_after}` and a scripted backend that takes {b.delay:g} s per answer "
        f"(`backend.scripted.delay_seconds`). {b.sent} concurrent requests: {b.ok} answered 200 "
        f"(fastest {b.ok_min_ms:.0f} ms), {b.rejected} answered 429 at once (slowest "
        f"{b.rejected_max_ms:.0f} ms) instead of queueing.",
        "",
        f"Then {d.in_flight} requests (half streaming) in flight on a fresh server of that kind "
        f"({d.delay:g} s per answer), and SIGTERM: uvicorn closes the listening socket, lets "
        f"them finish (grace period {d.grace:g} s, `timeout_graceful_shutdown`), and the "
        f"process exits. {d.completed}/{d.in_flight} complete 200 answers (streams ending "
        f"`data: [DONE]`), exit status {d.exit_code} after {d.exit_seconds:.1f} s.",
        "",
        "### Targets",
        "",
        *_targets(report),
        "",
        "### Reading the numbers",
        "",
        *_interpretation(report),
    ]
    if report.quick:
        lines += [
            "",
            "This was a `--quick` smoke run (scripted scenario only, rounds of seconds): too "
            "short to trust the numbers.",
        ]
    return "\n".join(lines)
