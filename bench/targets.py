"""``python -m bench targets``: deletion requests at scale and across replicas.

Scale: a store seeded with N synthetic targets (the verifier bench's generator: made-up
authors, five templated facts each; 100,000, or 5,000 with ``--quick``) and one ``lethe
serve`` on it (scripted backend, lexical verifiers ``entity`` + ``fact``). Measured through
its HTTP API on localhost: targets added one at a time (``POST /admin/targets``, each
committed to SQLite with ``synchronous=FULL`` before its 201), the lexical tier's time per
candidate as the server reports it (``entity`` + ``fact`` latency of
``POST /v1/unlearning/verify``, on the live index: base plus delta), adds while a background
merge rebuilds the base, and the server's memory (RSS after load, after the adds, peak).

Replicas: two ``lethe serve`` on one throwaway PostgreSQL; a target is added on one, and the
time until the other refuses a question carrying its facts (scripted backend that repeats
its context) is taken, alternating writers, with the demo forget set and with N targets.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.doc import write_section
from bench.gateway.report import Machine
from bench.paths import DEMO_FORGET_SET
from bench.postgres import PostgresCluster
from bench.processes import BIN, free_port, running
from bench.stats import percentile
from bench.verifiers.data import Item, synthetic_candidates, synthetic_forget_set
from verifiers.forgetset import ForgetSet, Target

ADMIN_KEY = "bench-admin"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
LEXICAL = ("entity", "fact")
PROPAGATION_POLL_SECONDS = 0.01
# Seconds without writes after which the server merges pending writes into its base.
QUIET_SECONDS = 15.0


@dataclass
class ScaleResult:
    targets: int
    ready_seconds: float
    adds_ms: list[float] = field(default_factory=list)
    adds_during_merge_ms: list[float] = field(default_factory=list)
    lexical_ms: list[float] = field(default_factory=list)  # with a full delta index
    verify_ms: list[float] = field(default_factory=list)
    lexical_merged_ms: list[float] = field(default_factory=list)  # after the merge
    merge_seconds: float = 0.0
    rss_loaded_mb: float = 0.0
    rss_after_adds_mb: float = 0.0
    rss_peak_mb: float = 0.0


@dataclass
class PropagationResult:
    label: str
    targets: int
    seconds: list[float] = field(default_factory=list)


def memory_mb(pid: int, field_name: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def write_jsonl(forget_set: ForgetSet, path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for target in forget_set.targets:
            handle.write(target.model_dump_json() + "\n")


def new_targets(count: int, seed: int) -> list[Target]:
    """Targets not in the seed set: the generator's people under new ids."""
    made = synthetic_forget_set(count, seed=seed).targets
    return [t.model_copy(update={"id": f"new-{seed}-{i:05d}"}) for i, t in enumerate(made)]


def pseudo_word(rng: random.Random, syllables: int) -> str:
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    return "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables))


def distinct_target(number: int) -> Target:
    """A person whose name and facts are made-up words shared with no other target (nor with
    another trial's), so a question about them is answered until they are added."""
    rng = random.Random(f"propagation-{number}")  # noqa: S311 (reproducible test data)
    name = f"{pseudo_word(rng, 3).capitalize()} {pseudo_word(rng, 4).capitalize()}"
    place, thing, craft = (pseudo_word(rng, 4) for _ in range(3))
    return Target(
        id=f"prop-{number:04d}",
        name=name,
        facts=(
            f"{name} was born in {place.capitalize()}.",
            f"{name} builds {thing} for the {craft} guild.",
        ),
    )


def config_file(directory: Path, forget_set: Path, store: str, **unlearning: Any) -> Path:
    settings = {
        "backend": {"kind": "scripted", "scripted": {"echo": True}},
        "server": {"admin_api_keys": [ADMIN_KEY], "reload_interval_seconds": 0},
        "unlearning": {
            "forget_set": str(forget_set),
            "store": store,
            "verifiers": list(LEXICAL),
            "budget": 0,
            "candidates": 1,
            **unlearning,
        },
    }
    path = directory / f"lethe-{free_port()}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


@contextmanager
def serve(config: Path, log: Path, timeout: float = 900.0) -> Iterator[tuple[str, int, float]]:
    """A ``lethe serve`` on ``config``; yields its URL, pid and seconds until /ready."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    command = [str(BIN / "lethe"), "serve", "--config", str(config)]
    env = {"LETHE_SERVER__PORT": str(port)}
    with running(command, f"{url}/ready", env=env, log=log, timeout=timeout) as process:
        yield url, process.pid, time.monotonic() - started


def metric(client: httpx.Client, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def add(client: httpx.Client, target: Target) -> float:
    started = time.perf_counter()
    response = client.post("/admin/targets", json=target.model_dump(mode="json"), headers=ADMIN)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 201:
        raise RuntimeError(f"add answered {response.status_code}: {response.text[:200]}")
    return elapsed


def measure_scale(n_targets: int, adds: int, checks: int, directory: Path) -> ScaleResult:
    forget_set = synthetic_forget_set(n_targets)
    seed_file = directory / "synthetic.jsonl"
    write_jsonl(forget_set, seed_file)
    store = f"sqlite:///{directory}/scale.sqlite3"
    # The adds-th write starts a merge; the writes made during it are merged after
    # QUIET_SECONDS without writes, and the lexical tier is measured again at rest.
    config = config_file(
        directory, seed_file, store, compact_after_seconds=QUIET_SECONDS, compact_delta_targets=adds
    )
    with serve(config, directory / "scale.log") as (url, pid, ready):
        result = ScaleResult(n_targets, ready, rss_loaded_mb=memory_mb(pid, "VmRSS"))
        with httpx.Client(base_url=url, timeout=600) as client:
            fresh = new_targets(adds + 40, seed=99)
            result.adds_ms = [add(client, target) for target in fresh[: adds - 1]]
            result.rss_after_adds_mb = memory_mb(pid, "VmRSS")
            grown = ForgetSet(forget_set.name, (*forget_set.targets, *fresh[:adds]), "", "")
            candidates = synthetic_candidates(grown, checks)
            result.lexical_ms, result.verify_ms = check_all(client, candidates)
            # The adds-th write fills the delta: a merge of N + adds targets starts at once.
            merges = metric(client, "lethe_index_merges_total ")
            result.adds_ms.append(add(client, fresh[adds - 1]))
            merge_started = time.monotonic()
            for target in fresh[adds:]:
                if metric(client, "lethe_index_merges_total ") > merges:
                    break
                result.adds_during_merge_ms.append(add(client, target))
            while metric(client, "lethe_index_merges_total ") <= merges:
                time.sleep(0.1)
            result.merge_seconds = time.monotonic() - merge_started
            while metric(client, 'lethe_index_pending_targets{scope="global"} ') > 0:
                time.sleep(0.5)  # the second merge: the writes made during the first
            result.lexical_merged_ms = check_all(client, candidates)[0]
        result.rss_peak_mb = memory_mb(pid, "VmHWM")
    return result


def check_all(client: httpx.Client, candidates: list[Item]) -> tuple[list[float], list[float]]:
    """Per candidate: the lexical tier's time as the server reports it (entity + fact over
    every index layer), and the client's round trip of POST /v1/unlearning/verify."""
    lexical, round_trips = [], []
    for item in candidates:
        body = {
            "messages": [{"role": "user", "content": item.question}],
            "response": item.answer,
        }
        started = time.perf_counter()
        report = client.post("/v1/unlearning/verify", json=body)
        round_trips.append((time.perf_counter() - started) * 1000)
        lexical.append(sum(v["latency_ms"] for v in report.json()["verifiers"]))
    return lexical, round_trips


def ask(client: httpx.Client, target: Target) -> str:
    question = {
        "model": "scripted",
        "messages": [
            {"role": "system", "content": "Context: " + " ".join(target.facts)},
            {"role": "user", "content": "What does the context say?"},
        ],
    }
    status: str = client.post("/v1/chat/completions", json=question).json()["unlearning"]["status"]
    return status


def measure_propagation(
    label: str, forget_set: Path, n_targets: int, trials: int, directory: Path
) -> PropagationResult:
    result = PropagationResult(label, n_targets)
    cluster = PostgresCluster()
    cluster.start()
    try:
        store = cluster.new_database()
        config = config_file(directory, forget_set, store)
        with ExitStack() as stack:
            urls = [
                stack.enter_context(serve(config, directory / f"{label}-{i}.log"))[0]
                for i in range(2)
            ]
            clients = [stack.enter_context(httpx.Client(base_url=u, timeout=60)) for u in urls]
            for number in range(trials):
                target = distinct_target(number)
                writer, reader = clients[number % 2], clients[1 - number % 2]
                if ask(reader, target) != "accepted":
                    raise RuntimeError("a new target was refused before it was added")
                add(writer, target)
                started = time.monotonic()
                while ask(reader, target) != "refused":
                    if time.monotonic() - started > 30:
                        raise RuntimeError("the other replica never refused the new target")
                    time.sleep(PROPAGATION_POLL_SECONDS)
                result.seconds.append(time.monotonic() - started)
    finally:
        cluster.close()
    return result


def _p(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.1f}" if values else "-"


def section(
    scale: ScaleResult,
    propagation: list[PropagationResult],
    quick: bool,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> str:
    machine = Machine.current()
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    adds = len(scale.adds_ms)
    lines = [
        "## Targets: deletion requests at scale and across replicas",
        "",
        f"`python -m bench targets{' --quick' if quick else ''}` on {date}: {machine.cores} "
        f"cores ({machine.cpu}), Python {machine.python}; load average "
        f"{load[0][0]:.2f} at the start, {load[1][0]:.2f} at the end (1 min). One run; "
        "p50/p95 over its requests.",
        "",
        f"**Scale.** {scale.targets:,} synthetic targets (five facts each) seed a SQLite store; "
        "one `lethe serve` (scripted backend, verifiers entity + fact) loads them "
        f"and is ready in {scale.ready_seconds:.0f} s (seed, load, index). Through its HTTP API:",
        "",
        "| measure | p50 | p95 | max | target |",
        "|---|---|---|---|---|",
        f"| add one target (`POST /admin/targets`, {adds} in a row, 201 = committed), ms "
        f"| {_p(scale.adds_ms, 50)} | {_p(scale.adds_ms, 95)} | {max(scale.adds_ms):.1f} "
        "| p50 ≤ 50 |",
        "| lexical tier per candidate (entity + fact, as the server reports), every write "
        f"merged (one index layer), ms | {_p(scale.lexical_merged_ms, 50)} "
        f"| {_p(scale.lexical_merged_ms, 95)} | {max(scale.lexical_merged_ms):.1f} | p50 ≤ 2 |",
        f"| the same with {adds - 1} targets written since the base was built (base + delta + "
        f"recent layers), ms | {_p(scale.lexical_ms, 50)} | {_p(scale.lexical_ms, 95)} "
        f"| {max(scale.lexical_ms):.1f} | p50 ≤ 2 |",
        f"| `POST /v1/unlearning/verify` round trip (full delta), ms | {_p(scale.verify_ms, 50)} "
        f"| {_p(scale.verify_ms, 95)} | {max(scale.verify_ms):.1f} | |",
        f"| add one target while the merge runs ({len(scale.adds_during_merge_ms)} adds), ms "
        f"| {_p(scale.adds_during_merge_ms, 50)} | {_p(scale.adds_during_merge_ms, 95)} "
        f"| {max(scale.adds_during_merge_ms, default=0):.1f} | |",
        "",
        f"The background merge of the delta into a new base of {scale.targets + adds:,} targets "
        f"took {scale.merge_seconds:.1f} s. Server memory (RSS): {scale.rss_loaded_mb:,.0f} MB "
        f"after load, {scale.rss_after_adds_mb:,.0f} MB after the adds, peak "
        f"{scale.rss_peak_mb:,.0f} MB (during a merge the old and the new base are both in "
        "memory). A max near one second is the one full garbage collection that frees a "
        "replaced base after a merge; otherwise the loaded index is frozen out of collections "
        "(server/heap.py). Small layers cost more per candidate than their size suggests on "
        "this synthetic set: its facts share a tiny vocabulary (25 places, 17 jobs, 20 title "
        "words) that the large base skips as too common and a small index still scores.",
        "",
        "**Two replicas on PostgreSQL.** A target added on one replica; seconds until the other "
        "refuses a question carrying its facts (polled every "
        f"{PROPAGATION_POLL_SECONDS * 1000:.0f} ms, writers alternating):",
        "",
        "| forget set | trials | p50 s | max s | target |",
        "|---|---|---|---|---|",
    ]
    for row in propagation:
        lines.append(
            f"| {row.label} ({row.targets:,} targets) | {len(row.seconds)} "
            f"| {percentile(row.seconds, 50):.3f} | {max(row.seconds):.3f} | ≤ 2 |"
        )
    return "\n".join(lines) + "\n"


def run_targets_bench(args: argparse.Namespace) -> int:
    quick = bool(args.quick)
    n_targets = 5_000 if quick else 100_000
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="lethe-bench-targets-") as name:
        directory = Path(name)
        scale = measure_scale(n_targets, adds=50 if quick else 200, checks=200, directory=directory)
        print(f"scale: adds p50 {percentile(scale.adds_ms, 50):.1f} ms", flush=True)
        propagation = [
            measure_propagation("demo", DEMO_FORGET_SET, 15, 10 if quick else 20, directory)
        ]
        seed_file = directory / "synthetic.jsonl"
        propagation.append(
            measure_propagation("synthetic", seed_file, n_targets, 5 if quick else 10, directory)
        )
    body = section(scale, propagation, quick, (load_start, os.getloadavg()))
    write_section(args.output, "targets", body)
    print(body)
    return 0
