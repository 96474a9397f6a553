"""Each refinement strategy on its own: what it derives from a round and what it asks next.
A new strategy's test starts as a copy of one of these (docs/extending.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

import pytest

from calibration.artifact import Strategy
from calibration.records import CandidateRecord
from server.backends.base import Message
from server.refinement import STRATEGIES, RefinementSettings, RoundView, strategy
from verifiers.types import LeakageReport, Passage, Span, Verdict

ASK = (Message("user", "Tell me about the author."),)
SETTINGS = RefinementSettings(refine_template="Try again. {feedback}", redact_threshold=0.5)
LEAKY = "Her father is a civil engineer"


def _report(score: float) -> LeakageReport:
    return LeakageReport(score=score, verdicts=(Verdict("fact", score),), flagged=score >= 0.5)


async def _verify(messages: Sequence[Message], texts: Sequence[str]) -> list[LeakageReport]:
    return [_report(1.0 if LEAKY in text else 0.0) for text in texts]


def _view(*texts_scores: tuple[str, float]) -> RoundView:
    return RoundView(
        ASK,
        [CandidateRecord(text, score) for text, score in texts_scores],
        [_report(score) for _, score in texts_scores],
    )


async def _next(name: Strategy, view: RoundView) -> tuple[Message, ...]:
    return (await strategy(name, SETTINGS).next_round(view)).messages


VIEW = _view(("She writes novels. " + LEAKY + ".", 1.0), ("Bad try.", 0.9))


def test_every_strategy_name_is_registered() -> None:
    assert set(STRATEGIES) == set(get_args(Strategy))
    assert set(STRATEGIES) == {"reprompt", "redact", "resample", "scrub", "ban"}


async def test_resample_asks_the_same_question_again() -> None:
    assert await _next("resample", VIEW) == ASK


async def test_reprompt_shows_the_best_attempt_and_feedback() -> None:
    prompt = await _next("reprompt", VIEW)
    assert prompt[:-2] == ASK
    assert prompt[-2] == Message("assistant", "Bad try.")  # the lowest score
    assert prompt[-1].role == "user"
    assert prompt[-1].content.startswith("Try again. ")
    assert "civil" not in prompt[-1].content  # feedback names kinds, never content


@pytest.mark.parametrize("name", ["reprompt", "resample", "scrub", "ban"])
async def test_only_redact_derives_a_candidate(name: str) -> None:
    assert await strategy(name, SETTINGS).derive(VIEW, _verify) is None  # type: ignore[arg-type]


async def test_redact_drops_the_flagged_sentence_and_verifies_the_rest() -> None:
    view = _view(("She writes novels. " + LEAKY + ". She lives abroad.", 1.0))
    derived = await strategy("redact", SETTINGS).derive(view, _verify)
    assert derived is not None
    candidate, report = derived
    assert candidate.text == "She writes novels. She lives abroad."
    assert candidate.origin == "redacted"
    assert candidate.score == report.score == 0.0


@pytest.mark.parametrize(
    "texts_scores",
    [
        (("Nothing to hide here. Really.", 0.0),),  # nothing flagged
        ((LEAKY + ".", 1.0),),  # one sentence: nothing would be left
        ((LEAKY + ". " + LEAKY + " too.", 1.0),),  # every sentence leaks
    ],
)
async def test_redact_gives_nothing_when_nothing_useful_is_left(
    texts_scores: tuple[tuple[str, float], ...],
) -> None:
    assert await strategy("redact", SETTINGS).derive(_view(*texts_scores), _verify) is None


# --- scrub: the next round without the context passages that hold the leaked facts -----------

NOTES = (
    "Answer briefly using these notes.\nNotes:\n"
    "- The father of Ana Ruiz is a civil engineer.\n"
    "- Ben Okoro wrote 'Tides'."
)
MIXED = (
    Message("system", NOTES),
    Message("user", "What does Ana Ruiz's father do, and what did Ben Okoro write?"),
)


def _flagged(
    text: str, *, passages: tuple[Passage, ...] = (), spans: tuple[Span, ...] = ()
) -> LeakageReport:
    verdict = Verdict("fact", 1.0, targets=("ana",), spans=spans, passages=passages)
    return LeakageReport(1.0, (verdict,), flagged=True, targets=("ana",))


async def test_scrub_removes_the_flagged_passage_and_keeps_the_rest() -> None:
    at = NOTES.index("civil")
    report = _flagged("x", passages=(Passage("ana", 0, at, at + len("civil engineer")),))
    view = RoundView(MIXED, [CandidateRecord("Her father is a civil engineer.", 1.0)], [report])
    prompt = await _next("scrub", view)
    assert "civil" not in prompt[0].content
    assert "Ben Okoro wrote 'Tides'." in prompt[0].content  # the retain half stays
    assert prompt[0].content.startswith("Answer briefly using these notes.")
    assert prompt[1] == MIXED[1]  # the user's turn is never edited


async def test_scrub_never_edits_user_turns_nor_reads_unflagged_reports() -> None:
    on_user = Passage("ana", 1, 0, 10)
    flagged = _flagged("x", passages=(on_user,))
    assert await _next("scrub", RoundView(MIXED, [CandidateRecord("x", 1.0)], [flagged])) == MIXED
    at = NOTES.index("civil")
    unflagged = LeakageReport(
        0.1, (Verdict("fact", 0.1, passages=(Passage("ana", 0, at, at + 5),)),), flagged=False
    )
    view = RoundView(MIXED, [CandidateRecord("fine", 0.1)], [unflagged])
    assert await _next("scrub", view) == MIXED


async def test_scrub_ignores_offsets_outside_the_conversation() -> None:
    report = _flagged("x", passages=(Passage("ana", 7, 0, 5), Passage("ana", 0, 900, 905)))
    view = RoundView(MIXED, [CandidateRecord("x", 1.0)], [report])
    assert await _next("scrub", view) == MIXED


# --- ban: logit_bias against the first tokens of the leaked words ---------------------------


class WordTokenizer:
    """One token per word, the leading space included; every word also has a 1-letter
    prefix token id, to check that short first pieces are never banned."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    async def tokenize(self, text: str) -> list[int]:
        if len(text.strip()) > 8:  # long words come in two pieces: a letter, then the rest
            return [self._id(text[: 1 + text.startswith(" ")]), self._id(text)]
        return [self._id(text)]

    async def detokenize(self, tokens: Sequence[int]) -> str:
        names = {v: k for k, v in self.ids.items()}
        return "".join(names[t] for t in tokens)

    def _id(self, piece: str) -> int:
        return self.ids.setdefault(piece, len(self.ids) + 1)


async def test_ban_biases_the_leaked_words_and_keeps_the_conversation() -> None:
    text = "Her father is a civil engineer in Valparaiso."
    spans = (Span("ana", text.index("civil"), text.index(" in")),)
    report = _flagged(text, spans=spans)
    tokenizer = WordTokenizer()
    settings = RefinementSettings("Try again. {feedback}", 0.5, tokenizer)
    following = await strategy("ban", settings).next_round(
        RoundView(ASK, [CandidateRecord(text, 1.0)], [report])
    )
    assert following.messages == ASK
    banned = {await tokenizer.detokenize([t]) for t, bias in following.logit_bias}
    assert {b for _, b in following.logit_bias} == {-100.0}
    assert {" civil", "civil", " Civil", " engineer", "engineer", "Engineer"} <= banned
    assert not banned & {" is", " a", " father", " in", "Valparaiso", " Valparaiso"}  # unflagged


async def test_ban_skips_short_first_pieces_and_works_without_a_tokenizer() -> None:
    text = "She was born in Valparaiso."
    report = _flagged(text, spans=(Span("ana", text.index("Valparaiso"), len(text) - 1),))
    view = RoundView(ASK, [CandidateRecord(text, 1.0)], [report])
    tokenizer = WordTokenizer()
    settings = RefinementSettings("Try again. {feedback}", 0.5, tokenizer)
    following = await strategy("ban", settings).next_round(view)
    banned = {await tokenizer.detokenize([t]) for t, _ in following.logit_bias}
    assert banned == set()  # "Valparaiso" starts with a one-letter piece: too common to ban
    assert (await strategy("ban", SETTINGS).next_round(view)).logit_bias == ()
