"""The WordNet reader and the rules of which definitions the glosses table keeps, on a tiny
hand-made WordNet; and the shape of the committed table."""

from __future__ import annotations

import gzip

import pytest
from wordfreq import zipf_frequency

from verifiers.glosses import TABLE
from verifiers.glosses_build import MAX_ZIPF, Synset, glosses, read_senses, read_synsets

LICENCE = "  1 This software and database is being provided to you, the LICENSEE, by\n"

# offset lex_filenum ss_type w_cnt word lex_id [...] p_cnt [symbol offset pos src/tgt]... | gloss
DATA_NOUN = (
    LICENCE
    + "\n".join(
        [
            "00000001 03 n 01 person 0 000 | a human being",
            "00000002 18 n 01 worker 0 001 @ 00000001 n 0000 | a person who works for a living",
            "00000003 18 n 01 locksmith 0 002 @ 00000002 n 0000 + 00000013 n 0101"
            ' | someone who makes or repairs locks; "the locksmith came at noon"  ',
            # A person noun, but below person only: no occupation.
            "00000004 18 n 01 reader 0 001 @ 00000001 n 0000 | someone who reads",
            "00000005 09 n 01 physics 0 000 | the science of matter and energy",
            "00000006 18 n 01 scientist 0 001 @ 00000002 n 0000 | a person with advanced knowledge",
            "00000007 18 n 01 physicist 0 002 @ 00000006 n 0000 + 00000005 n 0101"
            " | a scientist trained in physics",
            "00000008 18 n 01 Faulkner 0 001 @i 00000002 n 0000 | United States novelist",
            "00000009 10 n 01 genre 0 000 | a kind of literary work",
            "00000010 10 n 01 thriller 0 001 @ 00000009 n 0000 | a suspenseful adventure story",
            "00000011 05 n 02 sleuthhound 0 sleuth 0 000 | a bloodhound used to follow a trail",
            "00000012 18 n 01 sleuth 0 001 @ 00000002 n 0000 | a detective who follows a trail",
            "00000013 04 n 01 locksmithing 0 000 | the trade of a locksmith",
            "00000014 18 n 01 doctor 0 001 @ 00000002 n 0000 | a licensed medical practitioner",
            "00000015 18 n 01 van_Gogh 0 001 @i 00000002 n 0000 | Dutch painter (1853-1890)",
            "00000016 18 n 02 cooper(p) 0 barrel_maker 0 001 @ 00000002 n 0000"
            " | a craftsman who makes barrels",
        ]
    )
    + "\n"
)

# lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
INDEX_NOUN = (
    LICENCE
    + "\n".join(
        [
            "person n 1 0 1 1 00000001",
            "worker n 1 1 @ 1 1 00000002",
            "locksmith n 1 2 @ + 1 0 00000003",
            "reader n 1 1 @ 1 0 00000004",
            "physics n 1 1 + 1 0 00000005",
            "scientist n 1 1 @ 1 0 00000006",
            "physicist n 1 2 @ + 1 0 00000007",
            "faulkner n 1 1 @i 1 0 00000008",
            "genre n 1 0 1 0 00000009",
            "thriller n 1 1 @ 1 0 00000010",
            "sleuthhound n 1 0 1 0 00000011",
            # Most frequent sense first: a dog, and only then a detective.
            "sleuth n 2 1 @ 2 0 00000011 00000012",
            "locksmithing n 1 0 1 0 00000013",
            "doctor n 1 1 @ 1 1 00000014",
            "van_gogh n 1 1 @i 1 0 00000015",
            "cooper n 1 1 @ 1 0 00000016",
        ]
    )
    + "\n"
)


@pytest.fixture(scope="module")
def synsets() -> dict[str, Synset]:
    return read_synsets(DATA_NOUN)


@pytest.fixture(scope="module")
def rows(synsets: dict[str, Synset]) -> list[tuple[str, str, str]]:
    return glosses(synsets, read_senses(INDEX_NOUN))


def _rows_of(rows: list[tuple[str, str, str]], lemma: str) -> list[tuple[str, str]]:
    return [(kind, gloss) for name, kind, gloss in rows if name == lemma]


@pytest.mark.parametrize(
    "word",
    ["locksmith", "reader", "physicist", "thriller", "genre", "sleuth", "faulkner", "van gogh"],
)
def test_the_test_words_are_rare_enough_to_reach_the_rules(word: str) -> None:
    assert zipf_frequency(word, "en") < MAX_ZIPF


def test_read_synsets(synsets: dict[str, Synset]) -> None:
    assert len(synsets) == 16  # the licence header is no synset
    locksmith = synsets["00000003"]
    assert locksmith.lexfile == "18"
    assert locksmith.words == ("locksmith",)
    assert locksmith.gloss == "someone who makes or repairs locks"  # the example dropped
    assert locksmith.hypernyms == ("00000002",)
    assert [offset for _, offset in locksmith.derived] == ["00000013"]
    assert not locksmith.proper
    assert [offset for _, offset in synsets["00000007"].derived] == ["00000005"]


def test_read_synsets_names_instances_and_markers(synsets: dict[str, Synset]) -> None:
    faulkner = synsets["00000008"]
    assert faulkner.words == ("faulkner",)
    assert faulkner.proper
    assert faulkner.hypernyms == ("00000002",)  # an instance pointer counts as a hypernym
    assert synsets["00000011"].words == ("sleuthhound", "sleuth")
    assert synsets["00000016"].words == ("cooper", "barrel_maker")  # "(p)" marker dropped


def test_read_senses() -> None:
    senses = read_senses(INDEX_NOUN)
    assert "  1" not in senses
    assert len(senses) == 16
    assert senses["locksmith"] == ["00000003"]
    assert senses["sleuth"] == ["00000011", "00000012"]  # most frequent sense first


def test_an_occupation_gets_its_definition_without_examples(
    rows: list[tuple[str, str, str]],
) -> None:
    assert _rows_of(rows, "locksmith") == [("person", "someone who makes or repairs locks")]


def test_a_derived_field_of_knowledge_is_kept(rows: list[tuple[str, str, str]]) -> None:
    assert _rows_of(rows, "physicist") == [
        ("person", "a scientist trained in physics"),
        ("field", "the science of matter and energy"),
    ]


def test_a_derived_noun_that_is_no_field_is_left_out(rows: list[tuple[str, str, str]]) -> None:
    assert ("field", "the trade of a locksmith") not in _rows_of(rows, "locksmith")
    assert _rows_of(rows, "locksmithing") == []


@pytest.mark.parametrize(
    "lemma",
    [
        "reader",  # a person, but no occupation
        "person",  # not in the person file, and no occupation above it
        "physics",  # a field is kept only with the occupation it derives from
        "worker",  # its only ancestor is person
        "faulkner",  # a name
        "genre",  # no particular genre
        "sleuth",  # its most frequent sense is a dog
        "sleuthhound",
    ],
)
def test_no_row(rows: list[tuple[str, str, str]], lemma: str) -> None:
    assert _rows_of(rows, lemma) == []


def test_a_common_word_is_left_out(rows: list[tuple[str, str, str]]) -> None:
    assert zipf_frequency("doctor", "en") >= MAX_ZIPF
    assert _rows_of(rows, "doctor") == []


def test_a_genre_gets_a_genre_row(rows: list[tuple[str, str, str]]) -> None:
    assert _rows_of(rows, "thriller") == [("genre", "a suspenseful adventure story")]


def test_rows_are_sorted_by_lemma(rows: list[tuple[str, str, str]]) -> None:
    lemmas = [lemma for lemma, _, _ in rows]
    assert lemmas == sorted(lemmas)
    assert {kind for _, kind, _ in rows} == {"person", "field", "genre"}


def test_a_name_with_a_lowercase_particle_has_no_row(rows: list[tuple[str, str, str]]) -> None:
    assert _rows_of(rows, "van_gogh") == []


def test_the_committed_table_is_well_formed() -> None:
    assert TABLE.is_file()
    lines = gzip.decompress(TABLE.read_bytes()).decode("utf-8").splitlines()
    assert lines
    for line in lines:
        fields = line.split("\t")
        assert len(fields) == 3, line
        lemma, kind, definition = fields
        assert lemma, line
        assert definition.strip(), line
        assert kind in {"person", "field", "genre"}, line
