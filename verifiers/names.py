"""Find forget-set names in text with one Aho-Corasick pass, whatever the number of targets.

A name counts in every disguise a reader undoes at a glance: case, accents, spacing, glued
parts, leetspeak, initials (also the first part's initial before another part: "K. Abera",
"W.-J. Chen", or after it as a catalogue writes it: "Jarrah, A."), misheard or mistyped ("way
jun chen": :mod:`verifiers.misheard`), and written backwards (the whole name, or each part in
place: "awH-nuY oaisH", "oaisH awH-nuY"), with a case ending as inflecting languages write it
("Moshe Ben-Davida", "Hsiao Yun-Hwy", "Elvina Mammadova"), and in another script ("Бехруз
Рохани", "ベフルーズ・ロハニ": :mod:`verifiers.sounds`; "陈伟俊", "박지연":
:mod:`verifiers.syllables`). A lone part of a name ("Park", "Chen") is a *partial* mention; a
part that is an everyday word ("park", "lee") only counts written with a capital, so "a walk in
the park" names nobody.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import ahocorasick

from verifiers.forgetset import Target
from verifiers.frequency import english_zipf
from verifiers.misheard import MisheardIndex
from verifiers.sounds import SoundIndex
from verifiers.syllables import SyllableIndex
from verifiers.text import STOPWORDS, deleet, fold, fold_spans

HitKind = Literal["full", "initials", "partial"]
_MAX_JOINED_TOKENS = 5
# A name part at least this common in English (Zipf scale: 3 = once per million words) is
# also an everyday word, so its lower-case form is not taken for the name.
COMMON_WORD_ZIPF = 3.0
# Case endings a full name takes in inflecting languages, on its last part (added, or replacing
# its final vowel), as written after folding: Polish, Czech, Slovak, transliterated Russian
# ("Ben-Davida", "Yun-Hwy", "Chenovi", "Parkem"), German genitive ("Chens Vater"), Finnish,
# Hungarian and Turkish ("Chenin", "Chennek", "Chen'in"). Lone parts only when distinctive
# (see ``_inflection_bases``).
_VOWELS = frozenset("aeiouy")
INFLECTIONS = (
    "a", "e", "i", "u", "y", "s", "n", "em", "om", "ie", "owi", "ovi", "ego", "emu", "ovo",
    "in", "un", "nin", "nun", "nak", "nek", "lle", "sta", "ssa", "ta", "ja",
)  # fmt: skip
_ENDINGS = frozenset(INFLECTIONS)
INFLECTED_PART_LENGTH = 5  # shorter name parts with an ending are too often other words
# Every part of a name rarer than this in English (Zipf 4: ten per million words; "Carmen" 3.7,
# "David" 5.0, "Park" 5.0) all in one text are the name, wherever they stand.
DISTINCT_ZIPF = 4.0
# Initials with full stops right before a name part: "K. Abera", "W.-J. Chen".
_INITIALS_BEFORE = re.compile(r"(?<![\w.])([A-Z])\.(?:\s*-?\s*[A-Z]\.)*\s*$")
# ... and after it, as a catalogue inverts a name ("Jarrah, A.", "Chen, W.-J.").
_INITIALS_AFTER = re.compile(r",\s*([A-Z])\.(?:\s*-?\s*[A-Z]\.)*")


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


def _inflection_bases(target: Target) -> Iterator[tuple[str, HitKind]]:
    """Each full name, and each distinctive part of one, as it starts when inflected: whole,
    or without its final vowel ("moshe ben david", "hsiao yun hw", "mammadov"); a hit must go
    on with one of ``INFLECTIONS``. A part that is an English word ("park") is left out: with
    an ending it is too often another word ("parka")."""
    for name in target.names():
        tokens = fold(name).split()
        if len(tokens) < 2:
            continue
        bases: list[tuple[str, HitKind]] = [(" ".join(tokens), "full")]
        bases += [
            (token, "partial")
            for token in tokens
            if len(token) >= INFLECTED_PART_LENGTH and english_zipf(token) < COMMON_WORD_ZIPF
        ]
        for base, kind in bases:
            yield base, kind
            if base[-1] in _VOWELS and len(base.split()[-1]) > 2:
                yield base[:-1], kind


class NameMatcher:
    def __init__(self, targets: Iterable[Target]) -> None:
        targets = list(targets)
        table: dict[str, set[tuple[str, HitKind]]] = {}
        for target in targets:
            for pattern, kind in _patterns(target):
                table.setdefault(f" {pattern} ", set()).add((target.id, kind))
            # No space after: the word goes on with a case ending (checked when found).
            for base, kind in _inflection_bases(target):
                table.setdefault(f" {base}", set()).add((target.id, kind))
        spoken = [(target.id, fold(name).split()) for target in targets for name in target.names()]
        # Names whose every part is distinctive: all of them in one text name the target,
        # wherever they stand ("17 Down: JARRAH / 16 Across: ADIB").
        self._distinct: dict[str, set[frozenset[str]]] = {}
        for target_id, parts in spoken:
            if len(parts) >= 2 and all(_distinctive(part) for part in parts):
                self._distinct.setdefault(target_id, set()).add(frozenset(parts))
        self._misheard = MisheardIndex(spoken, _ENDINGS)
        # The initial of each name's first part, for names of two parts or more.
        self._first_letters: dict[str, set[str]] = {}
        for target_id, parts in spoken:
            if len(parts) >= 2:
                self._first_letters.setdefault(target_id, set()).add(parts[0][0])
        self._sounds = SoundIndex(spoken)
        self._syllables = SyllableIndex(spoken)
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
        parts: dict[str, set[str]] = {}  # per target, the parts of its names found alone
        views = {folded.text, deleet(folded.text)}
        for view in views:
            for end, (key, values) in self._automaton.iter(view):
                if not key.endswith(" "):  # an inflected name: the rest of its word
                    word_end = view.find(" ", end + 1)
                    if view[end + 1 : word_end] not in _ENDINGS:
                        continue
                    end = word_end
                start, stop = folded.span_of(end - len(key) + 2, end)
                for target_id, kind in values:
                    if kind == "partial" and not _looks_like_a_name(text[start:stop], key):
                        continue
                    hits.setdefault((target_id, kind, start), NameHit(target_id, kind, start, stop))
                    if kind == "partial":
                        parts.setdefault(target_id, set()).add(key.strip())
        for target_id, first, last in self._misheard.find(folded.words):
            start, stop = folded.spans[first][0], folded.spans[last][1]
            hits.setdefault((target_id, "full", start), NameHit(target_id, "full", start, stop))
        for sound in (*self._sounds.find(text), *self._syllables.find(text)):
            heard: HitKind = "full" if sound.full else "partial"
            hits.setdefault(
                (sound.target_id, heard, sound.start),
                NameHit(sound.target_id, heard, sound.start, sound.end),
            )
        for target_id, found in parts.items():
            if any(name <= found for name in self._distinct.get(target_id, ())):
                alone = [h for h in hits.values() if h.target_id == target_id]
                start, stop = min(h.start for h in alone), max(h.end for h in alone)
                hits.setdefault((target_id, "full", start), NameHit(target_id, "full", start, stop))
        return tuple(_joined_parts([*hits.values(), *self._initialled(hits.values(), text)], text))

    def _initialled(self, hits: Iterable[NameHit], text: str) -> Iterator[NameHit]:
        """A full mention where a part follows the initial of its name's first part ("K. Abera",
        "W.-J. Chen") or comes before it after a comma ("Jarrah, A."): how names are cited."""
        for hit in hits:
            if hit.kind != "partial":
                continue
            first = self._first_letters.get(hit.target_id, set())
            initial = _INITIALS_BEFORE.search(text, max(0, hit.start - 12), hit.start)
            if initial is not None and initial.group(1).lower() in first:
                yield NameHit(hit.target_id, "full", initial.start(), hit.end)
            inverted = _INITIALS_AFTER.match(text, hit.end)
            if inverted is not None and inverted.group(1).lower() in first:
                yield NameHit(hit.target_id, "full", hit.start, inverted.end())


def _joined_parts(hits: list[NameHit], text: str) -> list[NameHit]:
    """``hits`` plus a full mention wherever two parts of one target's name stand side by
    side ("Elvina Mammadova": each part inflected, so only the parts were found)."""
    parts = sorted((h for h in hits if h.kind == "partial"), key=lambda h: h.start)
    full = {(h.target_id, h.start) for h in hits if h.kind == "full"}
    joined = [
        NameHit(first.target_id, "full", first.start, second.end)
        for first, second in itertools.pairwise(parts)
        if first.target_id == second.target_id
        and (first.target_id, first.start) not in full
        and first.end < second.start
        and not text[first.end : second.start].strip(" -")
    ]
    return hits + joined


def _distinctive(part: str) -> bool:
    """A name part that is found alone (see ``_patterns``) and is no everyday word."""
    return len(part) >= 4 and part not in STOPWORDS and english_zipf(part) < DISTINCT_ZIPF


def _looks_like_a_name(original: str, key: str) -> bool:
    """A lone name part counts when capitalised in the text or rare as an English word."""
    return original[:1].isupper() or english_zipf(key.strip()) < COMMON_WORD_ZIPF


def strongest(hits: Iterable[NameHit]) -> dict[str, HitKind]:
    """Per target, the most specific kind of mention found."""
    rank = {"partial": 0, "initials": 1, "full": 2}
    best: dict[str, HitKind] = {}
    for hit in hits:
        if hit.target_id not in best or rank[hit.kind] > rank[best[hit.target_id]]:
            best[hit.target_id] = hit.kind
    return best
