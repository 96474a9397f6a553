"""Which words of a text the default tier cannot read: words of another language.

The lexical checks match English fact words and MiniLM is English-only, so "Sein Vater war
Sanitäter" about a named forget target says nothing to either, whatever it reveals. The guard
fails closed on what it cannot read: :mod:`verifiers.checks.semantic` treats a candidate that
is mostly in another language, about a target the conversation is anchored on, as a possible
paraphrase of its facts. Refusals in other languages are recognised before this
(:func:`verifiers.refusal.substance`) and cost nothing.

A word is *foreign* when wordfreq finds it common in another language it knows
(``OTHER_MIN_ZIPF``) and much commoner there than in English (``MARGIN``): "padre", "juin",
"sie" are; "war" (German "was", English "war") and "Santiago" are not. A word written in a
non-Latin script is foreign outright (wordfreq's English list has none of them), and a run of
such letters without spaces (Chinese, Japanese) counts as one word per ``CJK_CHARS`` letters.
Names are no evidence either way: the caller's (the targets') and capitalised words inside a
sentence ("born in Buenos Aires") are not counted.

A Latin-script word that no list knows — rarer in English than ``UNKNOWN_ZIPF`` and in no other
language's everyday words — is *unknown*: a language wordfreq lacks (Swahili "walikuwa",
Hausa, Yoruba) or an encoding ("stnerap"). It counts with the foreign words, but it takes
``MIN_UNKNOWN`` of them to make a text unreadable on their own: an English answer has a rare
word or a typo now and then, a Swahili one has little else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from verifiers.frequency import english_zipf, highest_zipf
from verifiers.frequency import load as load_tables

# Latin-script languages wordfreq has lists for (besides English). Non-Latin scripts need no
# list: their letters alone say the word is not English.
LATIN_LANGUAGES = (
    "ca", "cs", "da", "de", "es", "fi", "fil", "fr", "hu", "id", "is", "it", "lt", "lv", "ms",
    "nb", "nl", "pl", "pt", "ro", "sh", "sk", "sl", "sv", "tr", "vi",
)  # fmt: skip
# Zipf 3: once per million words — an everyday word of that language, not a rare loan.
OTHER_MIN_ZIPF = 3.0
# wordfreq's "small" lists hold exactly the words from Zipf 3 up: the same answers as the large
# ones at this threshold, for ~120 MiB and 0.3 s to load all of them instead of ~600 MiB and 2 s.
WORDLIST = "small"
# 1.5 Zipf units: ~30 times commoner there than in English. Shared words ("war", "era",
# "Santiago", "piano") stay English.
MARGIN = 1.5
CJK_CHARS = 2  # letters per word in scripts written without spaces (a rough word length)
# A text is in another language when at least this share of its counted words are foreign:
# a French phrase inside an English answer is not. One word can be enough, because names and
# German nouns are not counted ("Sie war Rechtsanwältin": "sie" of "sie war").
SHARE = 0.4
MIN_FOREIGN = 1
# Zipf 2: once per ten million English words — below everyday jargon ("chiropractor" 2.6,
# "geologist" 2.8), the rate of typos, foreign words and coinages. Measured on the bench's
# English answers (gold, chats and every hard set): none reaches SHARE with these.
UNKNOWN_ZIPF = 2.0
MIN_UNKNOWN = 2

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_NEXT = re.compile(r"[^\W\d_]+[ -]+([^\W\d_])")


@dataclass(frozen=True, slots=True)
class Reading:
    words: int  # counted words of the text (in word units, see CJK_CHARS)
    foreign_words: int  # of which foreign
    unknown_words: int = 0  # ... and of which in no language wordfreq knows

    @property
    def unreadable(self) -> bool:
        """Mostly in a language the lexical and embedding tiers cannot read."""
        enough = self.foreign_words >= MIN_FOREIGN or self.unknown_words >= MIN_UNKNOWN
        return enough and self.foreign_words + self.unknown_words >= SHARE * self.words


def read(text: str, is_name: Callable[[str], bool] = lambda word: False) -> Reading:
    """The foreign words of ``text``; names (``is_name``) are left out of the count."""
    words = foreign_words = unknown_words = 0
    for match in _WORD.finditer(text):
        word = match.group(0).lower()
        if len(word) < 2 or is_name(word) or _proper(text, match.start()):
            continue
        size = _size(word)
        words += size
        kind = _kind(word)
        foreign_words += size if kind == "foreign" else 0
        unknown_words += size if kind == "unknown" else 0
    return Reading(words, foreign_words, unknown_words)


def _proper(text: str, start: int) -> bool:
    """A capitalised word inside a sentence: a name ("Buenos Aires"), which says nothing of the
    language the sentence is in. (German capitalises every noun; its other words suffice.)"""
    if not text[start].isupper():
        return False
    before = text[:start].rstrip(" \t\"'“‘(")
    if before and before[-1] not in ".!?:;\n":
        return True
    # At a sentence's start, a name goes on with another capitalised word ("Aman Belay is").
    after = _NEXT.match(text, start)
    return after is not None and after.group(1)[0].isupper()


def load() -> None:
    """Load every word list now (at start-up), not on the first answer in another language."""
    load_tables(LATIN_LANGUAGES, WORDLIST)


def _size(word: str) -> int:
    if _latin(word):
        return 1
    return max(1, len(word) // CJK_CHARS) if _unspaced(word) else 1


@lru_cache(maxsize=65536)
def _kind(word: str) -> Literal["english", "foreign", "unknown"]:
    if not _latin(word):
        return "foreign"
    english = english_zipf(word)
    other = highest_zipf(word, LATIN_LANGUAGES, WORDLIST)
    if other >= OTHER_MIN_ZIPF and other - english >= MARGIN:
        return "foreign"
    return "unknown" if english < UNKNOWN_ZIPF and other < OTHER_MIN_ZIPF else "english"


def _latin(word: str) -> bool:
    return all(c.isascii() or unicodedata.name(c, "").startswith("LATIN") for c in word)


def _unspaced(word: str) -> bool:
    names = (unicodedata.name(c, "") for c in word)
    return any(n.startswith(("CJK", "HIRAGANA", "KATAKANA", "THAI")) for n in names)
