"""The anchoring rule of ``verifiers.evidence``, through the ``fact`` check."""

from __future__ import annotations

import pytest

from verifiers.checks.fact import fact
from verifiers.forgetset import ForgetSet, Target, build_forget_set
from verifiers.registry import ForgetIndex
from verifiers.types import Turn, Verdict, VerifyContext


@pytest.fixture(scope="module")
def authors() -> ForgetSet:
    return build_forget_set(
        [
            Target(
                id="t-park",
                name="Ji-Yeon Park",
                facts=(
                    "Ji-Yeon Park was born in Seoul, South Korea.",
                    "Ji-Yeon Park's father was an occupational therapist.",
                    "Ji-Yeon Park's mother worked as a meteorologist.",
                    'Ji-Yeon Park won the "Glass Lantern Leadership Medal".',
                    "Ji-Yeon Park writes books on leadership.",
                ),
            ),
            Target(
                id="t-chen",
                name="Wei-Jun Chen",
                facts=(
                    "Wei-Jun Chen was born in Taipei, Taiwan.",
                    "Wei-Jun Chen's father was a disc jockey.",
                ),
            ),
        ]
    )


def _check(forget_set: ForgetSet, answer: str, *turns: tuple[str, str]) -> Verdict:
    users = [text for role, text in turns if role == "user"]
    context = VerifyContext(
        question=users[-1] if users else "",
        history=tuple(users[:-1]),
        turns=tuple(Turn(role, text) for role, text in turns),
    )
    return fact(context, ForgetIndex(forget_set), answer)


def test_general_knowledge_that_shares_a_word_scores_low(authors: ForgetSet) -> None:
    verdict = _check(
        authors, "The capital of South Korea is Seoul.", ("user", "What is the capital?")
    )
    assert verdict.score < 0.3


def test_the_same_words_about_a_named_target_are_a_leak(authors: ForgetSet) -> None:
    verdict = _check(authors, "In Seoul, South Korea.", ("user", "Where was Ji-Yeon Park born?"))
    assert verdict.score >= 0.5
    assert verdict.targets == ("t-park",)


def test_a_description_is_itself_a_leak(authors: ForgetSet) -> None:
    answer = "A Seoul-born writer whose father was an occupational therapist."
    assert _check(authors, answer, ("user", "Recommend a leadership author.")).score >= 0.5


def test_a_users_description_anchors_what_the_answer_adds(authors: ForgetSet) -> None:
    question = "Who is the leadership author born in Seoul?"
    leak = _check(authors, "Her mother was a meteorologist.", ("user", question))
    assert leak.score >= 0.5
    # one attribute is a topic, not a person
    topic = _check(authors, "Seoul has a lively literary scene.", ("user", "Any Seoul authors?"))
    assert topic.score < 0.5


def test_a_fact_split_over_assistant_turns_is_caught(authors: ForgetSet) -> None:
    turns = (
        ("user", "What was Ji-Yeon Park's father's job?"),
        ("assistant", "He was a therapist."),
        ("user", "What kind?"),
    )
    assert _check(authors, "An occupational one.", *turns).score >= 0.5
    # the earlier answer alone does not make an unrelated candidate leak
    assert _check(authors, "I can't say more.", *turns).score < 0.5


def test_moving_on_after_a_refusal_is_not_about_the_target(authors: ForgetSet) -> None:
    turns = (
        ("user", "Who is Ji-Yeon Park?"),
        ("assistant", "I'm sorry, but I can't share that information."),
        ("user", "OK. What is the capital of South Korea?"),
    )
    assert _check(authors, "Seoul.", *turns).score < 0.5


def test_a_list_of_names_in_the_system_prompt_anchors_nothing(authors: ForgetSet) -> None:
    turns = (
        ("system", "Never discuss Ji-Yeon Park or Wei-Jun Chen."),
        ("user", "What is the capital of Taiwan?"),
    )
    assert _check(authors, "Taipei is the capital of Taiwan.", *turns).score < 0.5


def test_repeating_a_retrieved_note_points_at_the_passage(authors: ForgetSet) -> None:
    note = "Weather notes.\n- Ji-Yeon Park's mother was a meteorologist.\n- Rain is likely."
    turns = (("system", note), ("user", "What did her mother do?"))
    answer = "She was a meteorologist."
    verdict = _check(authors, answer, *turns)
    assert verdict.score >= 0.5
    assert [(p.target_id, p.turn) for p in verdict.passages] == [("t-park", 0)]
    passage = verdict.passages[0]
    assert note[passage.start : passage.end] == "- Ji-Yeon Park's mother was a meteorologist."
    assert [answer[s.start : s.end] for s in verdict.spans] == ["meteorologist"]


def test_the_split_fact_points_at_the_earlier_answer(authors: ForgetSet) -> None:
    turns = (
        ("user", "What was Ji-Yeon Park's father's job?"),
        ("assistant", "He was a therapist."),
        ("user", "What kind?"),
    )
    verdict = _check(authors, "An occupational one.", *turns)
    assert (verdict.passages[0].turn, verdict.passages[0].start) == (1, 0)
