"""Generations remembered on disk across calibration runs (``server.generation_memo``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from server.backends.base import (
    Generation,
    GenerationRequest,
    GenerationResult,
    Message,
    SamplingParams,
    TokenLogprob,
    ToolCall,
    Usage,
)
from server.backends.scripted import ScriptedBackend
from server.config import Settings
from server.generation_memo import GenerationMemo, memo_path

ASK = GenerationRequest((Message("user", "hi"),), SamplingParams(max_tokens=8, seed=1), n=2)


async def test_a_request_seen_is_answered_from_memory() -> None:
    backend = ScriptedBackend()
    memo = GenerationMemo(backend.generate)
    first = await memo(ASK)
    assert await memo(ASK) is first
    await memo(replace(ASK, sampling=replace(ASK.sampling, seed=2)))  # another seed: new
    assert len(backend.calls) == 2


async def test_a_second_run_reads_the_first_runs_answers_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "generations" / "model.jsonl"
    backend = ScriptedBackend()
    first = await GenerationMemo(backend.generate, path)(ASK)
    again = ScriptedBackend()
    assert await GenerationMemo(again.generate, path)(ASK) == first
    assert again.calls == []


async def test_every_field_of_a_result_survives_the_disk(tmp_path: Path) -> None:
    result = GenerationResult(
        [
            Generation(
                "text",
                "tool_calls",
                5,
                (ToolCall("c1", "lookup", '{"q": 1}'),),
                (TokenLogprob("te", -0.5, (("te", -0.5), ("xt", -1.5))),),
            ),
            Generation("plain"),
        ],
        Usage(7, 9),
    )

    async def generate(request: GenerationRequest) -> GenerationResult:
        return result

    path = tmp_path / "memo.jsonl"
    await GenerationMemo(generate, path)(ASK)
    assert await GenerationMemo(_never, path)(ASK) == result


async def test_a_torn_last_line_is_generated_again(tmp_path: Path) -> None:
    path = tmp_path / "memo.jsonl"
    backend = ScriptedBackend()
    await GenerationMemo(backend.generate, path)(ASK)
    path.write_text(path.read_text() + '{"key": "abc", "resu', encoding="utf-8")
    other = replace(ASK, n=1)
    memo = GenerationMemo(backend.generate, path)
    assert memo.remembered == 1
    await memo(other)
    assert GenerationMemo(_never, path).remembered == 2  # the new line did not glue to the torn one


def test_the_memo_file_follows_the_model_not_its_pool_or_credentials(tmp_path: Path) -> None:
    base = Settings(backend={"kind": "openai", "upstream": {"model": "m"}})
    pooled = Settings(
        backend={"kind": "openai", "upstream": {"model": "m", "api_key": "s", "read_timeout": 9}}
    )
    other = Settings(backend={"kind": "openai", "upstream": {"model": "m", "model_revision": "r2"}})
    assert memo_path(tmp_path, base, "m") == memo_path(tmp_path, pooled, "m")
    assert memo_path(tmp_path, base, "m") != memo_path(tmp_path, other, "m")
    assert memo_path(tmp_path, base, "m") != memo_path(tmp_path, base, "another-model")


async def _never(request: GenerationRequest) -> GenerationResult:
    raise AssertionError("generated although remembered")
