"""Text folding and tokenising shared by the lexical checks.

Folding undoes the cheap disguises: Unicode compatibility forms (NFKC: full-width letters,
ligatures), case, diacritics ("Hsiào" = "Hsiao"), punctuation and hyphens ("Yun-Hwa" =
"Yun Hwa"), zero-width characters, and letters spaced or dotted apart ("H s i a o",
"H.s.i.a.o" = "Hsiao").
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
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
    text = _POSSESSIVE.sub(" ", unicodedata.normalize("NFKC", text))
    text = strip_marks(text).casefold()
    if "  " not in text and "\n" not in text:  # the common case: one run of words
        return " " + " ".join(_join_spelled_letters(_NON_WORD.sub(" ", text).split())) + " "
    parts = (_NON_WORD.sub(" ", part).split() for part in _GAP.split(text))
    return " " + " ".join(w for part in parts for w in _join_spelled_letters(part)) + " "


_WORD = re.compile(r"[^\W_]+")
# A possessive "'s" is no letter of a spelled run: "B.R.'s first novel" is "b r", not "brs".
_POSSESSIVE = re.compile(r"(?<=[\w.])['’]s\b")


@dataclass(frozen=True, slots=True)
class FoldedText:
    """:func:`fold` of a text, with where each folded word came from in the original.

    ``text`` is ``fold(original)``, except that punctuation such as a comma ends a run of
    single letters (``W.-J. C., a`` is ``wjc a``, not ``wjca``); ``spans[i]`` is the
    ``[start, end)`` range of the original that word ``i`` of ``text`` was made from, so a hit
    found in the folded text can be reported in the caller's own offsets.
    """

    text: str
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    starts: tuple[int, ...]  # offset of each word in ``text``

    def span_of(self, start: int, end: int) -> tuple[int, int]:
        """Original range covering the folded range ``[start, end)`` (word granularity)."""
        if not self.words:
            return (0, 0)
        first = max(0, bisect.bisect_right(self.starts, start) - 1)
        last = max(first, bisect.bisect_left(self.starts, end) - 1)
        return (self.spans[first][0], self.spans[min(last, len(self.spans) - 1)][1])


def fold_spans(text: str) -> FoldedText:
    """:func:`fold`, keeping each folded word's original character range."""
    pieces: list[tuple[str, int, int]] = []
    possessive = {m.start() + 1 for m in _POSSESSIVE.finditer(text)}  # where each "s" starts
    for match in _WORD.finditer(text):
        if match.start() in possessive:
            continue
        folded = strip_marks(unicodedata.normalize("NFKC", match.group(0))).casefold()
        for word in _NON_WORD.sub(" ", folded).split():
            pieces.append((word, match.start(), match.end()))
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    run: list[tuple[str, int, int]] = []
    for piece in [*pieces, ("", 0, 0)]:
        word = piece[0]
        if len(word) == 1 and word.isalpha():
            # A comma or the like ends a run: "W.-J. C., a writer" is three initials.
            if run and (
                _RUN_BREAK.search(text, run[-1][2], piece[1])
                or _GAP.search(text, run[-1][2], piece[1])
            ):
                run = _flush(run, words, spans)
            run.append(piece)
            continue
        run = _flush(run, words, spans)
        if word:
            words.append(word)
            spans.append((piece[1], piece[2]))
    starts: list[int] = []
    offset = 1
    for word in words:
        starts.append(offset)
        offset += len(word) + 1
    return FoldedText(" " + " ".join(words) + " ", tuple(words), tuple(spans), tuple(starts))


# ... and so does a wide gap ("B E H R O U Z   R O H A N I" is two words), and a line break
# after letters spaced on one line (letters one a line are one run: "H / I / N / A").
_RUN_BREAK = re.compile(r"[,;:!?()\[\]]|\s{3,}")
SPELLED_LINE_END = re.compile(r"(?<=[^\W\d_] [^\W\d_])[ \t]*\n")
_GAP = re.compile(rf"\s{{3,}}|{SPELLED_LINE_END.pattern}")


def _flush(
    run: list[tuple[str, int, int]], words: list[str], spans: list[tuple[int, int]]
) -> list[tuple[str, int, int]]:
    """Append a run of single letters: joined when three or more, else letter by letter."""
    if len(run) >= 3:
        words.append("".join(p[0] for p in run))
        spans.append((run[0][1], run[-1][2]))
    else:
        words.extend(p[0] for p in run)
        spans.extend((p[1], p[2]) for p in run)
    return []


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
    return content_stems(fold(text).split())


def content_stems(words: list[str]) -> list[str]:
    """:func:`content_tokens` of words already folded (a caller that needs them too)."""
    return [stem(w) for w in words if w not in STOPWORDS and len(w) > 1]
