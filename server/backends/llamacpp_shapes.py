"""Tools and JSON output for the embedded model: what to tell it, which grammar binds it, and how
its text becomes tool calls.

llama.cpp has no tool parser of its own for arbitrary chat templates, and SmolLM2's template
knows no tools, so Lethe does what llama-cpp-python's generic chat handler does for a named
``tool_choice`` and extends it to the other choices:

- ``response_format`` ``json_object`` / ``json_schema``: a GBNF grammar (llama.cpp's JSON grammar,
  or one compiled from the schema) constrains sampling, so the reply parses.
- a named function, or ``required``: the functions are described in a system message and a grammar
  built from their parameter schemas makes the reply ``{"name": ..., "arguments": {...}}`` for one
  of them (the name fixed when named);
- ``auto``: the functions are described, with the same reply format, but nothing is forced: a
  reply that parses as a call to a known function is a tool call, anything else is text.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from server.backends.base import JSON, Message, OutputShape, ToolCall

ToolMode = Literal["none", "auto", "forced"]

_TOOLS_PROMPT = (
    "You can call these functions:\n{functions}\n"
    'To call one, reply with only a JSON object: {{"name": <function name>, "arguments": '
    "<an object with the function's parameters>}}."
)
_ANY_OBJECT: JSON = {"type": "object"}


@dataclass(frozen=True, slots=True)
class ShapePlan:
    """How one request's shape is produced: a grammar (GBNF text), the tool instructions to
    add, and whether (and how) the reply is read as a tool call."""

    grammar: str | None = None
    tools_prompt: str | None = None
    tool_mode: ToolMode = "none"


def plan(shape: OutputShape) -> ShapePlan:
    if shape.tools and shape.tool_choice != "none":
        return _tool_plan(shape.tools, shape.tool_choice)
    fmt = shape.response_format
    if fmt is None:
        return ShapePlan()
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or _ANY_OBJECT
        return ShapePlan(grammar=schema_grammar(json.dumps(schema, sort_keys=True)))
    return ShapePlan(grammar=json_grammar())


def _tool_plan(tools: tuple[JSON, ...], choice: str | JSON | None) -> ShapePlan:
    functions = [t["function"] for t in tools]
    if isinstance(choice, dict):
        name = choice["function"]["name"]
        functions = [f for f in functions if f["name"] == name]
    prompt = _TOOLS_PROMPT.format(functions="\n".join(_describe(f) for f in functions))
    if choice in (None, "auto"):
        return ShapePlan(tools_prompt=prompt, tool_mode="auto")
    calls = [
        {
            "type": "object",
            "properties": {
                "name": {"const": f["name"]},
                "arguments": f.get("parameters") or _ANY_OBJECT,
            },
            "required": ["name", "arguments"],
        }
        for f in functions
    ]
    schema = calls[0] if len(calls) == 1 else {"anyOf": calls}
    return ShapePlan(
        grammar=schema_grammar(json.dumps(schema, sort_keys=True)),
        tools_prompt=prompt,
        tool_mode="forced",
    )


def _describe(function: JSON) -> str:
    parameters = json.dumps(function.get("parameters") or _ANY_OBJECT, sort_keys=True)
    description = function.get("description") or ""
    return f"- {function['name']}: {description} Parameters (JSON schema): {parameters}"


@lru_cache(maxsize=256)
def schema_grammar(schema: str) -> str:
    """GBNF for a JSON schema (compiled once per distinct schema)."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    grammar: str = json_schema_to_gbnf(schema)
    return grammar


def json_grammar() -> str:
    from llama_cpp.llama_grammar import JSON_GBNF

    grammar: str = JSON_GBNF
    return grammar


def with_tools_prompt(messages: tuple[Message, ...], prompt: str | None) -> tuple[Message, ...]:
    """The conversation with the tool instructions added to (or as) its system message."""
    if prompt is None:
        return messages
    if messages and messages[0].role in ("system", "developer"):
        first = messages[0]
        merged = Message(first.role, f"{first.content}\n\n{prompt}")
        return (merged, *messages[1:])
    return (Message("system", prompt), *messages)


def template_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Messages as the chat template reads them: earlier tool calls written out as the JSON
    the model itself would reply with, so it sees its own format in the history."""
    rendered = []
    for message in messages:
        content = message.content
        if message.tool_calls:
            calls = [
                json.dumps({"name": c.name, "arguments": _arguments(c.arguments)})
                for c in message.tool_calls
            ]
            content = "\n".join(filter(None, [content, *calls]))
        rendered.append({"role": message.role, "content": content})
    return rendered


def _arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def tool_calls(text: str, shape: OutputShape, mode: ToolMode) -> tuple[ToolCall, ...]:
    """The tool call ``text`` makes, if it is one (always, when the grammar forced it)."""
    if mode == "none":
        return ()
    try:
        value = json.loads(_unfenced(text))
    except ValueError:
        return ()
    known = {t["function"]["name"] for t in shape.tools}
    if not isinstance(value, dict) or value.get("name") not in known:
        return ()
    arguments = value.get("arguments")
    if not isinstance(arguments, dict):
        return ()
    call_id = "call_" + secrets.token_hex(12)
    return (ToolCall(call_id, str(value["name"]), json.dumps(arguments, ensure_ascii=False)),)


def _unfenced(text: str) -> str:
    """A reply wrapped in a Markdown code fence, unwrapped (small models like fences)."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`")
        stripped = stripped.removeprefix("json").strip()
    return stripped
