"""English word frequencies on wordfreq's Zipf scale, at dictionary speed.

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


def load() -> None:
    """Read the English table now (at start-up), not on the first answer."""
    _english()
