from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from server.cli import main
from server.config import ConfigError
from server.verify_cli import run_verify

FORGET = """\
version: 1
targets:
  - id: t-1
    name: Hsiao Yun-Hwa
    facts: [The father of Hsiao Yun-Hwa is a civil engineer.]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "forget.yaml").write_text(FORGET)
    path = tmp_path / "lethe.yaml"
    path.write_text(f"unlearning:\n  forget_set: {tmp_path / 'forget.yaml'}\n")
    return path


def test_scores_each_line(config: Path) -> None:
    lines = [
        {
            "id": "a",
            "question": "What does her father do?",
            "response": "Hsiao Yun-Hwa's dad is a civil engineer.",
        },
        {"id": "b", "messages": [{"role": "user", "content": "hi"}], "response": "Hello!"},
    ]
    source = io.StringIO("\n".join(json.dumps(x) for x in lines) + "\n\n")
    sink = io.StringIO()
    assert run_verify(config, source, sink) == 0
    reports = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert [r["id"] for r in reports] == ["a", "b"]
    assert reports[0]["flagged"] is True
    assert reports[1]["flagged"] is False


def test_bad_lines_are_counted_not_fatal(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sink = io.StringIO()
    source = io.StringIO('{not json\n{"question": "q"}\n{"question": "q", "response": "ok"}\n')
    assert run_verify(config, source, sink) == 1
    assert len(sink.getvalue().splitlines()) == 1
    assert "line 1" in capsys.readouterr().err


def test_needs_a_forget_set() -> None:
    with pytest.raises(ConfigError, match="forget_set"):
        run_verify(None, io.StringIO(""), io.StringIO())


def test_cli_entry_point(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({"question": "q", "response": "Paris."}) + "\n")
    assert main(["verify", "--config", str(config), "--input", str(answers)]) == 0
    assert json.loads(capsys.readouterr().out)["flagged"] is False
