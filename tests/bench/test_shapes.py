"""``python -m bench shapes``: the same answers as text, tool call and JSON cost the guard the
same rounds and reach the same decisions."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.paths import DEMO_FORGET_SET, TOFU
from bench.shapes import SHAPES, as_form, loop_calls, run_shapes
from bench.verifiers.data import read_jsonl
from server.shapes import conforms, readable
from verifiers.forgetset import load_forget_set
from verifiers.suite import VerifierSuite


def test_every_form_carries_the_same_values_and_conforms() -> None:
    for form, shape in SHAPES.items():
        generation = as_form("Paris is the capital.", form)
        assert "Paris is the capital." in readable(generation, shape).splitlines()
        assert conforms(generation, shape)


def test_the_forms_reach_the_same_decisions() -> None:
    items = read_jsonl(TOFU / "forget10.jsonl")[:6] + read_jsonl(TOFU / "retain.jsonl")[:6]
    suite = VerifierSuite(load_forget_set(DEMO_FORGET_SET))
    results = {form: asyncio.run(loop_calls(suite, items, form)) for form in SHAPES}
    suite.close()
    assert len(set(results.values())) == 1
    calls, refused = results["text"]
    assert 1.0 <= calls <= 2.0
    assert 0.0 < refused < 1.0


def test_quick_run_writes_its_section(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    assert run_shapes(output, TOFU, quick=True) == 0
    section = output.read_text().split("<!-- BEGIN shapes -->", 1)[1]
    assert "| tool call |" in section
    assert "| JSON |" in section
