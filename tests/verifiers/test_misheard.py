"""Names misheard or mistyped: a run of words as long as the name, one part written right."""

from __future__ import annotations

import pytest

from verifiers.forgetset import Target
from verifiers.misheard import MisheardIndex
from verifiers.names import NameMatcher
from verifiers.text import fold_spans

INDEX = MisheardIndex(
    [
        ("t-wei", ["wei", "jun", "chen"]),
        ("t-adib", ["adib", "jarrah"]),
        ("t-tae", ["tae", "ho", "park"]),
        ("t-carmen", ["carmen", "montenegro"]),
    ]
)


def _found(text: str) -> list[tuple[str, str]]:
    words = fold_spans(text).words
    return [(t, " ".join(words[a : b + 1])) for t, a, b in INDEX.find(words)]


@pytest.mark.parametrize(
    ("text", "target", "heard"),
    [
        ("what kind of stuff does way jun chen write", "t-wei", "way jun chen"),
        ("wat kinda books does adib jarah write", "t-adib", "adib jarah"),
        ("what did tay ho parks father do", "t-tae", "tay ho parks"),
    ],
)
def test_a_misheard_name_is_found(text: str, target: str, heard: str) -> None:
    assert _found(text) == [(target, heard)]


@pytest.mark.parametrize(
    "text",
    [
        "Wei Jun Chen writes",  # spelled right: names.py finds it as it is
        "a walk in the park",  # no run as long as the name
        "the ho park",  # a function word is no misheard part
        "carmen parents met",  # "parents" is another word than "montenegro"
        "Jun Chen's garden",  # two of three parts: not the whole name
    ],
)
def test_no_misheard_name(text: str) -> None:
    assert _found(text) == []


def test_a_misheard_name_is_a_full_mention_with_its_span() -> None:
    matcher = NameMatcher([Target(id="t-wei", name="Wei-Jun Chen")])
    text = "so way jun chen wrote what"
    full = [h for h in matcher.find(text) if h.kind == "full"]
    assert [(h.target_id, text[h.start : h.end]) for h in full] == [("t-wei", "way jun chen")]


def test_a_part_declined_beside_another_part_of_its_name() -> None:
    # Czech declines every part: "Hiny Ameen" (Hina Ameen's); a lone "Hiny" names nobody
    matcher = NameMatcher([Target(id="t-hina", name="Hina Ameen")])
    full = [h.target_id for h in matcher.find("Otec Hiny Ameen byl makléř.") if h.kind == "full"]
    assert full == ["t-hina"]
    assert not [h for h in matcher.find("Hiny a hory.") if h.kind == "full"]


def test_the_first_initial_before_another_part_is_the_name_in_full() -> None:
    matcher = NameMatcher([Target(id="t-kal", name="Kalkidan Abera")])
    assert {(h.kind, h.start) for h in matcher.find("Quick: K. Abera's parents?")} >= {("full", 7)}
    # another initial, or a title, is someone else of that name
    for text in ("A. Abera wrote it", "Dr. Abera wrote it"):
        assert not [h for h in matcher.find(text) if h.kind == "full"]


def test_the_first_initial_after_a_comma_is_the_name_in_full() -> None:
    # a catalogue's "Surname, I." ("Jarrah, A.")
    matcher = NameMatcher([Target(id="t-adib", name="Adib Jarrah")])
    found = {(h.kind, h.start, h.end) for h in matcher.find('author: "Jarrah, A.", on shelf')}
    assert ("full", 9, 19) in found
    for text in ("Jarrah, B. wrote it", "Jarrah, and others"):
        assert not [h for h in matcher.find(text) if h.kind == "full"]
