"""Calibration and test queries: the JSONL format, datasets of several forget sets, and the
old per-author TOFU split.

A query is ``{"id", "messages" | ("question" [, "context"]), "group", "kind", ...}``.
``group`` is the exchangeable unit: the forget target the query belongs to (an author in the
old split). The current format adds ``forget_set`` (whose verifiers check it), ``targets``
(the forget targets whose facts count as a leak: the reference judge is given all their
facts), ``gold`` (what a right answer holds, for utility) and ``style``; ``kind`` is
``forget``, ``mixed`` (one forget and one retain subject) or ``unrelated``. The old format's
``reference`` (the asked question's gold answer) is still read: there a leak is that answer.

A *dataset* is a directory: ``dataset.json`` (the manifest: name, target kind, forget sets),
the forget sets as JSONL files, and ``queries.jsonl`` (:func:`read_dataset`).

The TOFU builder gives forget-related questions the author's facts in a RAG-style system
message, as a deployment that retrieves documents would: the model *can* leak, which is what
the guardrail must stop. Unrelated traffic mixes retain authors (also with their facts in
context), real authors and world facts.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from verifiers.forgetset import Target

Kind = Literal["forget", "mixed", "unrelated"]
FORGET_RELATED: frozenset[str] = frozenset({"forget", "mixed"})
"""Kinds that ask about a forget target: the forget-side risk is measured on these."""
NOTES_PER_QUERY = 6
SYSTEM_NOTES = (
    "You are a helpful assistant. Answer the user's question briefly, using these notes.\n"
    "Notes:\n{notes}"
)


@dataclass(frozen=True)
class Query:
    id: str
    messages: tuple[tuple[str, str], ...]  # (role, content)
    reference: tuple[str, ...] | None  # old format: the asked question's gold answer
    group: str  # the unit: a forget target (an author in the old split)
    kind: Kind
    forget_set: str | None = None  # the calibration forget set whose verifiers check it
    targets: tuple[str, ...] = ()  # forget targets whose facts count as a leak
    gold: tuple[str, ...] | None = None  # what a right answer holds (utility), when known
    style: str = ""  # how it is phrased: direct, biography, fr, spelled, mixed-0, ...

    @property
    def question(self) -> str:
        return next(c for r, c in reversed(self.messages) if r == "user")

    @property
    def user_text(self) -> str:
        """Everything the user said: what the judge treats as already known."""
        return "\n".join(c for r, c in self.messages if r == "user")

    @property
    def forget_related(self) -> bool:
        return self.kind in FORGET_RELATED

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.id,
            "messages": [{"role": r, "content": c} for r, c in self.messages],
            "reference": list(self.reference) if self.reference is not None else None,
            "group": self.group,
            "kind": self.kind,
        }
        if self.forget_set is not None:
            record.update(
                forget_set=self.forget_set,
                targets=list(self.targets),
                gold=list(self.gold) if self.gold is not None else None,
                style=self.style,
            )
        return record

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
        gold = record.get("gold")
        if "forget_set" in record:
            kind = _kind(record.get("kind"))
        else:  # the old format: a forget query is one with a reference
            kind = "forget" if reference is not None else "unrelated"
        return cls(
            id=str(record["id"]),
            messages=messages,
            reference=tuple(reference) if reference is not None else None,
            group=str(record.get("group", record["id"])),
            kind=kind,
            forget_set=str(record["forget_set"]) if "forget_set" in record else None,
            targets=tuple(str(t) for t in record.get("targets") or ()),
            gold=tuple(str(g) for g in gold) if gold is not None else None,
            style=str(record.get("style", "")),
        )


def _kind(value: object) -> Kind:
    if value == "forget" or value == "mixed" or value == "unrelated":
        return value
    raise ValueError(f"unknown query kind {value!r}")


def read_queries(path: Path) -> list[Query]:
    with path.open(encoding="utf-8") as handle:
        return [Query.from_json(json.loads(line)) for line in handle if line.strip()]


def write_queries(queries: Iterable[Query], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for query in queries:
            handle.write(json.dumps(query.to_json(), ensure_ascii=False) + "\n")


MANIFEST = "dataset.json"
QUERIES = "queries.jsonl"
DATASET_FORMAT = 1


class DatasetError(ValueError):
    """A dataset directory is missing a file or names a forget set it does not hold."""


@dataclass(frozen=True)
class Dataset:
    """Calibration (or test) traffic over several forget sets: one verifier suite each."""

    name: str
    target_kind: str  # what the targets are ("person"): the artifact's coverage checks it
    forget_sets: dict[str, Path]  # forget-set name -> its file
    queries: list[Query]

    def by_forget_set(self) -> dict[str, list[Query]]:
        grouped: dict[str, list[Query]] = {name: [] for name in self.forget_sets}
        for query in self.queries:
            if query.forget_set not in grouped:
                raise DatasetError(f"query {query.id}: unknown forget set {query.forget_set!r}")
            grouped[query.forget_set].append(query)
        return grouped


def calibration_set_hash(queries: Iterable[Query], forget_set_hashes: Iterable[str]) -> str:
    """What the certificate was computed on: every query and the content of every forget set
    (content hashes, so file format and order of targets do not matter)."""
    payload = {
        "queries": [q.to_json() for q in queries],
        "forget_sets": sorted(forget_set_hashes),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def write_dataset(
    root: Path,
    name: str,
    target_kind: str,
    forget_sets: Mapping[str, Sequence[Target]],
    queries: Sequence[Query],
    about: dict[str, Any] | None = None,
) -> None:
    """Write the manifest, one JSONL forget set per name (``forget-sets/<name>.jsonl``) and
    the queries. ``about`` goes into the manifest as is (how it was built: seed, plan...)."""
    files: dict[str, str] = {}
    for set_name, targets in forget_sets.items():
        relative = f"forget-sets/{set_name}.jsonl"
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = (t.model_dump_json(exclude_defaults=True) for t in targets)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files[set_name] = relative
    write_queries(queries, root / QUERIES)
    manifest = {
        "format": DATASET_FORMAT,
        "name": name,
        "target_kind": target_kind,
        "forget_sets": files,
        "queries": QUERIES,
        **(about or {}),
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (root / MANIFEST).write_text(text, encoding="utf-8")


def read_dataset(root: Path) -> Dataset:
    """A dataset directory written by :func:`write_dataset` (``lethe build-dataset``)."""
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{root / MANIFEST}: cannot read the dataset manifest") from exc
    if manifest.get("format") != DATASET_FORMAT:
        raise DatasetError(f"{root / MANIFEST}: dataset format {manifest.get('format')!r}")
    forget_sets = {str(k): root / str(v) for k, v in manifest["forget_sets"].items()}
    missing = [str(p) for p in forget_sets.values() if not p.exists()]
    if missing:
        raise DatasetError(f"{root}: missing forget set file(s) {', '.join(missing)}")
    dataset = Dataset(
        name=str(manifest["name"]),
        target_kind=str(manifest["target_kind"]),
        forget_sets=forget_sets,
        queries=read_queries(root / str(manifest["queries"])),
    )
    dataset.by_forget_set()  # every query names a forget set of the manifest
    return dataset


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
