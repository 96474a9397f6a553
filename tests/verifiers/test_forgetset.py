from __future__ import annotations

from pathlib import Path

import pytest

from verifiers.forgetset import (
    ForgetSet,
    ForgetSetError,
    Target,
    build_forget_set,
    load_forget_set,
)

YAML = """\
version: 1
name: demo
targets:
  - id: p-1
    name: Ada Example
    aliases: [A. Example]
    facts:
      - Ada Example was born in Lisbon.
  - id: p-2
    name: Bob Sample
    facts: [Bob Sample repairs clocks.]
"""


def test_yaml_and_jsonl_load_to_the_same_hash(tmp_path: Path) -> None:
    yaml_path = tmp_path / "set.yaml"
    yaml_path.write_text(YAML)
    jsonl_path = tmp_path / "set.jsonl"
    jsonl_path.write_text(
        '{"id": "p-2", "name": "Bob Sample", "facts": ["Bob Sample repairs clocks."]}\n'
        "\n"
        '{"id": "p-1", "name": "Ada Example", "aliases": ["A. Example"], '
        '"facts": ["Ada Example was born in Lisbon."]}\n'
    )
    from_yaml, from_jsonl = load_forget_set(yaml_path), load_forget_set(jsonl_path)
    assert len(from_yaml) == 2
    assert from_yaml.by_id("p-1").aliases == ("A. Example",)
    assert from_yaml.content_hash == from_jsonl.content_hash
    assert from_yaml.content_hash.startswith("sha256:")


def test_hash_changes_with_content(forget_set: ForgetSet) -> None:
    changed = build_forget_set(
        [*forget_set.targets[:1], forget_set.targets[1].model_copy(update={"facts": ("x",)})]
    )
    assert changed.content_hash != forget_set.content_hash


def _error(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ForgetSetError) as info:
        load_forget_set(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_yaml_error_names_line_and_field(tmp_path: Path) -> None:
    bad = YAML.replace(
        "    facts: [Bob Sample repairs clocks.]", "    facts: [Bob Sample]\n    colour: red"
    )
    message = _error(tmp_path, "bad.yaml", bad)
    assert ":12:" in message
    assert "targets.1.colour" in message


def test_yaml_blank_fact_names_its_line(tmp_path: Path) -> None:
    message = _error(tmp_path, "blank.yaml", YAML.replace("Ada Example was born in Lisbon.", '" "'))
    assert ":8:" in message
    assert "targets.0.facts" in message


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    assert ":2:" in _error(tmp_path, "syntax.yaml", "version: 1\nname: a: b\ntargets: []\n")


def test_jsonl_error_names_line_and_field(tmp_path: Path) -> None:
    message = _error(
        tmp_path, "bad.jsonl", '{"id": "a", "name": "A"}\n{"id": "b", "facts": ["secret fact"]}\n'
    )
    assert ":2:" in message
    assert "field name" in message
    assert "secret fact" not in message  # errors never echo content


def test_duplicate_ids_and_bad_ids(tmp_path: Path) -> None:
    assert "duplicate" in _error(
        tmp_path, "dup.jsonl", '{"id": "a", "name": "A"}\n{"id": "a", "name": "B"}\n'
    )
    assert "field id" in _error(tmp_path, "id.jsonl", '{"id": "has space", "name": "A"}\n')


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    assert ".yaml" in _error(tmp_path, "set.txt", "x")
    with pytest.raises(ForgetSetError, match="cannot read"):
        load_forget_set(tmp_path / "absent.yaml")


def test_names_include_aliases() -> None:
    target = Target(id="x", name="Ada", aliases=("A. E.",))
    assert target.names() == ("Ada", "A. E.")
