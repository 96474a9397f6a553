"""Where evidence lies: ``verifiers.locate`` (spans and passages are also checked through the
``fact`` check in ``test_evidence.py``)."""

from __future__ import annotations

from verifiers.locate import segments


def test_segments_are_lines_and_long_lines_sentences() -> None:
    text = "first line\n\n  second line  \n" + "A sentence. " * 40
    found = [text[a:b] for a, b in segments(text)]
    assert found[:2] == ["first line", "second line"]
    assert found[2] == "A sentence."
    assert len(found) == 42
