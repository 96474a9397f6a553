"""Answers with a shape: tool calls and JSON output, on the wire and under the guard.

The guard reads a shaped candidate for what it reveals: a tool call's argument *values* and a
JSON reply's string and number leaves, not the JSON syntax around them (:func:`readable`).
A candidate that does not have the shape the client asked for (JSON that does not parse or
does not match its schema, a call to an unknown function, arguments that do not match the
function's parameters) can never be accepted (:func:`conforms`), so a refinement that breaks
the shape ends in a refusal rather than in an invalid reply.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Literal, cast

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.backends.base import JSON, Generation, OutputShape

_FUNCTION_NAME = r"^[A-Za-z0-9_-]{1,64}$"


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class FunctionDefinition(_Shape):
    name: str = Field(..., pattern=_FUNCTION_NAME)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDefinition(_Shape):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(_Shape):
    name: str = Field(..., pattern=_FUNCTION_NAME)


class NamedToolChoice(_Shape):
    type: Literal["function"]
    function: NamedFunction


class JSONSchemaFormat(_Shape):
    name: str = Field(..., pattern=_FUNCTION_NAME)
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormat(_Shape):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format of type json_schema needs json_schema")
        return self


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


def output_shape(
    tools: list[ToolDefinition] | None,
    tool_choice: ToolChoice | None,
    parallel_tool_calls: bool | None,
    response_format: ResponseFormat | None,
) -> OutputShape:
    """The backend's view of the shape fields; checks what only makes sense together."""
    defined = {t.function.name for t in tools or ()}
    if isinstance(tool_choice, NamedToolChoice) and tool_choice.function.name not in defined:
        raise ValueError(f"tool_choice names '{tool_choice.function.name}', which is not in tools")
    if tool_choice == "required" and not defined:
        raise ValueError("tool_choice 'required' needs tools")
    active = bool(defined) and tool_choice != "none"
    fmt = (
        response_format if response_format is not None and response_format.type != "text" else None
    )
    return OutputShape(
        tools=tuple(t.model_dump(exclude_none=True) for t in tools or ()) if active else (),
        tool_choice=_dump(tool_choice) if active else None,
        parallel_tool_calls=parallel_tool_calls if active else None,
        response_format=fmt.model_dump(by_alias=True, exclude_none=True) if fmt else None,
    )


def _dump(choice: ToolChoice | None) -> str | JSON | None:
    return choice.model_dump() if isinstance(choice, NamedToolChoice) else choice


def readable(generation: Generation, shape: OutputShape) -> str:
    """What the guard verifies: the values a reply carries, one per line."""
    if generation.tool_calls:
        parts = []
        for call in generation.tool_calls:
            try:
                parts += _leaves(json.loads(call.arguments))
            except ValueError:
                parts.append(call.arguments)  # not JSON: verify it as written
        return "\n".join(parts)
    if shape.response_format is not None:
        try:
            return "\n".join(_leaves(json.loads(generation.text)))
        except ValueError:
            return generation.text
    return generation.text


def _leaves(value: object) -> list[str]:
    """String and number values of a JSON document, keys included (a key can name a person)."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in (str(k), *_leaves(v))]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    if value is None or isinstance(value, bool):
        return []
    return [str(value)]


def conforms(generation: Generation, shape: OutputShape) -> bool:
    """Whether the reply has the shape asked for (tool calls included)."""
    if generation.tool_calls:
        return all(_call_conforms(c.name, c.arguments, shape) for c in generation.tool_calls)
    if _tool_call_required(shape):
        return False
    if shape.response_format is None:
        return True
    try:
        document = json.loads(generation.text)
    except ValueError:
        return False
    if shape.response_format.get("type") == "json_object":
        return isinstance(document, dict)
    schema = (shape.response_format.get("json_schema") or {}).get("schema")
    return schema is None or _valid(document, schema)


def _tool_call_required(shape: OutputShape) -> bool:
    return bool(shape.tools) and (
        shape.tool_choice == "required" or isinstance(shape.tool_choice, dict)
    )


def _call_conforms(name: str, arguments: str, shape: OutputShape) -> bool:
    functions = {t["function"]["name"]: t["function"] for t in shape.tools}
    if name not in functions:
        return False
    if isinstance(shape.tool_choice, dict) and shape.tool_choice["function"]["name"] != name:
        return False
    try:
        document = json.loads(arguments)
    except ValueError:
        return False
    schema = functions[name].get("parameters")
    return isinstance(document, dict) and (schema is None or _valid(document, schema))


def _valid(document: object, schema: JSON) -> bool:
    validator = _validator(json.dumps(schema, sort_keys=True))
    return validator is not None and validator.is_valid(cast(Any, document))


@functools.lru_cache(maxsize=256)
def _validator(schema_text: str) -> jsonschema.protocols.Validator | None:
    """One checked validator per distinct schema (checking a schema costs more than using
    it); ``None`` for a broken schema: nothing can be shown to match it."""
    schema = json.loads(schema_text)
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError:
        return None
    return cls(schema)


def compact_json(text: str) -> str:
    """Arguments as OpenAI sends them: compact JSON text (left as is when not JSON)."""
    try:
        return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return re.sub(r"\s+", " ", text).strip()
