"""Find forget-set names in text with one Aho-Corasick pass, whatever the number of targets.

A name counts in every disguise a reader undoes at a glance: case, accents, spacing, glued
parts, leetspeak, initials, and written backwards (the whole name, or each part in place:
"awH-nuY oaisH", "oaisH awH-nuY"). A lone part of a name ("Park", "Chen") is a *partial*
mention; a part that is an everyday word ("park", "lee") only counts written with a capital,
so "a walk in the park" names nobody.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import ahocorasick
from wordfreq import zipf_frequency

from verifiers.forgetset import Target
from verifiers.text import STOPWORDS, deleet, fold, fold_spans

HitKind = Literal["full", "initials", "partial"]
_MAX_JOINED_TOKENS = 5
# A name part at least this common in English (Zipf scale: 3 = once per million words) is
# also an everyday word, so its lower-case form is not taken for the name.
COMMON_WORD_ZIPF = 3.0


@dataclass(frozen=True, slots=True)
class NameHit:
    target_id: str
    kind: HitKind
    start: int  # offsets in the text as given (not the folded text)
    end: int


def _joinings(tokens: list[str]) -> Iterator[str]:
    """Every way of gluing neighbours: ``hsiao yun hwa`` -> ``hsiaoyun hwa``, ``hsiaoyunhwa``..."""
    if len(tokens) > _MAX_JOINED_TOKENS:
        yield " ".join(tokens)
        return
    for glue in itertools.product((" ", ""), repeat=len(tokens) - 1):
        yield tokens[0] + "".join(g + t for g, t in zip(glue, tokens[1:], strict=True))


def _patterns(target: Target) -> Iterator[tuple[str, HitKind]]:
    for name in target.names():
        tokens = fold(name).split()
        if not tokens:
            continue
        for joined in _joinings(tokens):
            yield joined, "full"
        if len(tokens) >= 2:
            # Written backwards: the whole name, or each part reversed in place.
            yield " ".join(t[::-1] for t in reversed(tokens)), "full"
            yield " ".join(t[::-1] for t in tokens), "full"
        if len(tokens) >= 2:
            initials = [t[0] for t in tokens]
            # Three or more initials fold to one token ("H.Y.H." -> "hyh"); two stay apart.
            yield ("".join(initials) if len(initials) >= 3 else " ".join(initials)), "initials"
            for token in tokens:
                if len(token) >= 4 and token not in STOPWORDS:
                    yield token, "partial"


class NameMatcher:
    def __init__(self, targets: Iterable[Target]) -> None:
        table: dict[str, set[tuple[str, HitKind]]] = {}
        for target in targets:
            for pattern, kind in _patterns(target):
                table.setdefault(f" {pattern} ", set()).add((target.id, kind))
        self._automaton = ahocorasick.Automaton()
        for key, values in table.items():
            self._automaton.add_word(key, (key, tuple(sorted(values))))
        self._empty = not table
        if not self._empty:
            self._automaton.make_automaton()
        # The prompt is searched once per candidate and per check: remember recent texts.
        self.find = lru_cache(maxsize=4096)(self._find)  # type: ignore[method-assign]

    def find(self, text: str) -> tuple[NameHit, ...]:
        """Hits in ``text`` and in its de-leeted view ("H5140" for "Hsiao")."""
        return self._find(text)

    def _find(self, text: str) -> tuple[NameHit, ...]:
        if self._empty:
            return ()
        folded = fold_spans(text)
        hits: dict[tuple[str, HitKind, int], NameHit] = {}
        views = {folded.text, deleet(folded.text)}
        for view in views:
            for end, (key, values) in self._automaton.iter(view):
                start, stop = folded.span_of(end - len(key) + 2, end)
                for target_id, kind in values:
                    if kind == "partial" and not _looks_like_a_name(text[start:stop], key):
                        continue
                    hits.setdefault((target_id, kind, start), NameHit(target_id, kind, start, stop))
        return tuple(hits.values())


def _looks_like_a_name(original: str, key: str) -> bool:
    """A lone name part counts when capitalised in the text or rare as an English word."""
    return original[:1].isupper() or zipf_frequency(key.strip(), "en") < COMMON_WORD_ZIPF


def strongest(hits: Iterable[NameHit]) -> dict[str, HitKind]:
    """Per target, the most specific kind of mention found."""
    rank = {"partial": 0, "initials": 1, "full": 2}
    best: dict[str, HitKind] = {}
    for hit in hits:
        if hit.target_id not in best or rank[hit.kind] > rank[best[hit.target_id]]:
            best[hit.target_id] = hit.kind
    return best
