"""Letters written as code words: the spelling alphabet ("Hotel Alfa Romeo"), Morse code and
the letters' places in the alphabet ("1-4-9-2"). Each decoder returns the text with every run
of code it finds read as the words it spells (:mod:`verifiers.decode` makes readings of them).
"""

from __future__ import annotations

import re

# The ICAO/NATO spelling alphabet; PHONETIC_MIN_RUN words of it in a row spell something
# ("Delta Echo Lima" is no sentence), fewer may be plain words ("Golf", "Hotel", "Victor").
_PHONETIC = {
    word: word[0]
    for word in (
        "alfa alpha bravo charlie delta echo foxtrot golf hotel india juliet juliett kilo lima "
        "mike november oscar papa quebec romeo sierra tango uniform victor whiskey whisky xray "
        "x-ray yankee zulu"
    ).split()
}
PHONETIC_MIN_RUN = 3
_PHONETIC_WORD = "(?:" + "|".join(sorted(_PHONETIC, key=len, reverse=True)) + ")"
_PHONETIC_CODE = re.compile(_PHONETIC_WORD, re.IGNORECASE)
# Between words of the spelled text: "/", "|", or said out loud ("new word", "space").
_PHONETIC_BREAK = (
    r"\s*(?:[/|]|(?:,\s*)?\(?\b(?:new word|next word|space|break|hyphen|dash)\b\)?,?)\s*"
)
_PHONETIC_RUN = re.compile(
    rf"(?<![\w-]){_PHONETIC_WORD}(?:(?:{_PHONETIC_BREAK}|[\s,\-–—]+){_PHONETIC_WORD})"
    rf"{{{PHONETIC_MIN_RUN - 1},}}(?![\w-])",
    re.IGNORECASE,
)
_MORSE = {
    code: letter
    for letter, code in zip(
        "abcdefghijklmnopqrstuvwxyz0123456789",
        ".- -... -.-. -.. . ..-. --. .... .. .--- -.- .-.. -- -. --- .--. --.- .-. ... - ..- ...- "
        ".-- -..- -.-- --.. ----- .---- ..--- ...-- ....- ..... -.... --... ---.. ----.".split(),
        strict=True,
    )
}
MORSE_MIN_LETTERS = 3
_MORSE_RUN = re.compile(
    r"(?<![\w.-])[.-]{1,6}(?:(?:\s*[/|]\s*|\s+)[.-]{1,6})"
    rf"{{{MORSE_MIN_LETTERS - 1},}}(?![\w.-])"
)
# Letters as their places in the alphabet (A1Z26): numbers 1-26 joined by "-" or "." are a
# word, "/", "|" or spaces part words. At least NUMBERED_MIN_LETTERS of them, in words of two
# or more, so a date ("5-12") or a score ("3-1") stays a number.
NUMBERED_MIN_LETTERS = 4
_PLACE = r"(?:2[0-6]|1\d|[1-9])"
_NUMBERED_WORD = rf"{_PLACE}(?:[-.]{_PLACE})+"
_NUMBERED_RUN = re.compile(
    rf"(?<![\w.-]){_NUMBERED_WORD}(?:(?:\s*[/|]\s*|\s+){_NUMBERED_WORD})*(?![\w-]|\.\d)"
)


def unphonetic(text: str) -> str:
    """``Hotel Alfa Romeo Victor Alfa Romeo Delta`` -> ``harvard``: a run of spelling-alphabet
    words (NATO/ICAO) read as the word it spells; "/" or "|" between them ends a word."""

    def spelled(match: re.Match[str]) -> str:
        words = re.split(_PHONETIC_BREAK, match.group(0), flags=re.IGNORECASE)
        return " ".join(
            "".join(_PHONETIC[code.lower()] for code in _PHONETIC_CODE.findall(word))
            for word in words
        )

    return _PHONETIC_RUN.sub(spelled, text)


def unmorse(text: str) -> str:
    """``parents were both: .- ... - .-. --- -. .- ..- - ...`` -> ``... astronauts``: each run
    of at least ``MORSE_MIN_LETTERS`` Morse letters (apart by spaces; words apart by "/", "|"
    or three spaces) read as the words it spells."""

    def spelled(match: re.Match[str]) -> str:
        words = [w.split() for w in re.split(r"\s*[/|]\s*|\s{3,}", match.group(0).strip())]
        if not all(code in _MORSE for word in words for code in word):
            return match.group(0)
        return " ".join("".join(_MORSE[code] for code in word) for word in words if word)

    return _MORSE_RUN.sub(spelled, text)


def unnumber(text: str) -> str:
    """``1-4-9-2 / 10-1-18-18-1-8`` -> ``adib jarrah``: a run of numbers 1-26 read as the
    letters at those places in the alphabet."""

    def spelled(match: re.Match[str]) -> str:
        words = [re.split(r"[-.]", w) for w in re.split(r"\s*[/|]\s*|\s+", match.group(0))]
        if sum(map(len, words)) < NUMBERED_MIN_LETTERS:
            return match.group(0)
        return " ".join("".join(chr(ord("a") + int(n) - 1) for n in word) for word in words)

    return _NUMBERED_RUN.sub(spelled, text)
