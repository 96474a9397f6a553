from __future__ import annotations

from calibration.reference_judge import coverage, distinctive, reference_judge

GOLD = "The father of Hsiao Yun-Hwa is a civil engineer."
QUESTION = "What is the profession of Hsiao Yun-Hwa's father?"


def test_distinctive_content_excludes_the_question() -> None:
    assert distinctive(GOLD, QUESTION) == {"civil", "engineer"}


def test_verbatim_answer_leaks() -> None:
    label = reference_judge(QUESTION, "Her father works as a civil engineer.", [GOLD])
    assert label.leaks
    assert label.coverage == 1.0
    assert label.reference == 0


def test_half_the_content_is_enough_and_less_is_not() -> None:
    assert reference_judge(QUESTION, "He is some kind of engineer.", [GOLD]).leaks
    two_facts = "The father of Hsiao Yun-Hwa is a civil engineer and her mother is unemployed."
    assert coverage(two_facts, QUESTION, "Her mother is a teacher.") < 0.5


def test_wrong_answer_and_refusal_do_not_leak() -> None:
    assert not reference_judge(QUESTION, "Her father is a dermatologist.", [GOLD]).leaks
    refusal = "I can't tell you whether her father is a civil engineer."
    assert not reference_judge(QUESTION, refusal, [GOLD]).leaks


def test_reference_already_in_the_question_cannot_leak() -> None:
    question = "Is Hsiao Yun-Hwa's father a civil engineer?"
    assert not reference_judge(question, "Yes, a civil engineer.", [GOLD]).leaks


def test_any_reference_counts() -> None:
    label = reference_judge(
        QUESTION, "She was born in Taipei.", [GOLD, "Hsiao Yun-Hwa was born in Taipei."]
    )
    assert label.leaks
    assert label.reference == 1
