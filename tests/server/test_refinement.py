"""Each refinement strategy on its own: what it derives from a round and what it asks next.
A new strategy's test starts as a copy of one of these (docs/extending.md)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from calibration.records import CandidateRecord
from server.backends.base import Message
from server.refinement import STRATEGIES, RefinementSettings, RoundView, strategy
from verifiers.types import LeakageReport, Verdict

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


VIEW = _view(("She writes novels. " + LEAKY + ".", 1.0), ("Bad try.", 0.9))


def test_every_strategy_name_is_registered() -> None:
    assert set(STRATEGIES) == {"reprompt", "redact", "resample"}


def test_resample_asks_the_same_question_again() -> None:
    assert strategy("resample", SETTINGS).next_prompt(VIEW) == ASK


def test_reprompt_shows_the_best_attempt_and_feedback() -> None:
    prompt = strategy("reprompt", SETTINGS).next_prompt(VIEW)
    assert prompt[:-2] == ASK
    assert prompt[-2] == Message("assistant", "Bad try.")  # the lowest score
    assert prompt[-1].role == "user"
    assert prompt[-1].content.startswith("Try again. ")
    assert "civil" not in prompt[-1].content  # feedback names kinds, never content


@pytest.mark.parametrize("name", ["reprompt", "resample"])
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
