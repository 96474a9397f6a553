"""The ``lethe`` command line: subcommands parse, and configuration errors exit 2 with a
one-line reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.cli import build_parser, main


def test_bench_points_at_the_source_checkout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "verifiers", "--quick"]) == 2
    assert "python -m bench <suite>" in capsys.readouterr().err


def test_a_broken_forget_set_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forget = tmp_path / "forget.yaml"
    forget.write_text("targets:\n  - id: x\n")
    config = tmp_path / "lethe.yaml"
    config.write_text(f"backend:\n  kind: scripted\nunlearning:\n  forget_set: {forget}\n")
    answers = tmp_path / "answers.jsonl"
    answers.write_text('{"question": "q", "response": "r"}\n')
    assert main(["verify", "--config", str(config), "--input", str(answers)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lethe: ")
    assert "forget.yaml:2" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["serve", "calibrate", "build-dataset", "verify", "bench"])
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([command, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: lethe")
