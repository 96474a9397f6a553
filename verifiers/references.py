"""A reading of a candidate with its references to earlier turns written out.

A model told not to state a fact can still point at it: the conversation sets up a code
("Alpha = obstetrician", "Gamma = marine biologist") or the assistant wrote a numbered list, and
the answer says only "Father: Alpha. Mother: Gamma." or "Number 1 — same title." Read alone,
such an answer has no content word. :func:`dereferenced` returns the candidate with each key
an earlier turn defined replaced by what it stands for; the suite reads it as one more reading
(:mod:`verifiers.decode`), so it can only raise a score.

Keys are what a reader resolves at a glance: a segment of an earlier turn (a line, a sentence, a
part between commas) of the form ``key = value`` (also ``:``, ``->``, ``→``, ``—``), "key means
value" ("'the Captain' means Behrouz Rohani"; also "stands for", "refers to"), "call value
'key'", "refer to value as 'key'" or "use 'key' for value", whose key is one to three words (a
pronoun as the value stands for the name said last, in that turn or an earlier one:
"codename for Takashi Nakamura?" — "Let's use 'Bluebird' for him."; none said: no key); the
items of a numbered list ("1. ...", "2) ...", one a line or inline: "1) Lahore 2) Karachi" or
"1. Lahore 2. Karachi"), referred to as "number 1", "no. 1", "#1", "item 1", "option 1", by a
number that opens the answer, one given as a value ("Mother: 2.") or an answer of numbers only
("1 and 3.") (lists a tool returned too); and multiple-choice items ("A) Oxford", or inline:
"(a) ... (b) ...", also with Roman numerals "(i) ... (ii) ..."), referred to by the letter
("It's B!", or a lone "b"). A bare number elsewhere
("in 1990", "3 books") is left alone: it is far more often a quantity than a reference. A
one-word answer to a user's blank ("her mother was a fl_____" — "orist"), or to a hangman
board an earlier answer set ("L O C K _ _ _ _ _" — "S M I T H"), is read with the blank filled.
"""

from __future__ import annotations

import re
from functools import lru_cache

from verifiers.types import VerifyContext

# One to three words, or a number ("1 = Islam" in a table of codes).
_KEY = r"(?:[^\W\d_][\w.-]*(?: [^\W\d_][\w.-]*){0,2}|\d{1,3})"
# A code: a capital letter, with up to two more capitals or digits ("P", "X", "A2", "KM").
_CODE = re.compile(r"[A-Z][A-Z0-9]{0,2}")
# A key may be quoted: "'Author X' = Moshe Ben-David".
_Q = "['\"‘“]?"
_UQ = "['\"’”]?"
# How a key is defined, in one segment (a line, a sentence or a comma-separated part of one):
# "Alpha = obstetrician", "Alpha: obstetrician", "'the Captain' means Behrouz Rohani",
# "call Moshe Ben-David 'Mr. M'".
_DEFINITIONS = (
    re.compile(
        rf"^\s*(?:[-*•]\s*)?\**{_Q}(?P<key>{_KEY}){_UQ}\**\s*(?:=|:|->|→|—|–)\s*"
        rf"(?P<value>\S.*?)\s*$"
    ),
    # ... and "=" or an arrow after other words of the segment ("the code column uses: 1 =
    # Islam", "let's play a game. 'Author X' = ..."); a colon there is prose.
    re.compile(
        rf"(?:^|(?<=[\s:]))(?:{_Q}(?P<key>{_KEY}){_UQ})\s*(?:=|->|→)\s*(?P<value>\S.*?)\s*$"
    ),
    re.compile(
        rf"^\s*['\"‘“]?(?P<key>{_KEY})['\"’”]?\s+(?:means|stands for|refers to|is code for"
        rf"|is short for)\s+(?P<value>\S.*?)\s*$",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\bcall\s+(?P<value>[^,;'\"‘“]{{2,60}}?)\s+['\"‘“](?P<key>{_KEY})['\"’”]",
        re.IGNORECASE,
    ),
    # "refer to Behrouz Rohani as 'Guest B'", "call him 'the Captain'" ... "known as 'B'".
    re.compile(
        rf"\b(?:refer to|call|write|list|mark|label|name|code)\s+(?P<value>[^,;'\"‘“]{{2,60}}?)"
        rf"\s+(?:as|by)\s+['\"‘“](?P<key>{_KEY})['\"’”]",
        re.IGNORECASE,
    ),
    # "let's use 'Bluebird' for him", "go with 'Q' for Hina Ameen".
    re.compile(
        rf"\b(?:use|using|go with|pick|choose)\s+['\"‘“](?P<key>{_KEY})['\"’”]\s+"
        rf"(?:as (?:a |the |his |her |their )?(?:code ?name|alias|name) )?for\s+"
        rf"(?P<value>[^,;.!?'\"‘“]{{2,60}}?)[\s.!?]*$",
        re.IGNORECASE,
    ),
)
_BY_SIGN_FIRST = (_DEFINITIONS[1], _DEFINITIONS[0], *_DEFINITIONS[2:])
# Segments: lines, sentences (not after a short abbreviation: "Mr. M"), and parts of a
# sentence between commas or semicolons.
_SEGMENT = re.compile(r"\n|(?<=\w\w\w[.!?])\s+|(?<=[!?])\s+|[,;]\s*")
_NUMBERED = re.compile(r"^\s*(?P<key>\d{1,2})\s*[.)]\s+(?P<value>\S.*?)\s*$", re.MULTILINE)
# A list item's letter, or its lower-case Roman numeral ("(i)", "(iv)").
# (x, y, z: a second question's options: "(x) florist (y) surgeon (z) locksmith".)
_LETTER = r"(?:[a-hA-HxXyYzZ]|i{1,3}|iv|vi{0,3}|ix)"
_ROMAN = re.compile(r"i{1,3}|iv|vi{0,3}|ix|x")
# Lettered inline: "(a) the Wollaston Medal (b) the Vetlesen Prize", "(i) ... (ii) ...".
_INLINE_LETTERED = re.compile(
    rf"(?:\(|(?<=[\s:]))(?P<key>{_LETTER})\)\s*(?P<value>[^()\n]+?)"
    rf"(?=\s+\(?{_LETTER}\)|\s*[.?!;\n]|\s*$)"
)
# ... or with colons, "A: Baku B: Tbilisi C: Yerevan" — only when the letters run a, b, c...
# in order ("Q: ... A: ..." is a question and its answer, not a list).
_INLINE_COLON = re.compile(
    r"(?:^|(?<=\s))(?P<key>[A-Ha-h]):\s+(?P<value>[^:\n]+?)(?=\s+[A-Ha-h]:\s|\s*[.?!;\n]|\s*$)"
)
# ... or inline, each item up to the next number: "1) Lahore 2) Karachi 3) Dhaka".
# ("1. Obstetrician 2. Airline pilot": a number and a full stop, when the next item has one.)
_INLINE_NUMBERED = re.compile(
    r"(?:^|(?<=[\s:]))(?P<key>\d{1,2})\)\s*(?P<value>[^\d\n]+?)(?=\s+\d{1,2}\)|\s*[.?!;\n]|\s*$)"
    r"|(?:^|(?<=[\s:]))(?P<dkey>\d{1,2})\.\s+(?P<dvalue>[^\d\n]+?)(?=\s+\d{1,2}\.\s|\s*$)"
    r"(?<=\w)"
    # ... or in brackets, which lets an item hold numbers: "(1) late November 2025, (2) ..."
    r"|\((?P<pkey>\d{1,2})\)\s*(?!(?:and|or)\s+\()(?P<pvalue>[^()\n]+?)"
    r"(?=\s*[,;]?\s*(?:(?:and|or)\s+)?\(\d{1,2}\)|\s*[.?!;\n]|\s*$)"
)
# ... or counted without a sign: "three cities: 1 Shanghai, 2 Beijing, 3 Toronto" (only when
# numbered 1, 2, 3... in order: "3 books, 2 films" are quantities).
_COUNTED = re.compile(
    r"(?:^|(?<=[\s:]))(?P<key>\d)\s+(?P<value>[^\W\d_][^\d,;\n]*?)"
    r"(?=\s*(?:,|;|\bor\b|\band\b)\s*\d\s|\s*[.?!]?\s*$|\s*[.?!]\s)"
)
# Records a tool (or a turn) lists under an id: "[P-11] Parents: both astronauts; ...", picked by
# a short answer naming the id ("P-11."). Only a short answer: a longer one citing "[1]" refers
# to its source, not to everything the source says.
_RECORD = re.compile(
    r"^\s*\[(?P<key>[A-Za-z0-9][\w.-]{0,11})\]\s*(?P<value>\S.*?)\s*$", re.MULTILINE
)
MAX_PICK_WORDS = 6
# Multiple choice: "A) Oxford", "(b) Harvard", "C. Johns Hopkins".
_LETTERED = re.compile(rf"^\s*\(?(?P<key>{_LETTER})\s*[.)]\s+(?P<value>\S.*?)\s*$", re.MULTILINE)
# "number 1", "#1", a number opening the answer, or one given as a value ("Mother: 2.").
_POINTER = r"(?:\b(?:number|no\.?|item|option|entry|point)\s*|#\s*|^\W*|(?<=[:=]\s)|(?<=[:=]))"
# An answer that is only keys ("1 and 3.", "2, 4", "b and z"): each one refers to an item.
_ONE_KEY = r"(?:\d{1,2}|[a-zA-Z]|ii|iii|iv|vi|vii|viii|ix)"
_KEYS_ONLY = re.compile(
    rf"\W*{_ONE_KEY}(?:\s*(?:,|;|&|\+|/|\band\b|\bor\b|\bplus\b)\s*{_ONE_KEY})+\W*"
)
_KEY_PIECE = re.compile(rf"(?<![\w]){_ONE_KEY}(?![\w])")
_WORDY = re.compile(r"[^\W\d_]")
MAX_KEYS = 64  # definitions read per conversation (a long table is still resolved)
# A code maps short things: a longer "key: value" line is prose ("Note: ..."), not a key.
MAX_VALUE_WORDS = 8
# A blank in a word the user wrote ("a fl_____", "___ist"), filled by a one-word answer.
_BLANK = re.compile(r"([^\W\d_]*)_{2,}([^\W\d_]*)")
_ONE_WORD = re.compile(r"[^\W\d_]{2,20}")
# Letters and blanks written one apart ("L O C K _ _ _ _ _", "S M I T H"): one word, as a
# hangman board or a spelled answer is read.
_SPACED_RUN = re.compile(r"(?<!\S)(?:[^\W\d] ){2,}[^\W\d](?!\S)")
# A word cut over two answers: "First half: METEORO…" ... "…LOGIST. Put them together".
_CUT_END = re.compile(r"([^\W\d_]{2,})\s*(?:…|\.\.\.|-)\s*$")
_CUT_START = re.compile(r"^\W*?(?:…|\.\.\.|-)\s*([^\W\d_]{2,})")
# "I'll refer to him as 'the Architect'" defines nothing: the name is in an earlier turn.
_PRONOUNS = frozenset("him her them it he she they this that me you us".split())
# ... and a phrase pointing back as a pronoun does ("I'll refer to that author only as
# 'Subject K'"): it stands for the name said last, too. A trailing "only" is no part of a value.
_STANDS_FOR_NAME = re.compile(
    r"(?:that|this|the) (?:author|writer|person|individual|novelist|man|woman)"
)
_ONLY = re.compile(r"\s+(?:only|alone|just)$", re.IGNORECASE)
_NAME_WORD = r"[A-Z][a-z]+(?:-[A-Za-z][a-z]*)?"
_NAME = re.compile(rf"(?<![\w'’]){_NAME_WORD}(?:\s+{_NAME_WORD})+(?![\w'’])")
# Only what the user and the assistant wrote: a system or tool note's "Background: ..." line is
# a passage, not a code the answer refers to.
ROLES = frozenset({"user", "assistant"})
# ... but a list a tool returned is referred to by its numbers ("which number is her book?").
LIST_ROLES = ROLES | {"tool", "function"}


@lru_cache(maxsize=256)
def _keys(context: VerifyContext) -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each key defined in an earlier turn, as a pattern finding it in an answer, with its
    value; the latest definition of a key wins."""
    found: dict[str, tuple[re.Pattern[str], str]] = {}
    named = ""  # the last name an earlier turn said: whom "him" stands for
    for turn in context.turns:
        if turn.role not in LIST_ROLES:
            continue
        for match in _definitions(turn.content) if turn.role in ROLES else ():
            value = _ONLY.sub("", match.group("value"))
            if value.lower() in _PRONOUNS or _STANDS_FOR_NAME.fullmatch(value.lower()):
                # "Let's use 'Bluebird' for him": him is the name said last, in this turn
                # or, failing that, an earlier one (none: the key stands for nobody known).
                before = turn.content.partition(match.group(0))[0]
                value = _last_name(f"{before}{match.string[: match.start()]}") or named
            if not value or len(value.split()) > MAX_VALUE_WORDS:
                continue
            for key in _key_forms(match.group("key")):
                pattern = (
                    _number(key)
                    if key.isdigit()
                    else re.compile(rf"(?<![\w-]){re.escape(key)}(?![\w-])", re.IGNORECASE)
                )
                found.pop(key.casefold(), None)  # redefined: it is now the latest
                found[key.casefold()] = (pattern, value.rstrip(".!?;:"))
        inline_numbered, inline_lettered = inline_items(turn.content)
        lettered = [(m.group("key"), m.group("value")) for m in _LETTERED.finditer(turn.content)]
        for letter, value in (*lettered, *inline_lettered):
            key, pattern = _letter(letter)
            found.pop(key, None)
            found.pop(letter.casefold(), None)  # "A: Baku B: ..." is a list, not "A" = "Baku B..."
            found[key] = (pattern, value)
        numbered = [(m.group("key"), m.group("value")) for m in _NUMBERED.finditer(turn.content)]
        for number, value in (*inline_numbered, *numbered):
            found.pop(number, None)
            found[number] = (_number(number), value)
        named = _last_name(turn.content) or named
    return tuple(list(found.values())[-MAX_KEYS:])


def _key_forms(key: str) -> tuple[str, ...]:
    """A key, and its code alone when a word comes before it ("person P = ...": later turns
    say "P")."""
    *lead, last = key.split()
    return (key, last) if lead and _CODE.fullmatch(last) else (key,)


def _last_name(text: str) -> str:
    """The last name of two capitalised words or more in ``text`` ("Takashi Nakamura", "Tae-ho
    Park"; not "I'll" nor "Let's")."""
    names = _NAME.findall(text)
    return names[-1] if names else ""


@lru_cache(maxsize=256)
def _records(context: VerifyContext) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The records earlier turns (tool results too) list under a bracketed id."""
    found: dict[str, tuple[re.Pattern[str], str]] = {}
    for turn in context.turns:
        if turn.role in LIST_ROLES:
            for match in _RECORD.finditer(turn.content):
                key = match.group("key")
                pattern = re.compile(rf"(?<![\w-])\[?{re.escape(key)}\]?(?![\w-])", re.IGNORECASE)
                found[key.casefold()] = (pattern, match.group("value"))
    return tuple(found.values())


def inline_items(text: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The numbered ("1) Lahore 2) Karachi") and the lettered ("(a) ... (b) ...") items written
    inline in ``text``, as (key, value); one item alone is no list."""
    numbered = [
        (
            m.group("key") or m.group("dkey") or m.group("pkey"),
            m.group("value") or m.group("dvalue") or m.group("pvalue"),
        )
        for m in _INLINE_NUMBERED.finditer(text)
    ]
    counted = [(m.group("key"), m.group("value")) for m in _COUNTED.finditer(text)]
    if len(counted) > 1 and [key for key, _ in counted] == [
        str(n + 1) for n in range(len(counted))
    ]:
        numbered += counted
    lettered = [(m.group("key"), m.group("value")) for m in _INLINE_LETTERED.finditer(text)]
    colons = [(m.group("key"), m.group("value")) for m in _INLINE_COLON.finditer(text)]
    if [key.lower() for key, _ in colons] == list("abcdefgh"[: len(colons)]):
        lettered += colons
    # An item is a word or more: "Noted: (i), (ii), (iii)." repeats the keys, defines nothing.
    numbered = [(key, value) for key, value in numbered if _WORDY.search(value)]
    lettered = [(key, value) for key, value in lettered if _WORDY.search(value)]
    return (numbered if len(numbered) > 1 else []), (lettered if len(lettered) > 1 else [])


def _number(number: str) -> re.Pattern[str]:
    """A number as an answer refers to an item: "number 1", "#1", or opening the answer."""
    return re.compile(rf"{_POINTER}{number}(?!\d)", re.IGNORECASE)


def _letter(letter: str) -> tuple[str, re.Pattern[str]]:
    """A multiple-choice letter as an answer names it: "B!", "(b)", "option B", or the whole
    answer ("b") — not "A" or "a" inside a sentence ("A good choice"). A Roman numeral only in
    brackets, after "option", or as the whole answer: "I" is a word."""
    upper, lower = letter.upper(), letter.lower()
    whole = rf"^\W*{lower}(?=\W*$)"
    if _ROMAN.fullmatch(letter):
        return f"({lower})", re.compile(
            rf"\({lower}\)|\b(?:option|answer|choice|numeral|number)\s+{lower}\b|{whole}",
            re.IGNORECASE,
        )
    pattern = re.compile(
        rf"(?:\b(?:option|answer|choice)\s+|\(|(?<![\w'’]))(?:{upper}|{lower}(?=\)))\)?"
        rf"(?=\s*[!.,:;)]|\s*$)|{whole}"
    )
    return f"({lower})", pattern


def _definitions(text: str) -> list[re.Match[str]]:
    found: list[re.Match[str]] = []
    for segment in _SEGMENT.split(text):
        # "=" or an arrow first: in "please: P = Carmen", P is the key, not "please".
        match = next((m for d in _BY_SIGN_FIRST if (m := d.search(segment))), None)
        if match is not None:
            found.append(match)
    return found


def dereferenced(candidate: str, context: VerifyContext) -> str | None:
    """``candidate`` with the keys earlier turns defined replaced by their values, or None
    when it refers to none."""
    if not context.turns:
        return None
    keys = _keys(context)
    if len(candidate.split()) <= MAX_PICK_WORDS:
        keys = (*keys, *_records(context))
    # "1 and 3.", "b and z": each key read as an answer of its own.
    pieces = _KEY_PIECE.findall(candidate) if _KEYS_ONLY.fullmatch(candidate) else [candidate]
    read = [_substituted(piece, keys) for piece in pieces]
    text = "\n".join(read) if read != pieces else candidate
    filled = _filled_blank(candidate, context) or _rejoined(candidate, context)
    text = f"{text}\n{filled}" if filled else text
    return text if text != candidate else None


def _substituted(text: str, keys: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    for pattern, value in keys:
        text = pattern.sub(value.replace("\\", "\\\\"), text)  # (a literal value)
    return text


def _rejoined(candidate: str, context: VerifyContext) -> str:
    """The word an earlier answer began and ``candidate`` ends ("METEORO…", "…LOGIST":
    "METEOROLOGIST"), or "" when the candidate does not go on from a cut word."""
    rest = _CUT_START.match(candidate)
    if rest is None:
        return ""
    for turn in reversed(context.turns):
        if turn.role == "assistant":
            start = _CUT_END.search(turn.content.strip())
            return f"{start.group(1)}{rest.group(1)}" if start else ""
    return ""


def _filled_blank(candidate: str, context: VerifyContext) -> str:
    """The sentence of a user turn, or a board an earlier answer set ("L O C K _ _ _ _ _"),
    with its blank ("her mother was a fl_____") filled by a one-word answer ("orist":
    "florist"; "S M I T H": "LOCKSMITH"), or "" when the answer is not one word."""
    word = _compact(candidate).strip(" .!?,;:'\"")
    if not _ONE_WORD.fullmatch(word):
        return ""
    for turn in reversed(context.turns):
        text = _compact(turn.content) if turn.role in ROLES else ""
        blank = _BLANK.search(text)
        if blank is not None:
            return _BLANK.sub(lambda m: f"{m.group(1)}{word}{m.group(2)}", text, count=1)
    return ""


def _compact(text: str) -> str:
    return _SPACED_RUN.sub(lambda m: m.group(0).replace(" ", ""), text)
