"""Validation of Lethe's HTTP bodies and SSE chunks against OpenAI's own OpenAPI document.

The document (OpenAPI 3.1, so JSON Schema 2020-12) is read from ``SPEC_PATH`` and registered
whole in a ``referencing`` registry: every ``#/components/schemas/...`` reference resolves
against the real file. ``discriminator``, ``x-*``, ``example`` and ``deprecated`` need nothing
(jsonschema ignores or annotates them; each ``discriminator`` sits on a ``oneOf`` whose branches
already differ by a ``type`` enum). ``nullable: true``, an OpenAPI 3.0 leftover, does occur in
``CreateChatCompletionStreamResponse`` (``finish_reason``, ``logprobs`` and ``usage``): a
schema carrying it accepts ``null``, which every non-final OpenAI chunk sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, cast

import httpx
import jsonschema
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = (
    Path(__file__).resolve().parents[2].parent / "shared" / "openai-openapi" / "openapi.json"
)
_SPEC_URI = "https://api.openai.com/openapi.json"  # where the registry files the document
_SHOWN = 1000  # characters of a failing body quoted in the assertion message

# (method, path) -> (schema of a JSON body, schema of each streamed chunk). The spec declares
# no stream schema for /v1/completions: it says streamed and whole responses share one shape.
_ENDPOINTS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("POST", "/v1/chat/completions"): (
        "CreateChatCompletionResponse",
        "CreateChatCompletionStreamResponse",
    ),
    ("POST", "/v1/completions"): ("CreateCompletionResponse", "CreateCompletionResponse"),
    ("GET", "/v1/models"): ("ListModelsResponse", None),
}

Keyword = Callable[[Validator, Any, Any, dict[str, Any]], Iterator[jsonschema.ValidationError]]


@cache
def _spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        raise FileNotFoundError(
            f"OpenAI's OpenAPI document is missing: expected it at {SPEC_PATH} "
            "(../shared/openai-openapi/openapi.json next to the repository)."
        )
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    if not str(spec.get("openapi", "")).startswith("3.1"):
        raise ValueError(f"{SPEC_PATH} is OpenAPI {spec.get('openapi')}, not 3.1 (2020-12).")
    return spec


def _allow_null(keyword: Keyword) -> Keyword:
    def check(
        v: Validator, value: Any, instance: Any, schema: dict[str, Any]
    ) -> Iterator[jsonschema.ValidationError]:
        if instance is None and schema.get("nullable") is True:
            return
        yield from keyword(v, value, instance, schema) or ()

    return check


@cache
def _validator_class() -> type[Validator]:
    """Draft 2020-12 where a schema with ``nullable: true`` also accepts null."""
    base = jsonschema.Draft202012Validator
    keywords = {name: _allow_null(fn) for name, fn in base.VALIDATORS.items()}
    extend: Callable[..., type[Validator]] = jsonschema.validators.extend  # untyped upstream
    return extend(base, validators=keywords)


@cache
def _registry() -> Registry[Any]:
    resource = Resource.from_contents(_spec(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(_SPEC_URI, resource)
    return registry


@cache
def validator(schema_name: str) -> Validator:
    """A validator for ``components.schemas[schema_name]`` of OpenAI's document."""
    schemas: dict[str, Any] = _spec()["components"]["schemas"]
    if schema_name not in schemas:
        raise KeyError(f"{schema_name!r} is not a component schema of {SPEC_PATH.name}")
    cls = _validator_class()
    cls.check_schema(schemas[schema_name])
    return cls(
        {"$ref": f"{_SPEC_URI}#/components/schemas/{schema_name}"},
        registry=_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def _errors(schema_name: str, body: Any) -> list[str]:
    found = sorted(validator(schema_name).iter_errors(body), key=lambda e: e.json_path)
    return [f"{e.json_path}: {_clip(e.message, 300)}" for e in found]


def _clip(text: str, limit: int = _SHOWN) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _fail(schema_name: str, errors: list[str], shown: str) -> None:
    if errors:
        listed = "\n  ".join(errors)
        raise AssertionError(
            f"{len(errors)} error(s) against {schema_name}:\n  {listed}\nbody: {_clip(shown)}"
        )


def check(schema_name: str, body: object) -> None:
    """Raise ``AssertionError`` listing every violation of ``schema_name`` by ``body``."""
    _fail(schema_name, _errors(schema_name, body), json.dumps(body, default=repr))


def _sse_data(text: str) -> list[str]:
    """Data of each dispatched SSE event (WHATWG rules; an unterminated last event is lost)."""
    events: list[str] = []
    data: list[str] | None = None
    for line in re.split(r"\r\n|\r|\n", text):
        if not line:
            if data is not None:
                events.append("\n".join(data))
            data = None
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            if field == "data":
                data = [*(data or []), value.removeprefix(" ")]
    return events


def check_sse(schema_name: str, text: str) -> int:
    """Validate an SSE body: chunks against ``schema_name``, ``{"error": ...}`` payloads
    against ``ErrorResponse``, ending with ``data: [DONE]``. Returns the payloads checked."""
    events = _sse_data(text)
    if not events or events[-1] != "[DONE]":
        last = repr(events[-1][:200]) if events else "nothing"
        raise AssertionError(
            f"stream does not end with 'data: [DONE]' and a blank line (last event: {last})"
            f"\nbody: {_clip(text)}"
        )
    errors: list[str] = []
    for index, payload in enumerate(events[:-1]):
        try:
            chunk = json.loads(payload)
        except ValueError as exc:
            errors.append(f"event {index}: not JSON ({exc}): {_clip(payload, 200)}")
            continue
        is_error = isinstance(chunk, dict) and "error" in chunk
        schema = "ErrorResponse" if is_error else schema_name
        errors += [f"event {index} ({schema}) {e}" for e in _errors(schema, chunk)]
    _fail(schema_name, errors, text)
    return len(events) - 1


def schema_for(method: str, path: str, status: int, streamed: bool) -> str | None:
    """The schema a Lethe response must match, or None where OpenAI's API has no counterpart."""
    if not path.startswith("/v1/"):
        return None
    if status >= 400:
        return "ErrorResponse"
    if not 200 <= status < 300:
        return None
    method = method.upper()
    if method == "GET" and path.startswith("/v1/models/") and len(path) > len("/v1/models/"):
        return None if streamed else "Model"
    whole, stream = _ENDPOINTS.get((method, path), (None, None))
    return stream if streamed else whole


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def check_response(response: httpx.Response) -> None:
    """Read ``response`` whole and validate it against the schema ``schema_for`` names."""
    response.read()
    method, path, status = response.request.method, response.request.url.path, response.status_code
    content_type = response.headers.get("content-type", "")
    streamed = content_type.partition(";")[0].strip().lower() == "text/event-stream"
    where = f"{method} {path} -> {status} ({content_type or 'no content-type'})"
    schema = schema_for(method, path, status, streamed)
    if schema is None:
        if streamed and schema_for(method, path, status, streamed=False) is not None:
            raise AssertionError(f"{where}: OpenAI's API does not stream this endpoint")
        return
    if streamed:
        check_sse(schema, response.text)
        return
    if not _is_json(content_type):
        if status >= 400:
            return  # only JSON error bodies are held to ErrorResponse
        raise AssertionError(f"{where}: expected a JSON body\nbody: {_clip(response.text)}")
    try:
        body = response.json()
    except ValueError as exc:
        raise AssertionError(
            f"{where}: invalid JSON ({exc})\nbody: {_clip(response.text)}"
        ) from exc
    check(schema, body)


def checking_hooks() -> dict[str, list[Callable[[httpx.Response], None]]]:
    """``event_hooks`` for a sync ``httpx.Client`` validating every response it receives.

    The hook reads streamed bodies whole before the caller sees them (httpx then replays the
    kept content to ``iter_bytes``, which the openai client uses), so chunks arrive at once.
    """
    return {"response": [check_response]}


def checked_openai(base_url: str, api_key: str, timeout: float = 60.0) -> Any:
    """The official ``openai.OpenAI`` client whose every response is validated by the hooks.

    Typed ``Any`` here so this module does not import ``openai``; callers annotate it. openai>=3
    is typed for httpx2 clients only, but takes a legacy ``httpx.Client`` at run time.
    """
    import openai

    http = httpx.Client(event_hooks=checking_hooks(), timeout=timeout)
    return openai.OpenAI(
        base_url=base_url, api_key=api_key, max_retries=0, http_client=cast(Any, http)
    )
