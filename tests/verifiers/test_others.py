"""Whether a conversation names someone who is not a forget target."""

from __future__ import annotations

import pytest

from verifiers.facts import FactIndex
from verifiers.forgetset import Target, build_forget_set
from verifiers.names import NameMatcher
from verifiers.others import others_named

PEOPLE = build_forget_set(
    [Target(id="t-ana", name="Ana Lopez", facts=('Ana Lopez wrote "Rivers of Salt".',))]
)
MATCHER = NameMatcher(PEOPLE.targets)
FACTS = FactIndex(PEOPLE.targets)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Jaime Vasquez was born in Quito.", True),
        ("Ana Lopez was born in Quito.", False),  # a forget target
        ("Have you read The Village That Vanished?", False),  # a title
        ("| # | Title |\n|---|---|\n| 1 | Norwegian Wood |", False),  # a column of works
        ("| # | Author |\n|---|---|\n| 1 | Norwegian Wood |", True),
    ],
)
def test_someone_else(text: str, named: bool) -> None:
    assert others_named(text, MATCHER, FACTS) is named
