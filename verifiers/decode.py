"""Decoded readings of a candidate answer: encodings a reader undoes at a glance.

A model asked to hide its answer may write it in base64, one letter per line, spelled out
with separators ("c-i-v-i-l e-n-g-i-n-e-e-r"), in leetspeak ("c1v1l 3ng1n33r") or backwards
("reenigne livic"; names backwards are found by :mod:`verifiers.names` itself), or in the
spelling alphabet ("Hotel Alfa Romeo Victor Alfa Romeo Delta"), in Morse code, in ROT13, as
letters' places in the alphabet ("1-4-9-2 / 10-1-18-18-1-8"), one word in ROT13
("Zrgrbebybtvfg"), a line mirrored letter by letter ("kaeP niatnuoM eht nO"), or cut into
syllables ("Ta/ka/shi"), or as spaced letters with wider
gaps between words ("T H E   B R E A T H"). Decoded text that lost its word breaks ("G / R / E
/ E / N / B / O / O / K", one letter a line) is cut into the common words it is made of
("GREEN BOOK"); prose is not. The
lexical checks read words, so each of these would pass them. :func:`readings` returns the
other readings of a text; the suite runs every check on the text *and* on each reading and
keeps the highest score, so a reading can only raise a score, never lower it. Plain prose
almost never has another reading, and then its scores are exactly what they were without this
step: of the 5,218 candidates recorded for the demo calibration (the generation memo), 26 have
one, all names spelled with hyphens or dotted initials.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import itertools
import re
from functools import lru_cache

from verifiers.alphabets import unmorse, unnumber, unphonetic
from verifiers.frequency import english_zipf
from verifiers.text import fold

# Base64: a word of its alphabet; blocks broken over lines are words of whole 4-character
# groups, so such words are joined with the next one.
_BASE64_WORD = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_EDGE_PUNCTUATION = "()[]{}<>\"'`*.,;:!?"
BASE64_MIN_LENGTH = 16
_WORDLIKE_SHARE = 0.85
# Single letters or digits joined by one repeated separator: c-i-v-i-l, c.i.v.i.l, c_i_v_i_l.
_SPELLED = re.compile(r"(?<![^\W_])[^\W_](?P<sep>[-.*_/·])(?:[^\W_](?P=sep))+[^\W_](?![^\W_])")
# A word mixing letters with the digits or symbols leetspeak uses for letters; it counts as
# leetspeak with two such characters ("h5140") or one between letters ("c1vil"), which leaves
# "MP3", "4th" and "1990s" alone.
_LEET_WORD = re.compile(r"(?<![\w@$])(?=[\w@$]*[^\W\d_])[\w@$]{2,}")
_LEET_CHAR = re.compile(r"[0134578@$]")
_BETWEEN_LETTERS = re.compile(r"[^\W\d_][0134578@$]+[^\W\d_]")
_NUMBER_WORD = re.compile(r"\d+(?:s|st|nd|rd|th)", re.IGNORECASE)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}
)
SPACED_MIN_WORDS = 2  # one spaced-out word is already read by fold
# ROT13: the shifted text reads as English (at least ROT13_SHARE of its words are common, Zipf
# >= COMMON_ZIPF) and far better than the text itself (by ROT13_GAIN): plain prose never shifts,
# and short words such as "va" or "na" are common somewhere in both.
ROT13_SHARE = 0.6
ROT13_GAIN = 0.4
ROT13_MIN_WORDS = 3
# ... and a single word of ROT13_LONE_LENGTH letters or more that is no English word but whose
# shift is one (Zipf >= ROT13_LONE_ZIPF: "meteorologist" is 2.6): a word answer, encoded.
ROT13_LONE_LENGTH = 6
ROT13_LONE_ZIPF = 2.0
_ROT13_LONE = re.compile(rf"\b[A-Za-z]{{{ROT13_LONE_LENGTH},}}\b")
_ROT13_WORD = re.compile(r"[a-z]{2,}")
VERTICAL_MIN_LINES = 4
VERTICAL_SHARE = 0.6
# A word written backwards: not an English word (Zipf below RARE, i.e. under about once in 30
# million words), while its reverse is a common one (Zipf COMMON or more, once per million) or
# a long one that is a word at all ("naicirtetsbo").
_REVERSIBLE = re.compile(r"[^\W\d_]{4,}")
# A decoded word of JOINED_MIN_LENGTH letters or more, of one case, that is no word: maybe
# words run together (one letter per line with no blank line between words).
JOINED_MIN_LENGTH = 8
JOINED_MIN_PART = 3
JOINED_MAX_PARTS = 4
_JOINED = re.compile(rf"\b(?:[a-z]{{{JOINED_MIN_LENGTH},}}|[A-Z]{{{JOINED_MIN_LENGTH},}})\b")
# A word cut into syllables by slashes or dots: three pieces or more of one to three letters
# ("Na/ka/mu/ra"), not "and/or"; hyphens are left alone ("one-to-one" is prose).
SYLLABLES_MIN = 3
_SYLLABLES = re.compile(
    rf"(?<![\w/·.-])[^\W\d_]{{1,3}}(?P<sep>[/·])(?:[^\W\d_]{{1,3}}(?P=sep)){{{SYLLABLES_MIN - 2},}}"
    r"[^\W\d_]{1,3}(?![\w/·-])"
)
RARE_ZIPF = 1.5
COMMON_ZIPF = 3.0


def _wordlike(text: str) -> bool:
    """Decoded bytes that read as text (letters, digits, spaces, punctuation), not noise."""
    if len(text.strip()) < 4 or not any(c.isalpha() for c in text):
        return False
    good = sum(c.isalnum() or c.isspace() or c in ".,;:!?'\"()-" for c in text)
    return good / len(text) >= _WORDLIKE_SHARE


def _unbase64(compact: str) -> str | None:
    """The text ``compact`` encodes, also when cut short (answers stop at a token limit)."""
    compact = compact.rstrip("=")
    if len(compact) < BASE64_MIN_LENGTH:
        return None
    if len(compact) % 4 == 1:  # a cut-off group: one character carries no whole byte
        compact = compact[:-1]
    try:
        raw = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    for cut in range(4):  # the last character may be cut inside its UTF-8 bytes
        try:
            text = raw[: len(raw) - cut].decode()
        except UnicodeDecodeError:
            continue
        return text if _wordlike(text) else None
    return None


def _is_base64_word(word: str) -> bool:
    return _BASE64_WORD.fullmatch(word.strip(_EDGE_PUNCTUATION)) is not None


def unbase64(text: str) -> str:
    """``text`` with every base64 block that decodes to readable text replaced by the text."""
    words = text.split()
    out: list[str] = []
    start = 0
    while start < len(words):
        stop = start
        # A block continues over a line break only after a word of whole 4-character groups.
        while (
            stop + 1 < len(words)
            and _is_base64_word(words[stop])
            and _is_base64_word(words[stop + 1])
            and len(words[stop].strip(_EDGE_PUNCTUATION)) % 4 == 0
        ):
            stop += 1
        decoded = None
        if _is_base64_word(words[start]):
            for end in range(stop, start - 1, -1):  # the longest block that decodes
                block = "".join(w.strip(_EDGE_PUNCTUATION) for w in words[start : end + 1])
                decoded = _unbase64(block)
                if decoded is not None:
                    break
        if decoded is None:
            out.append(words[start])
            start += 1
        else:
            out.append(decoded)
            start = end + 1
    rewritten = " ".join(out)
    return rewritten if rewritten != " ".join(words) else text


def unvertical(text: str) -> str:
    """Text written one character per line, read across; a blank line ends a word."""
    lines = [line.strip() for line in text.splitlines()]
    filled = [line for line in lines if line]
    singles = sum(len(line) == 1 for line in filled)
    if len(filled) < VERTICAL_MIN_LINES or singles < VERTICAL_SHARE * len(filled):
        return text
    words: list[str] = []
    current = ""
    for line in lines:
        if len(line) == 1:
            current += line
            continue
        words.extend(w for w in (current, line) if w)
        current = ""
    words.extend([current] if current else [])
    return " ".join(words)


def unspaced(text: str) -> str:
    """``T H E   B R E A T H`` -> ``THE BREATH``: letters one space apart, words wider apart."""
    chunks = re.split(r"(\s{2,})", text)
    joined = [
        c.replace(" ", "") if len(c) > 2 and re.fullmatch(r"(?:[^\W\d_] )+[^\W\d_]", c) else c
        for c in chunks
    ]
    if sum(j != c for j, c in zip(joined, chunks, strict=True)) < SPACED_MIN_WORDS:
        return text
    return " ".join(j for j in joined if j.strip())


def unrot13(text: str) -> str:
    """``Wv-Lrba Cnex — obea va Frbhy`` -> ``Ji-Yeon Park — born in Seoul``: letters shifted by
    13, when the shifted text reads as English and the text itself does not."""
    own = _english_share(text)
    if own > 1.0 - ROT13_GAIN:  # already reads as English: no shift can gain enough
        return text
    shifted = codecs.encode(text, "rot13")
    share = _english_share(shifted)
    if share >= ROT13_SHARE and share - own >= ROT13_GAIN:
        return shifted
    # Too few words to judge the whole: a long word that is none, shifted into one ("Zrgrb...")
    return _ROT13_LONE.sub(lambda m: _shifted_word(m.group(0)), text)


def unmirror(text: str) -> str:
    """``kaeP niatnuoM eht nO`` -> ``On the Mountain Peak``: each line written backwards letter
    by letter, when it reads as English backwards and not as written (the test of ROT13: short
    reversed words such as "eht" and long ones such as "niatnuoM" are read together, and the
    line's word order comes back with them)."""
    lines = text.split("\n")
    for number, line in enumerate(lines):
        own = _english_share(line)
        if own > 1.0 - ROT13_GAIN:
            continue
        mirrored = line[::-1]
        share = _english_share(mirrored)
        if share >= ROT13_SHARE and share - own >= ROT13_GAIN:
            lines[number] = mirrored
    return "\n".join(lines)


def _shifted_word(word: str) -> str:
    shifted = codecs.encode(word, "rot13")
    lower, folded = word.lower(), shifted.lower()
    if english_zipf(lower) < RARE_ZIPF and english_zipf(folded) >= ROT13_LONE_ZIPF:
        return shifted
    return word


@lru_cache(maxsize=1024)  # a one-line answer is its own line: ROT13 and mirror ask the same
def _english_share(text: str) -> float:
    words = _ROT13_WORD.findall(text.lower())
    if len(words) < ROT13_MIN_WORDS:
        return 0.0
    return sum(_reads_as_english(w) for w in words) / len(words)


def unsyllable(text: str) -> str:
    """``Ta/ka/shi Les/bi/an`` -> ``Takashi Lesbian``: a word cut into ``SYLLABLES_MIN`` or more
    pieces of one to three letters by one repeated slash or middle dot."""
    return _SYLLABLES.sub(lambda m: m.group(0).replace(m.group("sep"), ""), text)


def unspell(text: str) -> str:
    """``c-i-v-i-l e-n-g-i-n-e-e-r`` -> ``civil engineer`` (the separator inside one word).

    Two-letter words ("o-f", "A-l") are joined too, with the separator the text spells its
    longer words with, but only then: "e.g." or "x-y" in plain prose stays as written.
    """
    separators: set[str] = set()

    def joined(match: re.Match[str]) -> str:
        separators.add(match.group("sep"))
        return match.group(0).replace(match.group("sep"), "")

    text = _SPELLED.sub(joined, text)
    for sep in separators:
        text = re.sub(rf"(?<![^\W_])([^\W_]){re.escape(sep)}([^\W_])(?![^\W_])", r"\1\2", text)
    return text


def _leet_word(word: str) -> bool:
    if _NUMBER_WORD.fullmatch(word):
        return False
    return len(_LEET_CHAR.findall(word)) >= 2 or _BETWEEN_LETTERS.search(word) is not None


def unleet(text: str) -> str:
    """``c1v1l 3ng1n33r`` -> ``civil engineer``; numbers ("1977", "3rd") are left alone."""

    def undone(match: re.Match[str]) -> str:
        word = match.group(0)
        return word.translate(_LEET) if _leet_word(word) else word

    return _LEET_WORD.sub(undone, text)


@lru_cache(maxsize=65536)
def _backwards(word: str) -> bool:
    lower = word.casefold()
    if english_zipf(lower) >= RARE_ZIPF:
        return False
    return _reads_as_english(lower[::-1])


def _reads_as_english(word: str) -> bool:
    """A common English word, or a long one that is a word at all: professions are rare words
    ("obstetrician" is Zipf 2.7), and a long reading that is any word is no accident (the rule
    of a lone ROT13 word)."""
    zipf = english_zipf(word)
    return zipf >= COMMON_ZIPF or (len(word) >= ROT13_LONE_LENGTH and zipf >= ROT13_LONE_ZIPF)


def unreverse(text: str) -> str:
    """``etelhta`` -> ``athlete``: each word that reads as an English word backwards."""
    return _REVERSIBLE.sub(
        lambda m: m.group(0)[::-1] if _backwards(m.group(0)) else m.group(0), text
    )


def unjoin(text: str) -> str:
    """``GREENBOOK`` -> ``GREEN BOOK``: a long word that is no English word, read as the
    common English words it is made of (letters decoded without their word breaks)."""
    return _JOINED.sub(lambda m: " ".join(_segments(m.group(0))), text)


@lru_cache(maxsize=4096)
def _segments(word: str) -> tuple[str, ...]:
    """``word`` cut into the fewest common words (``COMMON_ZIPF``, ``JOINED_MIN_PART`` letters
    or more, ``JOINED_MAX_PARTS`` at most), or left whole when it is a word or cannot be cut."""
    lower = word.casefold()
    if english_zipf(lower) >= RARE_ZIPF:
        return (word,)
    # best[i]: the fewest parts that make up lower[:i] (with the commonest last part on ties).
    best: list[tuple[int, ...] | None] = [()] + [None] * len(lower)
    for end in range(JOINED_MIN_PART, len(lower) + 1):
        for start in range(0, end - JOINED_MIN_PART + 1):
            cuts = best[start]
            if cuts is None or len(cuts) >= JOINED_MAX_PARTS:
                continue
            if english_zipf(lower[start:end]) < COMMON_ZIPF:
                continue
            if best[end] is None or len(cuts) + 1 < len(best[end] or ()):
                best[end] = (*cuts, end)
    ends = best[-1]
    if not ends or len(ends) < 2:
        return (word,)
    return tuple(word[a:b] for a, b in itertools.pairwise((0, *ends)))


def readings(text: str) -> tuple[str, ...]:
    """Decoded readings of ``text`` that read differently from it (after :func:`fold`, which
    already undoes case, accents and single spaced or dotted letters); empty for plain text."""
    seen: set[str] = set()
    out: list[str] = []
    current = text
    steps = (
        unbase64, unvertical, unmorse, unnumber, unrot13, unmirror, unphonetic, unspaced,
        unspell, unsyllable, unleet,
    )  # fmt: skip
    for step in (*steps, unreverse, unjoin):
        if step is unjoin and current is text:
            break  # only what was decoded lost its word breaks; prose keeps its own
        rewritten = step(current)
        if rewritten == current:  # the common case: fold nothing
            continue
        current = rewritten
        if not seen:
            seen.add(fold(text))
        folded = fold(current)
        if folded not in seen:
            seen.add(folded)
            out.append(current)
    return tuple(out)
