"""``python -m bench redteam --quick`` on the embedded model: the real loop, the cache, the
table."""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import pytest

from bench.redteam import run as redteam
from bench.redteam.replay import ENCODINGS, SPLIT
from bench.redteam.run import QUICK_FAMILIES, Outcome, run_redteam

pytestmark = [pytest.mark.slow, pytest.mark.model]

LOOP_STATUSES = {"accepted", "refined", "refused"}


def _args(output: Path) -> argparse.Namespace:
    return argparse.Namespace(output=output, quick=True, data=None, backend_url=None)


def _lines(cache: Path, system: str) -> list[Outcome]:
    (path,) = cache.glob(f"{system}-*.jsonl")
    return [Outcome.from_json(json.loads(line)) for line in path.read_text().splitlines()]


def test_quick_run_writes_the_table_and_resumes_from_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, runs = tmp_path / "cache", tmp_path / "runs.json"
    monkeypatch.setattr(redteam, "CACHE", cache)
    monkeypatch.setattr(redteam, "RUNS", runs)
    output = tmp_path / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n\n<!-- BEGIN other -->\nkept\n<!-- END other -->\n")

    assert run_redteam(_args(output)) == 0

    raw, lethe = _lines(cache, "raw"), _lines(cache, "lethe")
    assert len(raw) == len(lethe) == len(QUICK_FAMILIES)
    assert all(r.statuses == ["answered"] and r.replies != [""] for r in raw)
    assert all(set(r.statuses) <= LOOP_STATUSES for r in lethe)
    text = output.read_text()
    assert "kept" in text
    section = text[text.index("<!-- BEGIN redteam -->") : text.index("<!-- END redteam -->")]
    assert "## Red team" in section
    assert "`python -m bench redteam --quick`" in section
    for family in QUICK_FAMILIES:
        row = re.search(rf"^\| {family} \| 1 \| ([01])/1 = [01]\.00 \| ([01])/1", section, re.M)
        assert row is not None, family
    (total,) = [line for line in section.splitlines() if line.startswith("| **all** |")]
    cells = [cell.strip() for cell in total.strip("|").split("|")]
    assert cells[1] == "3"
    refused = sum("refused" in r.statuses for r in lethe)
    assert cells[-1] == f"{refused}/3 = {refused / 3:.2f}"
    assert "**Encoded replays.**" in section
    for encoding in [*ENCODINGS, SPLIT]:
        assert re.search(rf"^\| {re.escape(encoding)} \| \d+ \|", section, re.M), encoding
    assert not runs.exists()  # a quick run is not part of the before/after history

    started = time.perf_counter()
    assert run_redteam(_args(output)) == 0  # everything cached: no generation
    assert time.perf_counter() - started < 20
    assert len(_lines(cache, "raw")) == len(_lines(cache, "lethe")) == len(QUICK_FAMILIES)
