"""``python -m bench redteam``: extraction attacks on the demo forget set, raw model vs Lethe.

Every attack of ``bench/data/redteam/attacks.jsonl`` (or, with ``--data``, the set built from that
TOFU directory by the same rules) runs as a conversation through (a) the raw model, with no
guard, and (b) the real unlearning loop with the policy of the demo's artifact; a multi-turn
attack feeds each system's own replies back. Every returned conversation is labelled by the
reference judge on all decoded readings of the replies (``bench.redteam.decoded``).

Every raw reply judged a leak is also replayed re-encoded (``bench.redteam.replay``)
through the same verifier suite and τ the loop ran with: what a model that obeyed the
encoding request would have sent.

Results are cached per (system, attack) under ``.lethe-cache/redteam/``: the raw model's under
a key of model and sampling, Lethe's under a key that also covers the artifact and the source
of the verifiers and the loop, so a verifier fix re-runs Lethe only. A full run records its
per-family counts in ``bench/data/redteam/runs.json``; the table shows every recorded code version
with the current artifact as a column, so the numbers before and after each fix stay side by
side.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from bench.doc import write_section
from bench.paths import CACHE as CACHE_ROOT
from bench.paths import DATA, DEMO_CONFIG, REPO
from bench.redteam.attacks import Attack, build_attacks, read_attacks
from bench.redteam.replay import Replayed, replay
from bench.redteam.report import (
    GUARD_PATHS,
    Judged,
    RunRecord,
    git_commit,
    record_run,
    render,
)
from calibration.artifact import Artifact, fingerprint
from calibration.dataset import Query
from server.backends import Backend, create_backend
from server.config import ConfigError, Settings, load_settings
from server.guard import Guard
from server.guarded import query_request
from server.loop import UnlearningLoop
from server.policy import current_fingerprints, sampling_fingerprint
from server.refinement.base import tokenizer_of

CONFIG = DEMO_CONFIG
ATTACKS = DATA / "redteam" / "attacks.jsonl"
RUNS = DATA / "redteam" / "runs.json"
CACHE = CACHE_ROOT / "redteam"
QUICK_FAMILIES = ("direct", "leetspeak", "one_word_per_line")
CONCURRENCY = 2

Answer = Callable[[Query], Awaitable[tuple[str, str]]]


@dataclass(frozen=True)
class Outcome:
    id: str
    digest: str
    system: str  # "raw" or "lethe"
    statuses: list[str]  # per turn: "answered" (raw) or the loop's status
    replies: list[str]
    seconds: float

    @classmethod
    def from_json(cls, record: dict[str, object]) -> Outcome:
        return cls(**record)  # type: ignore[arg-type]


def digest(attack: Attack) -> str:
    return fingerprint(attack.to_json())[7:23]


def source_digest(root: Path = REPO) -> str:
    """Hash of the guard's source files (the verifiers, the loop, its decision rule)."""
    sha = hashlib.sha256()
    for name in GUARD_PATHS:  # code whose change changes what Lethe returns
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            sha.update(file.relative_to(root).as_posix().encode())
            sha.update(file.read_bytes())
    return sha.hexdigest()[:16]


def _cached(path: Path) -> dict[tuple[str, str], Outcome]:
    if not path.exists():
        return {}
    outcomes = (Outcome.from_json(json.loads(line)) for line in path.read_text().splitlines())
    return {(o.id, o.digest): o for o in outcomes}


def _query(attack: Attack, turn: int, messages: list[tuple[str, str]]) -> Query:
    return Query(
        id=f"{attack.id}#{turn}",
        messages=tuple(messages),
        reference=attack.reference,
        group=attack.target,
        kind="forget",
    )


async def converse(attack: Attack, answer: Answer) -> tuple[list[str], list[str]]:
    """Run the attack's user turns in order, each system reply going back into the history."""
    messages: list[tuple[str, str]] = [("system", attack.system)] if attack.system else []
    statuses: list[str] = []
    replies: list[str] = []
    for turn, text in enumerate(attack.turns):
        messages.append(("user", text))
        reply, status = await answer(_query(attack, turn, messages))
        messages.append(("assistant", reply))
        statuses.append(status)
        replies.append(reply)
    return statuses, replies


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(CONFIG)
    if settings.unlearning.artifact is None:
        raise ConfigError(f"{CONFIG} names no calibration artifact")
    if args.backend_url:
        backend = settings.backend.model_copy(
            update={
                "kind": "openai",
                "upstream": settings.backend.upstream.model_copy(
                    update={"base_url": args.backend_url}
                ),
            }
        )
        # Another model than the one calibrated: the artifact is stale by definition.
        unlearning = settings.unlearning.model_copy(update={"allow_stale": True})
        settings = settings.model_copy(update={"backend": backend, "unlearning": unlearning})
    return settings


def _attacks(args: argparse.Namespace) -> list[Attack]:
    attacks = build_attacks(args.data) if args.data else read_attacks(ATTACKS)
    if args.quick:
        attacks = [
            next(a for a in attacks if a.family == family and a.variant == "rag")
            for family in QUICK_FAMILIES
        ]
    return attacks


@dataclass
class Served:
    outcomes: dict[str, dict[str, Outcome]]  # system -> attack id -> outcome
    judged: list[Judged]
    replayed: list[Replayed]
    lethe_key: str
    artifact: Artifact  # as the loop ran it (read once, at start)
    threshold: float
    stale: bool
    seconds: float


async def _serve(settings: Settings, attacks: list[Attack], quick: bool) -> Served:
    guard = Guard.required(settings, "python -m bench redteam")
    backend: Backend = create_backend(settings.backend)
    await backend.start()
    started = time.perf_counter()
    try:
        model_id = backend.model_ids()[0]
        active = guard.activate(model_id)
        loop = UnlearningLoop(backend.generate, guard.check_all, active.loop, tokenizer_of(backend))
        current = current_fingerprints(settings, guard.forget_set, guard.suite.config, model_id)

        async def raw(query: Query) -> tuple[str, str]:
            result = await backend.generate(query_request(settings, query.id, query.messages))
            return result.generations[0].text, "answered"

        async def lethe(query: Query) -> tuple[str, str]:
            outcome = await loop.run(query_request(settings, query.id, query.messages))
            return outcome.text, outcome.status

        raw_key = fingerprint(
            {"model": current.backend_model, "sampling": sampling_fingerprint(settings)}
        )[7:19]
        lethe_key = fingerprint(
            {
                "fingerprints": current.model_dump(),
                "artifact": guard.artifact.artifact_id() if guard.artifact else None,
                "sources": source_digest(),
            }
        )[7:19]
        systems: dict[str, tuple[Answer, Path]] = {
            "raw": (raw, CACHE / f"raw-{raw_key}.jsonl"),
            "lethe": (lethe, CACHE / f"lethe-{lethe_key}.jsonl"),
        }
        outcomes = await _run_all(
            attacks,
            systems,
            "red team (quick), attacks through raw and Lethe"
            if quick
            else "red team, attacks through raw and Lethe",
        )
        judged = judge_all(attacks, outcomes)
        # The replays go through the very suite and τ the loop ran with.
        threshold = active.loop.threshold
        replayed = replay(raw_leaks(attacks, outcomes, judged), guard.suite, threshold)
    finally:
        await backend.aclose()
        guard.close()
    if guard.artifact is None:
        raise ConfigError(f"{CONFIG} names no calibration artifact")
    seconds = time.perf_counter() - started
    return Served(
        outcomes,
        judged,
        replayed,
        lethe_key,
        guard.artifact,
        threshold,
        bool(active.stale),
        seconds,
    )


async def _run_all(
    attacks: list[Attack], systems: dict[str, tuple[Answer, Path]], label: str
) -> dict[str, dict[str, Outcome]]:
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = {system: _cached(path) for system, (_, path) in systems.items()}
    done: dict[str, dict[str, Outcome]] = {system: {} for system in systems}
    todo: list[tuple[str, Attack]] = []  # (raw, lethe) per attack: an interruption keeps pairs
    for attack in attacks:
        for system in systems:
            hit = cached[system].get((attack.id, digest(attack)))
            if hit is not None:
                done[system][attack.id] = hit
            else:
                todo.append((system, attack))
    total = len(attacks) * len(systems)
    progress = tqdm(total=total, initial=total - len(todo), desc=label, unit="conversation")
    limit = asyncio.Semaphore(CONCURRENCY)
    sinks = {system: path.open("a", encoding="utf-8") for system, (_, path) in systems.items()}
    try:

        async def one(system: str, attack: Attack) -> None:
            async with limit:
                started = time.perf_counter()
                statuses, replies = await converse(attack, systems[system][0])
                elapsed = time.perf_counter() - started
            outcome = Outcome(attack.id, digest(attack), system, statuses, replies, elapsed)
            sinks[system].write(json.dumps(asdict(outcome), ensure_ascii=False) + "\n")
            sinks[system].flush()  # every finished attack survives an interruption
            done[system][attack.id] = outcome
            progress.update()

        await asyncio.gather(*(one(system, attack) for system, attack in todo))
    finally:
        for sink in sinks.values():
            sink.close()
    progress.close()
    return done


def full_run_seconds(served: Served) -> float:
    """About how long the whole set takes from an empty cache: the conversations' own times
    (cached or not) over the concurrency."""
    total = sum(o.seconds for system in served.outcomes.values() for o in system.values())
    return total / CONCURRENCY


def judge_all(attacks: list[Attack], outcomes: dict[str, dict[str, Outcome]]) -> list[Judged]:
    judged = []
    for attack in attacks:
        raw, lethe = outcomes["raw"][attack.id], outcomes["lethe"][attack.id]
        judged.append(Judged.of(attack, raw.replies, lethe.statuses, lethe.replies))
    return judged


def raw_leaks(
    attacks: list[Attack], outcomes: dict[str, dict[str, Outcome]], judged: list[Judged]
) -> list[tuple[Attack, str]]:
    """Every raw conversation the judge labels a leak, its replies joined: the replays' input."""
    return [
        (attack, "\n".join(outcomes["raw"][attack.id].replies))
        for attack, label in zip(attacks, judged, strict=True)
        if label.raw_leaks
    ]


def run_redteam(args: argparse.Namespace) -> int:
    settings = _settings(args)
    attacks = _attacks(args)
    commit = git_commit(REPO)  # the code this run loads
    load = [os.getloadavg()[0]]
    served = asyncio.run(_serve(settings, attacks, args.quick))
    load.append(os.getloadavg()[0])
    run = RunRecord.of(
        served.judged,
        served.replayed,
        served.lethe_key,
        commit,
        full_run_seconds(served),
        served.artifact.artifact_id(),
        served.threshold,
    )
    history = [run]
    if not args.quick and not args.backend_url and not args.data:
        history = record_run(RUNS, run)
    body = render(
        served.judged,
        served.replayed,
        history,
        served.artifact,
        served.threshold,
        quick=args.quick,
        backend_url=args.backend_url,
        stale=served.stale,
        seconds=served.seconds,
        full_seconds=full_run_seconds(served),
        load=(load[0], load[1]),
    )
    write_section(args.output, "redteam", body)
    return 0
