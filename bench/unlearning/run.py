"""``python -m bench unlearning``: Lethe against five baselines, on one backend, at CPU scale.

Two settings (see :mod:`bench.unlearning.data`): knowledge in the **context** (TOFU
test split, Lethe's calibrated artifact) and knowledge in the **weights** (real authors the
raw model names; Lethe runs the demo artifact's policy there, not calibrated for it). Every
query goes through all six systems in turn (:mod:`bench.unlearning.systems`), so drift
of a shared machine hits all of them alike. Each (system, query) result is cached under
``.lethe-cache/unlearning/`` keyed by everything that shapes it: an interrupted run resumes.
``--backend-url`` runs the same benchmark against any OpenAI-compatible upstream (``vllm
serve``); for one that ignores ``n`` (llama.cpp's server) set
``LETHE_BACKEND__UPSTREAM__FAN_OUT_N=true``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from bench.doc import write_section
from bench.paths import CACHE as CACHE_ROOT
from bench.paths import DEMO_CONFIG
from bench.unlearning import doc, report
from bench.unlearning.data import (
    FULL,
    QUICK,
    BenchQuery,
    Sizes,
    author_rows,
    context_queries,
    weights_forget_set,
    weights_queries,
)
from bench.unlearning.metrics import label, system_stats
from bench.unlearning.systems import SYSTEMS, Replay, Served, Systems
from bench.verifiers.data import default_data_dir
from calibration.artifact import Artifact, fingerprint, read_artifact
from calibration.reference_judge import reference_judge
from server.backends import Backend, GenerationRequest, Message, SamplingParams, create_backend
from server.config import ConfigError, Settings, load_settings
from server.guard import Guard
from server.guarded import query_seed
from server.policy import (
    code_fingerprints,
    current_fingerprints,
    policy_for,
    sampling_fingerprint,
)
from server.refinement.base import tokenizer_of

CONFIG = DEMO_CONFIG
CACHE = CACHE_ROOT / "unlearning"
VERSION = 2  # bump when a change to the systems or query rules invalidates cached answers


@dataclass(frozen=True)
class Run:
    settings: Settings
    artifact: Artifact
    sizes: Sizes
    data: Path
    backend: Backend
    model_id: str
    cache: Path


def _settings(backend_url: str | None, sizes: Sizes) -> Settings:
    settings = load_settings(CONFIG)
    if settings.unlearning.artifact is None:
        raise ConfigError(f"{CONFIG} names no calibration artifact")
    update: dict[str, Any] = {
        "unlearning": settings.unlearning.model_copy(update={"allow_stale": True})
    }
    if sizes.max_tokens is not None:
        update["generation"] = settings.generation.model_copy(
            update={"default_max_tokens": sizes.max_tokens}
        )
    if backend_url is not None:
        upstream = settings.backend.upstream.model_copy(
            update={"base_url": backend_url}  # fan_out_n as configured: off (vLLM batches n)
        )
        update["backend"] = settings.backend.model_copy(
            update={"kind": "openai", "upstream": upstream}
        )
    return settings.model_copy(update=update)


def _clock(path: Path, seconds: float | None = None) -> float:
    """Seconds spent generating the answers cached in ``path``, summed over invocations."""
    sidecar = path.with_suffix(".seconds")
    total = float(sidecar.read_text()) if sidecar.exists() else 0.0
    if seconds is not None:
        total += seconds
        sidecar.write_text(f"{total:.1f}\n")
    return total


def _read(path: Path) -> dict[tuple[str, str], Served]:
    if not path.exists():
        return {}
    served = (Served.from_json(json.loads(line)) for line in path.read_text().splitlines())
    return {(s.query, s.system): s for s in served}


async def _serve(
    run: Run, systems: Systems, queries: list[BenchQuery], key: dict[str, Any], title: str
) -> tuple[dict[tuple[str, str], Served], float]:
    if not queries:
        return {}, 0.0
    digest = fingerprint({**key, "queries": [q.to_json() for q in queries], "v": VERSION})
    path = run.cache / f"{queries[0].setting}-{digest[7:19]}" / "served.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    done = _read(path)
    finished = sum(all((q.id, s) in done for s in SYSTEMS) for q in queries)
    progress = tqdm(
        total=len(queries), initial=finished, desc=f"unlearning bench, {title}", unit="query"
    )
    started = time.monotonic()
    limit = asyncio.Semaphore(2 if run.settings.backend.kind == "llamacpp" else 8)
    with path.open("a", encoding="utf-8") as sink:

        async def one(index: int, query: BenchQuery) -> None:
            order = SYSTEMS[index % len(SYSTEMS) :] + SYSTEMS[: index % len(SYSTEMS)]
            todo = [s for s in order if (query.id, s) not in done]
            if not todo:
                return
            async with limit:
                replay = Replay(run.backend.generate)
                for system in todo:
                    served = await systems.run(system, query, replay)
                    sink.write(json.dumps(served.to_json(), ensure_ascii=False) + "\n")
                    sink.flush()  # each answer survives an interruption
                    done[(query.id, system)] = served
            progress.update()

        await asyncio.gather(*(one(i, q) for i, q in enumerate(queries)))
    progress.close()
    fresh = progress.n > progress.initial
    return done, _clock(path, time.monotonic() - started if fresh else None)


def _result(
    name: str,
    title: str,
    queries: list[BenchQuery],
    served: dict[tuple[str, str], Served],
    settings: Settings,
    lethe_label: str,
    threshold: float,
    seconds: float,
) -> report.SettingResult:
    refusal = settings.unlearning.refusal_text
    stats = {
        system: system_stats(system, [label(q, served[(q.id, system)], refusal) for q in queries])
        for system in SYSTEMS
    }
    sizes: dict[str, int] = {}
    for query in queries:
        sizes[query.category] = sizes.get(query.category, 0) + 1
    return report.SettingResult(
        name,
        title,
        stats,
        sizes,
        lethe_label,
        settings.unlearning.flag_threshold,
        threshold,
        seconds,
    )


def _best_of(artifact: Artifact) -> int:
    return max(1, round(artifact.mean_rounds * artifact.policy.candidates))


def _key(run: Run, settings: Settings, guard: Guard, systems: Systems) -> dict[str, Any]:
    return {
        "model": run.model_id,
        "backend": settings.backend.kind,
        "url": settings.backend.upstream.base_url if settings.backend.kind == "openai" else "",
        "sampling": sampling_fingerprint(settings),
        "forget_set": guard.forget_set.content_hash,
        "verifiers": guard.suite.config.fingerprint(),
        # The code that decides what is flagged, refined and labelled: a change there must
        # not replay answers recorded with the old one.
        "code": code_fingerprints(),
        "systems": systems.describe(),
    }


async def _context(run: Run) -> tuple[report.SettingResult, tuple[str, ...]]:
    settings = run.settings
    guard = Guard.required(settings, "python -m bench unlearning")
    try:
        current = current_fingerprints(settings, guard.forget_set, guard.suite.config, run.model_id)
        active = policy_for(settings.unlearning, run.artifact, current)
        names = tuple(t.name for t in guard.forget_set)
        systems = Systems(
            settings,
            guard.check_all,
            active.loop,
            _best_of(run.artifact),
            names,
            tokenizer_of(run.backend),
        )
        queries = context_queries(run.data, run.sizes)
        served, seconds = await _serve(
            run, systems, queries, _key(run, settings, guard, systems), "context setting"
        )
    finally:
        guard.close()
    policy = active.loop
    stale = f"; stale here: {', '.join(active.stale_fields)}" if active.stale else ""
    lethe_label = (
        f"6. Lethe (calibrated: τ = {policy.threshold}, K = {policy.budget}, "
        f"k = {policy.candidates}, {policy.strategy}{stale})"
    )
    title = "knowledge in the context (TOFU test split)"
    result = _result(
        "context",
        title,
        queries,
        served,
        settings,
        lethe_label,
        policy.threshold,
        seconds,
    )
    return result, active.stale_fields


async def _probe(run: Run, pool: list[dict[str, Any]]) -> tuple[set[str], float]:
    """Greedy answer to each question, once; the model "knows" a row its answer leaks."""
    settings = run.settings
    sampling_key = fingerprint({"model": run.model_id, "sampling": sampling_fingerprint(settings)})
    path = run.cache / f"probe-{sampling_key[7:19]}.jsonl"
    done: dict[str, bool] = {}
    if path.exists():
        done = {r["id"]: r["knows"] for r in map(json.loads, path.read_text().splitlines())}
    progress = tqdm(
        total=len(pool),
        initial=len(done),
        desc="unlearning bench, probing real authors",
        unit="author",
    )
    started = time.monotonic()
    limit = asyncio.Semaphore(2 if settings.backend.kind == "llamacpp" else 8)
    with path.open("a", encoding="utf-8") as sink:

        async def one(row: dict[str, Any]) -> None:
            if row["id"] in done:
                return
            sampling = SamplingParams(
                max_tokens=settings.generation.default_max_tokens,
                temperature=0.0,
                seed=query_seed(f"probe-{row['id']}"),
            )
            request = GenerationRequest((Message("user", str(row["question"])),), sampling)
            async with limit:
                result = await run.backend.generate(request)
            text = result.generations[0].text
            knows = reference_judge(str(row["question"]), text, [str(row["answer"])]).leaks
            sink.write(json.dumps({"id": row["id"], "knows": knows}) + "\n")
            sink.flush()
            done[str(row["id"])] = knows
            progress.update()

        await asyncio.gather(*(one(r) for r in pool))
    progress.close()
    seconds = _clock(path, time.monotonic() - started if progress.n > progress.initial else None)
    return {i for i, knows in done.items() if knows}, seconds


async def _weights(run: Run) -> tuple[report.SettingResult | None, dict[str, Any]]:
    pool = author_rows(run.data, run.sizes)
    known, probe_seconds = await _probe(run, pool)
    info = {"known": len(known), "probed": len(pool), "probe_seconds": probe_seconds}
    if not known:
        return None, info
    forget_path = run.cache / "weights-forget-set.yaml"
    forget_path.write_text(
        yaml.safe_dump(weights_forget_set(pool, known), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    unlearning = run.settings.unlearning.model_copy(update={"forget_set": forget_path})
    settings = run.settings.model_copy(update={"unlearning": unlearning})
    guard = Guard.required(settings, "python -m bench unlearning")
    try:
        current = current_fingerprints(settings, guard.forget_set, guard.suite.config, run.model_id)
        policy = policy_for(settings.unlearning, run.artifact, current).loop
        names = tuple(t.name for t in guard.forget_set)
        systems = Systems(
            settings,
            guard.check_all,
            policy,
            _best_of(run.artifact),
            names,
            tokenizer_of(run.backend),
        )
        queries = weights_queries(run.data, run.sizes, known)
        served, seconds = await _serve(
            run, systems, queries, _key(run, settings, guard, systems), "weights setting"
        )
    finally:
        guard.close()
    lethe_label = (
        f"6. Lethe (demo policy τ = {policy.threshold}, K = {policy.budget}, "
        f"k = {policy.candidates}: **not calibrated for this setting**)"
    )
    title = "knowledge in the weights (real authors the model knows)"
    result = _result(
        "weights",
        title,
        queries,
        served,
        settings,
        lethe_label,
        policy.threshold,
        seconds,
    )
    return result, info


async def _run_all(
    settings: Settings, sizes: Sizes, data: Path, cache: Path
) -> tuple[report.SettingResult, report.SettingResult | None, dict[str, Any]]:
    assert settings.unlearning.artifact is not None
    artifact = read_artifact(settings.unlearning.artifact)
    backend = create_backend(settings.backend)
    await backend.start()
    try:
        run = Run(settings, artifact, sizes, data, backend, backend.model_ids()[0], cache)
        context, stale = await _context(run)
        weights, probe = await _weights(run)
    finally:
        await backend.aclose()
    info = {
        "model": run.model_id,
        "stale": stale,
        **probe,
        "artifact": artifact,
    }
    return context, weights, info


def _last_run(
    cache: Path, generation_seconds: float, load: tuple[float, float], minutes: float
) -> dict[str, Any]:
    """When, how long and under what load answers were last generated (kept across re-renders:
    a run that only reads its cache reports the run that generated the answers)."""
    path = cache / "run.json"
    previous = json.loads(path.read_text()) if path.exists() else None
    if previous is not None and abs(previous["generation_seconds"] - generation_seconds) < 1:
        return dict(previous)
    record = {
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "generation_seconds": generation_seconds,
        "load": list(load),
        "minutes": minutes,
    }
    path.write_text(json.dumps(record) + "\n")
    return record


def run_unlearning(args: argparse.Namespace) -> int:
    sizes = QUICK if args.quick else FULL
    settings = _settings(args.backend_url, sizes)
    data: Path = args.data or default_data_dir()
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    tag = "quick" if args.quick else "full"
    if args.backend_url:
        tag += "-" + fingerprint(args.backend_url)[7:15]
    cache = CACHE / tag
    cache.mkdir(parents=True, exist_ok=True)
    context, weights, info = asyncio.run(_run_all(settings, sizes, data, cache))
    output: Path = args.output
    results = [context] if weights is None else [context, weights]
    try:
        plots = report.plot(results, output.parent / "unlearning")
    except ImportError:
        plots = []
    generation = sum(r.seconds for r in results) + info["probe_seconds"]
    load = (load_before, os.getloadavg()[0])
    info["run"] = _last_run(cache, generation, load, (time.monotonic() - started) / 60)
    body = report.section(
        context, weights, doc.header(settings, info, args), doc.notes(info), plots, output
    )
    write_section(output, "unlearning", body)
    return 0
