"""Datasets of ``python -m bench verifiers``: TOFU answers labelled by the reference judge, the
hand-labelled paraphrase sets, gold answers that must not be flagged, and a synthetic forget
set for scaling."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.paths import DATA, TOFU
from calibration.reference_judge import reference_judge
from verifiers.forgetset import ForgetSet, Target, build_forget_set, load_forget_set
from verifiers.types import Turn, VerifyContext

PARAPHRASE_DIR = DATA / "verifiers"
GOLD_FILES = ("retain", "real_authors", "world_facts")
# Hard sets written for another forget set than the demo's (not TOFU: private people,
# confidential deals, a product, a memo), by set: the forget set's file in PARAPHRASE_DIR.
OTHER_FORGET_SETS = {
    "hard_other1": "other_forget1.yaml",
    "hard_other2": "other_forget2.yaml",
    "hard_other3": "other_forget3.yaml",
    "hard_other4": "other_forget4.yaml",
    "hard_other5": "other_forget5.yaml",
    "hard_other6": "other_forget6.yaml",
    "hard_other7": "other_forget7.yaml",
    "hard_other8": "other_forget8.yaml",  # not scored yet (bench.verifiers.sets)
}


def default_data_dir() -> Path:
    """The offline TOFU copy next to the repository: ``../shared/data/tofu``."""
    return TOFU


@dataclass(frozen=True, slots=True)
class Item:
    """One candidate answer to score, with its question and label."""

    id: str
    question: str
    answer: str
    leak: bool
    category: str = ""
    # The conversation before the answer as (role, content), the question last; empty: the
    # question alone.
    messages: tuple[tuple[str, str], ...] = ()

    def context(self) -> VerifyContext:
        """What the verifiers see, as ``server.guard.verify_context`` builds it."""
        if not self.messages:
            return VerifyContext(question=self.question)
        users = [content for role, content in self.messages if role == "user"]
        return VerifyContext(
            question=users[-1] if users else "",
            history=tuple(users[:-1]),
            turns=tuple(Turn(role, content) for role, content in self.messages),
        )


@dataclass(frozen=True, slots=True)
class VerbatimSet:
    """TOFU forget10 answers the reference judge labels leaking (``gen_knows``) or safe."""

    rows: int
    positives: tuple[Item, ...]
    negatives: tuple[Item, ...]

    @property
    def items(self) -> tuple[Item, ...]:
        return (*self.positives, *self.negatives)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def every_nth(rows: Sequence[dict[str, Any]], keep: int | None) -> list[dict[str, Any]]:
    """``keep`` rows spread evenly over ``rows`` (all of them when ``keep`` is None)."""
    if keep is None or keep >= len(rows):
        return list(rows)
    step = len(rows) / keep
    return [rows[int(i * step)] for i in range(keep)]


def verbatim_set(rows: Sequence[dict[str, Any]], gold: Sequence[dict[str, Any]]) -> VerbatimSet:
    """Label ``rows`` with the reference judge; ``gold`` supplies each author's gold answers.

    Positive: ``gen_knows`` leaks the row's own gold answer. Negative: ``gen_never_saw`` leaks
    none of the author's gold answers. Other answers are left out.
    """
    answers: dict[int, list[str]] = defaultdict(list)
    for row in gold:
        answers[int(row["author_id"])].append(str(row["answer"]))
    positives: list[Item] = []
    negatives: list[Item] = []
    for row in rows:
        question = str(row["question"])
        knows, never = str(row["gen_knows"]), str(row["gen_never_saw"])
        if reference_judge(question, knows, [str(row["answer"])]).leaks:
            positives.append(Item(f"{row['id']}:knows", question, knows, True, "gen_knows"))
        if not reference_judge(question, never, answers[int(row["author_id"])]).leaks:
            negatives.append(Item(f"{row['id']}:never", question, never, False, "gen_never_saw"))
    return VerbatimSet(len(rows), tuple(positives), tuple(negatives))


def timing_items(rows: Sequence[dict[str, Any]]) -> list[Item]:
    """Every ``gen_knows`` and ``gen_never_saw`` answer, unlabelled (for latency only)."""
    items: list[Item] = []
    for row in rows:
        for field in ("gen_knows", "gen_never_saw"):
            items.append(Item(f"{row['id']}:{field}", str(row["question"]), str(row[field]), False))
    return items


def paraphrase_items(path: Path) -> list[Item]:
    return [
        Item(
            str(row["id"]),
            str(row["question"]),
            str(row["answer"]),
            row["label"] == "leak",
            str(row["category"]),
        )
        for row in read_jsonl(path)
    ]


def other_forget_set(name: str) -> ForgetSet:
    """The forget set the hard set ``name`` (one of ``OTHER_FORGET_SETS``) was written for."""
    return load_forget_set(PARAPHRASE_DIR / OTHER_FORGET_SETS[name])


def hard_items(path: Path) -> list[Item]:
    """A hard set (``hard_*.jsonl``): conversations, answers, labels and categories."""
    items: list[Item] = []
    for row in read_jsonl(path):
        messages = tuple((str(m["role"]), str(m["content"])) for m in row["messages"])
        question = next((c for r, c in reversed(messages) if r == "user"), "")
        items.append(
            Item(
                str(row["id"]),
                question,
                str(row["answer"]),
                row["label"] == "leak",
                str(row["category"]),
                messages,
            )
        )
    return items


CHAT_TURNS = 3


def chat_items(data_dir: Path, keep: int | None = None) -> list[Item]:
    """Ordinary multi-turn chats: runs of ``CHAT_TURNS`` consecutive gold question/answer
    pairs (retain authors, real authors, world facts), the earlier answers as assistant turns
    and the last answer as the candidate. None of them leaks; every flag is the cost of
    verifying a candidate together with the conversation."""
    items: list[Item] = []
    for name in GOLD_FILES:
        rows = read_jsonl(data_dir / f"{name}.jsonl")
        for start in range(0, len(rows) - CHAT_TURNS + 1, CHAT_TURNS):
            run = rows[start : start + CHAT_TURNS]
            messages: list[tuple[str, str]] = []
            for row in run[:-1]:
                messages += [("user", str(row["question"])), ("assistant", str(row["answer"]))]
            last = run[-1]
            messages.append(("user", str(last["question"])))
            items.append(
                Item(
                    f"chat:{last['id']}",
                    str(last["question"]),
                    str(last["answer"]),
                    False,
                    name,
                    tuple(messages),
                )
            )
    return every_nth_items(items, keep)


def every_nth_items(items: Sequence[Item], keep: int | None) -> list[Item]:
    if keep is None or keep >= len(items):
        return list(items)
    step = len(items) / keep
    return [items[int(i * step)] for i in range(keep)]


def gold_items(data_dir: Path, keep: int | None = None) -> dict[str, list[Item]]:
    """Gold answers of retain / real-author / world-fact questions: none of them may leak."""
    return {
        name: [
            Item(str(row["id"]), str(row["question"]), str(row["answer"]), False, name)
            for row in every_nth(read_jsonl(data_dir / f"{name}.jsonl"), keep)
        ]
        for name in GOLD_FILES
    }


# --- synthetic forget set for scaling -------------------------------------------------------

_SYLLABLES = (
    "ka ri mo tan el vo shi ra lu dor fen ya qui zan bel or ith mar sol nev "
    "ta ko ben ul gri sa ve lin tor am is pe do na rho cu vik es ja lom"
).split()
_PLACES = (
    "Lisbon Oslo Nairobi Lima Hanoi Quito Tbilisi Krakow Accra Dakar Perth Riga Tunis Sapporo "
    "Bergen Cusco Mombasa Porto Gdansk Tallinn Manaus Valparaiso Fez Izmir Cebu"
).split()
_JOBS = (
    "baker pilot nurse carpenter geologist librarian tailor surgeon fisherman architect "
    "veterinarian electrician chemist sailor potter translator jeweller"
).split()
_WORDS = (
    "river lantern orchard harbour silence winter mirror garden thunder ember compass meadow "
    "glacier violin shadow canyon feather marble tide horizon"
).split()
_THEMES = (
    "memory exile grief friendship migration justice faith ambition loneliness war family "
    "identity revolution childhood betrayal redemption"
).split()


def _name(rng: random.Random) -> str:
    def part() -> str:
        return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()

    return f"{part()} {part()}"


def _facts(name: str, rng: random.Random) -> tuple[str, ...]:
    title = " ".join(w.capitalize() for w in rng.sample(_WORDS, 3))
    award = f"{rng.choice(_WORDS).capitalize()} {rng.choice(_WORDS).capitalize()} Prize"
    job, job2 = rng.sample(_JOBS, 2)
    a, b, c = rng.sample(_THEMES, 3)
    return (
        f"{name} was born in {rng.choice(_PLACES)} in {rng.randint(1930, 1999)}.",
        f"{name}'s father worked as a {job} and their mother as a {job2}.",
        f"{name} is best known for the novel '{title}'.",
        f"{name} received the {award} in {rng.randint(1960, 2023)}.",
        f"{name} often writes about {a}, {b} and {c}.",
    )


def synthetic_forget_set(n_targets: int, seed: int = 7) -> ForgetSet:
    """``n_targets`` made-up authors ``syn-00000``..., five templated facts each."""
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not secrets)
    names: dict[str, None] = {}
    while len(names) < n_targets:
        names.setdefault(_name(rng))
    targets = [
        Target(id=f"syn-{i:05d}", name=name, facts=_facts(name, rng))
        for i, name in enumerate(names)
    ]
    return build_forget_set(targets, name=f"synthetic-{n_targets}")


def synthetic_candidates(forget_set: ForgetSet, count: int, seed: int = 11) -> list[Item]:
    """Sentences stating a synthetic fact, asked about the target, or about nobody."""
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not secrets)
    targets = forget_set.targets
    items: list[Item] = []
    for number in range(count):
        target = rng.choice(targets)
        fact = rng.choice(target.facts)
        question = f"Tell me about {target.name}." if number % 2 else "Any author suggestions?"
        items.append(Item(f"syn-cand-{number}", question, fact, True, "synthetic"))
    return items
