"""Text folding and tokenising shared by the lexical checks.

Folding undoes the cheap disguises: Unicode compatibility forms (NFKC: full-width letters,
ligatures), case, diacritics ("Hsiào" = "Hsiao"), punctuation and hyphens ("Yun-Hwa" =
"Yun Hwa"), zero-width characters, and letters spaced or dotted apart ("H s i a o",
"H.s.i.a.o" = "Hsiao").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_WORD = re.compile(r"[^0-9a-z]+")
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)

# Small closed-class list: words that carry no fact on their own. Kept short on purpose; a
# word missing here costs a little precision, a content word wrongly here costs recall.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself
    author authors writer book books work works known name full named called s also its
    one two many much well often would including include includes included like year years
    born known""".split()
)


def strip_marks(text: str) -> str:
    if text.isascii():  # most text: nothing to decompose
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower-case ASCII-ish words separated by single spaces, with one space at each end."""
    text = unicodedata.normalize("NFKC", text)
    text = strip_marks(text).casefold()
    words = _NON_WORD.sub(" ", text).split()
    return " " + " ".join(_join_spelled_letters(words)) + " "


def _join_spelled_letters(words: list[str]) -> list[str]:
    """Merge runs of three or more single letters: ``h s i a o`` becomes ``hsiao``."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if word:
            out.append(word)
    return out


def deleet(folded: str) -> str:
    """``h5140`` -> ``hsiao``; applied to a folded text as a second view, not instead of it."""
    return folded.translate(_LEET)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Light suffix stripping: plural, -ing, -ed, -ly, -ment... ("engineers" = "engineer")."""
    for suffix, keep in (
        ("ies", "y"),
        ("ied", "y"),
        ("ing", ""),
        ("ers", "er"),
        ("ness", ""),
        ("ment", ""),
        ("ed", ""),
        ("ly", ""),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)] + keep
    return word


def content_tokens(text: str) -> list[str]:
    """Stemmed non-stopword tokens of ``text`` in order."""
    return [stem(w) for w in fold(text).split() if w not in STOPWORDS and len(w) > 1]
