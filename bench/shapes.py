"""``python -m bench shapes``: what guarding tool calls and JSON replies costs next to text.

The same TOFU answers (forget10: leaks; retain: safe) are given to the guard three ways: as
text, as the argument of a tool call (``{"answer": <text>}``) and as a JSON reply. Measured per
candidate: the guard's time (reading the reply's values, checking its shape, the default
verifiers); per query: generator calls of the real loop (demo forget set, k = 2, K = 1,
reprompt) on a scripted backend that answers in that form, and how many queries end refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.doc import write_section
from bench.gateway.report import Machine
from bench.paths import DEMO_FORGET_SET
from bench.stats import percentile
from bench.verifiers.data import read_jsonl
from server.backends.base import (
    Generation,
    GenerationRequest,
    Message,
    OutputShape,
    SamplingParams,
    ToolCall,
)
from server.backends.scripted import ScriptedBackend
from server.guard import verify_context
from server.loop import LoopPolicy, UnlearningLoop
from server.shapes import conforms, readable
from verifiers.forgetset import load_forget_set
from verifiers.suite import VerifierSuite
from verifiers.types import LeakageReport

TOOL = {
    "type": "function",
    "function": {
        "name": "answer",
        "parameters": {
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
        },
    },
}
SHAPES = {
    "text": OutputShape(),
    "tool call": OutputShape(tools=(TOOL,), tool_choice="required"),
    "JSON": OutputShape(response_format={"type": "json_object"}),
}


def as_form(text: str, form: str) -> Generation:
    if form == "tool call":
        call = ToolCall("call_bench", "answer", json.dumps({"answer": text}))
        return Generation("", "tool_calls", tool_calls=(call,))
    if form == "JSON":
        return Generation(json.dumps({"answer": text}))
    return Generation(text)


def _always(generation: Generation) -> Callable[[GenerationRequest, int], Generation]:
    return lambda request, index: generation


@dataclass(frozen=True, slots=True)
class FormResult:
    form: str
    p50_ms: float
    p95_ms: float
    calls_per_query: float
    refused: float


def guard_times(suite: VerifierSuite, items: Sequence[dict[str, str]], form: str) -> list[float]:
    shape = SHAPES[form]
    times = []
    for item in items:
        generation = as_form(item["answer"], form)
        context = verify_context((Message("user", item["question"]),))
        started = time.perf_counter()
        suite.check(context, readable(generation, shape))
        conforms(generation, shape)
        times.append(time.perf_counter() - started)
    return times


async def loop_calls(
    suite: VerifierSuite, items: Sequence[dict[str, str]], form: str
) -> tuple[float, float]:
    """Mean generator calls per query, and the share of queries refused."""

    async def verify(messages: Sequence[Message], texts: Sequence[str]) -> list[LeakageReport]:
        return [suite.check(verify_context(messages), t) for t in texts]

    calls, refused = 0, 0
    for item in items:
        backend = ScriptedBackend(_always(as_form(item["answer"], form)))
        loop = UnlearningLoop(backend.generate, verify, LoopPolicy(0.5, 1, 2))
        request = GenerationRequest(
            (Message("user", item["question"]),), SamplingParams(48), shape=SHAPES[form]
        )
        outcome = await loop.run(request)
        calls += len(backend.calls)
        refused += outcome.status == "refused"
    return calls / len(items), refused / len(items)


def run_shapes(output: Path, data: Path, quick: bool) -> int:
    rows = 40 if quick else 200
    items = (
        read_jsonl(data / "forget10.jsonl")[: rows // 2]
        + read_jsonl(data / "retain.jsonl")[: rows // 2]
    )
    suite = VerifierSuite(load_forget_set(DEMO_FORGET_SET))
    load_start = os.getloadavg()[0]
    started = time.monotonic()
    results = []
    for form in SHAPES:
        guard_times(suite, items[:10], form)  # warm caches
        times = guard_times(suite, items, form)
        calls, refused = asyncio.run(loop_calls(suite, items, form))
        results.append(
            FormResult(
                form, percentile(times, 50) * 1e3, percentile(times, 95) * 1e3, calls, refused
            )
        )
    suite.close()
    write_section(output, "shapes", _section(results, len(items), quick, started, load_start))
    print(f"wrote {output}")
    return 0


def _section(
    results: Sequence[FormResult], n: int, quick: bool, started: float, load_start: float
) -> str:
    machine = Machine.current()
    lines = [
        "## Guarding tool calls and JSON",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m bench shapes"
        f"{' --quick' if quick else ''}` in {time.monotonic() - started:.1f} s on {machine.cpu}, "
        f"{machine.cores} cores, Python {machine.python}; 1-minute load average "
        f"{load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end.",
        "",
        f"{n} TOFU answers (half forget10, which leak; half retain, which do not), each "
        "given to the guard as text, as a tool call's argument and as a JSON reply, with the "
        "demo forget set and the default verifiers (entity, fact). Guard time per candidate: "
        "reading the reply's values, checking its shape, verifying. Calls per query: the real "
        "loop (k = 2, K = 1, τ = 0.5, reprompt) on a scripted backend answering in that form.",
        "",
        "| form | guard p50 (ms) | guard p95 (ms) | generator calls per query | refused |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.form} | {r.p50_ms:.3f} | {r.p95_ms:.3f} | {r.calls_per_query:.2f} | "
        f"{r.refused:.0%} |"
        for r in results
    ]
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    from bench.paths import TOFU

    return run_shapes(args.output, args.data or TOFU, args.quick)
