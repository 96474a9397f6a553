"""The embedded backend on the real SmolLM2 GGUF: plain text, JSON grammars, tool calls,
logprobs, logit_bias and raw text completions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from server.backends.base import GenerationRequest, Message, OutputShape, SamplingParams
from server.backends.llamacpp import LlamaCppBackend
from server.config import LlamaCppSettings

pytestmark = [pytest.mark.model, pytest.mark.asyncio(loop_scope="module")]

GREEDY = SamplingParams(max_tokens=24, temperature=0.0, seed=1)
FRANCE = (Message("user", "What is the capital of France?"),)
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def backend() -> AsyncIterator[LlamaCppBackend]:
    model = LlamaCppBackend(LlamaCppSettings(pool_size=1, n_ctx=1024))
    await model.start()
    yield model
    await model.aclose()


async def test_plain_answers_n_candidates(backend: LlamaCppBackend) -> None:
    result = await backend.generate(GenerationRequest(FRANCE, GREEDY, n=2))
    assert len(result.generations) == 2
    first, second = result.generations
    assert first.text
    assert first.text == second.text  # greedy: the same answer whatever the seed
    assert result.usage.completion_tokens == sum(
        g.completion_tokens or 0 for g in result.generations
    )


async def test_a_json_schema_reply_parses_and_matches(backend: LlamaCppBackend) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    shape = OutputShape(
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}}
    )
    result = await backend.generate(GenerationRequest(FRANCE, GREEDY, shape=shape))
    value = json.loads(result.generations[0].text)
    assert set(value) == {"city"}


async def test_a_forced_tool_call_comes_back_as_a_call(backend: LlamaCppBackend) -> None:
    shape = OutputShape(tools=(WEATHER,), tool_choice="required")
    ask = (Message("user", "What is the weather in Rome?"),)
    sampling = SamplingParams(max_tokens=40, temperature=0.0)
    generation = (
        await backend.generate(GenerationRequest(ask, sampling, shape=shape))
    ).generations[0]
    (call,) = generation.tool_calls
    assert call.name == "get_weather"
    assert isinstance(json.loads(call.arguments)["city"], str)
    assert (generation.text, generation.finish_reason) == ("", "tool_calls")


async def test_logprobs_cover_the_returned_text(backend: LlamaCppBackend) -> None:
    sampling = SamplingParams(max_tokens=8, temperature=0.0, logprobs=True, top_logprobs=2)
    generation = (await backend.generate(GenerationRequest(FRANCE, sampling))).generations[0]
    assert generation.logprobs
    assert "".join(t.token for t in generation.logprobs) == generation.text
    assert all(t.logprob <= 0.0 and len(t.top) == 2 for t in generation.logprobs)


async def test_logit_bias_bans_a_token(backend: LlamaCppBackend) -> None:
    prompt = "The capital of France is"
    ask = GenerationRequest((Message("user", prompt),), GREEDY, prompt=prompt)
    plain = (await backend.generate(ask)).generations[0].text
    assert plain.lstrip().startswith("Paris")
    (paris,) = await backend.tokenize(" Paris")
    banned = SamplingParams(max_tokens=24, temperature=0.0, seed=1, logit_bias=((paris, -100.0),))
    ask = GenerationRequest((Message("user", prompt),), banned, prompt=prompt)
    assert not (await backend.generate(ask)).generations[0].text.lstrip().startswith("Paris")
