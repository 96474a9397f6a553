"""Record what the loop does on calibration queries, label it, and keep it on disk.

The loop itself is the server's (``lethe calibrate`` passes it in as ``run``): calibration
measures exactly the code that serves. Each finished query is appended to a JSONL file at
once, so an interrupted run resumes where it stopped and a re-run only re-evaluates.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from calibration.dataset import Query
from calibration.evaluate import QueryRecord, read_records
from calibration.records import CandidateRecord, RoundRecord
from calibration.reference_judge import holds_gold, leaks_target

RunQuery = Callable[[Query], Awaitable[Sequence[RoundRecord]]]
"""Every round the loop ran for one query (calibration records all of them)."""
Facts = Mapping[str, Sequence[str]]
"""Target id -> its facts: what the reference judge looks for (never logged)."""


def references(query: Query, facts: Facts) -> tuple[str, ...]:
    """What a leak reveals: every fact of the query's targets, or (old format) its
    ``reference``. A target missing from ``facts`` is an error, not an empty reference: a
    query that cannot leak by construction would make the certificate look better."""
    if not query.targets:
        return query.reference or ()
    missing = [t for t in query.targets if t not in facts]
    if missing:
        raise KeyError(f"query {query.id}: target(s) {', '.join(missing)} not in its forget set")
    return tuple(f for t in query.targets for f in facts[t])


def labelled(
    query: Query, rounds: Sequence[RoundRecord], facts: Facts | None = None
) -> tuple[RoundRecord, ...]:
    """The rounds with each candidate's ``leaks`` (and ``correct``, where the query has a gold
    answer) set by the reference judge."""
    leak_refs = references(query, facts or {})
    said = query.user_text

    def label(candidate: CandidateRecord) -> CandidateRecord:
        leaks = leaks_target(said, candidate.text, leak_refs)
        correct = holds_gold(said, candidate.text, query.gold) if query.gold else None
        return replace(candidate, leaks=leaks, correct=correct)

    return tuple(RoundRecord(tuple(label(c) for c in r.candidates)) for r in rounds)


async def record_queries(
    queries: Sequence[Query],
    run: RunQuery,
    path: Path,
    *,
    concurrency: int = 2,
    label: str = "calibrating",
    facts: Facts | None = None,
) -> list[QueryRecord]:
    """Records of ``queries`` in order: read from ``path`` where present, else run and
    appended to it. ``facts``: the facts of the targets of the forget set they run against."""
    done = {r.id: r for r in read_records(path)}
    todo = [q for q in queries if q.id not in done]
    limit = asyncio.Semaphore(concurrency)
    path.parent.mkdir(parents=True, exist_ok=True)
    progress = tqdm(total=len(queries), initial=len(done), desc=label, unit="query")
    with path.open("a", encoding="utf-8") as sink, progress:

        async def one(query: Query) -> None:
            async with limit:
                rounds = await run(query)
            record = QueryRecord(query.id, query.kind, query.group, labelled(query, rounds, facts))
            sink.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            sink.flush()  # each finished query survives an interruption
            done[query.id] = record
            progress.update()

        await asyncio.gather(*(one(q) for q in todo))
    return [done[q.id] for q in queries]
