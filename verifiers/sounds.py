"""Forget-set names written in another script: "Бехруз Рохани", "ベフルーズ・ロハニ".

An answer in Russian, Japanese, Korean, Arabic, Hindi or Greek writes a name as it sounds, in
its own script, so no spelling of it matches. Each word in a non-Latin script is transliterated
(``anyascii``) and reduced to a *sound skeleton*: the consonants that transliterations agree on.
Vowels, ``h``, ``w`` and ``y`` are dropped (they are what Cyrillic "Бехруз" -> "Bekhruz",
Japanese "befuruzu" and Arabic "bhrwz" disagree on), digraphs and close sounds are merged
(``kh``/``ch`` -> ``h``, ``zh``/``z`` -> ``s``, ``f`` -> ``h``, ``l`` -> ``r`` as Japanese
writes it, ``x``/``sh`` -> ``s``, ``v`` -> ``b`` as Korean, Hebrew and Greek write it, ``mb``
-> ``b``, ``nt`` -> ``nd`` and ``gk`` -> ``g`` as Greek writes them),
doubled letters collapse. "Behrouz Rohani" and all five spellings above become ``brs rn``.

Hebrew writes few vowels, and one letter, vav, is either a vowel ("o", "u") or "v": each run of
vavs is read both ways, so a Hebrew word has up to ``2 ** MAX_VAV_RUNS`` skeletons, and matches
when one of them does ("מונטנגרו" -> ``mntngr``, "דוד" -> ``dbd``). Its other letters are read
as names are written in it: bet and kaf as "b" and "k" (the letters without a dot, which a
transliterator reads "v" and "kh", stand for "b" and "k" in foreign names as often as not),
pe as "p", and gimel, zayin and tsadi with a geresh as "j", "zh" and "ch".

A skeleton is short and loses much, so one word proves little: a *full* mention needs
``MIN_PARTS`` or more consecutive words whose skeletons equal consecutive parts of one name, in
order, together at least ``MIN_LETTERS`` letters ("Синь Ли Уильямс" -> ``sn r rms``); a lone
word is a *partial* mention only with a skeleton of ``MIN_LETTERS`` letters or more. A name too
short for that ("Hina Ameen" is ``n mn``; "она мне", "she to me", is too) is a full mention
when the words spell all its parts with their vowels as well (:func:`vowelled`: "Хина Амин",
"हिना अमीन", "ヒナ・アミーン" -> ``ina amin``), which scripts that write vowels do. A "v" may
stand for "w" (Hindi "वेई" for "Wei"; a name whose first part has no consonant left, "Wei",
is found by its vowels), and Indic "ch" letters are read "ch". Korean
names are matched in each customary spelling of their family name ("Park", "Pak", "Bak") and
with the vowels other scripts write with one letter (Russian "Пак Тхэ" for "Park Tae"); a
given name of two parts may be one word ("テホ・パク"), and katakana's final "u" after a consonant
is no vowel of the name ("パク", "paku"). Hangul writes a name's opening t, k, p with the letters
read d, g, b ("다카시" for "Takashi"), and Thai's silent o ang carries an opening vowel.
Chinese characters carry no word breaks and are read elsewhere (:mod:`verifiers.syllables`).
Latin-script text never comes here: its names are matched as written (:mod:`verifiers.names`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from anyascii import anyascii

MIN_PARTS = 2
MIN_LETTERS = 4
# Applied in order, to the lowercase transliteration of both the name and the text.
_MERGES = (
    ("tsh", "ch"),  # Arabic and Persian write "ch" as "تش"
    ("dzh", "j"),
    ("dj", "j"),
    ("kh", "h"),
    ("ch", "h"),
    ("sh", "s"),
    ("zh", "s"),
    ("th", "t"),
    ("ph", "f"),
    ("gh", "g"),
    ("mp", "b"),  # Greek writes b as μπ ...
    ("mb", "b"),  # ... and mb as μπ too ("Brambilla", "Μπραμπίλα"),
    ("nt", "nd"),  # ... and d and nd as ντ ("Fernandes", "Φερνάντες"),
    ("gk", "g"),  # ... and g as γκ ("Gellner", "Γκέλνερ")
    ("x", "s"),
    ("q", "k"),
    ("c", "k"),
    ("f", "h"),  # Japanese writes "hu" as "fu"
    ("j", "s"),
    ("z", "s"),
    ("l", "r"),  # Japanese has one sound for both
    ("v", "b"),  # Korean and Hebrew write both alike; Greek writes b as μπ, v as β
)
# Polish letters as they sound, in order: "rz" is "zh" (Russian writes "rzh"), "sz" "sh", "cz"
# "ch", "w" is "v", and "c" but in "ch" and "cz" is "ts" ("Wierzbicki" -> "viezhbitski"). A
# name part is indexed both as written and as sounded.
_POLISH = (
    ("rz", "rzh"),
    ("sz", "sh"),
    ("cz", "ch"),
    ("w", "v"),
    ("c(?![hz])", "ts"),
)
# Hebrew letters read as a foreign name is written in Hebrew (before transliterating the rest).
_HEBREW = (
    ("ג'", "j"),
    ("ג׳", "j"),
    ("ז'", "zh"),
    ("ז׳", "zh"),
    ("צ'", "ch"),
    ("צ׳", "ch"),
    ("ב", "b"),
    ("כ", "k"),
    ("ך", "k"),
    ("פ", "p"),
)
_VAV_RUN = re.compile("ו+")
# Thai writes some vowels before the consonant they follow ("โม" is "mo"), and a foreign name's
# sounds with the letters Thai has: wo waen for v, aspirated consonants (read "kh", "th", "ph"
# by a transliterator) for k, t, p, and cho chang for sh, which Thai lacks.
_THAI_LETTERS = re.compile("[\u0e01-\u0e5b]")
_THAI_PREPOSED = re.compile("([\u0e40-\u0e44])([\u0e01-\u0e2e])")
# o ang before a vowel is no sound: it carries a syllable that opens with the vowel ("อามีน",
# "Ameen").
_THAI_SILENT = re.compile("\u0e2d(?=[\u0e30-\u0e39\u0e40-\u0e44\u0e47])")
_THAI = str.maketrans(
    {"ว": "v", "ค": "k", "ข": "k", "ฆ": "k", "ท": "t", "ถ": "t", "ธ": "t", "พ": "p", "ผ": "p",
     "ภ": "p", "ช": "sh", "ฉ": "sh", "ซ": "s"}
)  # fmt: skip
# Korean writes particles onto a name ("아베라는", "Abera" + topic "는"): the common ones after a
# name.
KOREAN_PARTICLES = (
    "에게서", "께서", "에게", "에서", "으로", "이라는", "라는", "은", "는", "이", "가", "을", "를",
    "의", "와", "과", "도", "로", "만", "란",
)  # fmt: skip
MAX_VAV_RUNS = 3
_DROPPED = re.compile(r"[aeiouyhw]|[^a-z]")
_UNVOICED = re.compile(r"[hwy]|[^a-z]")  # what :func:`vowelled` drops
# Long vowels written short, and the Korean vowels other scripts write with one letter ("Tae",
# Russian "Тхэ": "ae" and "e"; "eo" and "o").
_LONG_VOWELS = (
    ("ee", "i"), ("ii", "i"), ("oo", "u"), ("uu", "u"), ("aa", "a"), ("ou", "u"), ("ae", "e"),
    ("eo", "o"),
)  # fmt: skip
# Korean family names as customarily spelled, read as anyascii reads their hangul ("박" is
# "bag"): a name's part in one spelling matches the others.
KOREAN_FAMILY_NAMES = {
    "park": "bag", "pak": "bag", "bak": "bag", "kim": "gim", "lee": "i", "rhee": "i", "yi": "i",
    "choi": "choe", "jung": "jeong", "chung": "jeong", "kang": "gang", "cho": "jo",
    "yoon": "yun", "lim": "im", "oh": "o", "ahn": "an", "kwon": "gwon", "moon": "mun",
    "baek": "baeg", "shin": "sin", "jang": "jang", "chang": "jang", "ryu": "ryu", "yoo": "yu",
}  # fmt: skip
_HEBREW_LETTERS = re.compile(r"[\u05d0-\u05ea]")
_HANGUL = re.compile("[\uac00-\ud7a3]")
_DEVOICED = {"d": "t", "g": "k", "b": "p"}
_DOUBLED = re.compile(r"(.)\1+")
# Letters with their combining marks (Indic vowel signs, Arabic and Hebrew points are not \w;
# the Hebrew maqaf, U+05BE, joins words like a hyphen).
_WORD = re.compile(
    r"(?:[^\W\d_]|[\u0300-\u036f\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u0610-\u061a\u064b-\u065f\u0900-\u0dff\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])+"
)
# Indic scripts' "ch" letters, which a transliterator writes "c" (as in "cen" for "Chen").
_INDIC = str.maketrans(
    {"\u091a": "ch", "\u091b": "chh", "\u099a": "ch", "\u099b": "chh", "\u0a9a": "ch",
     "\u0a1a": "ch"}
)  # fmt: skip
# Japanese runs its words together: katakana (how foreign names are written) is read, kana and
# Chinese characters around it are not ("ロハニの父親は" -> "ロハニ").
_KATAKANA = re.compile(r"[\u30a0-\u30ff]+")
_ADDED_U = re.compile(r"[^aeiou]u$")
_READABLE = re.compile(r"[\u30a0-\u30fa\u30fc-\u30ff]+|[^\u3040-\u30ff\u3400-\u9fff]+")


@lru_cache(maxsize=65536)
def skeleton(word: str) -> str:
    """The consonants of ``word`` that transliterations agree on ("Рохани" -> "rn")."""
    text = anyascii(word.translate(_INDIC)).lower()
    for old, new in _MERGES:
        text = text.replace(old, new)
    return _DOUBLED.sub(r"\1", _DROPPED.sub("", text))


@lru_cache(maxsize=65536)
def skeletons(word: str) -> frozenset[str]:
    """Every skeleton ``word`` may have: one; for a Hebrew word one per reading of its vavs; for
    a Korean word ending with a particle, its skeleton with and without the particle. A Thai
    word is read with its vowels in spoken order."""
    stems = [
        word[: -len(p)] for p in KOREAN_PARTICLES if word.endswith(p) and len(word) > len(p) + 1
    ]
    if stems:  # "아베라는" is "아베라" + "는" (or "아베" + "라는": each reading is tried)
        found = frozenset(skeleton(w) for w in (word, *stems))
        return found | {_devoiced(f) for f in found}
    word = _thai(word)
    if not _HEBREW_LETTERS.search(word):
        found = frozenset(skeleton(w) for w in spoken(word))
        return found | {_devoiced(f) for f in found} if _HANGUL.search(word) else found
    for old, new in _HEBREW:
        word = word.replace(old, new)
    pieces = _VAV_RUN.split(word)
    if len(pieces) - 1 > MAX_VAV_RUNS:
        return frozenset({skeleton(word)})
    readings = [""]
    for number, piece in enumerate(pieces):
        vav = ("", "b") if number < len(pieces) - 1 else ("",)
        readings = [r + piece + v for r in readings for v in vav]
    return frozenset(skeleton(r) for r in readings)


def _thai(word: str) -> str:
    """A Thai word with its vowels in spoken order and its letters read as names are written
    in Thai (see ``_THAI``); any other word as it is."""
    if not _THAI_LETTERS.search(word):
        return word
    return _THAI_SILENT.sub("", _THAI_PREPOSED.sub(r"\2\1", word)).translate(_THAI)


def _devoiced(sound: str) -> str:
    """A Korean skeleton with its first consonant read voiceless: hangul writes a foreign name's
    opening "t", "k", "p" with the letters romanised "d", "g", "b" ("다카시", "Takashi")."""
    return _DEVOICED.get(sound[:1], sound[:1]) + sound[1:]


def spoken(word: str) -> tuple[str, ...]:
    """``word``, and its transliteration with "v" read as "w" when it has one: scripts without
    a "w" write it with their "v" (Hindi "वेई" and Russian "Вэй" for "Wei")."""
    text = anyascii(word.translate(_INDIC)).lower()
    return (word, text.replace("v", "w")) if "v" in text else (word,)


@lru_cache(maxsize=65536)
def vowelled(word: str) -> str:
    """``word`` as its skeleton, but keeping the vowels, with long vowels written short
    ("Ameen", "Амин", "अमीन" -> "amin")."""
    text = anyascii(_thai(word).translate(_INDIC)).lower()
    for old, new in (*_MERGES, *_LONG_VOWELS):
        text = text.replace(old, new)
    return _DOUBLED.sub(r"\1", _UNVOICED.sub("", text))


def _foreign(word: str) -> bool:
    """A word in a script other than Latin (Cyrillic, Greek, katakana, hangul...)."""
    return any(ord(c) > 0x24F for c in word)


@dataclass(frozen=True, slots=True)
class SoundHit:
    target_id: str
    full: bool
    start: int
    end: int


def spellings(part: str) -> frozenset[str]:
    """``part`` (lower case), its sound as Polish spells it ("wierzbicki" is said "vyezh-bits-
    ki", which Cyrillic writes "Вєжбіцький") and the other customary spellings of it as a Korean
    family name ("park": "pak", "bak", "bag")."""
    reading = KOREAN_FAMILY_NAMES.get(part)
    if reading is None:
        return frozenset({part, *_west_slavic(part)})
    return frozenset({part, reading, *(k for k, v in KOREAN_FAMILY_NAMES.items() if v == reading)})


def _west_slavic(part: str) -> tuple[str, ...]:
    """``part`` respelled as Polish letters sound (``_POLISH``), with "rz" as Ukrainian ("ж")
    and as Russian ("рж") writes it; the same word when it has none of them."""
    said = part
    for written, sound in _POLISH:
        said = re.sub(written, sound, said)
    return (said.replace("rzh", "zh"), said)


class SoundIndex:
    """Sound skeletons of every name part (in each of its spellings), by skeleton."""

    def __init__(self, names: Iterable[tuple[str, list[str]]]) -> None:
        # skeleton -> (target, name number, part number, parts in the name)
        self._parts: dict[str, list[tuple[str, int, int, int]]] = {}
        self._skeletons: list[list[frozenset[str]]] = []
        self._vowelled: list[list[frozenset[str]]] = []
        # vowelled first part -> (target, name number), for names whose first part is all vowels
        self._silent: dict[str, list[tuple[str, int]]] = {}
        for target_id, tokens in _with_glued(names):
            forms = [spellings(t.lower()) for t in tokens]
            parts = [frozenset(skeleton(f) for f in spelled) for spelled in forms]
            number = len(self._skeletons)
            self._skeletons.append(parts)
            self._vowelled.append([frozenset(vowelled(f) for f in spelled) for spelled in forms])
            if parts and parts[0] == {""}:  # no consonant to find it by: "Wei", "Ahn"
                for key in self._vowelled[-1][0]:
                    self._silent.setdefault(key, []).append((target_id, number))
            for position, part in enumerate(parts):
                for sound in part - {""}:
                    self._parts.setdefault(sound, []).append(
                        (target_id, number, position, len(parts))
                    )

    def find(self, text: str) -> tuple[SoundHit, ...]:
        """Mentions of a name written in another script in ``text``."""
        if not _foreign(text):
            return ()
        return tuple(self._hits(list(_foreign_words(text))))

    def _starts(self, word: _Word) -> Iterator[tuple[str, str, int, int]]:
        """(sound, target, name number, part number) of each name part ``word`` may be."""
        for sound in word.sounds:
            for target_id, name, position, _ in self._parts.get(sound, ()):
                yield sound, target_id, name, position
        for key in word.keys:  # a name opening with a silent part ("Wei") starts here too
            for target_id, name in self._silent.get(key, ()):
                yield "", target_id, name, 0

    def _hits(self, words: list[_Word]) -> Iterator[SoundHit]:
        for index, word in enumerate(words):
            for sound, target_id, name, position in self._starts(word):
                run = self._run(words, index, name, position)
                parts = self._skeletons[name][position : position + run]
                heard = zip(parts, words[index : index + run], strict=True)
                letters = sum(len(max(p & w.sounds, key=len)) for p, w in heard)
                if run >= MIN_PARTS and (
                    letters >= MIN_LETTERS
                    or self._spelled_whole(words[index : index + run], name, position)
                ):
                    yield SoundHit(target_id, True, word.start, words[index + run - 1].end)
                elif len(sound) >= MIN_LETTERS:
                    yield SoundHit(target_id, False, word.start, word.end)

    def _run(self, words: list[_Word], index: int, name: int, position: int) -> int:
        """How many words from ``index`` on match the name's parts from ``position`` on."""
        parts = self._skeletons[name]
        run = 0
        while (
            index + run < len(words)
            and position + run < len(parts)
            and not parts[position + run].isdisjoint(words[index + run].sounds)
        ):
            run += 1
        return run

    def _spelled_whole(self, words: list[_Word], name: int, position: int) -> bool:
        """Whether ``words`` are the whole name, each part with its vowels."""
        keys = self._vowelled[name]
        return (
            position == 0
            and len(words) == len(keys)
            and all(not word.keys.isdisjoint(key) for word, key in zip(words, keys, strict=True))
        )


def _with_glued(names: Iterable[tuple[str, list[str]]]) -> Iterator[tuple[str, list[str]]]:
    """Each name, and for a name of three parts or more each way of writing two neighbouring
    parts as one word: a given name of two syllables is one word in another script ("Tae-ho
    Park" is "テホ・パク")."""
    for target_id, tokens in names:
        yield target_id, tokens
        if len(tokens) >= 3:
            for i in range(len(tokens) - 1):
                yield target_id, [*tokens[:i], tokens[i] + tokens[i + 1], *tokens[i + 2 :]]


class _Word(NamedTuple):
    start: int
    end: int
    sounds: frozenset[str]  # its skeletons
    keys: frozenset[str]  # :func:`vowelled`, of each way it may be spoken


def _foreign_words(text: str) -> Iterator[_Word]:
    """Each word in another script."""
    for word in _WORD.finditer(text):
        for part in _READABLE.finditer(word.group(0)):
            if _foreign(part.group(0)):
                start = word.start() + part.start()
                written = part.group(0)
                keys = frozenset(vowelled(w) for w in spoken(written))
                if _KATAKANA.fullmatch(written):
                    # Japanese ends a foreign syllable with "u" ("パク", "paku", for "Pak").
                    keys |= {k[:-1] for k in keys if _ADDED_U.search(k)}
                yield _Word(start, start + len(written), skeletons(written), keys)
