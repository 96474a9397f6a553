"""``python -m bench verifiers``: how well and how fast the verifier tiers separate leaks from safe
answers. Writes the ``verifiers`` section of docs/BENCHMARKS.md.

Measured, in one run: verbatim TOFU leaks (labelled by the reference judge), the hand-labelled
paraphrase sets, false flags on gold answers that must stay allowed, per-candidate latency,
and the lexical tier on a synthetic 10,000-target forget set.
"""

from __future__ import annotations

import gc
import math
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from bench.doc import write_section
from bench.paths import DEMO_FORGET_SET
from bench.stats import median, percentile
from bench.verifiers.data import (
    PARAPHRASE_DIR,
    Item,
    VerbatimSet,
    chat_items,
    default_data_dir,
    every_nth,
    every_nth_items,
    gold_items,
    hard_items,
    other_forget_set,
    paraphrase_items,
    read_jsonl,
    synthetic_candidates,
    synthetic_forget_set,
    timing_items,
    verbatim_set,
)
from bench.verifiers.report import (
    BenchResults,
    Latency,
    Machine,
    Scaling,
    Scored,
    render,
)
from bench.verifiers.sets import HELD_OUT_HARD_SETS, SCORED_OTHER_SETS
from verifiers.forgetset import ForgetSet, load_forget_set
from verifiers.suite import SuiteConfig, VerifierSuite

TIERS: dict[str, tuple[str, ...]] = {
    "entity": ("entity",),
    "fact": ("fact",),
    "lexical": ("entity", "fact"),
    "semantic": ("semantic",),
    # What `make run` serves (deploy/demo.yaml) and the `unlearning.verifiers` default.
    "default": ("entity", "fact", "semantic"),
}
WARMUP = 20
SCALING_CANDIDATES = 300


@dataclass(frozen=True, slots=True)
class Plan:
    verbatim_rows: int | None  # None: all 300
    dev_set: bool
    timing_repeats: int
    synthetic_targets: int
    gold_rows: int | None  # per gold file; None: all


FULL = Plan(None, True, 3, 10_000, None)
QUICK = Plan(60, False, 1, 500, 40)


@dataclass
class RunLog:
    """When the run started and how many checks failed closed; one stderr line per step."""

    started: float = field(default_factory=time.monotonic)
    failures: int = 0

    def show(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        tqdm.write(f"[verifiers {elapsed:6.1f}s] {message}", file=sys.stderr)


# The serving timeout (5 s) turns a slow check into a leak, which is right online; here it
# would let a busy machine change quality numbers, so only real errors fail closed.
BENCH_TIMEOUT_S = 120.0


def build_suite(forget_set: ForgetSet, tier: str) -> VerifierSuite:
    return VerifierSuite(forget_set, SuiteConfig(verifiers=TIERS[tier], timeout_s=BENCH_TIMEOUT_S))


def score_items(suite: VerifierSuite, items: Sequence[Item], ui: RunLog) -> Scored:
    """Every item's leakage score and flag; checks that failed closed are counted."""
    scores: list[float] = []
    flags: list[bool] = []
    for item in items:
        report = suite.check(item.context(), item.answer)
        scores.append(report.score)
        flags.append(report.flagged)
        ui.failures += report.failed
    return Scored(tuple(items), tuple(scores), tuple(flags))


def score_all(
    suites: dict[str, VerifierSuite], datasets: dict[str, Sequence[Item]], ui: RunLog
) -> dict[str, dict[str, Scored]]:
    """``{dataset: {tier: Scored}}`` for every dataset and tier."""
    results: dict[str, dict[str, Scored]] = {}
    for name, items in datasets.items():
        ui.show(f"scoring {name} ({len(items)} answers) on {len(suites)} tiers")
        results[name] = {tier: score_items(suite, items, ui) for tier, suite in suites.items()}
    return results


def score_other_forget_sets(ui: RunLog) -> dict[str, dict[str, Scored]]:
    """The hard sets written for other forget sets, each scored with suites of its own set."""
    results: dict[str, dict[str, Scored]] = {}
    for name in SCORED_OTHER_SETS:
        forget_set = other_forget_set(name)
        suites = {tier: build_suite(forget_set, tier) for tier in TIERS}
        results.update(score_all(suites, {name: hard_items(PARAPHRASE_DIR / f"{name}.jsonl")}, ui))
        for suite in suites.values():
            suite.close()
    return results


def time_checks(suite: VerifierSuite, items: Sequence[Item], warmup: Sequence[Item]) -> list[float]:
    """Milliseconds of ``suite.check`` per item, after checking ``warmup`` untimed."""
    for item in warmup:
        suite.check(item.context(), item.answer)
    latencies: list[float] = []
    for item in items:
        context = item.context()
        started = time.perf_counter()
        suite.check(context, item.answer)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def measure_latency(
    forget_set: ForgetSet,
    items: Sequence[Item],
    warmup: Sequence[Item],
    repeats: int,
    ui: RunLog,
) -> dict[str, Latency]:
    """Per tier, ``repeats`` timed passes, each on a freshly built suite (cold caches)."""
    results: dict[str, Latency] = {}
    for tier in TIERS:
        p50s: list[float] = []
        p95s: list[float] = []
        builds: list[float] = []
        for repeat in range(repeats):
            started = time.perf_counter()
            suite = build_suite(forget_set, tier)
            builds.append(time.perf_counter() - started)
            latencies = time_checks(suite, items, warmup)
            suite.close()
            p50s.append(percentile(latencies, 50))
            p95s.append(percentile(latencies, 95))
            ui.show(f"latency {tier} run {repeat + 1}/{repeats}: p50 {p50s[-1]:.2f} ms")
        results[tier] = Latency(tuple(p50s), tuple(p95s), median(builds))
    return results


def rss_mib() -> float:
    """Resident set size of this process (VmRSS), in MiB; NaN where /proc is missing."""
    try:
        status = Path("/proc/self/status").read_text(encoding="utf-8")
    except OSError:
        return math.nan
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def traced_peak_mib(forget_set: ForgetSet) -> float:
    """tracemalloc's peak while building the lexical suite (a second, traced build)."""
    gc.collect()
    tracemalloc.start()
    try:
        suite = build_suite(forget_set, "lexical")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    suite.close()
    return peak / 2**20


def scaling_candidates(forget_set: ForgetSet, tofu: Sequence[Item]) -> list[Item]:
    half = SCALING_CANDIDATES // 2
    return [*every_nth_items(tofu, half), *synthetic_candidates(forget_set, half)]


def measure_scaling(
    n_targets: int, demo: ForgetSet, tofu: Sequence[Item], warmup: Sequence[Item], ui: RunLog
) -> Scaling:
    """Lexical tier on ``n_targets`` synthetic targets vs the demo set, same candidates."""
    ui.show(f"scaling: building a synthetic forget set of {n_targets} targets")
    forget_set = synthetic_forget_set(n_targets)
    candidates = scaling_candidates(forget_set, tofu)
    gc.collect()
    rss_before = rss_mib()
    started = time.perf_counter()
    suite = build_suite(forget_set, "lexical")
    build_s = time.perf_counter() - started
    rss_delta = rss_mib() - rss_before
    ui.show(f"scaling: lexical suite built in {build_s:.2f} s, timing {len(candidates)} checks")
    large = time_checks(suite, candidates, warmup)
    suite.close()
    del suite
    peak = traced_peak_mib(forget_set)
    small_suite = build_suite(demo, "lexical")
    small = time_checks(small_suite, candidates, warmup)
    small_suite.close()
    return Scaling(
        n_targets=n_targets,
        n_facts=sum(len(t.facts) for t in forget_set),
        n_candidates=len(candidates),
        build_s=build_s,
        rss_delta_mib=rss_delta,
        traced_peak_mib=peak,
        p50_ms=percentile(large, 50),
        p95_ms=percentile(large, 95),
        demo_targets=len(demo),
        demo_p50_ms=percentile(small, 50),
        demo_p95_ms=percentile(small, 95),
    )


def semantic_runtime() -> str:
    """Which runtime the semantic tier's encoder used (ONNX Runtime or PyTorch)."""
    from verifiers.embedding import OnnxEncoder, load_encoder

    return "onnxruntime" if isinstance(load_encoder(None, "auto"), OnnxEncoder) else "pytorch"


def torch_threads() -> int | None:
    """Intra-op threads of torch, if a semantic tier loaded it (it shapes the latencies)."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


def _command(output: Path, data_dir: Path, quick: bool) -> str:
    parts = ["python", "-m", "bench", "verifiers"]
    if quick:
        parts.append("--quick")
    if output != Path("docs/BENCHMARKS.md"):
        parts += ["--output", str(output)]
    if data_dir.resolve() != default_data_dir().resolve():
        parts += ["--data", str(data_dir)]
    return " ".join(parts)


def _datasets(plan: Plan, verbatim: VerbatimSet, data_dir: Path) -> dict[str, Sequence[Item]]:
    datasets: dict[str, Sequence[Item]] = {
        "verbatim": verbatim.items,
        "paraphrase_test": paraphrase_items(PARAPHRASE_DIR / "paraphrase_test.jsonl"),
        **{name: hard_items(PARAPHRASE_DIR / f"{name}.jsonl") for name in HELD_OUT_HARD_SETS},
    }
    if plan.dev_set:
        datasets["paraphrase_dev"] = paraphrase_items(PARAPHRASE_DIR / "paraphrase_dev.jsonl")
        datasets["hard_dev"] = hard_items(PARAPHRASE_DIR / "hard_dev.jsonl")
    datasets.update(gold_items(data_dir, plan.gold_rows))
    datasets["chats"] = chat_items(data_dir, plan.gold_rows)
    return datasets


def run_verifier_bench(output: Path, data_dir: Path | None = None, quick: bool = False) -> int:
    """Run every measurement and write the ``verifiers`` section of ``output``.

    Returns 1 when a check failed closed (error or timeout) anywhere, else 0; missed targets
    are reported in the section, not in the exit code.
    """
    data_dir = data_dir or default_data_dir()
    plan = QUICK if quick else FULL
    ui = RunLog()
    machine = Machine.current()
    demo = load_forget_set(DEMO_FORGET_SET)
    gold = read_jsonl(data_dir / "forget10.jsonl")
    rows = every_nth(gold, plan.verbatim_rows)
    verbatim = verbatim_set(rows, gold)
    ui.show(
        f"verbatim: {len(verbatim.positives)} leaking / {len(verbatim.negatives)} safe "
        f"answers from {verbatim.rows} rows"
    )
    datasets = _datasets(plan, verbatim, data_dir)
    ui.show("building one suite per tier (semantic loads MiniLM)")
    suites = {tier: build_suite(demo, tier) for tier in TIERS}
    scored = score_all(suites, datasets, ui)
    for suite in suites.values():
        suite.close()
    scored.update(score_other_forget_sets(ui))
    warmup = [
        Item(str(row["id"]), str(row["question"]), str(row["gen_knows"]), False)
        for row in read_jsonl(data_dir / "retain.jsonl")[:WARMUP]
    ]
    timed = timing_items(rows)
    latency = measure_latency(demo, timed, warmup, plan.timing_repeats, ui)
    scaling = measure_scaling(plan.synthetic_targets, demo, timing_items(gold), warmup, ui)
    results = BenchResults(
        command=_command(output, data_dir, quick),
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine,
        quick=quick,
        minutes=(time.monotonic() - ui.started) / 60,
        tiers=TIERS,
        verbatim=verbatim,
        scored=scored,
        timed_candidates=len(timed),
        warmup=len(warmup),
        timing_repeats=plan.timing_repeats,
        latency=latency,
        scaling=scaling,
        failures=ui.failures,
        torch_threads=torch_threads(),
        semantic_runtime=semantic_runtime(),
        load_end=Machine.current().load,
    )
    write_section(output, "verifiers", render(results))
    ui.show(f"wrote {output}" + (f" ({ui.failures} checks failed closed)" if ui.failures else ""))
    return 1 if ui.failures else 0


__all__ = [
    "FULL",
    "QUICK",
    "TIERS",
    "Plan",
    "default_data_dir",
    "run_verifier_bench",
]
