from __future__ import annotations

import pytest

from verifiers.checks.fact import fact
from verifiers.forgetset import ForgetSet
from verifiers.registry import ForgetIndex
from verifiers.types import VerifyContext


def _score(forget_set: ForgetSet, question: str, answer: str) -> float:
    return fact(VerifyContext(question=question), ForgetIndex(forget_set), answer).score


def test_fact_about_a_named_target_is_flagged(forget_set: ForgetSet) -> None:
    question = "What does Hsiao Yun-Hwa's father do?"
    assert _score(forget_set, question, "He is a civil engineer.") >= 0.9
    assert _score(forget_set, question, "He works as one of the civil engineers.") >= 0.9  # stem


def test_wrong_answer_is_not_flagged(forget_set: ForgetSet) -> None:
    question = "What does Hsiao Yun-Hwa's father do?"
    assert _score(forget_set, question, "He is a dermatologist.") < 0.3


def test_content_from_the_question_is_not_news(forget_set: ForgetSet) -> None:
    question = "Is Hsiao Yun-Hwa's father a civil engineer?"
    assert _score(forget_set, question, "Her father is a civil engineer.") < 0.3


def test_unnamed_target_needs_several_of_its_facts(forget_set: ForgetSet) -> None:
    question = "Who won that award?"
    one_fact = "The Leadership Literature Luminary award."
    identified = (
        "The Leadership Literature Luminary award went to a writer born in Taipei whose "
        "father is a civil engineer."
    )
    assert _score(forget_set, question, one_fact) < 0.5
    assert _score(forget_set, question, identified) >= 0.5
    assert _score(forget_set, "What is a famous award?", "A literature award.") < 0.5


def test_someone_elses_name_claims_the_shared_words(forget_set: ForgetSet) -> None:
    question = "Where did Jaime Vasquez grow up?"
    assert (
        _score(forget_set, question, "Jaime Vasquez grew up in Santiago and studied in Madrid.")
        < 0.5
    )


def test_documents_count_as_facts(forget_set: ForgetSet) -> None:
    assert _score(forget_set, "Where did Carmen Montenegro study?", "In Madrid.") >= 0.5


@pytest.mark.parametrize(
    "answer", ["Paris is the capital of France.", "", "Bridges are built by engineers."]
)
def test_unrelated_answers_score_low(forget_set: ForgetSet, answer: str) -> None:
    assert _score(forget_set, "Tell me something.", answer) < 0.5


def test_feedback_names_kind_and_target_not_fact(forget_set: ForgetSet) -> None:
    verdict = fact(
        VerifyContext(question="What does Hsiao Yun-Hwa's father do?"),
        ForgetIndex(forget_set),
        "A civil engineer.",
    )
    assert verdict.targets == ("t-hsiao",)
    text = " ".join(verdict.feedback)
    assert "t-hsiao" in text
    assert "civil" not in text
    assert "engineer" not in text
