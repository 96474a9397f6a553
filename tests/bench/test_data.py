"""Shape checks for the hand-written verifier evaluation sets and the demo forget set.

These tests check structure only (schema, balance, sizes, the author split); whether an item
is truly a leak is a matter for review, documented in bench/data/verifiers/README.md.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from verifiers.forgetset import load_forget_set

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "bench" / "data" / "verifiers"
DEV = DATA / "paraphrase_dev.jsonl"
TEST = DATA / "paraphrase_test.jsonl"
DEMO_YAML = REPO / "deploy" / "forget-sets" / "tofu-forget10.yaml"

FIELDS = {"id", "question", "answer", "label", "target", "category", "rule"}
LABELS = {"leak", "safe"}
LEAK_CATEGORIES = {
    "paraphrase",
    "translation",
    "initials",
    "indirect",
    "spelled_name",
    "embedded",
    "biography",
}
SAFE_CATEGORIES = {
    "retain_fact",
    "general_knowledge",
    "refusal",
    "wrong_fact",
    "real_author",
    "translation_safe",
}
TARGET_RE = re.compile(r"^tofu-(\d+)$")
DEV_AUTHORS = set(range(180, 185))
TEST_AUTHORS = set(range(185, 195))
MIN_SIZE = {"dev": 60, "test": 100}


def _load(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        assert line.strip(), f"{path.name}:{number}: blank line"
        row = json.loads(line)
        assert isinstance(row, dict), f"{path.name}:{number}: not a JSON object"
        rows.append(row)
    return rows


SETS: dict[str, list[dict[str, Any]]] = {"dev": _load(DEV), "test": _load(TEST)}


def _author(target: str) -> int:
    match = TARGET_RE.match(target)
    assert match is not None, target
    return int(match.group(1))


@pytest.mark.parametrize("split", ["dev", "test"])
def test_schema(split: str) -> None:
    for row in SETS[split]:
        where = f"{split}:{row.get('id')}"
        assert set(row) == FIELDS, where
        for field in ("id", "question", "answer", "category", "rule"):
            assert isinstance(row[field], str), where
            assert row[field].strip(), where
        assert row["label"] in LABELS, where
        target = row["target"]
        assert target is None or (isinstance(target, str) and TARGET_RE.match(target)), where
        if row["label"] == "leak":
            assert target is not None, f"{where}: a leak must name its target"
            assert row["category"] in LEAK_CATEGORIES, where
        else:
            assert row["category"] in SAFE_CATEGORIES, where


@pytest.mark.parametrize("split", ["dev", "test"])
def test_size_and_balance(split: str) -> None:
    rows = SETS[split]
    assert len(rows) >= MIN_SIZE[split]
    leaks = sum(row["label"] == "leak" for row in rows)
    assert 0.4 <= leaks / len(rows) <= 0.6, f"{split}: {leaks}/{len(rows)} leaks"


@pytest.mark.parametrize("split", ["dev", "test"])
def test_every_category_present(split: str) -> None:
    seen = Counter(row["category"] for row in SETS[split])
    assert set(seen) == LEAK_CATEGORIES | SAFE_CATEGORIES


def test_author_split() -> None:
    dev = {_author(row["target"]) for row in SETS["dev"] if row["target"] is not None}
    test = {_author(row["target"]) for row in SETS["test"] if row["target"] is not None}
    assert dev <= DEV_AUTHORS, sorted(dev - DEV_AUTHORS)
    assert test <= TEST_AUTHORS, sorted(test - TEST_AUTHORS)
    assert not dev & test
    # every author of each split is covered by at least one leak
    for split, authors in (("dev", DEV_AUTHORS), ("test", TEST_AUTHORS)):
        leaked = {_author(r["target"]) for r in SETS[split] if r["label"] == "leak"}
        assert leaked == authors, f"{split}: no leak for {sorted(authors - leaked)}"


def test_unique_ids() -> None:
    ids = [row["id"] for rows in SETS.values() for row in rows]
    duplicates = [item for item, count in Counter(ids).items() if count > 1]
    assert not duplicates


def test_demo_forget_set() -> None:
    forget_set = load_forget_set(DEMO_YAML)
    assert forget_set.name == "tofu-forget10"
    assert len(forget_set) == 15
    assert [t.id for t in forget_set] == [f"tofu-{n}" for n in range(180, 195)]
    for target in forget_set:
        assert len(target.facts) == 20, target.id
        assert not target.documents, target.id
        for part in re.split(r"[\s-]+", target.name):
            assert part.casefold() not in target.id.casefold(), target.id


def test_eval_targets_exist_in_demo_forget_set() -> None:
    ids = {t.id for t in load_forget_set(DEMO_YAML)}
    for split, rows in SETS.items():
        for row in rows:
            assert row["target"] is None or row["target"] in ids, f"{split}:{row['id']}"
