"""The scripted backend as ``lethe serve`` builds it from settings (benchmarks, shutdown tests)."""

from __future__ import annotations

import time

from server.backends import GenerationRequest, Message, SamplingParams, create_backend
from server.backends.scripted import DEFAULT_ANSWER, ScriptedBackend
from server.config import BackendSettings

REQUEST = GenerationRequest(
    messages=(Message(role="user", content="hello"),), sampling=SamplingParams(max_tokens=8)
)


async def test_served_scripted_backend_keeps_no_request_history() -> None:
    backend = create_backend(BackendSettings(kind="scripted"))
    assert isinstance(backend, ScriptedBackend)
    for _ in range(3):
        result = await backend.generate(REQUEST)
        assert result.generations[0].text == DEFAULT_ANSWER
        assert [d async for d in backend.stream(REQUEST)]
    # A long load test against `lethe serve` grew its RSS by ~250 bytes per request when the
    # served double recorded every call; test doubles built in tests still record them.
    assert backend.calls == []
    recording = ScriptedBackend()
    await recording.generate(REQUEST)
    assert recording.calls == [REQUEST]


async def test_delay_seconds_slows_every_answer() -> None:
    backend = create_backend(BackendSettings(kind="scripted", scripted={"delay_seconds": 0.2}))
    started = time.perf_counter()
    await backend.generate(REQUEST)
    assert time.perf_counter() - started >= 0.2
    started = time.perf_counter()
    assert [d async for d in backend.stream(REQUEST)]
    assert time.perf_counter() - started >= 0.2
