"""Dictionary definitions of the occupations and genres a fact names, from WordNet 3.0.

Why: people paraphrase a profession by saying what the job is — "she fitted, repaired and
opened locks for a living" for a locksmith, "he designs and builds bridges and roads" for a
civil engineer — and a small embedding model puts that far from the one word "locksmith"
(cosine ~0.5) but close to its definition, "someone who makes or repairs locks" (~0.7). So the
``semantic`` tier compares a candidate with the definitions of the occupations and genres in a
target's facts as well as with the facts themselves. Definitions are looked up once, when the
forget set is loaded; a candidate costs nothing more.

The table holds no names ("Faulkner" is not defined as "United States novelist"), and the
target's own name parts are skipped (an author called Potter is no craftsman). Phrases are
looked up longest first ("civil engineer" before "engineer"), singular or plural, whatever their
case ("her father was an Optometrist"). The table (``data/glosses.tsv.gz``, WordNet 3.0,
Princeton University; licence in ``data/WORDNET-LICENSE``) is built by
:mod:`verifiers.glosses_build`, which says which words it keeps.
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("data") / "glosses.tsv.gz"
MAX_PHRASE = 3  # words in the longest lemma looked up ("real estate agent")
_WORD = re.compile(r"[\w'-]+")


@lru_cache(maxsize=1)
def table() -> dict[str, tuple[str, ...]]:
    """Lemma (lowercase, words joined by "_") -> its definitions."""
    found: dict[str, list[str]] = {}
    for line in gzip.decompress(TABLE.read_bytes()).decode("utf-8").splitlines():
        lemma, _kind, definition = line.split("\t")
        found.setdefault(lemma, []).append(definition)
    return {lemma: tuple(definitions) for lemma, definitions in found.items()}


def definitions(text: str, names: frozenset[str] = frozenset()) -> list[str]:
    """The definitions of the occupations and genres ``text`` names, each once; words in
    ``names`` (lowercase), and their plurals, are not looked up, nor phrases across them."""
    found: list[str] = []
    for run in _runs(text, names):
        found.extend(_lookup(run))
    return list(dict.fromkeys(found))


def _runs(text: str, names: frozenset[str]) -> list[list[str]]:
    """The lowercase words of ``text``, in runs that stop at a name."""
    runs: list[list[str]] = [[]]
    for word in _WORD.findall(text.lower()):
        if word in names or word.removesuffix("s") in names:
            runs.append([])
        else:
            runs[-1].append(word)
    return [run for run in runs if run]


def _lookup(words: list[str]) -> list[str]:
    """Definitions of the lemmas in ``words``, longest first; a word is used once."""
    known = table()
    used = [False] * len(words)
    found: list[str] = []
    for size in range(min(MAX_PHRASE, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            if any(used[start : start + size]):
                continue
            lemma = _lemma("_".join(words[start : start + size]), known)
            if lemma is not None:
                found.extend(known[lemma])
                used[start : start + size] = [True] * size
    return found


def _lemma(phrase: str, known: dict[str, tuple[str, ...]]) -> str | None:
    """``phrase`` or its singular ("locksmiths", "actresses", "actuaries") if in the table."""
    plural_y = phrase[:-3] + "y" if phrase.endswith("ies") else phrase
    for form in (phrase, phrase.removesuffix("s"), phrase.removesuffix("es"), plural_y):
        if form in known:
            return form
    return None
