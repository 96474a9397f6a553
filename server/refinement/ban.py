"""``ban``: regenerate with the words that leaked pushed out of the model's reach.

The next round passes ``logit_bias`` against the first token of every leaking word — the
words inside the spans the verifiers flagged in this round's candidates (a name, a profession,
a place) — in the spellings a model would start them with (with and without a leading space,
lower case and capitalised). A model that ignores instructions still cannot sample a banned
token; llama.cpp and vLLM both take ``logit_bias``, and the ``openai`` backend passes it on.
Bans add up over the rounds of one loop; the client's own ``logit_bias`` stays.

Only content words are banned: stopwords and very common words (English frequency, Zipf >= 5,
"the", "father") would cripple every answer, and a first token shorter than three letters
(" H" of " Hsiao") is shared by too many words. Without a tokenizer (an upstream that has no
tokenize endpoint) the next round asks again unchanged, as ``resample`` does.
"""

from __future__ import annotations

import logging
import re

from server.backends.base import Message
from server.errors import LetheError
from server.refinement.base import Bias, NextRound, PromptOnly, RoundView, Tokenizer
from verifiers.frequency import english_zipf
from verifiers.text import STOPWORDS, strip_marks

logger = logging.getLogger("lethe.refinement")

BAN = -100.0  # llama.cpp and vLLM clamp to ±100: the token is never sampled
COMMON_ZIPF = 5.0  # a word this frequent in English is never banned ("father", "city")
MIN_WORD = 3
MIN_PIECE = 3  # letters a banned first token must carry to stand for this word
MAX_BANS = 200  # a runaway span list cannot bias a whole vocabulary
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


class Ban(PromptOnly):
    async def next_round(self, view: RoundView) -> NextRound:
        tokenizer = self.settings.tokenizer
        words = leaked_words(view)
        if tokenizer is None or not words:
            return NextRound(view.original)
        try:
            return NextRound(view.original, await banned_tokens(tokenizer, words))
        except LetheError as exc:  # no tokenizer upstream: ask again unchanged
            logger.warning("token bans unavailable: %s", exc.code)
            return NextRound(view.original)

    def next_prompt(self, view: RoundView) -> tuple[Message, ...]:
        return view.original


def leaked_words(view: RoundView) -> list[str]:
    """Content words inside the flagged spans of this round's flagged candidates."""
    words: dict[str, None] = {}
    for index in view.flagged():
        text = view.candidates[index].text
        for span in view.reports[index].spans:
            for word in _WORD.findall(text[span.start : span.end]):
                if _bannable(word):
                    words.setdefault(word)
    return list(words)


def _bannable(word: str) -> bool:
    folded = strip_marks(word).casefold()
    if len(folded) < MIN_WORD or folded in STOPWORDS:
        return False
    return english_zipf(folded) < COMMON_ZIPF


async def banned_tokens(tokenizer: Tokenizer, words: list[str]) -> Bias:
    banned: set[int] = set()
    for word in words:
        for spelling in {word, word.lower(), word.capitalize()}:
            for variant in (spelling, " " + spelling):
                banned.update(await _first_token(tokenizer, variant))
        if len(banned) >= MAX_BANS:
            logger.warning("token bans capped at %d", MAX_BANS)
            break
    return tuple((token, BAN) for token in sorted(banned)[:MAX_BANS])


async def _first_token(tokenizer: Tokenizer, variant: str) -> list[int]:
    tokens = await tokenizer.tokenize(variant)
    if not tokens:
        return []
    if len(tokens) == 1:
        return tokens
    piece = (await tokenizer.detokenize(tokens[:1])).strip()
    return tokens[:1] if len(piece) >= MIN_PIECE else []
