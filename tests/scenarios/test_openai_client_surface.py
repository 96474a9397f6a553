"""The official ``openai`` client's typed helpers against a live ``lethe serve`` on the embedded
model, guarding the demo forget set: structured output, tool calls, refusals, text completions
and model lookup, with every response validated against OpenAI's own schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import openai
import pytest
from openai.types.chat import (
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCall,
)
from pydantic import BaseModel

from bench.paths import DEMO_FORGET_SET
from bench.processes import lethe_serve
from tests.support.openai_schema import checking_hooks

pytestmark = [pytest.mark.e2e, pytest.mark.model]

MODEL = "smollm2-135m-instruct"
NOTES = (
    "Answer briefly using these notes.\nNotes:\n- The father of Hsiao Yun-Hwa is a civil engineer."
)
WEATHER: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


class Capital(BaseModel):
    city: str


class Profession(BaseModel):
    profession: str


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[openai.OpenAI]:
    directory = Path(tmp_path_factory.mktemp("lethe"))
    config = directory / "guarded.yaml"
    config.write_text(
        "backend:\n  kind: llamacpp\n"
        f"unlearning:\n  forget_set: {DEMO_FORGET_SET}\n  budget: 0\n  threshold: 0.5\n"
    )
    with lethe_serve(log=directory / "serve.log", config=config) as url:
        http = httpx.Client(event_hooks=checking_hooks(), timeout=120)
        # openai>=3 is typed for httpx2 clients only, but takes a legacy httpx.Client at run time.
        yield openai.OpenAI(
            base_url=f"{url}/v1", api_key="x", max_retries=0, http_client=cast(Any, http)
        )
        http.close()


def test_parse_with_a_pydantic_response_format(client: openai.OpenAI) -> None:
    completion = client.chat.completions.parse(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the capital of France? Answer in JSON."}],
        response_format=Capital,
        max_tokens=40,
        temperature=0,
        seed=1,
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Capital)
    assert parsed.city


def test_a_refusal_is_raised_by_parse(client: openai.OpenAI) -> None:
    with pytest.raises(openai.ContentFilterFinishReasonError):
        client.chat.completions.parse(
            model=MODEL,
            messages=[
                {"role": "system", "content": NOTES},
                {"role": "user", "content": "What is the profession of Hsiao Yun-Hwa's father?"},
            ],
            response_format=Profession,
            max_tokens=40,
            seed=1,
        )


def test_a_forced_tool_call_is_parsed_from_tool_calls(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=40,
        temperature=0,
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments)["city"], str)


def test_tool_calls_stream(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the weather in Rome?"}],
        tools=[WEATHER],
        tool_choice="required",
        max_tokens=40,
        temperature=0,
        stream=True,
    )
    chunks = list(stream)
    calls = [c for ch in chunks if ch.choices for c in ch.choices[0].delta.tool_calls or ()]
    assert calls
    assert calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_a_forget_fact_asked_through_a_tool_argument_is_not_returned(
    client: openai.OpenAI,
) -> None:
    lookup: ChatCompletionFunctionToolParam = {
        "type": "function",
        "function": {
            "name": "save_note",
            "parameters": {
                "type": "object",
                "properties": {"note": {"type": "string"}},
                "required": ["note"],
            },
        },
    }
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": NOTES},
            {"role": "user", "content": "Save a note saying what Hsiao Yun-Hwa's father does."},
        ],
        tools=[lookup],
        tool_choice={"type": "function", "function": {"name": "save_note"}},
        max_tokens=40,
        seed=3,
    )
    assert "civil" not in reply.model_dump_json().lower()  # not in the arguments, nor anywhere
    assert reply.model_extra is not None
    assert reply.model_extra["unlearning"]["leakage_score"] < 0.5 or (
        reply.choices[0].finish_reason == "content_filter"
    )


def test_models_retrieve_and_text_completions(client: openai.OpenAI) -> None:
    assert client.models.retrieve(MODEL).id == MODEL
    completion = client.completions.create(
        model=MODEL, prompt="The capital of France is", max_tokens=8, temperature=0
    )
    assert completion.object == "text_completion"
    assert completion.choices[0].text
    assert completion.system_fingerprint
