"""``lethe calibrate``: record the real loop on calibration queries, then certify a policy.

Each query runs once through the loop with every round recorded (``record_all``), its
candidates labelled by the reference judge. Records are cached on disk under a key of
everything that shapes them, so an interrupted run resumes and a re-run only re-evaluates.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from calibration.artifact import Artifact, PolicyChoice, fingerprint, now, statement, write_artifact
from calibration.dataset import Query, read_queries
from calibration.evaluate import (
    DEFAULT_THRESHOLDS,
    Calibration,
    QueryRecord,
    calibrate,
    read_records,
)
from calibration.judge import judge
from calibration.ltt import check_sample_size
from calibration.records import RoundRecord
from calibration.report import write_report
from server.backends import Backend, GenerationRequest, Message, SamplingParams, create_backend
from server.config import ConfigError, Settings
from server.guard import Guard, GuardConfigError
from server.metrics import Metrics
from server.policy import current_fingerprints
from server.refine import LoopPolicy, Strategy, UnlearningLoop


@dataclass(frozen=True)
class CalibrateOptions:
    queries: Path
    artifact: Path
    report: Path
    epsilon: float = 0.05
    delta: float = 0.05
    max_budget: int = 3
    candidates: int = 2
    strategy: Strategy = "reprompt"
    concurrency: int = 2
    cache_dir: Path = Path(".lethe-cache/calibrate")


def _guard(settings: Settings) -> Guard:
    guard = Guard.from_settings(settings.unlearning, Metrics())
    if guard is None:
        raise ConfigError("lethe calibrate needs unlearning.forget_set in the configuration")
    return guard


def _seed(query_id: str) -> int:
    return int(fingerprint(query_id)[7:15], 16)


def _call(settings: Settings, query: Query) -> GenerationRequest:
    sampling = SamplingParams(
        max_tokens=settings.generation.default_max_tokens,
        temperature=settings.unlearning.temperature,
        top_p=settings.unlearning.top_p,
        seed=_seed(query.id),
    )
    messages = tuple(Message(role, content) for role, content in query.messages)  # type: ignore[arg-type]
    return GenerationRequest(messages, sampling, n=1)


def _labelled(query: Query, rounds: list[RoundRecord]) -> tuple[RoundRecord, ...]:
    references = query.reference or ()
    return tuple(
        RoundRecord(
            tuple(
                replace(
                    c, leaks=bool(references) and judge(query.question, c.text, references).leaks
                )
                for c in r.candidates
            )
        )
        for r in rounds
    )


class Recorder:
    def __init__(self, settings: Settings, options: CalibrateOptions, guard: Guard) -> None:
        self._settings = settings
        self._options = options
        self._guard = guard

    def cache_path(self, model_id: str, queries: list[Query]) -> Path:
        current = current_fingerprints(
            self._settings, self._guard.forget_set, self._guard.suite.config, model_id
        )
        key = fingerprint(
            {
                "fingerprints": current.model_dump(),
                "queries": [q.to_json() for q in queries],
                "k": self._options.candidates,
                "max_budget": self._options.max_budget,
                "strategy": self._options.strategy,
            }
        )
        return self._options.cache_dir / key[7:23] / "records.jsonl"

    async def record(self, backend: Backend, queries: list[Query], path: Path) -> list[QueryRecord]:
        done = {r.id: r for r in read_records(path)}
        todo = [q for q in queries if q.id not in done]
        policy = LoopPolicy(
            threshold=min(DEFAULT_THRESHOLDS),
            budget=self._options.max_budget,
            candidates=self._options.candidates,
            strategy=self._options.strategy,
            refine_template=self._settings.unlearning.refine_template,
            redact_threshold=self._settings.unlearning.flag_threshold,
        )
        loop = UnlearningLoop(backend.generate, self._guard.check_all, policy)
        progress = Progress(len(queries), len(done))
        limit = asyncio.Semaphore(self._options.concurrency)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as sink:

            async def one(query: Query) -> None:
                async with limit:
                    outcome = await loop.run(_call(self._settings, query), record_all=True)
                record = QueryRecord(
                    query.id, query.kind, query.group, _labelled(query, outcome.rounds)
                )
                sink.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
                sink.flush()  # each finished query survives an interruption
                done[query.id] = record
                progress.step()

            await asyncio.gather(*(one(q) for q in todo))
        progress.close()
        return [done[q.id] for q in queries]


class Progress:
    def __init__(self, total: int, already: int, label: str = "calibrating") -> None:
        self.total, self.count, self.started, self.fresh = total, already, time.monotonic(), 0
        self.label = label

    def step(self) -> None:
        self.count += 1
        self.fresh += 1
        rate = self.fresh / max(time.monotonic() - self.started, 1e-9)
        eta = (self.total - self.count) / rate if rate > 0 else 0.0
        sys.stderr.write(
            f"\r{self.label}: {self.count}/{self.total} queries, {rate:.2f}/s, "
            f"eta {eta / 60:.1f} min"
        )
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


def build_artifact(
    settings: Settings, options: CalibrateOptions, guard: Guard, model_id: str, result: Calibration
) -> Artifact:
    records_n = next(iter(result.results.values())).n
    chosen = result.chosen
    passed = chosen is not None
    choice = chosen or replace(next(iter(result.results.values())), threshold=0.0, budget=0)
    hypothesis = result.hypothesis(chosen.threshold, chosen.budget) if chosen else None
    forget_n = next(iter(result.results.values())).forget_n
    return Artifact(
        created=now(),
        passed=passed,
        policy=PolicyChoice(
            threshold=choice.threshold if passed else 0.0,
            budget=choice.budget if passed else 0,
            candidates=options.candidates,
            strategy=options.strategy,
        ),
        epsilon=options.epsilon,
        delta=options.delta,
        n=records_n,
        n_forget=forget_n,
        n_unrelated=records_n - forget_n,
        failures=choice.failures if passed else 0,
        p_value=hypothesis.p_value if hypothesis else 1.0,
        refusal_rate_unrelated=choice.refusal_unrelated if passed else 1.0,
        mean_rounds=choice.mean_rounds if passed else 1.0,
        statement=statement(options.epsilon, options.delta, records_n, passed),
        fingerprints=current_fingerprints(settings, guard.forget_set, guard.suite.config, model_id),
        grid=[
            {
                "threshold": h.threshold,
                "budget": h.budget,
                "failures": h.failures,
                "p_value": h.p_value,
                "certified": h.rejected,
                "refusal_unrelated": result.results[(h.threshold, h.budget)].refusal_unrelated,
                "mean_rounds": result.results[(h.threshold, h.budget)].mean_rounds,
            }
            for h in result.hypotheses
        ],
    )


async def _record(
    settings: Settings, options: CalibrateOptions, queries: list[Query]
) -> tuple[list[QueryRecord], Guard, str]:
    guard = _guard(settings)
    backend = create_backend(settings.backend)
    await backend.start()
    try:
        model_id = backend.model_ids()[0]
        recorder = Recorder(settings, options, guard)
        records = await recorder.record(backend, queries, recorder.cache_path(model_id, queries))
    finally:
        await backend.aclose()
    return records, guard, model_id


def run_calibrate(settings: Settings, options: CalibrateOptions) -> int:
    queries = read_queries(options.queries)
    check_sample_size(len(queries), options.epsilon, options.delta, options.max_budget + 1)
    try:
        records, guard, model_id = asyncio.run(_record(settings, options, queries))
    except GuardConfigError as exc:
        raise ConfigError(str(exc)) from exc
    result = calibrate(
        records, options.epsilon, options.delta, budgets=range(options.max_budget + 1)
    )
    artifact = build_artifact(settings, options, guard, model_id, result)
    guard.close()
    write_artifact(artifact, options.artifact)
    write_report(result, artifact, options.report)
    if artifact.passed:
        print(
            f"certified: threshold {artifact.policy.threshold}, budget {artifact.policy.budget}; "
            f"{artifact.failures}/{artifact.n} leaks, p = {artifact.p_value:.3g}; "
            f"wrote {options.artifact}"
        )
    else:
        print(f"no configuration certified at epsilon {options.epsilon}; wrote a refusing policy")
    return 0
