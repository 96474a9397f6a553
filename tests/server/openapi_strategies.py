"""Hypothesis strategies for the JSON Schema subset FastAPI writes into Lethe's OpenAPI document.

Small on purpose: ``$ref``, ``anyOf``, ``enum``/``const``, the JSON types with their bounds, and
objects whose optional and extra properties come and go. A keyword it does not know is an
error, so a schema change that needs more support is noticed, not silently under-tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

# Lists stay short: the point is the shapes, not the sizes (the sizes have their own tests).
MAX_ITEMS = 4
_IGNORED = frozenset({"title", "description", "default", "examples"})
_KNOWN = _IGNORED | {
    "$ref",
    "anyOf",
    "enum",
    "const",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "maxProperties",
}

# Any code point, with lone surrogates (JSON's "\\ud800" escape puts them in a request), NUL
# and line separators drawn often enough to matter.
TEXT = st.characters(exclude_categories=()) | st.sampled_from("\ud800\udc00\udfff\x00\u2028")
_EXTRA_VALUES = st.none() | st.booleans() | st.integers() | st.text(TEXT, max_size=10)


def from_schema(schema: Mapping[str, Any], components: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid under ``schema``; ``$ref`` names resolve in ``components``."""
    unknown = set(schema) - _KNOWN
    if unknown:
        raise ValueError(f"unsupported JSON Schema keywords: {sorted(unknown)}")
    if "$ref" in schema:
        return from_schema(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "anyOf" in schema:
        return st.one_of([from_schema(s, components) for s in schema["anyOf"]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, components)
    if kind == "array":
        items = from_schema(schema.get("items", {}), components)
        top = min(int(schema.get("maxItems", MAX_ITEMS)), MAX_ITEMS)
        return st.lists(items, min_size=min(int(schema.get("minItems", 0)), top), max_size=top)
    if kind == "string" and "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True)
    if kind == "string":
        return st.text(
            TEXT,
            min_size=int(schema.get("minLength", 0)),
            max_size=min(int(schema.get("maxLength", 40)), 40),
        )
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        return st.integers(None if low is None else int(low), None if high is None else int(high))
    if kind == "number":
        return st.floats(
            schema.get("minimum", schema.get("exclusiveMinimum")),
            schema.get("maximum", schema.get("exclusiveMaximum")),
            exclude_min="exclusiveMinimum" in schema,
            exclude_max="exclusiveMaximum" in schema,
            allow_nan=False,
            allow_infinity=False,
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    raise ValueError(f"unsupported schema: {dict(schema)}")


def _object(schema: Mapping[str, Any], components: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    optional = sorted(set(properties) - required)
    fields = {name: from_schema(properties[name], components) for name in properties}
    extras = (
        st.dictionaries(
            st.text(TEXT, min_size=1, max_size=8).filter(lambda k: k not in properties),
            _EXTRA_VALUES,
            max_size=2,
        )
        if schema.get("additionalProperties") is True
        else st.dictionaries(
            st.text(TEXT, min_size=1, max_size=8).filter(lambda k: k not in properties),
            from_schema(schema["additionalProperties"], components),
            max_size=min(int(schema.get("maxProperties", 2)), 2),
        )
        if isinstance(schema.get("additionalProperties"), dict)
        else st.just({})
    )

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        chosen = (
            draw(st.sets(st.sampled_from(optional), max_size=len(optional))) if optional else set()
        )
        value: dict[str, Any] = draw(extras)
        for name in sorted(required | chosen):
            value[name] = draw(fields[name])
        return value

    return build()
