"""Generations remembered across ``lethe calibrate`` runs.

Calibration sends every strategy's loop the same first-round request for a query (same
messages, sampling and seed), and a re-run after a change of the verifiers sends the same
requests again wherever the verdicts did not change. Generating is nearly all of the run's
time, so the answer to each request is kept on disk under a key of the request itself, in a
file per model (weights and the backend settings that shape sampling): a re-run generates
only what it has not seen. The samples are the ones the same seeded request draws anyway;
delete the directory to draw fresh ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from server.backends.base import (
    Generation,
    GenerationRequest,
    GenerationResult,
    TokenLogprob,
    ToolCall,
    Usage,
)
from server.config import Settings
from server.loop import Generate
from server.policy import weights_fingerprint

# Backend settings that do not change what a request samples (pools, threads, caches,
# timeouts, credentials) stay out of the key, so changing them keeps the memo.
_NOT_SAMPLING = {
    "llamacpp": {"pool_size", "n_threads", "prompt_cache_mb"},
    "upstream": {"api_key", "connect_timeout", "read_timeout", "max_connections", "fan_out_n"},
}


def memo_path(directory: Path, settings: Settings, model_id: str) -> Path:
    """The memo file of this model: its weights and the backend settings that shape sampling."""
    backend = settings.backend.model_dump(mode="json", exclude=_NOT_SAMPLING)
    key = {"weights": weights_fingerprint(settings, model_id), "backend": backend}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return directory / f"{digest[:16]}.jsonl"


def request_key(request: GenerationRequest) -> str:
    text = json.dumps(asdict(request), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class GenerationMemo:
    """The backend's ``generate``, answering a request it has seen from memory, or from
    ``path`` (appended to as it goes; ``None``: memory only)."""

    def __init__(self, generate: Generate, path: Path | None = None) -> None:
        self._generate = generate
        self._path = path
        self._seen: dict[str, GenerationResult] = {}
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by an interrupted run: generated again
                self._seen[row["key"]] = result_from_json(row["result"])

    @property
    def remembered(self) -> int:
        """How many requests it can answer without generating. (Not ``__len__``: an empty
        memo must not be falsy where a caller writes ``generate or backend.generate``.)"""
        return len(self._seen)

    async def __call__(self, request: GenerationRequest) -> GenerationResult:
        key = request_key(request)
        found = self._seen.get(key)
        if found is None:
            found = await self._generate(request)
            self._seen[key] = found
            self._append(key, found)
        return found

    def _append(self, key: str, result: GenerationResult) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        row = {"key": key, "result": asdict(result)}
        with self._path.open("a", encoding="utf-8") as sink:
            # A torn line of an interrupted run must not glue itself to this one.
            sink.write("\n" + json.dumps(row, ensure_ascii=False) + "\n")


def result_from_json(data: dict[str, Any]) -> GenerationResult:
    return GenerationResult(
        generations=[_generation(g) for g in data["generations"]],
        usage=Usage(**data["usage"]),
    )


def _generation(data: dict[str, Any]) -> Generation:
    logprobs = data.get("logprobs")
    return Generation(
        text=data["text"],
        finish_reason=data["finish_reason"],
        completion_tokens=data.get("completion_tokens"),
        tool_calls=tuple(ToolCall(**call) for call in data.get("tool_calls", ())),
        logprobs=None
        if logprobs is None
        else tuple(
            TokenLogprob(p["token"], p["logprob"], tuple((t, v) for t, v in p.get("top", ())))
            for p in logprobs
        ),
    )
