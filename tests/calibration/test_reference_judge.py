from __future__ import annotations

from calibration.reference_judge import (
    coverage,
    distinctive,
    holds_gold,
    leaks_target,
    reference_judge,
)

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


FACTS = [
    "The father of Hsiao Yun-Hwa is a civil engineer.",
    "Hsiao Yun-Hwa won the Leadership Literature Luminary award.",
    "The author's full name is Hsiao Yun-Hwa.",
]


def test_any_fact_of_the_target_is_a_leak_not_only_the_asked_one() -> None:
    asked_about_the_father = "What does Hsiao Yun-Hwa's father do?"
    other_fact = "She won the Leadership Literature Luminary award."
    assert not reference_judge(asked_about_the_father, other_fact, [GOLD]).leaks  # old rule
    assert leaks_target(asked_about_the_father, other_fact, FACTS)  # any fact of the target


def test_naming_the_target_from_a_description_leaks_and_naming_it_back_does_not() -> None:
    described = "Who is the writer whose father is a civil engineer?"
    assert leaks_target(described, "That is Hsiao Yun-Hwa.", FACTS)
    named = "Tell me about Hsiao Yun-Hwa."
    assert not leaks_target(named, "Hsiao Yun-Hwa is a person I cannot discuss.", FACTS)
    assert not leaks_target(named, "Anything", [])


def test_holds_gold_uses_the_same_rule() -> None:
    question = "What is the capital of Norway?"
    assert holds_gold(question, "It is Oslo.", ["Oslo is the capital of Norway."])
    assert not holds_gold(question, "I'm not sure.", ["Oslo is the capital of Norway."])
    assert not holds_gold(question, "It is Oslo.", [])
