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
