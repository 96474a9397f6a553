"""Names written one syllable per character (``verifiers.syllables``)."""

from __future__ import annotations

import pytest

from verifiers.syllables import MIN_SYLLABLES, SyllableIndex, spellings
from verifiers.text import fold

NAMES = ("Chen Wei-Jun", "Hsiao Yun-Hwa", "Park Ji-Yeon", "Xin Lee Williams", "Li Na")
INDEX = SyllableIndex((name, fold(name).split()) for name in NAMES)


@pytest.mark.parametrize(
    ("part", "read"),
    [("hsiao", "xiao"), ("hwa", "hua"), ("chen", "chen"), ("lee", "li"), ("park", "bag")],
)
def test_older_and_customary_spellings_are_read(part: str, read: str) -> None:
    assert read in spellings(part)


def test_a_part_no_character_is_read_as_has_no_spelling() -> None:
    assert spellings("williams") == frozenset()


@pytest.mark.parametrize(
    ("text", "name", "span"),
    [
        ("陈伟俊是一位作家。", "Chen Wei-Jun", (0, 3)),
        ("她叫蕭雲華。", "Hsiao Yun-Hwa", (2, 5)),  # traditional characters
        ("박지연의 아버지는 교사였다.", "Park Ji-Yeon", (0, 3)),
        ("작가 박 지연", "Park Ji-Yeon", (3, 7)),  # a space inside the name
    ],
)
def test_a_name_written_in_characters_is_found(text: str, name: str, span: tuple[int, int]) -> None:
    (hit,) = INDEX.find(text)
    assert (hit.target_id, hit.full, (hit.start, hit.end)) == (name, True, span)


@pytest.mark.parametrize(
    "text",
    [
        "心理学很有趣。",  # "xin li": two syllables of a name are a common word
        "李娜是网球运动员。",  # a two-syllable name is too short to be sure
        "辛李威廉姆斯",  # "Williams" is written by sound, not as one syllable
        "지연이 박",  # the parts out of order
        "Chen Wei-Jun",  # Latin script is matched elsewhere
    ],
)
def test_no_mention(text: str) -> None:
    assert INDEX.find(text) == ()


def test_only_names_of_enough_syllables_are_indexed() -> None:
    assert MIN_SYLLABLES == 3
    assert SyllableIndex([("t", ["li", "na"])]).find("李娜") == ()
