"""Word frequencies on wordfreq's Zipf scale, at dictionary speed: English, and the highest of
several other languages (:mod:`verifiers.language`).

Every reading of an answer asks how common its words are (rare words carry facts, common ones
are the language around them), dozens of times per candidate. wordfreq tokenizes and
normalises the word again on each call it has not seen; for a plain word (lower-case ASCII
letters, its own single token in English) :func:`english_zipf` reads wordfreq's own table and
rounds as wordfreq does, so the value is the same (checked on every word of the bench's texts
by the tests). Other words go through wordfreq (which remembers them). Nothing is memoised
here: a dictionary look-up is as fast as a cache, and a cache of every word of a large forget
set is a large structure for the garbage collector to walk.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from wordfreq import freq_to_zipf, get_frequency_dict, zipf_frequency

_PLAIN = re.compile(r"[a-z]+")
SIGNIFICANT_DIGITS = 3  # wordfreq keeps three (its data is precise to ~1 %)


@lru_cache(maxsize=1)
def _english() -> dict[str, float]:
    # Positional, as wordfreq itself asks: its cache keys keyword calls apart (a second copy).
    return get_frequency_dict("en", "best")


def english_zipf(word: str) -> float:
    """``wordfreq.zipf_frequency(word, "en")``, faster."""
    if not _PLAIN.fullmatch(word):
        return float(zipf_frequency(word, "en"))
    freq = _english().get(word, 0.0)
    if freq == 0.0:
        return 0.0
    leading_zeroes = math.floor(-math.log(freq, 10))
    return round(freq_to_zipf(round(freq, leading_zeroes + SIGNIFICANT_DIGITS)), 2)


def highest_zipf(word: str, languages: tuple[str, ...], wordlist: str) -> float:
    """``max(wordfreq.zipf_frequency(word, lang, wordlist) for lang in languages)``, faster: a
    plain word is its own token in every list, so the lists are read directly and wordfreq
    (which tokenizes the word again for each language) is asked once, for the language where it
    is commonest — rounding keeps that order, so the answer is the same."""
    if not _PLAIN.fullmatch(word):
        return max(zipf_frequency(word, lang, wordlist=wordlist) for lang in languages)
    commonest = max(_tables(languages, wordlist), key=lambda table: table[1].get(word, 0.0))[0]
    return float(zipf_frequency(word, commonest, wordlist=wordlist))


def load(languages: tuple[str, ...], wordlist: str) -> None:
    """Read the tables now (at start-up), not on the first answer that needs them."""
    _english()
    _tables(languages, wordlist)


@lru_cache(maxsize=4)
def _tables(languages: tuple[str, ...], wordlist: str) -> tuple[tuple[str, dict[str, float]], ...]:
    # Positional, as wordfreq itself asks (see _english).
    return tuple((lang, get_frequency_dict(lang, wordlist)) for lang in languages)
