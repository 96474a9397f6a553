"""Definitions of the occupations and genres a fact names (WordNet 3.0): looked up longest
phrase first, singular or plural, any case; everyday words, names and a target's own name
parts have none."""

from __future__ import annotations

import pytest

from verifiers.glosses import definitions, table


def _mentions(found: list[str], word: str) -> bool:
    return any(word in definition for definition in found)


def test_a_profession_in_a_fact_gets_its_definition() -> None:
    found = definitions("Her father was a locksmith.")
    assert _mentions(found, "locks")


def test_a_fact_without_an_occupation_has_no_definition() -> None:
    assert definitions("She was born in Taipei in 1991.") == []
    assert definitions("") == []


def test_the_longest_phrase_is_looked_up_first() -> None:
    found = definitions("His father is a civil engineer.")
    assert _mentions(found, "public works")
    assert _mentions(found, "bridges")
    assert "engineer" not in table()  # too common to be defined on its own
    assert len(found) == len(table()["civil_engineer"])


@pytest.mark.parametrize(
    ("text", "phrase", "part"),
    [
        ("He was a brain surgeon.", "brain_surgeon", "surgeon"),
        ("She writes science fiction.", "science_fiction", "fiction"),
        ("Her uncle was a coal miner.", "coal_miner", "miner"),
    ],
)
def test_a_word_inside_a_longer_phrase_is_not_defined_again(
    text: str, phrase: str, part: str
) -> None:
    known = table()
    assert part in known  # the part has a definition of its own...
    found = definitions(text)
    assert found == list(known[phrase])  # ...which the phrase's use leaves out
    assert not set(known[part]) & set(found)


def test_a_word_is_defined_once_per_fact() -> None:
    found = definitions("A locksmith, the son of a locksmith, married a locksmith.")
    assert found == list(table()["locksmith"])


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Her father was an Optometrist.", "vision"),
        ("OPTOMETRIST", "vision"),
        ("Both her uncles were locksmiths.", "locks"),
        ("Two civil engineers designed it.", "public works"),
    ],
)
def test_plural_and_capitalised_forms_are_found(text: str, word: str) -> None:
    assert _mentions(definitions(text), word)


def test_a_name_part_of_the_target_is_not_looked_up() -> None:
    assert _mentions(definitions("Potter wrote books"), "pottery")
    assert definitions("Potter wrote books", frozenset({"potter"})) == []


def test_a_name_stops_a_phrase_but_not_the_words_around_it() -> None:
    found = definitions("Potter, a locksmith, wrote books", frozenset({"potter"}))
    assert _mentions(found, "locks")
    assert not _mentions(found, "pottery")


@pytest.mark.parametrize("word", ["author", "writer", "doctor", "teacher", "engineer", "novel"])
def test_everyday_words_have_no_definition(word: str) -> None:
    assert word not in table()
    assert definitions(f"Her mother was a {word}.") == []


@pytest.mark.parametrize("name", ["faulkner", "tolkien", "shakespeare", "einstein", "picasso"])
def test_the_table_holds_no_names(name: str) -> None:
    assert name not in table()
    assert definitions(f"She admired {name.title()}.") == []


@pytest.mark.parametrize("name", ["van_gogh", "da_vinci", "von_neumann", "cummings", "devries"])
def test_the_table_holds_no_names_with_a_lowercase_particle(name: str) -> None:
    assert name not in table()


def test_a_genre_gets_a_definition() -> None:
    assert _mentions(definitions("She is best known for a thriller."), "suspenseful")


def test_the_table_maps_lemmas_to_definitions() -> None:
    known = table()
    assert known  # loaded from the committed file
    assert all(lemma == lemma.lower() and " " not in lemma for lemma in known)
    assert all(known.values())
    assert table() is known  # read once


def test_a_plural_in_ies_is_found_and_a_plural_name_is_skipped() -> None:
    assert definitions("Two actuaries checked it.")
    assert not any(
        "pottery" in d for d in definitions("The Potters were here.", frozenset({"potter"}))
    )


def test_a_field_comes_from_the_word_it_derives_from() -> None:
    pharmacist = definitions("Her mother was a pharmacist.")
    assert any("drugs" in d for d in pharmacist)
    assert not any("matter" in d for d in pharmacist)  # chemistry is the chemist's field
