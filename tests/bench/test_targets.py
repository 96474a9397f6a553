"""python -m bench targets: made-up people share no word, the report shows every measure
with its target, and the two-replica measurement runs (a short smoke run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.paths import DEMO_FORGET_SET
from bench.targets import (
    PropagationResult,
    ScaleResult,
    distinct_target,
    measure_propagation,
    section,
)
from verifiers.text import content_tokens


def test_made_up_people_share_no_word_but_the_template() -> None:
    words = [
        set(content_tokens(" ".join((t.name, *t.facts))))
        for t in (distinct_target(number) for number in range(50))
    ]
    template = set.intersection(*words)  # "born", "builds", "guild": in every fact alike
    assert len(template) <= 4
    seen: set[str] = set()
    for number, own in enumerate(words):
        distinctive = own - template
        assert len(distinctive) >= 5, number
        assert not distinctive & seen, number
        seen |= distinctive


def test_the_report_shows_each_measure_against_its_target() -> None:
    scale = ScaleResult(
        targets=1000,
        ready_seconds=2.0,
        adds_ms=[5.0, 7.0, 9.0],
        adds_during_merge_ms=[6.0],
        lexical_ms=[1.5, 2.5],
        verify_ms=[3.0, 4.0],
        merge_seconds=1.0,
        rss_loaded_mb=100.0,
        rss_after_adds_mb=110.0,
        rss_peak_mb=200.0,
        lexical_merged_ms=[0.5, 0.7],
    )
    text = section(
        scale, [PropagationResult("demo", 15, [0.01, 0.02])], True, ((1.0, 0, 0), (2.0, 0, 0))
    )
    assert "| add one target" in text
    assert "| 7.0 |" in text  # the adds' p50
    assert "p50 ≤ 50" in text
    assert "p50 ≤ 2" in text
    assert "| demo (15 targets) | 2 |" in text
    assert "load average 1.00 at the start, 2.00 at the end" in text


@pytest.mark.e2e
@pytest.mark.slow
def test_two_replicas_measure_propagation(tmp_path: Path) -> None:
    result = measure_propagation("demo", DEMO_FORGET_SET, 15, 2, tmp_path)
    assert len(result.seconds) == 2
    assert all(0 <= s < 2.0 for s in result.seconds)
