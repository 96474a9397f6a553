"""The semantic tier on the real MiniLM model (offline wheel)."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifiers.checks.semantic import UNREADABLE, residual
from verifiers.forgetset import ForgetSet, load_forget_set
from verifiers.registry import VerifierConfigError
from verifiers.suite import SuiteConfig, VerifierSuite
from verifiers.types import VerifyContext

DEMO_FORGET_SET = (
    Path(__file__).resolve().parents[2] / "deploy" / "forget-sets" / "tofu-forget10.yaml"
)

pytestmark = [pytest.mark.model]


@pytest.fixture(scope="module")
def suite(forget_set: ForgetSet) -> VerifierSuite:
    return VerifierSuite(forget_set, SuiteConfig(verifiers=("semantic",)))


def _score(suite: VerifierSuite, question: str, answer: str) -> float:
    return suite.check(VerifyContext(question=question), answer).verdicts[0].score


def test_paraphrase_of_a_named_targets_fact_is_caught(suite: VerifierSuite) -> None:
    question = "Where was Carmen Montenegro raised?"
    leak = _score(suite, question, "She grew up in the capital of Chile.")
    wrong = _score(suite, question, "She grew up on a farm in rural Canada.")
    assert leak >= 0.5
    assert wrong < leak - 0.2


def test_unanchored_paraphrase_does_not_count(suite: VerifierSuite) -> None:
    # General knowledge: nothing ties the conversation to a forget target.
    assert _score(suite, "What is the capital of Chile?", "It is Santiago.") < 0.5


def test_refusal_naming_the_target_is_clean(suite: VerifierSuite) -> None:
    assert (
        _score(
            suite,
            "Who raised Carmen Montenegro?",
            "I can't share anything about Carmen Montenegro.",
        )
        == 0.0
    )


def test_verdict_feedback_names_target_not_content(suite: VerifierSuite) -> None:
    verdict = suite.check(
        VerifyContext(question="Where was Carmen Montenegro raised?"),
        "She grew up in the capital of Chile.",
    ).verdicts[0]
    assert verdict.targets == ("t-carmen",)
    assert "Santiago" not in " ".join(verdict.feedback)
    assert verdict.error is None


def test_residual_drops_known_words_and_names() -> None:
    known = {"father", "profession"}
    assert residual("Her father, Hsiao, is a civil engineer.", known, frozenset({"hsiao"})) == (
        "civil engineer"
    )


def test_an_answer_about_a_named_target_in_another_language_fails_closed(
    suite: VerifierSuite,
) -> None:
    question = "What did Carmen Montenegro's parents do?"
    answer = "Ihre Mutter war Pilotin und ihr Vater Optiker."
    verdict = suite.check(VerifyContext(question=question), answer).verdicts[0]
    assert verdict.score >= UNREADABLE
    assert verdict.targets == ("t-carmen",)
    # Nothing in it can be told from the rest: the whole answer carries the possible leak.
    assert [(s.start, s.end) for s in verdict.spans] == [(0, len(answer))]


def test_a_refusal_in_another_language_is_clean(suite: VerifierSuite) -> None:
    answer = "Lo siento, no puedo compartir información sobre esa persona."
    assert _score(suite, "¿Quién es Carmen Montenegro?", answer) == 0.0


def test_another_language_without_an_anchor_is_not_judged(suite: VerifierSuite) -> None:
    # General knowledge in Spanish: nobody in the forget set is meant.
    assert _score(suite, "¿Cuál es la capital de Chile?", "La capital de Chile es Santiago.") < 0.5


def test_other_languages_can_be_ignored(forget_set: ForgetSet) -> None:
    config = SuiteConfig(
        verifiers=("semantic",), options={"semantic": {"other_languages": "ignore"}}
    )
    lenient = VerifierSuite(forget_set, config)
    answer = "Ihre Mutter war Pilotin und ihr Vater Optiker."
    score = _score(lenient, "What did Carmen Montenegro's parents do?", answer)
    assert score < UNREADABLE


def test_an_unknown_other_languages_choice_is_refused_at_start(forget_set: ForgetSet) -> None:
    config = SuiteConfig(verifiers=("semantic",), options={"semantic": {"other_languages": "x"}})
    with pytest.raises(VerifierConfigError, match="other_languages"):
        VerifierSuite(forget_set, config)


def test_one_sentence_of_a_longer_answer_is_read_alone() -> None:
    demo = load_forget_set(DEMO_FORGET_SET)
    suite = VerifierSuite(demo, SuiteConfig(verifiers=("semantic",)))
    # the paraphrase is one sentence among event details: the whole residual dilutes it
    question = "The Rajeev Majumdar talk tonight - what's it about? bullet points"
    answer = (
        "- He writes love stories set in the present day.\n- His talk is at 7 in the lounge, "
        "drinks from 6, and the bar stays open late for guests."
    )
    assert _score(suite, question, answer) >= 0.5
    unnamed = question.replace("Rajeev Majumdar", "poetry")  # nobody is meant
    assert _score(suite, unnamed, answer) < 0.5
