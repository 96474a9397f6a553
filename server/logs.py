"""Logging: text or JSON lines, one access line per request, and the optional audit log.

Nothing here ever receives request text or forget-set content: records carry ids, codes,
counts, scores and hashes. Target *ids* appear only in the audit log, which the operator
opts into (ids should be opaque, e.g. ``tofu-180``, never a person's name): one line per
guarded decision, and one per change to the forget sets (who by key id, when, which target,
the content hash written).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.config import ServerSettings

access_logger = logging.getLogger("lethe.access")
# Attribute of a LogRecord holding structured fields (``extra={FIELDS: {...}}``).
FIELDS = "lethe_fields"


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, FIELDS, {}))
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: an exception message can quote a request or a fact.
            line["exc_type"] = record.exc_info[0].__name__
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, FIELDS, {})
        record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        text = self.formatMessage(record)
        if fields:
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        if record.exc_info and record.exc_info[0] is not None:
            text += "\n" + self.formatException(record.exc_info)
        return text

    def formatException(self, ei: Any) -> str:
        # Frames and the type, not the message: it can quote a request or a fact.
        kind, _, tb = ei
        return (
            "Traceback (most recent call last):\n"
            + "".join(traceback.format_tb(tb))
            + (kind.__name__ if kind is not None else "Exception")
        )


def configure_logging(settings: ServerSettings) -> None:
    """Route Lethe's and uvicorn's loggers through one handler in the configured format."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


@dataclass(slots=True)
class Decision:
    """What the guardrail decided for one request (no text, no content)."""

    status: str
    rounds: int
    candidates: int
    leakage_score: float | None
    threshold: float | None
    budget: int | None
    forget_set: str
    artifact: str | None
    stale: bool
    verifiers: dict[str, float] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RequestRecord:
    """Filled in while a request runs; logged once when it ends."""

    request_id: str
    decision: Decision | None = None


_current: ContextVar[RequestRecord | None] = ContextVar("lethe_request", default=None)


def begin_request(request_id: str) -> RequestRecord:
    record = RequestRecord(request_id)
    _current.set(record)
    return record


def current_request_id() -> str | None:
    record = _current.get()
    return record.request_id if record is not None else None


def note_decision(decision: Decision) -> None:
    record = _current.get()
    if record is not None:
        record.decision = decision


def short_hash(value: str) -> str:
    """``kind:`` and the first 12 hex digits: enough to tell forget sets apart in a log."""
    kind, _, digits = value.rpartition(":")
    return f"{kind}:{digits[:12]}" if kind else value[:12]


def log_access(record: RequestRecord, method: str, route: str, status: int, seconds: float) -> None:
    fields: dict[str, Any] = {
        "request_id": record.request_id,
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
    }
    decision = record.decision
    if decision is not None:
        fields.update(
            unlearning=decision.status,
            rounds=decision.rounds,
            candidates=decision.candidates,
            leakage_score=decision.leakage_score,
            forget_set=short_hash(decision.forget_set),
            artifact=decision.artifact,
            stale=decision.stale,
        )
    access_logger.info("%s %s %d", method, route, status, extra={FIELDS: fields})


@dataclass(slots=True)
class TargetChange:
    """One write to the forget sets: who (a key id, never the key), which target, what it
    did, and the content hash of what was written (never the content)."""

    actor: str
    tenant: str | None  # None: the global forget set
    target_id: str
    operation: str  # put | replace | delete | seed
    outcome: str  # created | replaced | unchanged | deleted | conflict | missing | failed
    content_hash: str | None
    revision: int | None
    forget_set: str | None  # the hash of the forget set in force afterwards


@dataclass(slots=True)
class ArtifactPublication:
    """One calibration artifact made active for a scope (``lethe artifacts publish``,
    ``lethe calibrate --incremental --publish``): who, which artifact, what happened."""

    actor: str
    tenant: str | None  # None: the global scope
    artifact: str  # the artifact's id (a content hash)
    outcome: str  # published | unchanged
    revision: int
    certified: bool  # whether its certificate passed (a stale check is each server's)


class AuditLog:
    """Appends one JSON line per guarded decision, per target change and per artifact
    publication; safe to call from any thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, decision: Decision) -> None:
        line = {"ts": _timestamp(time.time()), "request_id": current_request_id()}
        line.update(asdict(decision))
        self._append(line)

    def write_change(self, change: TargetChange) -> None:
        line = {
            "ts": _timestamp(time.time()),
            "request_id": current_request_id(),
            "event": "target_change",
        }
        line.update(asdict(change))
        self._append(line)

    def write_publication(self, publication: ArtifactPublication) -> None:
        line = {"ts": _timestamp(time.time()), "event": "artifact_published"}
        line.update(asdict(publication))
        self._append(line)

    def _append(self, line: dict[str, Any]) -> None:
        text = json.dumps(line) + "\n"
        with self._lock:
            self._file.write(text)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
