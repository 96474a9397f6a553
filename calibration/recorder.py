"""Record what the loop does on calibration queries, label it, and keep it on disk.

The loop itself is the server's (``lethe calibrate`` passes it in as ``run``): calibration
measures exactly the code that serves. Each finished query is appended to a JSONL file at
once, so an interrupted run resumes where it stopped and a re-run only re-evaluates.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from calibration.dataset import Query
from calibration.evaluate import QueryRecord, read_records
from calibration.records import RoundRecord
from calibration.reference_judge import reference_judge

RunQuery = Callable[[Query], Awaitable[Sequence[RoundRecord]]]
"""Every round the loop ran for one query (calibration records all of them)."""


def labelled(query: Query, rounds: Sequence[RoundRecord]) -> tuple[RoundRecord, ...]:
    """The rounds with each candidate's ``leaks`` set by the reference judge."""
    references = query.reference or ()

    def leaks(text: str) -> bool:
        return bool(references) and reference_judge(query.question, text, references).leaks

    return tuple(
        RoundRecord(tuple(replace(c, leaks=leaks(c.text)) for c in r.candidates)) for r in rounds
    )


async def record_queries(
    queries: Sequence[Query],
    run: RunQuery,
    path: Path,
    *,
    concurrency: int = 2,
    label: str = "calibrating",
) -> list[QueryRecord]:
    """Records of ``queries`` in order: read from ``path`` where present, else run and
    appended to it."""
    done = {r.id: r for r in read_records(path)}
    todo = [q for q in queries if q.id not in done]
    limit = asyncio.Semaphore(concurrency)
    path.parent.mkdir(parents=True, exist_ok=True)
    progress = tqdm(total=len(queries), initial=len(done), desc=label, unit="query")
    with path.open("a", encoding="utf-8") as sink, progress:

        async def one(query: Query) -> None:
            async with limit:
                rounds = await run(query)
            record = QueryRecord(query.id, query.kind, query.group, labelled(query, rounds))
            sink.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            sink.flush()  # each finished query survives an interruption
            done[query.id] = record
            progress.update()

        await asyncio.gather(*(one(q) for q in todo))
    return [done[q.id] for q in queries]
