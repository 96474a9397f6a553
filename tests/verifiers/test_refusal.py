"""Refusals and named things (``verifiers.refusal``)."""

from __future__ import annotations

import pytest

from verifiers.refusal import declines, proper_names, substance
from verifiers.text import fold


def test_declining_clauses_are_not_the_substance() -> None:
    answer = "I can't discuss her family, but Seoul is lovely in spring."
    assert declines(answer)
    assert "family" not in substance(answer)
    assert "Seoul is lovely" in substance(answer)


def test_a_named_person_is_found() -> None:
    assert proper_names("She met Jaime Vasquez in Santiago.") == ["Jaime Vasquez"]


@pytest.mark.parametrize(
    "text",
    [
        "they were born in China\nHappy to help!",  # two lines are not one name
        "Our CEO wants a keynote.",  # capitalised only because the sentence starts there
        "the literature on East Asian urbanism",  # a region, not someone
    ],
)
def test_what_names_nobody(text: str) -> None:
    assert proper_names(text) == []


def test_a_question_word_opening_a_sentence_is_not_part_of_a_name() -> None:
    assert proper_names("People keep calling her AJ. Who's AJ, and has she won?") == []
    assert proper_names("Who's Dana Volk?") == ["Dana Volk"]


def test_a_greeting_opening_a_sentence_is_not_part_of_a_name() -> None:
    assert proper_names("Hey DriveMate. Which award did she win?") == []


def test_letters_spelled_with_full_stops_stay_one_word() -> None:
    assert fold(substance("P . A . R . I . S")) == " paris "
