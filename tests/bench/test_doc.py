from __future__ import annotations

from pathlib import Path

from bench.doc import cpu_model, write_section


def test_write_section_replaces_only_its_own_block(tmp_path: Path) -> None:
    path = tmp_path / "docs" / "BENCHMARKS.md"
    write_section(path, "gateway", "first")
    created = path.read_text()
    assert created.startswith("# Benchmarks")
    assert "<!-- BEGIN gateway -->\nfirst\n<!-- END gateway -->" in created
    path.write_text(created + "\n<!-- BEGIN other -->\nkeep me\n<!-- END other -->\ntail\n")
    write_section(path, "gateway", "second")
    text = path.read_text()
    assert "first" not in text
    assert "<!-- BEGIN gateway -->\nsecond\n<!-- END gateway -->" in text
    assert "<!-- BEGIN other -->\nkeep me\n<!-- END other -->\ntail\n" in text
    assert text.count("<!-- BEGIN gateway -->") == 1


def test_cpu_model_is_a_name() -> None:
    assert cpu_model().strip()
