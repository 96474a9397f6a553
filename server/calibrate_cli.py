"""``lethe calibrate``: run the real loop on calibration queries, then certify a policy.

Each query runs once through the serving loop with every round recorded (``record_all``),
its request built by :func:`server.guarded.query_request` exactly as a client's would be,
and checked by the verifier suite of *its* forget set: a dataset (``lethe build-dataset``)
holds several forget sets, and their queries run group by group, one suite per forget set,
on one backend. Records are cached under a key of everything that shapes them
(:mod:`calibration.recorder`), so an interrupted run resumes; the certificate over targets
is :mod:`calibration.certify`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from calibration.artifact import Artifact, Fingerprints, Strategy, fingerprint
from calibration.certify import CalibrateOptions, Provenance, certify
from calibration.dataset import Query, calibration_set_hash, read_dataset, read_queries
from calibration.evaluate import DEFAULT_THRESHOLDS, QueryRecord
from calibration.recorder import record_queries
from calibration.records import RoundRecord
from calibration.strategies import family_size
from calibration.targets import check_targets
from server.backends import Backend, create_backend
from server.config import ConfigError, Settings
from server.generation_memo import GenerationMemo, memo_path
from server.guard import Guard
from server.guarded import query_request
from server.loop import Generate, LoopPolicy, UnlearningLoop
from server.policy import current_fingerprints
from server.progress import CalibrationProgress
from server.refinement.base import tokenizer_of
from verifiers.forgetset import ForgetSet, ForgetSetError, load_forget_set

__all__ = ["CalibrateOptions", "calibrate", "run_calibrate"]

DEFAULT_TARGET_KIND = "person"
"""What the targets of a plain query file are taken to be (a dataset's manifest says)."""


@dataclass(frozen=True)
class Group:
    """The queries of one forget set, and the settings whose guard checks them."""

    forget_set: ForgetSet
    settings: Settings
    queries: list[Query]


@dataclass(frozen=True)
class Plan:
    groups: list[Group]
    target_kind: str

    @property
    def queries(self) -> list[Query]:
        return [q for g in self.groups for q in g.queries]


def _with_forget_set(settings: Settings, path: Path) -> Settings:
    unlearning = settings.unlearning.model_copy(update={"forget_set": path})
    return settings.model_copy(update={"unlearning": unlearning})


def _load(path: Path) -> ForgetSet:
    try:
        return load_forget_set(path)
    except ForgetSetError as exc:
        raise ConfigError(str(exc)) from exc


def calibration_plan(settings: Settings, options: CalibrateOptions) -> Plan:
    """Which queries run against which forget set: a dataset's groups, or one query file
    against the configured forget set."""
    if options.dataset is not None:
        dataset = read_dataset(options.dataset)
        grouped = dataset.by_forget_set()
        groups = [
            Group(_load(path), _with_forget_set(settings, path), grouped[name])
            for name, path in dataset.forget_sets.items()
        ]
        return Plan(groups, dataset.target_kind)
    if options.queries is None or settings.unlearning.forget_set is None:
        raise ConfigError("lethe calibrate needs --dataset, or --queries and a forget set")
    forget_set = _load(settings.unlearning.forget_set)
    return Plan([Group(forget_set, settings, read_queries(options.queries))], DEFAULT_TARGET_KIND)


def check_plan(plan: Plan, options: CalibrateOptions) -> None:
    """Reject, before any generation, a set of targets too small for (ε, ε_f, δ)."""
    queries = plan.queries
    units = {q.group for q in queries}
    targets = {q.group for q in queries if q.forget_related}
    check_targets(
        len(units),
        len(targets),
        options.epsilon,
        options.forget_epsilon,
        options.delta,
        family_size(len(options.strategies), range(options.max_budget + 1)),
    )


def recording_loop(
    settings: Settings,
    options: CalibrateOptions,
    guard: Guard,
    backend: Backend,
    strategy: Strategy,
    generate: Generate | None = None,
) -> UnlearningLoop:
    """The loop with the grid's largest budget and smallest τ: one recorded run per query
    answers every (τ, K) of the grid for ``strategy``."""
    policy = LoopPolicy(
        threshold=min(DEFAULT_THRESHOLDS),
        budget=options.max_budget,
        candidates=options.candidates,
        strategy=strategy,
        refine_template=settings.unlearning.refine_template,
        redact_threshold=settings.unlearning.flag_threshold,
    )
    return UnlearningLoop(
        backend.generate if generate is None else generate,
        guard.check_all,
        policy,
        tokenizer_of(backend),
    )


def cache_path(
    options: CalibrateOptions,
    fingerprints: Fingerprints,
    queries: Sequence[Query],
    strategy: Strategy,
) -> Path:
    key = fingerprint(
        {
            "fingerprints": fingerprints.model_dump(),
            "queries": [q.to_json() for q in queries],
            "k": options.candidates,
            "max_budget": options.max_budget,
            "strategy": strategy,
        }
    )
    return options.cache_dir / key[7:23] / "records.jsonl"


async def _record_group(
    group: Group,
    options: CalibrateOptions,
    backend: Backend,
    model_id: str,
    strategy: Strategy,
    generate: Generate,
    progress: CalibrationProgress,
) -> tuple[list[QueryRecord], Fingerprints]:
    guard = Guard.required(group.settings, "lethe calibrate")
    try:
        fingerprints = current_fingerprints(
            group.settings, guard.forget_set, guard.suite.config, model_id
        )
        loop = recording_loop(group.settings, options, guard, backend, strategy, generate)

        async def run(query: Query) -> list[RoundRecord]:
            request = query_request(group.settings, query.id, query.messages)
            rounds = (await loop.run(request, record_all=True)).rounds
            progress.advance()
            return rounds

        facts = {t.id: t.facts for t in group.forget_set.targets}
        records = await record_queries(
            group.queries,
            run,
            cache_path(options, fingerprints, group.queries, strategy),
            concurrency=options.concurrency,
            label=f"calibrating {group.forget_set.name} ({strategy})",
            facts=facts,
        )
    finally:
        guard.close()
    return records, fingerprints


async def _record(
    settings: Settings, options: CalibrateOptions, plan: Plan, progress: CalibrationProgress
) -> tuple[dict[Strategy, list[QueryRecord]], Fingerprints]:
    backend = create_backend(settings.backend)
    await backend.start()
    try:
        model_id = backend.model_ids()[0]
        records: dict[Strategy, list[QueryRecord]] = {}
        recorded: list[Fingerprints] = []
        progress.start(len(plan.queries) * len(options.strategies))
        done = 0
        # Every strategy sends a query's same first-round request, and a re-run after a
        # verifier change sends the same requests wherever verdicts did not change: each is
        # generated once, ever (per model).
        shared = GenerationMemo(
            backend.generate, memo_path(options.cache_dir / "generations", settings, model_id)
        )
        for group in plan.groups:
            for strategy in options.strategies:
                group_records, group_fingerprints = await _record_group(
                    group, options, backend, model_id, strategy, shared, progress
                )
                records.setdefault(strategy, []).extend(group_records)
                recorded.append(group_fingerprints)
                done += len(group.queries)
                progress.reach(done)  # runs read from the cache count as done
    finally:
        await backend.aclose()
    configured = settings.unlearning.forget_set
    # For information only (a certificate over targets does not pin it): the forget set the
    # server was configured with when calibrating, else the first calibration forget set.
    info = _load(configured).content_hash if configured else recorded[0].forget_set
    return records, recorded[0].model_copy(update={"forget_set": info})


def provenance(settings: Settings, plan: Plan) -> Provenance:
    hashes = tuple(g.forget_set.content_hash for g in plan.groups)
    return Provenance(
        calibration_set=calibration_set_hash(plan.queries, hashes),
        forget_sets=hashes,
        target_kinds=(plan.target_kind,),
        max_forget_set_size=max(len(g.forget_set) for g in plan.groups),
        max_tokens=settings.generation.default_max_tokens,
    )


def _summary(artifact: Artifact, options: CalibrateOptions) -> str:
    if not artifact.passed:
        return (
            f"no configuration certified at epsilon {options.epsilon}, forget_epsilon "
            f"{options.forget_epsilon} over {artifact.n_targets} targets; wrote a refusing "
            f"policy to {options.artifact}"
        )
    return (
        f"certified over {artifact.n_targets} targets: threshold {artifact.policy.threshold}, "
        f"budget {artifact.policy.budget}; forget-side risk {artifact.forget_risk:.4f}, "
        f"marginal {artifact.risk:.4f}, p = {artifact.p_value:.3g}; wrote {options.artifact}"
    )


def calibrate(
    settings: Settings, options: CalibrateOptions, progress: CalibrationProgress | None = None
) -> Artifact:
    """Record (or read from the cache) every group's queries, certify, write the artifact
    (atomically) and the report; ``progress`` hears of every query run."""
    tracked = progress or CalibrationProgress(None)
    plan = calibration_plan(settings, options)
    check_plan(plan, options)
    records, fingerprints = asyncio.run(_record(settings, options, plan, tracked))
    artifact = certify(records, options, fingerprints, provenance(settings, plan))
    tracked.succeeded(artifact)
    return artifact


def run_calibrate(
    settings: Settings, options: CalibrateOptions, progress: CalibrationProgress | None = None
) -> int:
    artifact = calibrate(settings, options, progress)
    print(_summary(artifact, options))
    return 0
