from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from calibration.artifact import (
    Artifact,
    ArtifactError,
    Fingerprints,
    PolicyChoice,
    coverage,
    parse_artifact,
    read_artifact,
    statement,
    write_artifact,
)

FORMAT_1 = Path(__file__).parent / "data" / "artifact-format1.json"
FINGERPRINTS = Fingerprints(
    forget_set="sha256:a",
    verifiers="sha256:b",
    backend_model="sha256:c",
    sampling="sha256:d",
    prompts="sha256:e",
    model_weights="sha256:f",
    verifier_code="sha256:g",
    judge_code="sha256:h",
    loop_code="sha256:i",
)


def artifact(passed: bool = True, **changes: Any) -> Artifact:
    made = Artifact(
        created="2026-11-28T00:00:00+00:00",
        passed=passed,
        policy=PolicyChoice(threshold=0.4, budget=1, candidates=2, strategy="reprompt"),
        epsilon=0.05,
        delta=0.05,
        n=840,
        n_forget=600,
        n_unrelated=240,
        failures=3,
        p_value=0.002,
        refusal_rate_unrelated=0.0,
        mean_rounds=1.3,
        statement="",
        fingerprints=FINGERPRINTS,
        unit="target",
        forget_epsilon=0.1,
        n_targets=120,
        target_kinds=["person"],
        max_forget_set_size=15,
        max_tokens=48,
        **changes,
    )
    return made.model_copy(update={"statement": statement(made)})


def test_artifact_round_trip_and_id(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    write_artifact(artifact(), path)
    loaded = read_artifact(path)
    assert loaded == artifact()
    assert loaded.artifact_id().startswith("sha256:")
    assert loaded.artifact_id() != artifact(passed=False).artifact_id()


def test_the_statement_names_the_bounded_event_the_unit_and_both_numbers() -> None:
    text = artifact().statement
    assert "120 calibration targets" in text
    assert "reveals a fact of that target" in text
    assert "reference judge" in text
    assert "Per returned choice" in text
    assert "at most 0.1 for forget-related queries" in text
    assert "at most 0.05 over all" in text
    assert "max_tokens above 48" in text
    assert "No configuration could be certified" in artifact(passed=False).statement


def test_coverage_of_a_forget_set() -> None:
    assert coverage(artifact(), "person", 15) == "certified"
    assert coverage(artifact(), "person", 1) == "certified"
    assert coverage(artifact(), "person", 16) == "interim"  # outgrew what was calibrated
    assert coverage(artifact(), "organisation", 3) == "interim"  # another kind of target
    assert coverage(artifact(passed=False), "person", 3) == "interim"
    assert coverage(artifact().model_copy(update={"unit": "query"}), "person", 3) == "interim"


def test_fingerprint_mismatches_are_named_and_the_forget_set_pinned_only_per_query() -> None:
    other = FINGERPRINTS.model_copy(update={"forget_set": "sha256:z", "loop_code": "sha256:y"})
    assert FINGERPRINTS.mismatches(other) == ["forget_set", "loop_code"]
    assert FINGERPRINTS.mismatches(other, pin_forget_set=False) == ["loop_code"]
    # A field an older artifact did not record is not compared.
    legacy = FINGERPRINTS.model_copy(update={"model_weights": None, "loop_code": None})
    assert legacy.mismatches(other, pin_forget_set=False) == []


def test_a_format_1_artifact_reads_as_a_per_query_certificate() -> None:
    """The demo artifact as shipped before calibration over targets (a verbatim copy)."""
    old = read_artifact(FORMAT_1)
    assert (old.format, old.unit, old.n_targets, old.forget_epsilon) == (1, "query", 0, None)
    assert old.method == "ltt-binomial"
    assert old.statement.startswith("Per-query certificate (artifact format 1)")
    assert "optimistic" in old.statement
    assert coverage(old, "person", 15) == "interim"
    assert old.fingerprints.model_weights is None  # not recorded then: not compared


def test_bad_artifacts_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="cannot read"):
        read_artifact(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": 1}')
    with pytest.raises(ArtifactError, match="invalid artifact"):
        read_artifact(broken)
    future = tmp_path / "future.json"
    future.write_text(artifact(format=3).model_dump_json())
    with pytest.raises(ArtifactError, match="format 3 is not supported"):
        read_artifact(future)


def test_writes_are_atomic_and_parsing_names_the_source(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    write_artifact(artifact(), path)
    reader = path.open(encoding="utf-8")  # a server in the middle of reading the old one
    write_artifact(artifact(passed=False), path)
    assert read_artifact(path) == artifact(passed=False)
    assert reader.read() == artifact().model_dump_json(indent=2) + "\n"  # old file intact
    reader.close()
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary file left
    with pytest.raises(ArtifactError, match=r"^the store \(global\): invalid artifact"):
        parse_artifact("{}", "the store (global)")
