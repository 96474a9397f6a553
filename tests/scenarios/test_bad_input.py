"""Bad input never gets a 5xx, and every error is the OpenAI envelope.

Property tests (hypothesis) draw request bodies from Lethe's own OpenAPI document: bodies that
match the schema, bodies with one field replaced by arbitrary JSON, arbitrary JSON and
arbitrary bytes. Hand-written cases cover what a generator rarely finds: oversized bodies,
10,000 messages, deep nesting, invalid UTF-8, lone surrogates, caps, NaN and wrong media types.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.app import create_app
from server.backends.scripted import ScriptedBackend
from tests.conftest import settings_with, sse_events
from tests.server.openapi_strategies import TEXT, from_schema
from tests.server.test_policy import FORGET

CHAT = "/v1/chat/completions"
VERIFY = "/v1/unlearning/verify"
MAX_BODY = 1_048_576
HELLO = {"messages": [{"role": "user", "content": "hello"}]}
JSON_TYPE = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    forget: Path = tmp_path_factory.mktemp("bad-input") / "forget.yaml"
    forget.write_text(FORGET)
    app = create_app(
        settings_with(
            generation={"max_n": 4, "max_tokens_cap": 512, "default_max_tokens": 64},
            unlearning={"forget_set": str(forget), "budget": 1},
        ),
        backend=ScriptedBackend(),
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def check_answer(response: Any) -> None:
    """No 5xx; a 4xx is exactly the OpenAI envelope; a 200 is a whole answer."""
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        error = body["error"]
        assert set(error) == {"message", "type", "param", "code"}, error
        assert isinstance(error["message"], str)
        assert error["message"]
        assert isinstance(error["type"], str)
        assert error["param"] is None or isinstance(error["param"], str)
        assert error["code"] is None or isinstance(error["code"], str)
        return
    assert response.status_code == 200
    if response.headers["content-type"].startswith("text/event-stream"):
        events = sse_events(response.text)
        assert events[-1] == "[DONE]"
        assert "error" not in json.loads(events[-2])
        return
    body = response.json()
    if "leakage_score" in body:  # /v1/unlearning/verify
        return
    # A refusal is a whole answer too: on a loaded machine a verifier can time out, and the
    # guard then fails closed.
    assert body["unlearning"]["status"] in {"accepted", "refined", "refused"}
    assert len(body["choices"]) >= 1


# --- property tests against the OpenAPI document ---------------------------------------------


def _openapi() -> dict[str, Any]:
    app = create_app(settings_with(), backend=ScriptedBackend())
    spec: dict[str, Any] = app.openapi()
    return spec


SPEC = _openapi()


def _body_schema(path: str) -> dict[str, Any]:
    content = SPEC["paths"][path]["post"]["requestBody"]["content"]
    schema: dict[str, Any] = content["application/json"]["schema"]
    return schema


def _properties(path: str) -> list[str]:
    ref = _body_schema(path)["$ref"].rsplit("/", 1)[1]
    return sorted(SPEC["components"]["schemas"][ref]["properties"])


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(TEXT, max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(TEXT, max_size=8), inner),
    max_leaves=12,
)


def _within_caps(body: dict[str, Any], model: str | None) -> dict[str, Any]:
    """A schema-valid body moved inside this server's caps, so that it reaches the loop."""
    capped = {**body, "model": model}
    for field, cap in (("n", 4), ("max_tokens", 512), ("max_completion_tokens", 512)):
        if isinstance(capped.get(field), int):
            capped[field] = min(capped[field], cap)
    return capped


def _bodies(path: str) -> st.SearchStrategy[Any]:
    schema_valid = from_schema(_body_schema(path), SPEC["components"]["schemas"])
    valid = schema_valid | st.builds(
        _within_caps, schema_valid, st.sampled_from([None, "scripted"]) | st.text(TEXT, max_size=8)
    )
    one_field_broken = st.builds(
        lambda body, key, value: {**body, key: value} if isinstance(body, dict) else body,
        valid,
        st.sampled_from(_properties(path)),
        JSON_VALUES,
    )
    return valid | one_field_broken | JSON_VALUES


def _post(client: TestClient, path: str, body: Any) -> Any:
    """POST ``body`` as JSON with ASCII escapes, so lone surrogates travel as ``\\udXXX``."""
    return client.post(path, content=json.dumps(body).encode(), headers=JSON_TYPE)


PROPERTY_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@PROPERTY_SETTINGS
@given(body=_bodies(CHAT))
@pytest.mark.slow
def test_chat_completions_never_5xx(client: TestClient, body: Any) -> None:
    check_answer(_post(client, CHAT, body))


@PROPERTY_SETTINGS
@given(body=_bodies(VERIFY))
@pytest.mark.slow
def test_verify_never_5xx(client: TestClient, body: Any) -> None:
    check_answer(_post(client, VERIFY, body))


@settings(PROPERTY_SETTINGS, max_examples=60)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
@pytest.mark.slow
def test_arbitrary_bytes_never_5xx(client: TestClient, raw: bytes) -> None:
    for path in (CHAT, VERIFY):
        check_answer(client.post(path, content=raw, headers=JSON_TYPE))


# --- hand-written cases ----------------------------------------------------------------------


def _error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    check_answer(response)
    assert response.status_code == status, response.text[:500]
    error: dict[str, Any] = response.json()["error"]
    if code is not None:
        assert error["code"] == code, error
    return error


def test_oversized_body_is_413(client: TestClient) -> None:
    big = {"messages": [{"role": "user", "content": "x" * MAX_BODY}]}
    _error(client.post(CHAT, json=big), 413, "request_too_large")
    _error(client.post(VERIFY, json={"response": "x" * MAX_BODY}), 413, "request_too_large")


def test_ten_thousand_messages_are_refused_by_count(client: TestClient) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}] * 10_000}
    assert len(json.dumps(body)) < MAX_BODY  # refused for the count, not the size
    assert _error(client.post(CHAT, json=body), 400, "invalid_value")["param"] == "messages"
    error = _error(client.post(VERIFY, json={**body, "response": "x"}), 400, "invalid_value")
    assert error["param"] == "messages"


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"type": "text", "text": "x", "parts": [value]}
    return value


def test_deeply_nested_content_parts(client: TestClient) -> None:
    # Nesting inside a part's unknown fields is ignored; the text part itself is fine.
    parts = {"messages": [{"role": "user", "content": [_nested(200)]}]}
    assert client.post(CHAT, json=parts).status_code == 200
    # A part whose text is itself nested is a schema error.
    wrong = {"messages": [{"role": "user", "content": [{"type": "text", "text": _nested(50)}]}]}
    _error(client.post(CHAT, json=wrong), 400, "invalid_value")
    # Past the JSON parser's recursion limit: still a 400, never a crash.
    deep = b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    _error(client.post(CHAT, content=deep, headers=JSON_TYPE), 400, "invalid_json")


def test_invalid_utf8_is_400(client: TestClient) -> None:
    raw = b'{"messages": [{"role": "user", "content": "caf\xe9 \xff\xfe"}]}'
    for path in (CHAT, VERIFY):
        _error(client.post(path, content=raw, headers=JSON_TYPE), 400, "invalid_json")


def test_lone_surrogates_do_not_break_errors(client: TestClient) -> None:
    raw = b'{"model": "\\ud800x", "messages": [{"role": "user", "content": "hi"}]}'
    error = _error(client.post(CHAT, content=raw, headers=JSON_TYPE), 404, "model_not_found")
    assert error["message"].encode("utf-8")  # encodable: the surrogate was replaced
    text = b'{"messages": [{"role": "user", "content": "\\udc00 hi"}], "stop": "\\ud800"}'
    check_answer(client.post(CHAT, content=text, headers=JSON_TYPE))
    verify = b'{"response": "\\udfff answer \\ud800"}'
    check_answer(client.post(VERIFY, content=verify, headers=JSON_TYPE))


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("n", 5, "n"),
        ("n", 10**30, "n"),
        ("max_tokens", 513, "max_tokens"),
        ("max_completion_tokens", 10**6, "max_tokens"),
    ],
)
def test_caps(client: TestClient, stream: bool, field: str, value: int, param: str) -> None:
    body = {**HELLO, field: value, "stream": stream}
    error = _error(client.post(CHAT, json=body), 400, "invalid_value")
    assert error["param"] == param


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("temperature", "-1"),
        ("temperature", "NaN"),
        ("temperature", "Infinity"),
        ("top_p", "0"),
        ("top_p", "-Infinity"),
        ("presence_penalty", "NaN"),
        ("frequency_penalty", "-2.5"),
        ("n", "0"),
        ("n", "-3"),
        ("n", "1.5"),
        ("n", "NaN"),
        ("max_tokens", "-5"),
        ("max_tokens", "0"),
        ("max_completion_tokens", "-1e3"),
        ("seed", "18446744073709551616"),
        ("seed", "-9223372036854775809"),
    ],
)
def test_negative_and_non_finite_numbers(client: TestClient, field: str, raw: str) -> None:
    body = f'{{"messages": [{{"role": "user", "content": "hi"}}], "{field}": {raw}}}'
    error = _error(client.post(CHAT, content=body.encode(), headers=JSON_TYPE), 400)
    assert error["param"] == field


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        None,
    ],
)
def test_wrong_content_type_is_415(client: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type is not None else {}
    for path, body in ((CHAT, HELLO), (VERIFY, {"response": "x"})):
        response = client.post(path, content=json.dumps(body).encode(), headers=headers)
        error = _error(response, 415, "unsupported_media_type")
        assert error["param"] == "content-type"


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/x+json"]
)
def test_json_content_types_are_accepted(client: TestClient, content_type: str) -> None:
    response = client.post(
        CHAT, content=json.dumps(HELLO).encode(), headers={"content-type": content_type}
    )
    assert response.status_code == 200, response.text


def test_no_body_at_all_is_a_schema_error(client: TestClient) -> None:
    for path in (CHAT, VERIFY):
        assert "body is missing" in _error(client.post(path), 400, "invalid_value")["message"]
