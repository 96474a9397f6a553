"""``lethe verify``: score answers offline with the configured forget set and verifiers.

Input: JSONL lines with ``response`` and either ``messages`` or ``question``. Output: one JSON
report per line (same shape as ``POST /v1/unlearning/verify``), plus the input's ``id``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from server.backends.base import Message
from server.config import load_settings
from server.guard import Guard, verify_context, verify_response
from server.protocol import VerifyRequest


def _request(record: dict[str, Any]) -> VerifyRequest:
    if "messages" not in record and "question" in record:
        record = {**record, "messages": [{"role": "user", "content": record["question"]}]}
    return VerifyRequest.model_validate(record)


def run_verify(config: Path | None, source: IO[str], sink: IO[str]) -> int:
    """Return 0 when every line was scored, 1 when some lines were invalid."""
    settings = load_settings(config)
    guard = Guard.required(settings, "lethe verify")
    failures = 0
    try:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                request = _request(record)
            except (ValueError, ValidationError, TypeError) as exc:
                print(f"line {number}: skipped ({type(exc).__name__})", file=sys.stderr)
                failures += 1
                continue
            messages: tuple[Message, ...] = request.backend_messages()
            report = guard.suite.check(verify_context(messages), request.response)
            out = verify_response(report, guard).model_dump()
            if isinstance(record, dict) and "id" in record:
                out = {"id": record["id"], **out}
            sink.write(json.dumps(out) + "\n")
    finally:
        guard.close()
    return 1 if failures else 0
