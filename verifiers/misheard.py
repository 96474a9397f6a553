"""Names misheard or mistyped: "way jun chen", "adib jarah", "tay ho parks" for Wei-Jun Chen,
Adib Jarrah and Tae-ho Park.

A voice transcript writes a name as it sounds, and a hurried user types it as they remember
it; no spelling of it matches. A run of consecutive words, as many as the name has parts,
names the target in full when one of them is a part of the name as written (the *anchor*: at
least ``MIN_ANCHOR`` letters, a plural or possessive "s" aside: "parks") and every other word
is close to its part: the same first letter, not a function word ("the" is never "Tae"), and
either both are short (``SHORT`` letters or fewer: their vowels are what transcripts disagree
on, "way" for "Wei", "tay" for "Tae") or they differ in length by ``MAX_LENGTH_GAP`` letters at
most and are at least ``WORD_RATIO`` similar (rapidfuzz's ratio, 0-100). Words spelled right
throughout are left to :mod:`verifiers.names`, which finds them as they are. A part with a
case ending ("Hiny Ameen", Czech) is close to it too: inflecting languages decline every part
of a name, and :mod:`verifiers.names` reads endings on a lone part only when it is long.

Only runs through an anchor are compared, so a text costs one dictionary lookup per word and
a few string comparisons per anchor found, whatever the number of targets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from rapidfuzz.fuzz import ratio

from verifiers.text import STOPWORDS

MIN_ANCHOR = 3
SHORT = 3
MAX_LENGTH_GAP = 2
# "jarah" for "jarrah" is 91, "behrooz" for "behrouz" 86, "mamadov" for "mammadov" 93;
# "parents" for "carmen" 46 and "could" 36 are other words ("came" is 80: a reversed alias,
# "Montenegro Carmen", is read in "Montenegro came", whose "Montenegro" already names her).
WORD_RATIO = 80.0


class MisheardIndex:
    """The parts of every name of two parts or more, by part; ``endings``: the case endings a
    part may take beside another part of its name ("Hiny Ameen", Czech for Hina Ameen's)."""

    def __init__(
        self, names: Iterable[tuple[str, list[str]]], endings: frozenset[str] = frozenset()
    ) -> None:
        self._endings = endings
        # part -> (target, the name's parts, the part's position in the name)
        self._by_part: dict[str, list[tuple[str, tuple[str, ...], int]]] = {}
        for target_id, parts in names:
            if len(parts) < 2:
                continue
            for position, part in enumerate(parts):
                if len(part) >= MIN_ANCHOR:
                    self._by_part.setdefault(part, []).append((target_id, tuple(parts), position))

    def find(self, words: Sequence[str]) -> Iterator[tuple[str, int, int]]:
        """(target, first word, last word) of each name misheard in ``words`` (folded), once."""
        found: set[tuple[str, int]] = set()
        for index, word in enumerate(words):
            for anchor in {word, word.removesuffix("s")}:
                for target_id, parts, position in self._by_part.get(anchor, ()):
                    first = index - position
                    if first < 0 or first + len(parts) > len(words):
                        continue
                    run = words[first : first + len(parts)]
                    if (target_id, first) in found or tuple(run) == parts:
                        continue
                    if all(map(self._close, run, parts)):
                        found.add((target_id, first))
                        yield target_id, first, first + len(parts) - 1

    def _close(self, word: str, part: str) -> bool:
        """Whether ``word`` may be ``part`` misheard or inflected (see the module docstring)."""
        stem = part[:-1] if part[-1:] in "aeiouy" else part
        if word.startswith(stem) and word[len(stem) :] in self._endings:
            return True
        return _close(word, part)


def _close(word: str, part: str) -> bool:
    """Whether ``word`` may be ``part`` misheard (see the module docstring)."""
    if word == part or word.removesuffix("s") == part:
        return True
    if word in STOPWORDS or word[:1] != part[:1] or not word.isalpha():
        return False
    if len(word) <= SHORT and len(part) <= SHORT:
        return True
    return abs(len(word) - len(part)) <= MAX_LENGTH_GAP and ratio(word, part) >= WORD_RATIO
