"""The official ``openai`` client against a live ``lethe serve`` process on the embedded model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from bench.processes import lethe_serve
from tests.support.openai_schema import checked_openai

pytestmark = [pytest.mark.e2e, pytest.mark.model]

KEY = "live-test-key"
MODEL = "smollm2-135m-instruct"
ASK: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Name three primary colours."}]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = Path(tmp_path_factory.mktemp("lethe"))
    config = directory / "plain-gateway.yaml"  # explicit: a checkout's default is the demo
    config.write_text("backend:\n  kind: llamacpp\n")
    env = {"LETHE_SERVER__API_KEYS": f'["{KEY}"]'}
    with lethe_serve(env=env, log=directory / "serve.log", config=config) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> openai.OpenAI:
    client: openai.OpenAI = checked_openai(f"{base_url}/v1", KEY)
    return client


def test_non_streaming(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=32, seed=1)
    assert reply.model == MODEL
    assert len(reply.choices) == 1
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 5
    assert reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.model_extra is not None
    assert reply.model_extra["unlearning"]["status"] == "bypassed"


def test_streaming_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL,
        messages=ASK,
        max_tokens=32,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] in ("stop", "length")
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens > 5
    assert chunks[-1].usage.completion_tokens > 0
    assert chunks[-1].model_extra is not None
    assert chunks[-1].model_extra["unlearning"]["status"] == "bypassed"


def test_n_2_gives_two_candidates(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL,
        messages=ASK,
        max_tokens=24,
        n=2,
        temperature=1.0,
    )
    assert [c.index for c in reply.choices] == [0, 1]
    assert all(c.message.content for c in reply.choices)
    assert reply.model_extra is not None
    assert reply.model_extra["unlearning"]["candidates"] == 2


def test_same_seed_same_answer(client: openai.OpenAI) -> None:
    answers = {
        client.chat.completions.create(
            model=MODEL,
            messages=ASK,
            max_tokens=24,
            seed=1234,
            temperature=0.8,
        )
        .choices[0]
        .message.content
        for _ in range(2)
    }
    assert len(answers) == 1


def test_bad_request_is_a_typed_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=[])
    assert info.value.status_code == 400
    assert info.value.type == "invalid_request_error"
    assert "at least one message" in info.value.message


def test_unknown_model_is_a_typed_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-nope", messages=ASK)
    assert info.value.code == "model_not_found"


def test_wrong_key_is_a_typed_401(base_url: str) -> None:
    intruder: openai.OpenAI = checked_openai(f"{base_url}/v1", "wrong")
    with pytest.raises(openai.AuthenticationError) as info:
        intruder.chat.completions.create(model=MODEL, messages=ASK)
    assert info.value.status_code == 401
    assert info.value.code == "invalid_api_key"


def test_models_endpoint(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == [MODEL]
