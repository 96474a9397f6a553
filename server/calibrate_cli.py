"""``lethe calibrate``: run the real loop on calibration queries, then certify a policy.

Each query runs once through the serving loop with every round recorded (``record_all``),
its request built by :func:`server.guarded.query_request` exactly as a client's would be.
Records are cached under a key of everything that shapes them
(:mod:`calibration.recorder`); the certificate is :mod:`calibration.certify`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from calibration.artifact import Fingerprints, fingerprint
from calibration.certify import CalibrateOptions, certify
from calibration.dataset import Query, read_queries
from calibration.evaluate import DEFAULT_THRESHOLDS, QueryRecord
from calibration.ltt import check_sample_size
from calibration.recorder import record_queries
from calibration.records import RoundRecord
from server.backends import Backend, create_backend
from server.config import Settings
from server.guard import Guard
from server.guarded import query_request
from server.loop import LoopPolicy, UnlearningLoop
from server.policy import current_fingerprints

__all__ = ["CalibrateOptions", "run_calibrate"]


def recording_loop(
    settings: Settings, options: CalibrateOptions, guard: Guard, backend: Backend
) -> UnlearningLoop:
    """The loop with the grid's largest budget and smallest τ: one recorded run per query
    answers every (τ, K) of the grid."""
    policy = LoopPolicy(
        threshold=min(DEFAULT_THRESHOLDS),
        budget=options.max_budget,
        candidates=options.candidates,
        strategy=options.strategy,
        refine_template=settings.unlearning.refine_template,
        redact_threshold=settings.unlearning.flag_threshold,
    )
    return UnlearningLoop(backend.generate, guard.check_all, policy)


def cache_path(
    options: CalibrateOptions, fingerprints: Fingerprints, queries: Sequence[Query]
) -> Path:
    key = fingerprint(
        {
            "fingerprints": fingerprints.model_dump(),
            "queries": [q.to_json() for q in queries],
            "k": options.candidates,
            "max_budget": options.max_budget,
            "strategy": options.strategy,
        }
    )
    return options.cache_dir / key[7:23] / "records.jsonl"


async def _record(
    settings: Settings, options: CalibrateOptions, guard: Guard, queries: list[Query]
) -> tuple[list[QueryRecord], Fingerprints]:
    backend = create_backend(settings.backend)
    await backend.start()
    try:
        model_id = backend.model_ids()[0]
        fingerprints = current_fingerprints(
            settings, guard.forget_set, guard.suite.config, model_id
        )
        loop = recording_loop(settings, options, guard, backend)

        async def run(query: Query) -> list[RoundRecord]:
            request = query_request(settings, query.id, query.messages)
            return (await loop.run(request, record_all=True)).rounds

        path = cache_path(options, fingerprints, queries)
        records = await record_queries(queries, run, path, concurrency=options.concurrency)
    finally:
        await backend.aclose()
    return records, fingerprints


def run_calibrate(settings: Settings, options: CalibrateOptions) -> int:
    queries = read_queries(options.queries)
    check_sample_size(len(queries), options.epsilon, options.delta, options.max_budget + 1)
    guard = Guard.required(settings, "lethe calibrate")
    try:
        records, fingerprints = asyncio.run(_record(settings, options, guard, queries))
    finally:
        guard.close()
    artifact = certify(records, options, fingerprints)
    if artifact.passed:
        print(
            f"certified: threshold {artifact.policy.threshold}, budget {artifact.policy.budget}; "
            f"{artifact.failures}/{artifact.n} leaks, p = {artifact.p_value:.3g}; "
            f"wrote {options.artifact}"
        )
    else:
        print(f"no configuration certified at epsilon {options.epsilon}; wrote a refusing policy")
    return 0
