from __future__ import annotations

import json
from pathlib import Path

import pytest

from calibration.dataset import (
    DatasetError,
    Query,
    calibration_set_hash,
    read_dataset,
    read_queries,
    write_dataset,
)
from verifiers.forgetset import Target, load_forget_set

TARGET = Target(id="p-1", name="Orla Vantgrieve", facts=("Orla Vantgrieve was born in 1971.",))
QUERY = Query(
    id="s/p-1/direct",
    messages=(("system", "Notes: ..."), ("user", "Hi"), ("assistant", "Yes?"), ("user", "Who?")),
    reference=None,
    group="s/p-1",
    kind="mixed",
    forget_set="s",
    targets=("p-1",),
    gold=("Oslo",),
    style="mixed-0",
)


def test_query_round_trip_and_what_the_user_said() -> None:
    assert Query.from_json(QUERY.to_json()) == QUERY
    assert QUERY.question == "Who?"
    assert QUERY.user_text == "Hi\nWho?"
    assert QUERY.forget_related


def test_old_format_queries_still_read() -> None:
    old = {"id": "f10-1", "question": "Q?", "context": "notes", "reference": "gold", "group": "g"}
    query = Query.from_json(old)
    assert (query.kind, query.reference, query.targets, query.forget_set) == (
        "forget",
        ("gold",),
        (),
        None,
    )
    assert query.messages == (("system", "notes"), ("user", "Q?"))
    assert "forget_set" not in query.to_json()
    with pytest.raises(ValueError, match="unknown query kind"):
        Query.from_json({**QUERY.to_json(), "kind": "other"})


def test_dataset_directory_round_trip(tmp_path: Path) -> None:
    write_dataset(tmp_path, "demo", "person", {"s": [TARGET]}, [QUERY], {"seed": 3})
    dataset = read_dataset(tmp_path)
    assert (dataset.name, dataset.target_kind) == ("demo", "person")
    assert dataset.queries == [QUERY]
    assert load_forget_set(dataset.forget_sets["s"]).targets == (TARGET,)
    assert json.loads((tmp_path / "dataset.json").read_text())["seed"] == 3
    assert dataset.by_forget_set() == {"s": [QUERY]}
    assert read_queries(tmp_path / "queries.jsonl") == [QUERY]


def test_a_query_of_an_unknown_forget_set_is_an_error(tmp_path: Path) -> None:
    stray = Query.from_json({**QUERY.to_json(), "forget_set": "other"})
    write_dataset(tmp_path, "demo", "person", {"s": [TARGET]}, [stray])
    with pytest.raises(DatasetError, match="unknown forget set 'other'"):
        read_dataset(tmp_path)
    with pytest.raises(DatasetError, match="cannot read the dataset manifest"):
        read_dataset(tmp_path / "nowhere")


def test_calibration_set_hash_changes_with_any_query_or_forget_set() -> None:
    base = calibration_set_hash([QUERY], ["sha256:a"])
    assert base == calibration_set_hash([QUERY], ["sha256:a"])
    changed = Query.from_json({**QUERY.to_json(), "style": "other"})
    assert calibration_set_hash([changed], ["sha256:a"]) != base
    assert calibration_set_hash([QUERY], ["sha256:b"]) != base
