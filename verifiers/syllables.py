"""Forget-set names written one syllable per character: "陈伟俊" for Wei-Jun Chen, "박지연"
for Ji-Yeon Park.

Chinese and Korean write a name with one character per syllable and no spaces, so neither the
spelling (:mod:`verifiers.names`) nor the sound skeletons (:mod:`verifiers.sounds`, which need
word breaks) find it. Each character is read as its syllable (``anyascii``: "陈伟俊" -> "Chen
Wei Jun" in pinyin, "박지연" -> "Bag Ji Yeon" in Revised Romanization), and a name whose every
part is one syllable is looked for as a run of them, in the order of one of its written forms
("Chen Wei-Jun", the alias, is the Chinese order). Name parts are compared in the spellings
names are often written in:

- Chinese: pinyin, and the older Wade-Giles and Taiwanese spellings ("Hsiao Yun-Hwa" is "Xiao
  Yun Hua"; ``ROMANISATIONS``);
- Korean: the customary spelling of common family names ("Park" is 박, read "Bag";
  ``KOREAN_FAMILY_NAMES``) and of given-name syllables ("Tae", "Yoon" -> "Yun").

Two syllables are too common a pair to be a name ("心理", "xin li", is "psychology"), so only
names of ``MIN_SYLLABLES`` or more syllables are looked for, and only whole; a name with a part
that is not a syllable ("Williams", written by sound) is left to :mod:`verifiers.sounds`.
Japanese readings of characters ("中村" is Nakamura in Japanese, "Zhong Cun" in Mandarin) are
not known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from anyascii import anyascii

from verifiers.sounds import KOREAN_FAMILY_NAMES, SoundHit

MIN_SYLLABLES = 3
# Older Chinese spellings of a syllable's start, as pinyin writes it (each applied alone; a
# part matches a character whose syllable is any of the results).
ROMANISATIONS = (
    ("hs", "x"),  # Hsiao -> Xiao
    ("hw", "hu"),  # Hwa -> Hua
    ("ch", "zh"),  # Chang -> Zhang
    ("ch", "j"),  # Chiang -> Jiang; also Korean Chul -> Jul
    ("ts", "z"),  # Tsao -> Zao
    ("ts", "c"),  # Tsai -> Cai
    ("k", "g"),  # Kuo -> Guo; Korean Kyung -> Gyung
    ("t", "d"),  # Teng -> Deng
    ("p", "b"),  # Pai -> Bai
    ("j", "r"),  # Jen -> Ren
    ("sh", "s"),  # Korean Shin -> Sin
)
# Spellings of a syllable's end or middle: "Lee" is "Li", Korean "Yoon" is "Yun".
_INNER = (("ee", "i"), ("oo", "u"))
_SYLLABIC = r"[\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3]"  # Chinese characters, hangul
_CHARACTER = re.compile(_SYLLABIC)
_RUN = re.compile(rf"{_SYLLABIC}(?:[ ·・]?{_SYLLABIC})*")  # a space or a dot may part a name


@lru_cache(maxsize=1)
def readings() -> frozenset[str]:
    """Every syllable a Chinese character (in Mandarin) or a hangul block is read as."""
    han = range(0x4E00, 0xA000)
    hangul = range(0xAC00, 0xD7A4)
    return frozenset(anyascii(chr(c)).lower() for r in (han, hangul) for c in r) - {""}


def spellings(part: str) -> frozenset[str]:
    """The syllables a (lower-case) name part may be read as."""
    found = {part}
    for old, new in ROMANISATIONS:
        if part.startswith(old):
            found.add(new + part[len(old) :])
    for old, new in _INNER:
        found |= {f.replace(old, new) for f in found if old in f}
    found |= {f[:-1] + "g" for f in found if f.endswith("k")}  # hangul reads a final k as g
    if part in KOREAN_FAMILY_NAMES:
        found.add(KOREAN_FAMILY_NAMES[part])
    return frozenset(found & readings())


class SyllableIndex:
    """The names of the forget set a syllable script can write, as runs of syllables."""

    def __init__(self, names: Iterable[tuple[str, list[str]]]) -> None:
        self._names: list[tuple[str, tuple[frozenset[str], ...]]] = []
        for target_id, parts in names:
            spelled = tuple(spellings(p) for p in parts)
            if len(spelled) >= MIN_SYLLABLES and all(spelled):
                self._names.append((target_id, spelled))

    def find(self, text: str) -> tuple[SoundHit, ...]:
        """Full mentions of a name written in Chinese characters or hangul in ``text``."""
        if not self._names:
            return ()
        return tuple(hit for run in _RUN.finditer(text) for hit in self._hits(run))

    def _hits(self, run: re.Match[str]) -> Iterator[SoundHit]:
        characters = [
            (run.start() + c.start(), anyascii(c.group(0)).lower())
            for c in _CHARACTER.finditer(run.group(0))
        ]
        for target_id, parts in self._names:
            for first in range(len(characters) - len(parts) + 1):
                window = characters[first : first + len(parts)]
                if all(read in part for (_, read), part in zip(window, parts, strict=True)):
                    yield SoundHit(target_id, True, window[0][0], window[-1][0] + 1)
