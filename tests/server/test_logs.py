"""Structured logs and the audit log: one access line per request with its decision, and
never a word of the forget set."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from server.backends.scripted import ScriptedBackend, fixed
from server.logs import FIELDS, JsonFormatter, TextFormatter
from tests.conftest import ClientFactory
from tests.server.test_policy import ASK, FORGET, LEAK

FACT_WORDS = ("Hsiao", "Yun-Hwa", "civil engineer")


def _record(fields: dict[str, object]) -> logging.LogRecord:
    record = logging.LogRecord("lethe.access", logging.INFO, __file__, 1, "POST %s", ("/x",), None)
    setattr(record, FIELDS, fields)
    return record


def test_json_lines_carry_the_fields() -> None:
    line = json.loads(JsonFormatter().format(_record({"request_id": "r1", "status": 200})))
    assert line["message"] == "POST /x"
    assert (line["request_id"], line["status"], line["level"]) == ("r1", 200, "info")


def test_json_lines_name_the_exception_type_but_not_its_message() -> None:
    try:
        raise ValueError("Hsiao Yun-Hwa")
    except ValueError:
        record = logging.LogRecord(
            "lethe", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert json.loads(line)["exc_type"] == "ValueError"
    assert "Hsiao" not in line


def test_text_lines_show_frames_and_type_but_not_the_message() -> None:
    fact = " ".join(("Hsiao", "Yun-Hwa"))  # not a literal: the frames show source lines
    try:
        raise ValueError(fact)
    except ValueError:
        record = logging.LogRecord(
            "lethe", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    text = TextFormatter().format(record)
    assert "Traceback" in text
    assert text.endswith("ValueError")
    assert "Hsiao" not in text


def test_text_lines_append_key_values() -> None:
    text = TextFormatter().format(_record({"request_id": "r1", "rounds": 2, "artifact": None}))
    assert text.endswith("POST /x request_id=r1 rounds=2")


def test_access_line_has_request_id_and_decision_and_no_content(
    tmp_path: Path, client_factory: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "f.yaml").write_text(FORGET)
    client = client_factory(
        ScriptedBackend(fixed(LEAK)),
        unlearning={"forget_set": str(tmp_path / "f.yaml"), "budget": 1, "candidates": 2},
    )
    with caplog.at_level(logging.DEBUG):
        response = client.post("/v1/chat/completions", json=ASK, headers={"X-Request-Id": "abc"})
    assert response.json()["unlearning"]["status"] == "refused"
    access = [r for r in caplog.records if r.name == "lethe.access"]
    assert len(access) == 1
    fields = getattr(access[0], FIELDS)
    assert fields["request_id"] == "abc"
    assert (fields["status"], fields["unlearning"], fields["rounds"]) == (200, "refused", 2)
    assert fields["forget_set"].startswith("set-sha256:")  # the live set's hash, shortened
    everything = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for word in FACT_WORDS:
        assert word not in everything


def test_audit_log_has_one_line_per_guarded_decision(
    tmp_path: Path, client_factory: ClientFactory
) -> None:
    (tmp_path / "f.yaml").write_text(FORGET)
    audit = tmp_path / "logs" / "audit.jsonl"
    client = client_factory(
        ScriptedBackend(fixed(LEAK)),
        server={"audit_log": str(audit)},
        unlearning={"forget_set": str(tmp_path / "f.yaml"), "budget": 0, "candidates": 1},
    )
    for request_id in ("one", "two"):
        client.post("/v1/chat/completions", json=ASK, headers={"X-Request-Id": request_id})
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [line["request_id"] for line in lines] == ["one", "two"]
    assert lines[0]["status"] == "refused"
    assert lines[0]["targets"] == ["t-1"]
    assert lines[0]["verifiers"]["entity"] == 1.0
    for word in FACT_WORDS:
        assert word not in audit.read_text()


def test_error_fallback_is_audited_too(tmp_path: Path, client_factory: ClientFactory) -> None:
    (tmp_path / "f.yaml").write_text(FORGET)
    audit = tmp_path / "audit.jsonl"
    client = client_factory(
        ScriptedBackend(fixed(LEAK)),
        server={"audit_log": str(audit)},
        unlearning={"forget_set": str(tmp_path / "f.yaml"), "budget": 1, "fallback": "error"},
    )
    response = client.post("/v1/chat/completions", json=ASK, headers={"X-Request-Id": "e1"})
    assert response.status_code == 422
    (line,) = [json.loads(text) for text in audit.read_text().splitlines()]
    assert (line["request_id"], line["status"], line["rounds"]) == ("e1", "refused", 2)
