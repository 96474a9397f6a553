"""Just enough of a Dockerfile and .dockerignore reader to check ours (no Docker engine here)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, COPY, RUN, ...
    flags: dict[str, str]  # leading --name=value options
    args: str  # the rest, continuation lines joined

    def exec_form(self) -> list[str]:
        """The JSON-array (exec) form of CMD, ENTRYPOINT or HEALTHCHECK CMD."""
        text = self.args.removeprefix("CMD").strip() if self.keyword == "HEALTHCHECK" else self.args
        value = json.loads(text)
        assert isinstance(value, list), f"{self.keyword} is not in exec form: {text}"
        return [str(item) for item in value]


@dataclass
class Stage:
    name: str
    base: str  # an image, or an earlier stage's name
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    args: dict[str, str]  # global ARGs (before the first FROM) with their defaults
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def parent(self, stage: Stage) -> Stage | None:
        names = [s.name for s in self.stages]
        return self.stage(stage.base) if stage.base in names else None

    def chain(self, stage: Stage) -> list[Stage]:
        """The stage and the stages it builds on, nearest first."""
        out: list[Stage] = []
        current: Stage | None = stage
        while current is not None:
            out.append(current)
            current = self.parent(current)
        return out

    def effective(self, stage: Stage, keyword: str) -> Instruction | None:
        """The instruction in force for ``stage`` (the last one, inherited from parents)."""
        for link in self.chain(stage):
            found = [i for i in link.instructions if i.keyword == keyword]
            if found:
                return found[-1]
        return None

    def all(self, stage: Stage, keyword: str) -> list[Instruction]:
        """Every ``keyword`` instruction that built ``stage``, oldest first."""
        return [
            i
            for link in reversed(self.chain(stage))
            for i in link.instructions
            if i.keyword == keyword
        ]

    def image(self, stage: Stage) -> str:
        """The external image a stage is ultimately built on, ARGs substituted."""
        root = self.chain(stage)[-1]
        return re.sub(r"\$\{(\w+)\}", lambda m: self.args[m.group(1)], root.base)


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue  # comments may sit inside a continued instruction, too
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "Dockerfile ends inside a continued line"
    return lines


def parse(path: Path) -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(path.read_text(encoding="utf-8")):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        flags: dict[str, str] = {}
        rest = rest.strip()
        while rest.startswith("--"):
            option, _, rest = rest.partition(" ")
            name, _, value = option[2:].partition("=")
            flags[name] = value
            rest = rest.strip()
        if keyword == "FROM":
            words = rest.split()
            assert len(words) == 3, f"unnamed stage: {line}"
            assert words[1].upper() == "AS", f"unnamed stage: {line}"
            stages.append(Stage(name=words[2], base=words[0]))
        elif keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            global_args[name] = default
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append(Instruction(keyword, flags, rest))
    return Dockerfile(global_args, stages)


def copy_sources_and_dest(instruction: Instruction) -> tuple[list[str], str]:
    words = (
        json.loads(instruction.args)
        if instruction.args.startswith("[")
        else shlex.split(instruction.args)
    )
    return words[:-1], words[-1]


def env_of(instruction: Instruction) -> dict[str, str]:
    """``ENV A=1 B=$PATH:x`` -> mapping (values unexpanded)."""
    out: dict[str, str] = {}
    for word in shlex.split(instruction.args):
        name, sep, value = word.partition("=")
        assert sep, f"use ENV NAME=value: {instruction.args}"
        out[name] = value
    return out


class DockerIgnore:
    """.dockerignore semantics: patterns match a path or any of its parent directories; the
    last matching pattern wins; ``!`` re-includes; ``**`` spans directories."""

    def __init__(self, text: str) -> None:
        self._rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            pattern = line.removeprefix("!").strip().strip("/")
            self._rules.append((negate, re.compile(_glob_regex(pattern))))

    def excluded(self, path: str) -> bool:
        parts = path.strip("/").split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for negate, rule in self._rules:
            if any(rule.fullmatch(prefix) for prefix in prefixes):
                result = not negate
        return result


def _glob_regex(pattern: str) -> str:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return out
