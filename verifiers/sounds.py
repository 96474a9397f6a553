"""Forget-set names written in another script: "Бехруз Рохани", "ベフルーズ・ロハニ".

An answer in Russian, Japanese, Korean, Arabic, Hindi or Greek writes a name as it sounds, in
its own script, so no spelling of it matches. Each word in a non-Latin script is transliterated
(``anyascii``) and reduced to a *sound skeleton*: the consonants that transliterations agree on.
Vowels, ``h``, ``w`` and ``y`` are dropped (they are what Cyrillic "Бехруз" -> "Bekhruz",
Japanese "befuruzu" and Arabic "bhrwz" disagree on), digraphs and close sounds are merged
(``kh``/``ch`` -> ``h``, ``zh``/``z`` -> ``s``, ``f`` -> ``h``, ``l`` -> ``r`` as Japanese
writes it, ``x``/``sh`` -> ``s``), doubled letters collapse. "Behrouz Rohani" and all five
spellings above become ``brs rn``.

A skeleton is short and loses much, so one word proves little: a *full* mention needs
``MIN_PARTS`` or more consecutive words whose skeletons equal consecutive parts of one name, in
order, together at least ``MIN_LETTERS`` letters ("Синь Ли Уильямс" -> ``sn r rms``); a lone
word is a *partial* mention only with a skeleton of ``MIN_LETTERS`` letters or more. Chinese
characters carry no word breaks and are not read. Latin-script text never comes here: its names
are matched as written (:mod:`verifiers.names`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii

MIN_PARTS = 2
MIN_LETTERS = 4
# Applied in order, to the lowercase transliteration of both the name and the text.
_MERGES = (
    ("dzh", "j"),
    ("dj", "j"),
    ("kh", "h"),
    ("ch", "h"),
    ("sh", "s"),
    ("zh", "s"),
    ("th", "t"),
    ("ph", "f"),
    ("gh", "g"),
    ("mp", "b"),  # Greek writes b as μπ
    ("x", "s"),
    ("q", "k"),
    ("c", "k"),
    ("f", "h"),  # Japanese writes "hu" as "fu"
    ("j", "s"),
    ("z", "s"),
    ("l", "r"),  # Japanese has one sound for both
)
_DROPPED = re.compile(r"[aeiouyhw]|[^a-z]")
_DOUBLED = re.compile(r"(.)\1+")
# Letters with their combining marks (Indic vowel signs, Arabic and Hebrew points are not \w).
_WORD = re.compile(
    r"(?:[^\W\d_]|[\u0300-\u036f\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0900-\u0dff])+"
)
# Japanese runs its words together: katakana (how foreign names are written) is read, kana and
# Chinese characters around it are not ("ロハニの父親は" -> "ロハニ").
_READABLE = re.compile(r"[\u30a0-\u30fa\u30fc-\u30ff]+|[^\u3040-\u30ff\u3400-\u9fff]+")


@lru_cache(maxsize=65536)
def skeleton(word: str) -> str:
    """The consonants of ``word`` that transliterations agree on ("Рохани" -> "rn")."""
    text = anyascii(word).lower()
    for old, new in _MERGES:
        text = text.replace(old, new)
    return _DOUBLED.sub(r"\1", _DROPPED.sub("", text))


def _foreign(word: str) -> bool:
    """A word in a script other than Latin (Cyrillic, Greek, katakana, hangul...)."""
    return any(ord(c) > 0x24F for c in word)


@dataclass(frozen=True, slots=True)
class SoundHit:
    target_id: str
    full: bool
    start: int
    end: int


class SoundIndex:
    """Sound skeletons of every name part, by skeleton."""

    def __init__(self, names: Iterable[tuple[str, list[str]]]) -> None:
        # skeleton -> (target, name number, part number, parts in the name)
        self._parts: dict[str, list[tuple[str, int, int, int]]] = {}
        self._skeletons: list[list[str]] = []
        for target_id, tokens in names:
            parts = [skeleton(t) for t in tokens]
            number = len(self._skeletons)
            self._skeletons.append(parts)
            for position, part in enumerate(parts):
                if part:
                    self._parts.setdefault(part, []).append(
                        (target_id, number, position, len(parts))
                    )

    def find(self, text: str) -> tuple[SoundHit, ...]:
        """Mentions of a name written in another script in ``text``."""
        if not any(ord(c) > 0x24F for c in text):
            return ()
        return tuple(self._hits(list(_foreign_words(text))))

    def _hits(self, words: list[tuple[int, int, str]]) -> Iterator[SoundHit]:
        for index, (start, end, sound) in enumerate(words):
            for target_id, name, position, _ in self._parts.get(sound, ()):
                run = self._run(words, index, name, position)
                letters = sum(len(s) for _, _, s in words[index : index + run])
                if run >= MIN_PARTS and letters >= MIN_LETTERS:
                    yield SoundHit(target_id, True, start, words[index + run - 1][1])
                elif len(sound) >= MIN_LETTERS:
                    yield SoundHit(target_id, False, start, end)

    def _run(self, words: list[tuple[int, int, str]], index: int, name: int, position: int) -> int:
        """How many words from ``index`` on match the name's parts from ``position`` on."""
        parts = self._skeletons[name]
        run = 0
        while (
            index + run < len(words)
            and position + run < len(parts)
            and words[index + run][2] == parts[position + run]
        ):
            run += 1
        return run


def _foreign_words(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, skeleton) of each word in another script."""
    for word in _WORD.finditer(text):
        for part in _READABLE.finditer(word.group(0)):
            if _foreign(part.group(0)):
                start = word.start() + part.start()
                yield start, start + len(part.group(0)), skeleton(part.group(0))
