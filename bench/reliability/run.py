"""``python -m bench reliability``: hold under load, backpressure, graceful shutdown.

1. Load: a guarded ``lethe serve`` process on the instant scripted backend, then one on the
   embedded model, each driven by many concurrent clients sending plain and streaming chat
   requests (some hanging up mid-stream) for two identical rounds; status counts, latency,
   and the server's RSS before, between and after the rounds.
2. Backpressure: ``server.max_in_flight`` N answers 429 with Retry-After beyond N.
3. Graceful shutdown: SIGTERM with requests in flight; all finish, the process exits 0.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Never

from tqdm import tqdm

from bench.doc import write_section
from bench.gateway.report import Machine
from bench.gateway.run import bar, note, prompts
from bench.load.fixed import run_sync
from bench.load.mixed import DEFAULT_PATTERN, Kind, MixedResult, chat_body, run_mixed
from bench.paths import DEMO_CONFIG, DEMO_FORGET_SET
from bench.processes import lethe_serve_process
from bench.reliability.checks import check_backpressure, check_drain
from bench.reliability.report import (
    RSS_GROWTH_LIMIT,
    ReliabilityReport,
    Round,
    Scenario,
    render_reliability,
)
from calibration.artifact import PolicyChoice, read_artifact
from server.config import ServerSettings, load_settings

FORGET_SET = DEMO_FORGET_SET


@dataclass(frozen=True, slots=True)
class Plan:
    clients: int
    seconds: float
    model_clients: int
    model_seconds: float
    rounds: int
    max_tokens: int
    limit: int
    """``server.max_in_flight`` of the backpressure check."""
    burst: int
    """Concurrent requests of the backpressure check."""
    drain: int
    """Requests in flight at SIGTERM."""


FULL = Plan(200, 60.0, 200, 60.0, rounds=2, max_tokens=16, limit=4, burst=12, drain=8)
QUICK = Plan(20, 5.0, 0, 0.0, rounds=2, max_tokens=16, limit=4, burst=12, drain=8)
"""A smoke run of a few seconds: the scripted scenario only (no model scenario)."""


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    name: str
    setup: str
    config: Path
    env: dict[str, str]
    clients: int
    seconds: float


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of process ``pid`` from /proc/PID/status, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def bodies(max_tokens: int, count: int = 100) -> list[tuple[Kind, bytes]]:
    """``count`` distinct prompts, the kinds following :data:`DEFAULT_PATTERN`."""
    kinds = [DEFAULT_PATTERN[i % len(DEFAULT_PATTERN)] for i in range(count)]
    return [
        (kind, chat_body(prompt, max_tokens, kind != "plain"))
        for kind, prompt in zip(kinds, prompts(count), strict=True)
    ]


def scripted_spec(logs: Path, plan: Plan) -> ScenarioSpec:
    config = logs / "scripted-guarded.yaml"
    config.write_text(
        "# python -m bench reliability: instant scripted backend behind the demo forget set\n"
        f"backend:\n  kind: scripted\nunlearning:\n  forget_set: {FORGET_SET}\n"
        "  verifiers: [entity, fact]\n"
    )
    setup = (
        "`backend.kind: scripted` (answers instantly with one canned sentence), the demo "
        "forget set with the `entity` and `fact` verifiers and the loop settings from "
        "`unlearning.*` (the demo artifact is calibrated for the embedded model, so it is "
        "not loaded here)."
    )
    return ScenarioSpec("scripted", setup, config, {}, plan.clients, plan.seconds)


def _policy(choice: PolicyChoice) -> str:
    return (
        f"τ {choice.threshold:g}, K {choice.budget}, {choice.candidates} candidates per answer, "
        f"{choice.strategy}"
    )


def model_spec(logs: Path, plan: Plan, backend_url: str | None) -> ScenarioSpec:
    max_tokens, load = plan.max_tokens, (plan.model_clients, plan.model_seconds)
    if backend_url is None:
        settings = load_settings(DEMO_CONFIG)
        artifact = settings.unlearning.artifact
        policy = (
            "no artifact"
            if artifact is None
            else f"its calibrated artifact ({_policy(read_artifact(artifact).policy)})"
        )
        setup = (
            "`--config deploy/demo.yaml` as shipped: the embedded SmolLM2-135M "
            f"(`backend.kind: llamacpp`, `pool_size: {settings.backend.llamacpp.pool_size}`), "
            f"the demo forget set and {policy}; max_tokens {max_tokens}."
        )
        return ScenarioSpec("embedded model", setup, DEMO_CONFIG, {}, *load)
    config = logs / "upstream-guarded.yaml"
    config.write_text(f"unlearning:\n  forget_set: {FORGET_SET}\n  verifiers: [entity, fact]\n")
    env = {"LETHE_BACKEND__KIND": "openai", "LETHE_BACKEND__UPSTREAM__BASE_URL": backend_url}
    setup = (
        f"`backend.kind: openai` in front of `{backend_url}`, the demo forget set (no "
        f"artifact); max_tokens {max_tokens}."
    )
    return ScenarioSpec("upstream", setup, config, env, *load)


def _progress(
    shown: tqdm[Never], label: str, seconds: float
) -> Callable[[MixedResult, float], None]:
    """Moves ``shown`` (seconds of the round) with the counts so far; with no terminal to
    show it on, writes them as a line instead, so a log shows a round that hangs."""

    def show(result: MixedResult, elapsed: float) -> None:
        errors = sum(result.count(o) for o in ("server_error", "incomplete", "lost"))
        when = (
            f"{elapsed:.0f}/{seconds:g} s"
            if elapsed < seconds
            else f"draining {result.issued - len(result.records)} in progress"
        )
        counts = (
            f"{len(result.records)} responses: {result.count('ok')} complete, "
            f"{result.count('rejected')} × 429, {result.count('aborted')} hung up, {errors} errors"
        )
        if shown.disable:
            note(f"{label}: {when}, {counts}")
        else:
            shown.update(min(elapsed, seconds) - shown.n)
            shown.set_postfix_str(counts if elapsed < seconds else f"{when}, {counts}")

    return show


def run_scenario(spec: ScenarioSpec, plan: Plan, logs: Path) -> Scenario:
    """Two (``plan.rounds``) identical rounds against one server; RSS around them."""
    load = bodies(plan.max_tokens)
    log = logs / f"lethe_{spec.name.replace(' ', '_')}.log"
    note(f"{spec.name}: starting lethe serve ({spec.config.name})")
    serve = lethe_serve_process(config=spec.config, env=spec.env, log=log, ready_timeout=180)
    with serve as (url, process):
        before = rss_mib(process.pid)
        rounds = []
        for number in range(1, plan.rounds + 1):
            label = f"{spec.name} round {number}/{plan.rounds}"
            with bar(spec.seconds, label, "s") as shown:
                # A bar is cheap to move each second; log lines come every few seconds.
                every = 1.0 if not shown.disable else 10.0 if spec.seconds > 20 else 2.0
                result = run_sync(
                    run_mixed(
                        f"{url}/v1/chat/completions",
                        load,
                        clients=spec.clients,
                        duration=spec.seconds,
                        progress=_progress(shown, label, spec.seconds),
                        progress_every=every,
                    )
                )
            rounds.append(Round.of(result, spec.clients, spec.seconds, rss_mib(process.pid)))
            r = rounds[-1]
            note(
                f"{label}: {r.throughput:.1f} req/s, p50 {r.p50_ms:.0f} ms, p99 "
                f"{r.p99_ms:.0f} ms, {r.rejected} × 429, {r.server_error} 5xx, {r.lost} lost, "
                f"RSS {r.rss_after_mib:.1f} MiB"
            )
        peak = rss_mib(process.pid, "VmHWM")
    return Scenario(
        name=spec.name,
        setup=spec.setup,
        max_in_flight=ServerSettings().max_in_flight,
        rss_before_mib=before,
        rss_peak_mib=peak,
        rounds=rounds,
    )


def _command(args: argparse.Namespace) -> str:
    parts = ["python", "-m", "bench", "reliability"]
    if args.quick:
        parts.append("--quick")
    if args.output != Path("docs/BENCHMARKS.md"):
        parts += ["--output", str(args.output)]
    if getattr(args, "backend_url", None):
        parts += ["--backend-url", args.backend_url]
    return " ".join(parts)


def failures(report: ReliabilityReport) -> int:
    """How many targets were missed (the exit status is 1 when any was)."""
    rounds = [r for s in report.scenarios for r in s.rounds]
    return sum(
        (
            any(r.server_error or r.lost or r.incomplete for r in rounds),
            any(r.rejected_without_retry_after for r in rounds),
            not all(s.growth <= RSS_GROWTH_LIMIT for s in report.scenarios),
            not report.backpressure.met,
            not report.drain.met,
        )
    )


def run_reliability(args: argparse.Namespace) -> int:
    """Run every measurement, write the ``reliability`` section of ``args.output``."""
    plan = QUICK if args.quick else FULL
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="lethe-reliability-") as tmp:
        logs = Path(tmp)
        note(f"backpressure: {plan.burst} requests at once, max_in_flight {plan.limit}")
        backpressure = check_backpressure(logs, plan.limit, plan.burst, retry_after=2)
        note(f"backpressure: {backpressure.ok} × 200, {backpressure.rejected} × 429")
        note(f"graceful shutdown: SIGTERM with {plan.drain} requests in flight")
        drain = check_drain(logs, plan.drain)
        note(f"graceful shutdown: {drain.completed}/{drain.in_flight} complete, exit status "
                f"{drain.exit_code} after {drain.exit_seconds:.1f} s")  # fmt: skip
        specs = [scripted_spec(logs, plan)]
        if plan.model_clients:
            specs.append(model_spec(logs, plan, getattr(args, "backend_url", None)))
        scenarios = [run_scenario(spec, plan, logs) for spec in specs]
    report = ReliabilityReport(
        command=_command(args),
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=Machine.current(),
        quick=args.quick,
        minutes=(time.monotonic() - started) / 60,
        load_average=(load_before, os.getloadavg()[0]),
        scenarios=scenarios,
        backpressure=backpressure,
        drain=drain,
    )
    write_section(args.output, "reliability", render_reliability(report))
    missed = failures(report)
    note(f"wrote {args.output}" + (f" ({missed} targets missed)" if missed else ""))
    return 1 if missed else 0


__all__ = ["FULL", "QUICK", "Plan", "rss_mib", "run_reliability"]
