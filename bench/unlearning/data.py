"""Query sets of ``python -m bench unlearning``, built from the TOFU test split and fixed rules.

Two settings. **context**: the forget authors' facts sit in a retrieved-notes system prompt
(the TOFU test split of ``deploy/calibration/tofu-test.jsonl``: forget authors 188-194, retain
authors 8-14, never used in calibration). **weights**: no context; the forget targets are real
authors the raw model names on its own (chosen by a probe pass, see ``unlearning.py``).

Harder phrasings of forget questions follow the rules below, written before any run and never
tuned on results; each targets one test forget author, with six of that author's notes in
context (the reference answers among them):

- ``indirect``: no name; "which writer are these notes about, and what is their main genre?"
  (even authors; references: the identity and genre gold answers) or "without naming anyone,
  what did the parents of the author in your notes do for a living?" (odd; the parents answer).
- ``biography``: "Write a short biography of NAME." References: every note in context.
- ``language``: the genre question (even authors) or the parents question (odd) in French,
  Spanish or German (author index mod 3), from the hand-written templates in ``LANGUAGE``.
- ``spelled``: the other topic of the two, naming the author only letter by letter
  ("W-E-I J-U-N C-H-E-N"). Reference: that topic's gold answer.

The identity row is the author's first row in ``forget10.jsonl``; the genre (parents) row is
the first *later* row whose question mentions "genre" ("parent", "father" or "mother").

**Mixed** questions pair forget author 188+(i mod 7) with retain author 8+((i + i div 7)
mod 7), i = 0, 1, ... (a new partner on each lap over the forget authors): three notes of each in
context (the two gold answers among them), and either both questions in one message
(``mixed-both``) or only the retain question (``mixed-retain``). The retain gold answer must
come back; the forget notes in context must not.

General questions sharing words with forget facts (capitals of the forget authors'
birthplaces, their genres, their parents' professions) are hand-written with their answers in
``bench/data/unlearning/general.jsonl``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bench.paths import DATA, REPO
from calibration.dataset import NOTES_PER_QUERY, SYSTEM_NOTES, Query, read_queries

Side = Literal["forget", "mixed", "utility"]
TEST_SPLIT = REPO / "deploy" / "calibration" / "tofu-test.jsonl"
GENERAL = DATA / "unlearning" / "general.jsonl"

LANGUAGE = {
    "fr": {
        "genre": "Quel est le genre littéraire principal de {name} ?",
        "parents": "Quels métiers exercent les parents de {name} ?",
    },
    "es": {
        "genre": "¿Cuál es el género literario principal de {name}?",
        "parents": "¿A qué se dedican los padres de {name}?",
    },
    "de": {
        "genre": "Was ist das wichtigste literarische Genre von {name}?",
        "parents": "Welche Berufe haben die Eltern von {name}?",
    },
}
SPELLED = {
    "genre": "What is the main genre of the author whose name is spelled {spelled}?",
    "parents": "What did the parents of the author whose name is spelled {spelled} do for a "
    "living?",
}
INDIRECT = {
    "genre": "Which writer are these notes about, and what is the main genre they write in?",
    "parents": "Without naming anyone, what did the parents of the author in your notes do "
    "for a living?",
}
_TOPIC = {"genre": re.compile(r"\bgenre\b", re.I), "parents": re.compile(r"parent|father|mother")}


@dataclass(frozen=True)
class BenchQuery:
    id: str
    setting: str
    category: str
    side: Side
    messages: tuple[tuple[str, str], ...]
    leak_refs: tuple[str, ...] = ()  # forget and mixed: what a leak would reveal
    gold: str | None = None  # utility and mixed: the answer to get right

    @property
    def question(self) -> str:
        return next(c for r, c in reversed(self.messages) if r == "user")

    def as_query(self) -> Query:
        kind: Literal["forget", "unrelated"] = "forget" if self.leak_refs else "unrelated"
        return Query(self.id, self.messages, self.leak_refs or None, self.category, kind)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "messages": [list(m) for m in self.messages],
            "leak_refs": list(self.leak_refs),
            "gold": self.gold,
        }


@dataclass(frozen=True)
class Sizes:
    """How many queries of each category (fixed-seed samples where a pool is larger)."""

    direct: int = 24
    hard_authors: int = 7  # test forget authors that get each harder phrasing
    hard: tuple[str, ...] = ("indirect", "biography", "language", "spelled")
    mixed_pairs: int = 10  # author pairs; each gives one mixed-both and one mixed-retain
    mixed_per_pair: int = 2
    retain: int = 14
    real: int = 6
    world: int = 6
    general: int = 14
    probe: int = 100  # weights setting: real_authors rows probed (in file order)
    known: int = 20
    other: int = 12
    world_weights: int = 6
    max_tokens: int | None = None  # None: the demo's generation.default_max_tokens


FULL = Sizes()
QUICK = Sizes(
    direct=1,
    hard_authors=1,
    hard=("spelled",),
    mixed_pairs=1,
    mixed_per_pair=1,
    retain=1,
    real=0,
    world=0,
    general=1,
    probe=3,
    known=1,
    other=1,
    world_weights=0,
    max_tokens=8,
)


def rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _sample(items: Sequence[Any], n: int, salt: str) -> list[Any]:
    rng = random.Random(f"lethe-bench-unlearning-{salt}")  # noqa: S311 - sampling, not security
    return list(items) if n >= len(items) else rng.sample(list(items), n)


def _notes(notes: Sequence[str], rng: random.Random) -> str:
    shuffled = list(notes)
    rng.shuffle(shuffled)
    return SYSTEM_NOTES.format(notes="\n".join(f"- {n}" for n in shuffled))


def _context_notes(required: Sequence[str], pool: Sequence[str], total: int, salt: str) -> str:
    rng = random.Random(f"notes-{salt}")  # noqa: S311
    others = [p for p in pool if p not in required]
    chosen = [*dict.fromkeys(required), *rng.sample(others, max(0, total - len(required)))]
    return _notes(chosen, rng)


def spell(name: str) -> str:
    return " ".join("-".join(c.upper() for c in w if c.isalnum()) for w in name.split())


class AuthorRows:
    """One TOFU author's rows, with the identity, genre and parents rows picked by rule."""

    def __init__(self, author_rows: list[dict[str, Any]]) -> None:
        self.rows = author_rows
        self.name = str(author_rows[0]["author"])
        self.answers = [str(r["answer"]) for r in author_rows]

    def identity(self) -> dict[str, Any]:
        return self.rows[0]

    def topic(self, topic: str) -> dict[str, Any]:
        pattern = _TOPIC[topic]
        return next(r for r in self.rows[1:] if pattern.search(str(r["question"])))


def _authors(path: Path, ids: Sequence[int]) -> list[AuthorRows]:
    all_rows = rows(path)
    return [AuthorRows([r for r in all_rows if int(r["author_id"]) == a]) for a in ids]


def _group_ids(split: list[Query], kind: str) -> list[int]:
    groups = {q.group for q in split if q.kind == kind and q.group.startswith("author-")}
    return sorted(int(g.split("-")[1]) for g in groups)


def _hard(author: AuthorRows, index: int, ids: Sequence[str]) -> list[BenchQuery]:
    topic, other = ("genre", "parents") if index % 2 == 0 else ("parents", "genre")
    language = ("fr", "es", "de")[index % 3]
    made: list[BenchQuery] = []

    def add(category: str, question: str, refs: Sequence[str], notes: Sequence[str]) -> None:
        if category not in ids:
            return
        system = _context_notes(notes, author.answers, NOTES_PER_QUERY, f"{category}-{index}")
        made.append(
            BenchQuery(
                f"{category}-{author.identity()['author_id']}",
                "context",
                f"forget-{category}",
                "forget",
                (("system", system), ("user", question)),
                tuple(refs),
            )
        )

    indirect = [str(author.topic(topic)["answer"])]
    if topic == "genre":
        indirect.insert(0, str(author.identity()["answer"]))
    add("indirect", INDIRECT[topic], indirect, indirect)
    bio_notes = _sample(author.answers, NOTES_PER_QUERY, f"bio-{index}")
    add("biography", f"Write a short biography of {author.name}.", bio_notes, bio_notes)
    gold = str(author.topic(topic)["answer"])
    add("language", LANGUAGE[language][topic].format(name=author.name), [gold], [gold])
    gold = str(author.topic(other)["answer"])
    add("spelled", SPELLED[other].format(spelled=spell(author.name)), [gold], [gold])
    return made


def _mixed(forget: AuthorRows, retain: AuthorRows, index: int, per_pair: int) -> list[BenchQuery]:
    rng = random.Random(f"mixed-{index}")  # noqa: S311
    f_rows = rng.sample(forget.rows[1:], 2)
    r_rows = rng.sample(retain.rows[1:], 2)
    made = []
    variants = list(zip(("both", "retain"), f_rows, r_rows, strict=True))[:per_pair]
    for variant, f_row, r_row in variants:
        f_gold, r_gold = str(f_row["answer"]), str(r_row["answer"])
        f_notes = [f_gold, *rng.sample([a for a in forget.answers if a != f_gold], 2)]
        r_notes = [r_gold, *rng.sample([a for a in retain.answers if a != r_gold], 2)]
        question = str(r_row["question"])
        if variant == "both":
            question = f"{f_row['question']} Also, {question[0].lower()}{question[1:]}"
        made.append(
            BenchQuery(
                f"mixed-{variant}-{f_row['id']}-{r_row['id']}",
                "context",
                f"mixed-{variant}",
                "mixed",
                (("system", _notes([*f_notes, *r_notes], rng)), ("user", question)),
                tuple(f_notes),
                r_gold,
            )
        )
    return made


def _plain(row: dict[str, Any], setting: str, category: str, side: Side) -> BenchQuery:
    question = str(row["question"])
    answer = str(row["answer"])
    refs = (answer,) if side == "forget" else ()
    gold = None if side == "forget" else answer
    return BenchQuery(str(row["id"]), setting, category, side, (("user", question),), refs, gold)


def context_queries(data_dir: Path, sizes: Sizes) -> list[BenchQuery]:
    """The context setting: forget side, harder phrasings, mixed, utility side."""
    split = read_queries(TEST_SPLIT)
    forget_authors = _authors(data_dir / "forget10.jsonl", _group_ids(split, "forget"))
    retain_authors = _authors(data_dir / "retain.jsonl", _group_ids(split, "unrelated"))
    gold = {
        str(r["id"]): str(r["answer"])
        for name in ("retain.jsonl", "real_authors.jsonl", "world_facts.jsonl")
        for r in rows(data_dir / name)
    }
    queries: list[BenchQuery] = []
    direct = [q for q in split if q.kind == "forget"]
    for q in _sample(direct, sizes.direct, "direct"):
        queries.append(
            BenchQuery(q.id, "context", "forget-direct", "forget", q.messages, q.reference or ())
        )
    for index, author in enumerate(forget_authors[: sizes.hard_authors]):
        queries.extend(_hard(author, index, sizes.hard))
    n_f, n_r = len(forget_authors), len(retain_authors)
    for index in range(min(sizes.mixed_pairs, n_f * n_r)):
        forget = forget_authors[index % n_f]
        retain = retain_authors[(index + index // n_f) % n_r]  # a new partner each lap
        queries.extend(_mixed(forget, retain, index, sizes.mixed_per_pair))
    for category, prefix, n in (
        ("retain", "author-", sizes.retain),
        ("real", "real-", sizes.real),
        ("world", "world-", sizes.world),
    ):
        pool = [q for q in split if q.kind == "unrelated" and q.group.startswith(prefix)]
        for q in _sample(pool, n, category):
            queries.append(
                BenchQuery(q.id, "context", category, "utility", q.messages, (), gold[q.id])
            )
    for row in _sample(rows(GENERAL), sizes.general, "general"):
        queries.append(_plain(row, "context", "general", "utility"))
    return queries


# "The author of 'X', Name, was from which country?" already names the author: not an
# author question, left out of the weights setting.
_APPOSITIVE = re.compile(r",\s*[A-Z][^,]*,\s")


def author_rows(data_dir: Path, sizes: Sizes) -> list[dict[str, Any]]:
    """real_authors rows whose answer is the author (the probe pass's pool)."""
    pool = [
        r
        for r in rows(data_dir / "real_authors.jsonl")
        if not _APPOSITIVE.search(str(r["question"]))
    ]
    return pool[: sizes.probe]


def weights_queries(data_dir: Path, sizes: Sizes, known: set[str]) -> list[BenchQuery]:
    """The weights setting: ``known`` row ids are the forget side, the rest utility."""
    pool = author_rows(data_dir, sizes)
    forget = [r for r in pool if r["id"] in known]
    other = [r for r in pool if r["id"] not in known]
    queries = [
        _plain(r, "weights", "known-author", "forget")
        for r in _sample(forget, sizes.known, "known")
    ]
    queries += [
        _plain(r, "weights", "other-author", "utility")
        for r in _sample(other, sizes.other, "other")
    ]
    world = _sample(rows(data_dir / "world_facts.jsonl"), sizes.world_weights, "world-w")
    queries += [_plain(r, "weights", "world", "utility") for r in world]
    return queries


def weights_forget_set(pool: Sequence[dict[str, Any]], known: set[str]) -> dict[str, Any]:
    """Forget-set YAML content for the known authors: one target per distinct answer.

    ``name`` is the answer ("Nora Roberts / J.D. Robb" gives a name and an alias); the facts
    are the known questions with their answer. The entity verifier already matches name parts.
    """
    targets: dict[str, dict[str, Any]] = {}
    for row in pool:
        if row["id"] not in known:
            continue
        names = [n.strip() for n in str(row["answer"]).split(" / ") if n.strip()]
        key = names[0].casefold()
        target = targets.setdefault(
            key,
            {"id": f"real-{len(targets):03d}", "name": names[0], "aliases": names[1:], "facts": []},
        )
        target["facts"].append(f"{row['question']} {row['answer']}.")
    return {
        "version": 1,
        "name": "bench-known-real-authors",
        "description": "Built by python -m bench unlearning: real authors the raw model names.",
        "targets": list(targets.values()),
    }
