"""``python -m bench guarantee``: the certified policy on held-out test targets.

Runs the live loop with the artifact's policy (τ, K, k, strategy; stopping at the first
accepted round) on ``deploy/calibration/tofu-proxy-test``: forget sets of TOFU authors
150-179, which no calibration query ever mentions. Each forget set's queries run against a
guard of that forget set, as in calibration. Every returned answer is labelled by the
reference judge: it leaks when it reveals a fact of the query's target, and it is right when
it holds the gold answer (unrelated and mixed questions).

The certificate is over targets, so the numbers are too: the forget-side leak rate is the
mean over test targets of each target's leak rate among its forget-related queries, with two
one-sided 95 % upper bounds computed over targets: Hoeffding-Bentkus on those per-target
rates, and Clopper-Pearson on the share of targets with any forget-side leak (which bounds
the mean from above). Results are cached per query, so an interrupted run resumes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from bench.doc import write_section
from bench.gateway.report import Machine
from bench.paths import CACHE as CACHE_ROOT
from bench.paths import DEMO_CONFIG, REPO
from bench.stats import percentile
from calibration.artifact import Artifact, fingerprint, read_artifact
from calibration.dataset import Query, read_dataset
from calibration.ltt import clopper_pearson_upper, hb_upper_bound
from calibration.reference_judge import holds_gold, leaks_target
from server.backends import Backend, create_backend
from server.config import ConfigError, Settings, load_settings
from server.guard import Guard
from server.guarded import query_request
from server.loop import UnlearningLoop
from server.refinement.base import tokenizer_of

CONFIG = DEMO_CONFIG
TEST_DATASET = REPO / "deploy" / "calibration" / "tofu-proxy-test"
CACHE = CACHE_ROOT / "guarantee"
ALPHA = 0.05  # one-sided 95 % upper bounds


@dataclass(frozen=True)
class Served:
    id: str
    kind: str
    group: str  # the query's target (the unit)
    status: str
    rounds: int
    leaks: bool
    right: bool | None  # holds the gold answer (None: the query has none)
    seconds: float

    @property
    def forget_related(self) -> bool:
        return self.kind in ("forget", "mixed")

    @classmethod
    def from_json(cls, record: dict[str, object]) -> Served:
        return cls(**record)  # type: ignore[arg-type]


def label(query: Query, status: str, text: str, facts: Sequence[str]) -> tuple[bool, bool | None]:
    """(leaks a fact of the query's target, holds its gold answer); a refusal never leaks."""
    if status == "refused":
        return False, False if query.gold else None
    leaks = leaks_target(query.user_text, text, facts)
    right = holds_gold(query.user_text, text, query.gold) if query.gold else None
    return leaks, right


@dataclass(frozen=True)
class OverTargets:
    """Leak rates of one kind of traffic, with upper bounds computed over targets."""

    targets: int
    queries: int
    leaks: int
    rate: float  # mean over targets of the per-target leak rate
    hb_upper: float  # one-sided 95 % HB bound on that mean
    leaky_targets: int  # targets with at least one leaking answer
    cp_upper: float  # one-sided 95 % Clopper-Pearson bound on the share of leaky targets


def over_targets(served: Sequence[Served]) -> OverTargets:
    by_target: dict[str, list[bool]] = {}
    for item in served:
        by_target.setdefault(item.group, []).append(item.leaks)
    rates = [sum(v) / len(v) for v in by_target.values()]
    n = len(rates)
    rate = sum(rates) / n if n else 0.0
    leaky = sum(1 for v in by_target.values() if any(v))
    return OverTargets(
        targets=n,
        queries=len(served),
        leaks=sum(s.leaks for s in served),
        rate=rate,
        hb_upper=hb_upper_bound(rate, n, ALPHA),
        leaky_targets=leaky,
        cp_upper=clopper_pearson_upper(leaky, n, ALPHA) if n else 1.0,
    )


def _cached(cache: Path) -> dict[str, Served]:
    if not cache.exists():
        return {}
    records = (Served.from_json(json.loads(line)) for line in cache.read_text().splitlines())
    return {record.id: record for record in records}


def _guard(settings: Settings, forget_set: Path, artifact: Path) -> Guard:
    """A guard of one test forget set under the demo's artifact (served even if stale: the
    section then says so)."""
    unlearning = settings.unlearning.model_copy(
        update={"forget_set": forget_set, "artifact": artifact, "allow_stale": True}
    )
    return Guard.required(
        settings.model_copy(update={"unlearning": unlearning}), "python -m bench guarantee"
    )


async def _serve_set(
    settings: Settings,
    backend: Backend,
    guard: Guard,
    queries: list[Query],
    sink: Path,
    done: dict[str, Served],
) -> bool:
    """Serve one forget set's queries; returns whether the artifact was stale for it."""
    active = guard.activate(backend.model_ids()[0])
    loop = UnlearningLoop(backend.generate, guard.check_all, active.loop, tokenizer_of(backend))
    facts = {t.id: t.facts for t in guard.forget_set.targets}
    limit = asyncio.Semaphore(2)
    progress = tqdm(total=len(queries), desc=f"serving {guard.forget_set.name}", unit="query")
    with sink.open("a", encoding="utf-8") as out, progress:

        async def one(query: Query) -> None:
            if query.id not in done:
                async with limit:
                    started = time.perf_counter()
                    outcome = await loop.run(query_request(settings, query.id, query.messages))
                    elapsed = time.perf_counter() - started
                refs = [f for t in query.targets for f in facts[t]]
                leaks, right = label(query, outcome.status, outcome.text, refs)
                served = Served(
                    query.id, query.kind, query.group, outcome.status, len(outcome.rounds),
                    leaks, right, elapsed,
                )  # fmt: skip
                out.write(json.dumps(asdict(served)) + "\n")
                out.flush()
                done[query.id] = served
            progress.update()

        await asyncio.gather(*(one(q) for q in queries))
    return active.stale


async def _serve_all(
    settings: Settings, artifact: Path, dataset: Path, cache: Path, quick: bool
) -> tuple[list[Served], bool]:
    data = read_dataset(dataset)
    done = _cached(cache)
    backend = create_backend(settings.backend)
    await backend.start()
    stale = False
    order: list[str] = []
    try:
        for name, queries in data.by_forget_set().items():
            chosen = queries[::7] if quick else queries
            order += [q.id for q in chosen]
            guard = _guard(settings, data.forget_sets[name], artifact)
            try:
                stale |= await _serve_set(settings, backend, guard, chosen, cache, done)
            finally:
                guard.close()
    finally:
        await backend.aclose()
    return [done[i] for i in order], stale


def _row(name: str, part: Sequence[Served]) -> str:
    stats = over_targets(part)
    rounds = [float(s.rounds) for s in part]
    seconds = [s.seconds for s in part]
    judged = [s.right for s in part if s.right is not None]
    right = f"{sum(judged) / len(judged):.3f}" if judged else "-"
    refused = sum(s.status == "refused" for s in part) / len(part)
    return (
        f"| {name} | {stats.targets} | {stats.queries} | {stats.leaks} | {stats.rate:.3f} "
        f"| {stats.hb_upper:.3f} | {stats.leaky_targets} | {stats.cp_upper:.3f} | {right} "
        f"| {refused:.3f} | {sum(rounds) / len(rounds):.2f} | {percentile(seconds, 50):.1f} "
        f"| {percentile(seconds, 95):.1f} |"
    )


def table(served: Sequence[Served]) -> list[str]:
    lines = [
        "| traffic | targets | queries | leaks | leak rate (mean over targets) | 95 % HB upper "
        "| targets with a leak | 95 % Clopper-Pearson upper (over targets) | answered right "
        "| refused | mean rounds (= generator calls) | p50 s | p95 s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, part in (
        ("forget-related", [s for s in served if s.forget_related]),
        ("mixed", [s for s in served if s.kind == "mixed"]),
        ("unrelated", [s for s in served if s.kind == "unrelated"]),
        ("all (marginal)", list(served)),
    ):
        if part:
            lines.append(_row(name, part))
    return lines


def verdicts(served: Sequence[Served], artifact: Artifact) -> list[str]:
    forget = over_targets([s for s in served if s.forget_related])
    marginal = over_targets(served)
    lines: list[str] = []
    if artifact.forget_epsilon is not None:
        met = forget.rate <= artifact.forget_epsilon
        lines.append(
            f"- Forget-side leak rate {forget.rate:.3f} over {forget.targets} test targets "
            f"against ε_f = {artifact.forget_epsilon}: {'met' if met else '**missed**'} (95 % "
            f"upper bounds over targets: HB {forget.hb_upper:.3f}, Clopper-Pearson "
            f"{forget.cp_upper:.3f})."
        )
    met = marginal.rate <= artifact.epsilon
    lines.append(
        f"- Marginal leak rate {marginal.rate:.3f} against ε = {artifact.epsilon}: "
        f"{'met' if met else '**missed**'} (95 % HB upper bound {marginal.hb_upper:.3f})."
    )
    return lines


def _policy_line(settings: Settings, artifact: Artifact, stale: bool) -> str:
    path = settings.unlearning.artifact
    where = path.relative_to(REPO) if path is not None and path.is_relative_to(REPO) else path
    unit = (
        f"over {artifact.n_targets} targets (ε = {artifact.epsilon}, ε_f = "
        f"{artifact.forget_epsilon}, δ = {artifact.delta})"
        if artifact.over_targets
        else f"per query (format {artifact.format}: ε = {artifact.epsilon}, δ = {artifact.delta})"
    )
    return (
        f"Policy from `{where}`: τ = {artifact.policy.threshold}, K = {artifact.policy.budget}, "
        f"k = {artifact.policy.candidates}, strategy `{artifact.policy.strategy}`, "
        f"{'certified' if artifact.passed else 'NOT certified'} {unit}"
        + (
            "; **stale for the test forget sets** (it pins another forget set or setup), "
            "so no certificate applies to these numbers."
            if stale
            else "."
        )
    )


def run_guarantee(output: Path, quick: bool) -> int:
    settings = load_settings(CONFIG)
    if settings.unlearning.artifact is None:
        raise ConfigError(f"{CONFIG} names no calibration artifact")
    artifact = read_artifact(settings.unlearning.artifact)
    key = fingerprint({"artifact": artifact.artifact_id(), "quick": quick})[7:19]
    cache = CACHE / key / "served.jsonl"
    cache.parent.mkdir(parents=True, exist_ok=True)
    served, stale = asyncio.run(
        _serve_all(settings, settings.unlearning.artifact, TEST_DATASET, cache, quick)
    )
    machine = Machine.current()
    body = [
        "## Guarantee",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine.cpu}, "
        f"{machine.cores} cores, Python {machine.python}. Command: `python -m bench "
        f"guarantee{' --quick' if quick else ''}`.",
        "",
        _policy_line(settings, artifact, stale),
        f"Test set: `{TEST_DATASET.relative_to(REPO)}`, {len(served)} queries about held-out "
        "TOFU authors (150-179) that no calibration query mentions, each forget set checked by "
        "its own guard. A returned answer leaks when the reference judge finds a fact of the "
        "query's target in it (any fact, not only the asked one); refusals never leak. Rates "
        "are means over targets of per-target rates; the bounds are computed over targets.",
        "",
        *table(served),
        "",
        *verdicts(served, artifact),
    ]
    write_section(output, "guarantee", "\n".join(body))
    return 0
