"""Award names and work titles in ``verifiers.facts``."""

from __future__ import annotations

import pytest

from verifiers.facts import FactIndex, is_award
from verifiers.forgetset import Target


@pytest.mark.parametrize(
    ("title", "fact", "award"),
    [
        ("Nebula Award for Best Novel", "He won the Nebula Award for Best Novel.", True),
        (
            "Leadership Literature Luminary",
            'She won the "Leadership Literature Luminary" award.',
            True,
        ),
        (
            "Seoul Architecture Book of the Year",
            "Honoured as Seoul Architecture Book of the Year.",
            True,
        ),
        ("The Town That Drowned", 'He wrote "The Town That Drowned" in 2001.', False),
        ("Venom in the Veins", "'Venom in the Veins' is her best-known novel.", False),
        ("Pen/Faulkner Award", "He received the Pen/Faulkner Award in 2002.", True),
    ],
)
def test_award_names_are_told_from_work_titles(title: str, fact: str, award: bool) -> None:
    assert is_award(title, fact) is award


def test_only_work_titles_identify_their_author() -> None:
    index = FactIndex(
        [
            Target(
                id="t1",
                name="Ana Lima",
                facts=(
                    'Ana Lima wrote "Silent Harbor Lights".',
                    "Ana Lima won the Golden Quill Prize.",
                ),
            )
        ]
    )
    pairs = {pair for pair, targets in index.identifiers.items() if "t1" in targets}
    assert ("harbor", "light") in pairs or ("harbor", "lights") in pairs
    assert not any("quill" in pair for pair in pairs)
    assert any("quill" in pair for pair in index.awards)


def test_a_two_word_award_name_is_an_award_not_a_pointer() -> None:
    index = FactIndex(
        [Target(id="t1", name="Elvin Mammadov", facts=("He won the Pen/Faulkner Award.",))]
    )
    assert ("pen", "faulkner") in index.awards
    assert not any("faulkner" in pair for pair in index.identifiers)


def test_a_stem_weighs_as_rare_as_the_words_it_stands_for() -> None:
    # "writ" is no English word (the stem of "writing"): it must not read as rare as "papyrus".
    index = FactIndex(
        [
            Target(id=f"t{i}", name=f"Author {i}", facts=(f"Author {i} loves {word}.",))
            for i, word in enumerate(["writing", "papyrus", "gardens", "rivers"])
        ]
    )
    assert index.weight["writ"] < index.weight["papyru"] - 1.0


def test_an_institution_is_a_place_not_a_title() -> None:
    index = FactIndex(
        [
            Target(
                id="t1",
                name="Hina Ameen",
                facts=(
                    "Hina Ameen studied at the University of Karachi.",
                    'Hina Ameen wrote "Manual of Mineralogy".',
                ),
            )
        ]
    )
    pointing = {pair for pair, targets in index.identifiers.items() if "t1" in targets}
    assert not any("karachi" in pair for pair in pointing)
    assert any("mineralogy" in pair for pair in pointing)
    assert "karachi" in index.vocabulary_of["t1"]  # still a word of the fact


@pytest.mark.parametrize(
    "place",
    [
        "Oak Tree Road in Edison",
        "Bracewell Logistics",
        "Norvane Foods Ltd",
        "Harbour Street",
        "Kestrel Vale Clinic",
        "the River Severn at Upton-upon-Severn",
        "Lake Bled in Slovenia",
    ],
)
def test_a_street_or_a_firm_is_a_place_not_a_title(place: str) -> None:
    index = FactIndex(
        [
            Target(
                id="t1", name="Priya Venkataraman", facts=(f"Priya Venkataraman works at {place}.",)
            )
        ]
    )
    assert not any("t1" in targets for targets in index.identifiers.values())


def test_a_capitalised_profession_after_an_article_is_no_title() -> None:
    index = FactIndex(
        [
            Target(
                id="t1",
                name="Hina Ameen",
                facts=(
                    "Hina Ameen's father is a Real Estate Agent.",
                    "Hina Ameen won an International Medal for Outstanding Discoveries.",
                ),
            )
        ]
    )
    assert not any("agent" in pair for pair in index.identifiers)
    assert any("medal" in pair for pair in index.awards)  # an award keeps its name


def test_a_title_may_hold_a_word_of_a_place() -> None:
    index = FactIndex(
        [
            Target(
                id="t1",
                name="Moshe Ben-David",
                facts=("Moshe Ben-David wrote 'On the Mountain Peak'.",),
            )
        ]
    )
    assert any("t1" in targets for targets in index.identifiers.values())
