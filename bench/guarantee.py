"""``python -m bench guarantee``: the certified policy on the held-out TOFU test split.

Runs the live loop (the artifact's τ, K, k, strategy; stopping at the first accepted round)
on queries about authors never used in calibration, labels every returned answer with the
reference judge, and reports the empirical leak rate with its Clopper-Pearson interval
against ε, refusals of unrelated queries, and rounds and generator calls per query —
separately for forget-related and unrelated traffic. Results are cached per query, so an
interrupted run resumes.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from bench.doc import write_section
from bench.gateway.report import Machine
from bench.paths import CACHE as CACHE_ROOT
from bench.paths import DEMO_CONFIG, REPO
from bench.stats import percentile
from calibration.artifact import fingerprint, read_artifact
from calibration.dataset import Query, read_queries
from calibration.ltt import clopper_pearson_upper
from calibration.reference_judge import reference_judge
from server.backends import create_backend
from server.config import ConfigError, load_settings
from server.guard import Guard
from server.guarded import query_request
from server.loop import UnlearningLoop

CONFIG = DEMO_CONFIG
TEST_QUERIES = REPO / "deploy" / "calibration" / "tofu-test.jsonl"
CACHE = CACHE_ROOT / "guarantee"


@dataclass(frozen=True)
class Served:
    id: str
    kind: str
    status: str
    rounds: int
    leaks: bool
    seconds: float

    @classmethod
    def from_json(cls, record: dict[str, object]) -> Served:
        return cls(**record)  # type: ignore[arg-type]


def _cached(cache: Path) -> dict[str, Served]:
    if not cache.exists():
        return {}
    records = (Served.from_json(json.loads(line)) for line in cache.read_text().splitlines())
    return {record.id: record for record in records}


async def _serve_all(
    queries: list[Query], cache: Path, done: dict[str, Served], concurrency: int
) -> list[Served]:
    settings = load_settings(CONFIG)
    guard = Guard.required(settings, "python -m bench guarantee")
    backend = create_backend(settings.backend)
    await backend.start()
    try:
        active = guard.activate(backend.model_ids()[0])
        loop = UnlearningLoop(backend.generate, guard.check_all, active.loop)
        progress = tqdm(
            total=len(queries), initial=len(done), desc="serving the test split", unit="query"
        )
        limit = asyncio.Semaphore(concurrency)
        with cache.open("a", encoding="utf-8") as sink:

            async def one(query: Query) -> None:
                async with limit:
                    started = time.perf_counter()
                    outcome = await loop.run(query_request(settings, query.id, query.messages))
                    elapsed = time.perf_counter() - started
                leaks = outcome.status != "refused" and bool(
                    query.reference
                    and reference_judge(query.question, outcome.text, query.reference).leaks
                )
                served = Served(
                    query.id, query.kind, outcome.status, len(outcome.rounds), leaks, elapsed
                )
                sink.write(json.dumps(served.__dict__) + "\n")
                sink.flush()
                done[query.id] = served
                progress.update()

            await asyncio.gather(*(one(q) for q in queries if q.id not in done))
        progress.close()
    finally:
        await backend.aclose()
        guard.close()
    return [done[q.id] for q in queries]


def _rows(served: list[Served], epsilon: float, delta: float) -> list[str]:
    lines = [
        "| traffic | n | leaks | leak rate | 95 % Clopper-Pearson upper | refused | mean rounds "
        "(= generator calls) | p95 rounds | p50 s | p95 s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, part in (
        ("all", served),
        ("forget-related", [s for s in served if s.kind == "forget"]),
        ("unrelated", [s for s in served if s.kind == "unrelated"]),
    ):
        if not part:
            continue
        leaks = sum(s.leaks for s in part)
        rounds = [float(s.rounds) for s in part]
        seconds = [s.seconds for s in part]
        lines.append(
            f"| {name} | {len(part)} | {leaks} | {leaks / len(part):.3f} | "
            f"{clopper_pearson_upper(leaks, len(part), 0.05):.3f} | "
            f"{sum(s.status == 'refused' for s in part) / len(part):.3f} | "
            f"{sum(rounds) / len(rounds):.2f} | {percentile(rounds, 95):.0f} | "
            f"{percentile(seconds, 50):.1f} | {percentile(seconds, 95):.1f} |"
        )
    return lines


def _machine() -> str:
    machine = Machine.current()
    return f"{machine.cpu}, {machine.cores} cores, Python {machine.python}"


def run_guarantee(output: Path, quick: bool) -> int:
    settings = load_settings(CONFIG)
    if settings.unlearning.artifact is None:
        raise ConfigError(f"{CONFIG} names no calibration artifact")
    artifact = read_artifact(settings.unlearning.artifact)
    queries = read_queries(TEST_QUERIES)
    if quick:
        queries = queries[::40]
    key = fingerprint({"artifact": artifact.artifact_id(), "quick": quick})[7:19]
    cache = CACHE / key / "served.jsonl"
    cache.parent.mkdir(parents=True, exist_ok=True)
    served = asyncio.run(_serve_all(queries, cache, _cached(cache), concurrency=2))
    total_leaks = sum(s.leaks for s in served)
    upper = clopper_pearson_upper(total_leaks, len(served), 0.05)
    unrelated = [s for s in served if s.kind == "unrelated"]
    calls = sum(s.rounds for s in unrelated) / max(len(unrelated), 1)
    body = [
        "## Guarantee",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {_machine()}. "
        f"Command: `python -m bench guarantee`{' --quick' if quick else ''}.",
        "",
        f"Policy from `{settings.unlearning.artifact.relative_to(REPO)}`: τ = "
        f"{artifact.policy.threshold}, K = {artifact.policy.budget}, k = "
        f"{artifact.policy.candidates}, strategy `{artifact.policy.strategy}`, certified at "
        f"ε = {artifact.epsilon}, δ = {artifact.delta} from n = {artifact.n} calibration queries "
        f"({'certified' if artifact.passed else 'NOT certified'}). Test split: "
        f"`deploy/calibration/tofu-test.jsonl`, {len(served)} queries about authors never used "
        "in calibration (forget authors 188-194 with their facts in a retrieved-notes system "
        "prompt; retain authors 8-14 likewise; half of real_authors and world_facts). A returned "
        "answer leaks when the reference judge says it reveals the gold answer; refusals never "
        "leak.",
        "",
        *_rows(served, artifact.epsilon, artifact.delta),
        "",
        f"- Empirical leak rate {total_leaks}/{len(served)} = {total_leaks / len(served):.3f} "
        f"(95 % upper bound {upper:.3f}) against ε = {artifact.epsilon}: "
        f"{'met' if total_leaks / len(served) <= artifact.epsilon else '**missed**'}.",
        f"- Unrelated queries cost {calls:.2f} generator calls on average (target ≤ 1.1): "
        f"{'met' if calls <= 1.1 else '**missed**'}.",
    ]
    write_section(output, "guarantee", "\n".join(body))
    return 0
