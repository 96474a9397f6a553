"""Render docs/configuration.md from the settings models, so the two never drift.

Regenerate with ``python -m server.config_doc > docs/configuration.md``; a test compares.
"""

from __future__ import annotations

import inspect
import json
import sys
from typing import get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from server.config import Settings

_HEADER = """# Configuration

Lethe reads one settings tree, built once at start-up, from (highest precedence first):

1. environment variables `LETHE_<SECTION>__<FIELD>` (nested with `__`), e.g.
   `LETHE_SERVER__PORT=9000`, `LETHE_BACKEND__UPSTREAM__BASE_URL=http://vllm:8000/v1`;
   lists and mappings are JSON: `LETHE_SERVER__API_KEYS='["key-1","key-2"]'`;
2. the YAML file given as `lethe serve --config FILE`;
3. the defaults below.

Unknown keys are errors, so a typo fails at start-up instead of being ignored.
This page is generated from the code (`python -m server.config_doc`).

Example:

```yaml
server:
  port: 8000
  api_keys: ["change-me"]
backend:
  kind: openai
  upstream:
    base_url: http://127.0.0.1:8001/v1
```
"""


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "(section)"
    else:
        value = info.default
    if value is None:
        return "unset"
    if isinstance(value, list | dict):
        return f"`{json.dumps(value)}`"
    text = str(value).replace("\n", "\\n").replace("|", "\\|")
    return f"`{text}`"


def _type_name(info: FieldInfo) -> str:
    entry = _mapped_model(info.annotation)
    if entry is not None:
        return f"dict[name, {entry.__name__}]"
    text = str(info.annotation).replace("typing.", "").replace("pathlib.", "")
    text = text.replace("pydantic.types.", "").replace("<class '", "").replace("'>", "")
    return text.replace("|", "\\|")


def _mapped_model(annotation: object) -> type[BaseModel] | None:
    """``M`` for a ``dict[str, M]`` field whose values are settings sections."""
    if get_origin(annotation) is not dict:
        return None
    value = get_args(annotation)[1]
    return value if isinstance(value, type) and issubclass(value, BaseModel) else None


def _section(model: type[BaseModel], prefix: str, lines: list[str]) -> None:
    rows: list[str] = []
    subsections: list[tuple[str, type[BaseModel]]] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            subsections.append((name, annotation))
            continue
        entry = _mapped_model(annotation)
        if entry is not None:  # e.g. tenants: one section per name, documented once
            subsections.append((f"{name}.<name>", entry))
        key = f"{prefix}.{name}" if prefix else name
        env = "LETHE_" + key.upper().replace(".", "__")
        doc = (info.description or "").replace("\n", " ")
        rows.append(f"| `{name}` | {_type_name(info)} | {_default(info)} | `{env}` | {doc} |")
    if rows:
        lines += ["", f"## `{prefix}`" if prefix else "## Top level", ""]
        if model.__doc__ and model is not Settings:
            lines += [inspect.cleandoc(model.__doc__), ""]
        lines += ["| field | type | default | environment | meaning |", "|---|---|---|---|---|"]
        lines += rows
    for name, sub in subsections:
        _section(sub, f"{prefix}.{name}" if prefix else name, lines)


def render() -> str:
    lines = [_HEADER.rstrip()]
    _section(Settings, "", lines)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
