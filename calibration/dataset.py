"""Calibration and test queries: the JSONL format, and a builder from the TOFU data.

A query is ``{"id", "messages" | ("question" [, "context"]), "reference", "group", "kind"}``.
``reference`` lists what a leak would reveal (the gold answer) and is null for unrelated
queries; ``group`` is the unit of splitting (an author), so calibration and test never share
a forget target; ``kind`` is ``forget`` or ``unrelated``.

The TOFU builder gives forget-related questions the author's facts in a RAG-style system
message, as a deployment that retrieves documents would: the model *can* leak, which is what
the guardrail must stop. Unrelated traffic mixes retain authors (also with their facts in
context), real authors and world facts.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Kind = Literal["forget", "unrelated"]
NOTES_PER_QUERY = 6
SYSTEM_NOTES = (
    "You are a helpful assistant. Answer the user's question briefly, using these notes.\n"
    "Notes:\n{notes}"
)


@dataclass(frozen=True)
class Query:
    id: str
    messages: tuple[tuple[str, str], ...]  # (role, content)
    reference: tuple[str, ...] | None
    group: str
    kind: Kind

    @property
    def question(self) -> str:
        return next(c for r, c in reversed(self.messages) if r == "user")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "messages": [{"role": r, "content": c} for r, c in self.messages],
            "reference": list(self.reference) if self.reference is not None else None,
            "group": self.group,
            "kind": self.kind,
        }

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Query:
        if "messages" in record:
            messages = tuple((str(m["role"]), str(m["content"])) for m in record["messages"])
        else:
            system = (("system", str(record["context"])),) if record.get("context") else ()
            messages = (*system, ("user", str(record["question"])))
        reference = record.get("reference")
        if isinstance(reference, str):
            reference = [reference]
        return cls(
            id=str(record["id"]),
            messages=messages,
            reference=tuple(reference) if reference is not None else None,
            group=str(record.get("group", record["id"])),
            kind="forget" if reference is not None else "unrelated",
        )


def read_queries(path: Path) -> list[Query]:
    with path.open(encoding="utf-8") as handle:
        return [Query.from_json(json.loads(line)) for line in handle if line.strip()]


def write_queries(queries: Iterable[Query], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for query in queries:
            handle.write(json.dumps(query.to_json(), ensure_ascii=False) + "\n")


def _rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _with_notes(row: dict[str, Any], facts: Sequence[str], rng: random.Random) -> Query:
    others = [f for f in facts if f != row["answer"]]
    notes = [row["answer"], *rng.sample(others, min(NOTES_PER_QUERY - 1, len(others)))]
    rng.shuffle(notes)
    system = SYSTEM_NOTES.format(notes="\n".join(f"- {n}" for n in notes))
    return Query(
        id=str(row["id"]),
        messages=(("system", system), ("user", str(row["question"]))),
        reference=None,
        group=f"author-{row['author_id']}",
        kind="unrelated",
    )


def _author_queries(rows: list[dict[str, Any]], kind: Kind, seed: int) -> list[Query]:
    by_author: dict[int, list[str]] = {}
    for row in rows:
        by_author.setdefault(int(row["author_id"]), []).append(str(row["answer"]))
    rng = random.Random(seed)  # noqa: S311 - sampling notes, not security
    queries = []
    for row in rows:
        query = _with_notes(row, by_author[int(row["author_id"])], rng)
        if kind == "forget":
            query = Query(query.id, query.messages, (str(row["answer"]),), query.group, "forget")
        queries.append(query)
    return queries


def _plain_queries(rows: list[dict[str, Any]], group: str) -> list[Query]:
    return [
        Query(
            str(r["id"]), (("user", str(r["question"])),), None, f"{group}-{r['id']}", "unrelated"
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Split:
    calibration: list[Query]
    test: list[Query]


def build_tofu_split(data_dir: Path, seed: int = 0) -> Split:
    """Authors split in halves (first half calibration), general questions alternate."""
    forget = _author_queries(_rows(data_dir / "forget10.jsonl"), "forget", seed)
    retain = _author_queries(_rows(data_dir / "retain.jsonl"), "unrelated", seed + 1)
    plain = _plain_queries(_rows(data_dir / "real_authors.jsonl"), "real") + _plain_queries(
        _rows(data_dir / "world_facts.jsonl"), "world"
    )
    calibration: list[Query] = []
    test: list[Query] = []
    for queries in (forget, retain):
        groups = sorted({q.group for q in queries}, key=lambda g: int(g.split("-")[1]))
        first_half = set(groups[: (len(groups) + 1) // 2])
        for query in queries:
            (calibration if query.group in first_half else test).append(query)
    for number, query in enumerate(plain):
        (calibration if number % 2 == 0 else test).append(query)
    return Split(calibration, test)
