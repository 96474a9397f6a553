"""TOFU's 200 fictitious authors as subjects: names recovered from the QA text, and the split
into proxy calibration targets, held-out test targets and the demo's forget set.

``full.jsonl`` carries no names (see ``../shared/data/tofu/README.md``): an author's name is
the most frequent run of capitalised words in its 20 questions and answers, extended to a
longer run (a middle name) when that longer run is almost as frequent.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calibration.builder import QA, Plan, Subject, build_queries
from calibration.dataset import write_dataset
from verifiers.forgetset import Target

AUTHORS = 200
DEMO_AUTHORS = range(180, 200)
"""TOFU's forget10 split: the demo forget set (180-194) and its siblings. Never calibrated on."""
HELD_OUT_AUTHORS = range(150, 180)
"""Test targets of the guarantee benchmark: never in calibration traffic of any kind."""
CALIBRATION_POOL = range(150)
"""Proxy targets (and retain subjects of mixed and unrelated traffic) for calibration."""
TARGET_KIND = "person"

# A capitalised word: a letter in upper case, then letters, hyphens or apostrophes
# ("Al-Shamary", "Tae-ho", "O'Neil", "Beltrán"), maybe after a lower-case prefix ("al-Faisal").
_WORD = re.compile(r"(?:[a-z]{1,3}-)?[A-ZÀ-Þ][\w'’-]*")
_PUNCTUATION = "\"“”‘'(),.;:!?"
_POSSESSIVE = re.compile(r"['’]s?$")
# Lower-case name particles inside a name ("Isabella van Pletzen", "Femke van der Meer").
_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "da", "di", "du", "la", "le"}
)
# When a longer run is at least this share as frequent as the best shorter one, the longer run
# is the name ("Jad Ambrose Al-Shamary" over "Ambrose Al-Shamary"): full names recur whole.
EXTEND_SHARE = 0.7
MAX_NAME_WORDS = 4


def _runs(text: str) -> list[list[str]]:
    """Maximal runs of capitalised words. Punctuation next to a word ends the run there, a
    possessive ends it after its word ("Jaime Vasquez's books" gives "Jaime Vasquez")."""
    runs: list[list[str]] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= 2:
            runs.append(list(run))
        run.clear()

    for token in text.split():
        core = token.strip(_PUNCTUATION)
        if token.startswith(tuple(_PUNCTUATION)):
            flush()
        possessive = bool(_POSSESSIVE.search(core))
        core = _POSSESSIVE.sub("", core)
        if not _WORD.fullmatch(core) and not (run and core.casefold() in _PARTICLES):
            flush()
            continue
        run.append(core)
        if possessive or token.endswith(tuple(_PUNCTUATION)):
            flush()
    flush()
    return runs


def _ngrams(texts: Iterable[str]) -> Counter[tuple[str, ...]]:
    """Runs of 2-4 words, each counted once per text, that start and end capitalised."""
    counts: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        grams: set[tuple[str, ...]] = set()
        for run in _runs(text):
            for size in range(2, min(MAX_NAME_WORDS, len(run)) + 1):
                for start in range(len(run) - size + 1):
                    gram = tuple(run[start : start + size])
                    if gram[0][0].isupper() and gram[-1].casefold() not in _PARTICLES:
                        grams.add(gram)
        counts.update(grams)
    return counts


def recover_name(texts: Sequence[str]) -> str | None:
    """The most frequent full name in ``texts`` (one author's QA pairs, one text each), or
    None when no name recurs in at least half of them (TOFU has a few authors it never
    names: "the fictitious author")."""
    counts = _ngrams(texts)
    if not counts:
        return None
    best = max(counts, key=lambda gram: (counts[gram], len(gram)))
    improved = True
    while improved:
        improved = False
        longer = [
            gram
            for gram in counts
            if len(gram) == len(best) + 1
            and (gram[1:] == best or gram[:-1] == best)
            and counts[gram] >= EXTEND_SHARE * counts[best]
        ]
        if longer:
            best = max(longer, key=lambda gram: counts[gram])
            improved = True
    return " ".join(best) if counts[best] * 2 >= len(texts) else None


def aliases_for(name: str) -> tuple[str, ...]:
    """The demo forget set's rule: the two parts swapped when the name has exactly two."""
    parts = name.split()
    return (f"{parts[1]} {parts[0]}",) if len(parts) == 2 else ()


def _rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_authors(data_dir: Path) -> dict[int, Subject]:
    """Every TOFU author with a recoverable name as a subject: id ``tofu-<n>``, the name,
    20 facts (the gold answers, verbatim) and the 20 questions with their gold answers."""
    by_author: dict[int, list[dict[str, Any]]] = {}
    for row in _rows(data_dir / "full.jsonl"):
        by_author.setdefault(int(row["author_id"]), []).append(row)
    authors: dict[int, Subject] = {}
    for number, rows in sorted(by_author.items()):
        name = recover_name([f"{r['question']}\n{r['answer']}" for r in rows])
        if name is None:
            continue
        authors[number] = Subject(
            id=f"tofu-{number}",
            name=name,
            aliases=aliases_for(name),
            facts=tuple(str(r["answer"]) for r in rows),
            qa=tuple(QA(str(r["question"]), str(r["answer"])) for r in rows),
        )
    return authors


def read_general(data_dir: Path) -> list[QA]:
    """Questions about real authors and world facts: unrelated traffic with gold answers."""
    rows = _rows(data_dir / "real_authors.jsonl") + _rows(data_dir / "world_facts.jsonl")
    return [QA(str(r["question"]), str(r["answer"])) for r in rows]


@dataclass(frozen=True)
class ProxyDraw:
    """Which authors play which part: forget sets of proxy targets, and the retain pool."""

    forget_sets: tuple[tuple[int, ...], ...]
    retain: tuple[int, ...]


def draw_forget_sets(
    pool: Sequence[int], sets: int, size: int, seed: int, rng_label: str = "proxy"
) -> ProxyDraw:
    """``sets`` disjoint forget sets of ``size`` authors drawn at random from ``pool``; the
    rest of the pool is the retain side (subjects of mixed and unrelated questions)."""
    if sets * size > len(pool):
        raise ValueError(
            f"{sets} forget sets of {size} need {sets * size} authors; the pool has {len(pool)}"
        )
    rng = random.Random(f"{seed}/{rng_label}")  # noqa: S311 - a reproducible draw, not security
    drawn = rng.sample(list(pool), sets * size)
    forget_sets = tuple(tuple(sorted(drawn[i * size : (i + 1) * size])) for i in range(sets))
    return ProxyDraw(forget_sets, tuple(sorted(set(pool) - set(drawn))))


def _target(subject: Subject) -> Target:
    return Target(id=subject.id, name=subject.name, aliases=subject.aliases, facts=subject.facts)


def _write(
    root: Path,
    name: str,
    sets: dict[str, list[Subject]],
    others: dict[str, list[Subject]],
    general: list[QA],
    plan: Plan,
    seed: int,
    about: dict[str, object],
) -> int:
    queries = []
    for set_name, targets in sets.items():
        queries += build_queries(set_name, targets, others[set_name], general, plan, seed)
    forget_sets = {k: [_target(s) for s in v] for k, v in sets.items()}
    write_dataset(root, name, TARGET_KIND, forget_sets, queries, {**about, "seed": seed})
    return len(queries)


@dataclass(frozen=True)
class ProxyOptions:
    sets: int = 8  # calibration forget sets
    size: int = 15  # targets per forget set: the demo's forget set has 15
    test_sets: int = 2  # held-out forget sets (HELD_OUT_AUTHORS) for the guarantee benchmark
    plan: Plan = field(default_factory=Plan)
    seed: int = 0


def build_proxy_datasets(data_dir: Path, out: Path, options: ProxyOptions) -> dict[str, int]:
    """Write ``tofu-proxy-calibration`` and ``tofu-proxy-test`` under ``out``.

    Calibration: ``sets`` forget sets of ``size`` proxy targets drawn from CALIBRATION_POOL;
    the retain side of each is every other pool author, plus the even-numbered general
    questions. Test: forget sets drawn from HELD_OUT_AUTHORS, whose retain side is the other
    held-out authors and the odd-numbered general questions, so no test query shares an
    author or a general question with calibration. DEMO_AUTHORS are never used.
    """
    authors = read_authors(data_dir)
    general = read_general(data_dir)
    counts: dict[str, int] = {}
    for name, pool, sets, questions in (
        ("tofu-proxy-calibration", CALIBRATION_POOL, options.sets, general[::2]),
        ("tofu-proxy-test", HELD_OUT_AUTHORS, options.test_sets, general[1::2]),
    ):
        usable = [a for a in pool if a in authors]
        draw = draw_forget_sets(usable, sets, options.size, options.seed, name)
        prefix = "proxy" if name.endswith("calibration") else "heldout"
        forget_sets = {
            f"{prefix}-{i + 1:02d}": [authors[a] for a in chosen]
            for i, chosen in enumerate(draw.forget_sets)
        }
        others = {
            set_name: [authors[a] for a in usable if authors[a] not in members]
            for set_name, members in forget_sets.items()
        }
        about: dict[str, object] = {
            "source": "TOFU full.jsonl (Maini et al., 2024; MIT); names recovered from QA text",
            "authors_pool": [pool.start, pool.stop - 1],
            "authors_unnamed": sorted(set(pool) - set(usable)),
            "never_used": [DEMO_AUTHORS.start, DEMO_AUTHORS.stop - 1],
            "plan": options.plan.__dict__,
        }
        counts[name] = _write(
            out / name, name, forget_sets, others, questions, options.plan, options.seed, about
        )
    return counts
