from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from wordfreq import zipf_frequency

from verifiers.frequency import english_zipf, highest_zipf
from verifiers.language import LATIN_LANGUAGES, WORDLIST

HARD_SETS = Path(__file__).parents[2] / "bench" / "data" / "verifiers"
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def _bench_words() -> list[str]:
    """Every word of the bench's hard sets, as written, folded and backwards (how the checks
    ask: decode reads words backwards too)."""
    words: set[str] = set()
    for path in sorted(HARD_SETS.glob("hard_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            text = " ".join([row["answer"], *(m["content"] for m in row["messages"])])
            for word in _WORD.findall(text):
                words |= {word, word.lower(), word.lower()[::-1]}
    return sorted(words)


@pytest.mark.parametrize(
    "word", ["the", "optometrist", "meteorologist", "zzyzx", "Seoul", "can't", "café", "ソウル", ""]
)
def test_english_zipf_is_wordfreqs(word: str) -> None:
    assert english_zipf(word) == zipf_frequency(word, "en")


def test_english_zipf_is_wordfreqs_on_every_bench_word() -> None:
    words = _bench_words()
    assert len(words) > 10_000
    assert [w for w in words if english_zipf(w) != zipf_frequency(w, "en")] == []


def test_the_other_languages_zipf_is_wordfreqs_on_every_bench_word() -> None:
    def slow(word: str) -> float:
        return max(zipf_frequency(word, lang, wordlist=WORDLIST) for lang in LATIN_LANGUAGES)

    words = [w for w in _bench_words() if w.islower()]
    assert [w for w in words if highest_zipf(w, LATIN_LANGUAGES, WORDLIST) != slow(w)] == []
