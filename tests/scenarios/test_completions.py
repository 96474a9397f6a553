"""The legacy ``POST /v1/completions``: OpenAI's text completion shape, the same guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.backends.scripted import ScriptedBackend, fixed
from tests.conftest import ClientFactory, sse_events, sse_json
from tests.scenarios.test_guarded_chat import FORGET, LEAK, SAFE

COMPLETIONS = "/v1/completions"


@pytest.fixture
def unlearning(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "forget.yaml"
    path.write_text(FORGET)
    return {"forget_set": str(path), "budget": 0}


def test_a_text_completion_has_openai_shape(client_factory: ClientFactory) -> None:
    backend = ScriptedBackend(fixed(" a capital."))
    body = (
        client_factory(backend)
        .post(COMPLETIONS, json={"prompt": "Paris is", "max_tokens": 8, "echo": True})
        .json()
    )
    assert body["object"] == "text_completion"
    assert body["id"].startswith("cmpl-")
    assert body["choices"] == [
        {"index": 0, "text": "Paris is a capital.", "finish_reason": "stop", "logprobs": None}
    ]
    assert body["system_fingerprint"].startswith("fp_")
    assert backend.calls[0].prompt == "Paris is"
    assert backend.calls[0].sampling.max_tokens == 8


def test_a_leaking_continuation_is_filtered(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    client = client_factory(ScriptedBackend(fixed(LEAK)), unlearning=unlearning)
    response = client.post(COMPLETIONS, json={"prompt": "The author"})
    assert "civil" not in response.text
    choice = response.json()["choices"][0]
    assert (choice["text"], choice["finish_reason"]) == ("", "content_filter")
    assert response.json()["unlearning"]["status"] == "refused"


def test_streamed_completions_end_with_the_block_and_done(
    client_factory: ClientFactory, unlearning: dict[str, Any]
) -> None:
    client = client_factory(ScriptedBackend(fixed(SAFE)), unlearning=unlearning)
    text = client.post(COMPLETIONS, json={"prompt": "Tell me", "stream": True}).text
    assert sse_events(text)[-1] == "[DONE]"
    chunks = sse_json(text)
    assert all(c["object"] == "text_completion" for c in chunks)
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == SAFE
    assert chunks[-1]["unlearning"]["status"] == "accepted"
    assert chunks[-1]["usage"]["completion_tokens"] == len(SAFE.split())


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "x", "suffix": "y"}, "suffix"),
        ({"prompt": "x", "best_of": 3}, "best_of"),
        ({"prompt": ["a", "b"]}, "prompt"),
        ({"prompt": [1, 2, 3]}, "prompt"),
    ],
)
def test_what_the_endpoint_cannot_do_is_a_400(
    client_factory: ClientFactory, body: dict[str, Any], param: str
) -> None:
    response = client_factory().post(COMPLETIONS, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"].startswith(param)
