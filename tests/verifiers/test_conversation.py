from __future__ import annotations

import pytest

from verifiers.conversation import conversation, refers_back
from verifiers.types import Turn, VerifyContext


@pytest.mark.parametrize(
    "question",
    ["What kind?", "And his mother?", "What did she major in?", "A manual of what?", "go on"],
)
def test_follow_ups_refer_back(question: str) -> None:
    assert refers_back(question)


@pytest.mark.parametrize(
    "question",
    ["OK. What is the capital of South Korea?", "What does a physicist do all day?"],
)
def test_a_new_question_moves_on(question: str) -> None:
    assert not refers_back(question)


def test_turns_are_split_by_role() -> None:
    turns = (
        Turn("system", "Notes: the author's father is a civil engineer."),
        Turn("user", "Who is the author?"),
        Turn("assistant", "I can't say. Her father builds bridges."),
        Turn("tool", "lookup result"),
        Turn("user", "What kind?"),
    )
    talk = conversation(
        VerifyContext(question="What kind?", history=("Who is the author?",), turns=turns)
    )
    assert talk.user_text == "Who is the author?\nWhat kind?"
    assert [i for i, _ in talk.earlier] == [0, 1, 2, 3]
    assert [i for i, _ in talk.context_turns()] == [0, 3]
    assert [i for i, _ in talk.passage_turns()] == [0, 2, 3]
    assert "Her father builds bridges" in talk.said_before
    assert "can't" not in talk.said_before  # the declining clause is gone
    assert talk.refers_back


def test_without_turns_the_user_text_is_the_conversation() -> None:
    talk = conversation(VerifyContext(question="Q2", history=("Q1",)))
    assert talk.user_text == "Q1\nQ2"
    assert [t.content for _, t in talk.earlier] == ["Q1"]
    assert talk.said_before == ""
