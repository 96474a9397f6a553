"""Tool and JSON plans for the embedded model: grammar, instructions, and reading tool calls."""

from __future__ import annotations

import json

from server.backends.base import Message, OutputShape, ToolCall
from server.backends.llamacpp_shapes import (
    plan,
    template_messages,
    tool_calls,
    with_tools_prompt,
)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
NOTE = {"type": "function", "function": {"name": "save_note", "parameters": {"type": "object"}}}


def test_plain_text_has_no_plan() -> None:
    assert plan(OutputShape()) == plan(OutputShape(tools=(WEATHER,), tool_choice="none"))
    assert plan(OutputShape()).grammar is None


def test_json_object_and_json_schema_get_grammars() -> None:
    loose = plan(OutputShape(response_format={"type": "json_object"}))
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    strict = plan(
        OutputShape(
            response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}}
        )
    )
    assert loose.grammar
    assert strict.grammar
    assert loose.grammar != strict.grammar
    assert "city" in strict.grammar
    assert strict.tool_mode == "none"


def test_a_named_function_is_forced_and_only_it_is_described() -> None:
    shape = OutputShape(
        tools=(WEATHER, NOTE), tool_choice={"type": "function", "function": {"name": "save_note"}}
    )
    chosen = plan(shape)
    assert chosen.tool_mode == "forced"
    assert chosen.tools_prompt is not None
    assert "save_note" in chosen.tools_prompt
    assert "get_weather" not in chosen.tools_prompt
    assert chosen.grammar is not None
    assert "save_note" in chosen.grammar


def test_required_allows_every_function_and_auto_forces_nothing() -> None:
    required = plan(OutputShape(tools=(WEATHER, NOTE), tool_choice="required"))
    assert required.grammar is not None
    assert "get_weather" in required.grammar
    assert "save_note" in required.grammar
    auto = plan(OutputShape(tools=(WEATHER,)))
    assert (auto.tool_mode, auto.grammar) == ("auto", None)
    assert auto.tools_prompt is not None


def test_reading_a_tool_call() -> None:
    shape = OutputShape(tools=(WEATHER,), tool_choice="auto")
    text = '```json\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n```'
    (call,) = tool_calls(text, shape, "auto")
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Rome"}
    assert call.id.startswith("call_")
    assert tool_calls("It is sunny in Rome.", shape, "auto") == ()
    assert tool_calls('{"name": "unknown", "arguments": {}}', shape, "auto") == ()
    assert tool_calls('{"name": "get_weather", "arguments": "Rome"}', shape, "auto") == ()
    assert tool_calls('{"name": "get_weather", "arguments": {}}', shape, "none") == ()


def test_tool_instructions_join_the_system_message_or_come_first() -> None:
    user = Message("user", "hi")
    assert with_tools_prompt((user,), "TOOLS")[0] == Message("system", "TOOLS")
    merged = with_tools_prompt((Message("system", "Be brief."), user), "TOOLS")
    assert merged[0].content == "Be brief.\n\nTOOLS"
    assert with_tools_prompt((user,), None) == (user,)


def test_earlier_tool_calls_are_shown_to_the_model_in_its_own_format() -> None:
    call = ToolCall("call_1", "get_weather", '{"city": "Rome"}')
    rendered = template_messages(
        (
            Message("assistant", "", tool_calls=(call,)),
            Message("tool", "sunny", tool_call_id="call_1"),
        )
    )
    assert json.loads(rendered[0]["content"]) == {
        "name": "get_weather",
        "arguments": {"city": "Rome"},
    }
    assert rendered[1] == {"role": "tool", "content": "sunny"}
