"""The ``openai`` backend against a real upstream process: llama-cpp-python's own server.

No mocks: the fixture starts ``python -m llama_cpp.server`` on the embedded GGUF, the way
Lethe runs in front of ``vllm serve`` in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from bench.processes import free_port, llama_cpp_upstream
from server.app import create_app
from server.backends.base import GenerationRequest, Message, SamplingParams
from server.backends.llamacpp import LlamaCppBackend
from server.backends.openai import OpenAIUpstreamBackend
from server.config import LlamaCppSettings, Settings, UpstreamSettings
from server.errors import UpstreamError
from tests.server.live import serve_in_thread

pytestmark = [pytest.mark.e2e, pytest.mark.model]

ASK = (Message("user", "What is the capital of France?"),)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = Path(tmp_path_factory.mktemp("upstream")) / "llama_cpp_server.log"
    with llama_cpp_upstream(log=log) as url:
        yield url


def _gateway_settings(base_url: str) -> Settings:
    return Settings(
        backend={"kind": "openai", "upstream": {"base_url": base_url, "fan_out_n": True}}
    )


async def test_backend_generates_n_candidates(upstream: str) -> None:
    backend = OpenAIUpstreamBackend(UpstreamSettings(base_url=upstream, fan_out_n=True))
    await backend.start()
    try:
        assert backend.model_ids() == ["smollm2-upstream"]
        assert await backend.ready()
        result = await backend.generate(
            GenerationRequest(ASK, SamplingParams(max_tokens=16, temperature=0.7, seed=3), n=2)
        )
        assert len(result.generations) == 2
        assert all(g.text for g in result.generations)
        assert result.usage.prompt_tokens > 0
    finally:
        await backend.aclose()


async def test_backend_streams(upstream: str) -> None:
    backend = OpenAIUpstreamBackend(UpstreamSettings(base_url=upstream))
    await backend.start()
    try:
        deltas = [
            d
            async for d in backend.stream(
                GenerationRequest(ASK, SamplingParams(max_tokens=16, temperature=0.0))
            )
        ]
    finally:
        await backend.aclose()
    assert "".join(d.text for d in deltas).strip()
    assert any(d.finish_reason is not None for d in deltas)


def test_gateway_in_front_of_the_upstream(upstream: str) -> None:
    app = create_app(_gateway_settings(upstream))
    with serve_in_thread(app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0, timeout=60)
        reply = client.chat.completions.create(
            model="smollm2-upstream",
            messages=[{"role": "user", "content": "Say hello."}],
            max_tokens=16,
            n=2,
        )
        assert len(reply.choices) == 2
        assert reply.model_extra is not None
        assert reply.model_extra["unlearning"]["status"] == "bypassed"
        stream = client.chat.completions.create(
            model="smollm2-upstream",
            messages=[{"role": "user", "content": "Say hello."}],
            max_tokens=16,
            stream=True,
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices).strip()
        assert httpx.get(f"{url}/ready").status_code == 200


def test_dead_upstream_is_502_and_not_ready() -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    settings = Settings(backend={"kind": "openai", "upstream": {"base_url": dead, "model": "m"}})
    with serve_in_thread(create_app(settings)) as url:
        response = httpx.post(
            f"{url}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}]},
        )
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "upstream_error"
        assert httpx.get(f"{url}/ready").status_code == 503


async def test_backend_raises_typed_error_when_upstream_is_gone() -> None:
    backend = OpenAIUpstreamBackend(
        UpstreamSettings(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m")
    )
    with pytest.raises(UpstreamError):
        await backend.generate(GenerationRequest(ASK, SamplingParams(max_tokens=4)))
    await backend.aclose()


async def test_backend_tokenizes_like_the_served_model(upstream: str) -> None:
    """Token bans need the upstream's own token ids: llama-cpp-python's server speaks its
    /extras dialect (vLLM's /tokenize is tried first and is absent here)."""
    backend = OpenAIUpstreamBackend(UpstreamSettings(base_url=upstream))
    embedded = LlamaCppBackend(LlamaCppSettings(pool_size=1, n_ctx=256))
    await backend.start()
    await embedded.start()
    try:
        tokens = await backend.tokenize(" Paris is lovely")
        assert tokens == await embedded.tokenize(" Paris is lovely")
        assert (await backend.detokenize(tokens)).strip() == "Paris is lovely"
    finally:
        await backend.aclose()
        await embedded.aclose()
