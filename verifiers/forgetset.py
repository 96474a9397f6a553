"""The forget set: who and what must not be revealed, loaded from YAML or JSONL.

Loader errors name the file, the line and the field, never the content of a fact.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

FORMAT_VERSION = 1


class ForgetSetError(Exception):
    """A forget-set file could not be loaded; the message says where and why."""


class Target(BaseModel):
    """One thing to forget: a person, work or organisation, with what is known about it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(..., min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")
    name: str = Field(..., min_length=1)
    aliases: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()

    @field_validator("name", "aliases", "facts", "documents", mode="after")
    @classmethod
    def _no_blank(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        items = (value,) if isinstance(value, str) else value
        if any(not item.strip() for item in items):
            raise ValueError("must not be blank")
        return value

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class ForgetSetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = FORMAT_VERSION
    name: str = "forget-set"
    description: str = ""
    targets: list[Target] = Field(default_factory=list)


@dataclass(frozen=True)
class ForgetSet:
    name: str
    targets: tuple[Target, ...]
    content_hash: str
    source: str = "<memory>"

    def __len__(self) -> int:
        return len(self.targets)

    def __iter__(self) -> Iterator[Target]:
        return iter(self.targets)

    def by_id(self, target_id: str) -> Target:
        for target in self.targets:
            if target.id == target_id:
                return target
        raise KeyError(target_id)


def content_hash(targets: Sequence[Target]) -> str:
    """Hash of what is forgotten, independent of file format, key order and target order."""
    canonical = sorted((t.model_dump(mode="json") for t in targets), key=lambda t: str(t["id"]))
    blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def build_forget_set(
    targets: Sequence[Target], name: str = "forget-set", source: str = "<memory>"
) -> ForgetSet:
    seen: set[str] = set()
    for target in targets:
        if target.id in seen:
            raise ForgetSetError(f"{source}: duplicate target id {target.id!r}")
        seen.add(target.id)
    return ForgetSet(name, tuple(targets), content_hash(targets), source)


def load_forget_set(path: Path) -> ForgetSet:
    """Load a ``.yaml``/``.yml`` or ``.jsonl`` forget set."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ForgetSetError(f"{path}: cannot read forget set ({type(exc).__name__})") from exc
    if path.suffix == ".jsonl":
        return _load_jsonl(path, text)
    if path.suffix in (".yaml", ".yml"):
        return _load_yaml(path, text)
    raise ForgetSetError(f"{path}: forget sets are .yaml, .yml or .jsonl files")


def _describe(error: ErrorDetails) -> str:
    field = ".".join(str(p) for p in error["loc"]) or "(top level)"
    return f"field {field}: {error['msg']}"


def _load_jsonl(path: Path, text: str) -> ForgetSet:
    targets: list[Target] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise ForgetSetError(f"{path}:{number}: invalid JSON") from exc
        try:
            targets.append(Target.model_validate(record))
        except ValidationError as exc:
            raise ForgetSetError(f"{path}:{number}: {_describe(exc.errors()[0])}") from exc
    return build_forget_set(targets, name=path.stem, source=str(path))


def _load_yaml(path: Path, text: str) -> ForgetSet:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ForgetSetError(f"{path}{where}: invalid YAML") from exc
    if not isinstance(data, dict):
        raise ForgetSetError(f"{path}:1: top level must be a mapping with a 'targets' list")
    try:
        parsed = ForgetSetFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        line = _line_of(node, error["loc"])
        raise ForgetSetError(f"{path}:{line}: {_describe(error)}") from exc
    if parsed.version != FORMAT_VERSION:
        raise ForgetSetError(f"{path}: version {parsed.version} unsupported (expected 1)")
    return build_forget_set(parsed.targets, name=parsed.name, source=str(path))


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int:
    """1-based line of the deepest YAML node on the path ``loc``."""
    line = 1 if node is None else node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
