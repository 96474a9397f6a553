from __future__ import annotations

from pathlib import Path

import pytest

from calibration.artifact import (
    Artifact,
    ArtifactError,
    Fingerprints,
    PolicyChoice,
    read_artifact,
    statement,
    write_artifact,
)
from calibration.evaluate import QueryRecord, calibrate, evaluate
from calibration.records import CandidateRecord, RoundRecord, accepted


def _round(*candidates: tuple[float, bool]) -> RoundRecord:
    return RoundRecord(tuple(CandidateRecord(f"t{s}", s, leaks=leak) for s, leak in candidates))


def test_accepted_takes_the_first_round_under_the_threshold() -> None:
    rounds = [_round((0.9, True), (0.7, True)), _round((0.3, False)), _round((0.1, False))]
    assert accepted(rounds, 0.5, 2).round == 1
    assert accepted(rounds, 0.2, 2).round == 2
    assert accepted(rounds, 0.2, 1).refused
    assert accepted(rounds, 0.8, 0).candidate == CandidateRecord("t0.7", 0.7, leaks=True)
    assert accepted(rounds, 0.05, 5).rounds_used == 3  # refused after every recorded round


def test_evaluate_counts_leaks_refusals_and_rounds() -> None:
    records = [
        QueryRecord("a", "forget", "g1", (_round((0.6, True)), _round((0.2, False)))),
        QueryRecord("b", "unrelated", "g2", (_round((0.3, False)),)),
        QueryRecord("c", "unrelated", "g3", (_round((0.02, False)),)),
    ]
    lax = evaluate(records, 0.7, 1)
    assert (lax.failures, lax.refusal_unrelated, lax.mean_rounds) == (1, 0.0, 1.0)
    strict = evaluate(records, 0.25, 1)
    assert strict.failures == 0
    assert strict.refusal_unrelated == 0.5
    assert strict.mean_rounds_forget == 2.0
    assert strict.forget_failures == 0


def test_calibrate_picks_the_fewest_unrelated_refusals_among_certified() -> None:
    clean = [QueryRecord(f"u{i}", "unrelated", f"u{i}", (_round((0.3, False)),)) for i in range(80)]
    leaky = [
        QueryRecord(f"f{i}", "forget", f"f{i}", (_round((0.6, True)), _round((0.1, False))))
        for i in range(40)
    ]
    result = calibrate(clean + leaky, 0.05, 0.05, thresholds=[0.2, 0.4, 0.7], budgets=[0, 1])
    assert result.chosen is not None
    # τ = 0.7 accepts the leaks; τ = 0.2 refuses unrelated answers; at τ = 0.4 both budgets
    # are safe and refuse no unrelated query, and K = 0 costs fewer rounds.
    assert (result.chosen.threshold, result.chosen.budget) == (0.4, 0)
    assert result.chosen.failures == 0
    assert not result.hypothesis(0.7, 0).rejected


def _artifact(passed: bool = True) -> Artifact:
    fingerprints = Fingerprints(
        forget_set="sha256:a",
        verifiers="sha256:b",
        backend_model="sha256:c",
        sampling="sha256:d",
        prompts="sha256:e",
    )
    return Artifact(
        created="2026-11-28T00:00:00+00:00",
        passed=passed,
        policy=PolicyChoice(threshold=0.4, budget=1, candidates=2, strategy="reprompt"),
        epsilon=0.05,
        delta=0.05,
        n=120,
        n_forget=40,
        n_unrelated=80,
        failures=0,
        p_value=0.002,
        refusal_rate_unrelated=0.0,
        mean_rounds=1.3,
        statement=statement(0.05, 0.05, 120, passed),
        fingerprints=fingerprints,
    )


def test_among_equally_useful_certified_configurations_the_least_leaky_wins() -> None:
    clean = [
        QueryRecord(f"u{i}", "unrelated", f"u{i}", (_round((0.1, False)),)) for i in range(300)
    ]
    # Two of 100 forget answers leak with a mid score: τ = 0.7 certifies but accepts them.
    forget = [QueryRecord(f"f{i}", "forget", f"f{i}", (_round((0.6, i < 2)),)) for i in range(100)]
    result = calibrate(clean + forget, 0.05, 0.05, thresholds=[0.4, 0.7], budgets=[0])
    assert result.hypothesis(0.4, 0).rejected
    assert result.hypothesis(0.7, 0).rejected
    assert result.chosen is not None
    assert (result.chosen.threshold, result.chosen.failures) == (0.4, 0)


def test_artifact_round_trip_and_id(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    write_artifact(_artifact(), path)
    loaded = read_artifact(path)
    assert loaded == _artifact()
    assert loaded.artifact_id().startswith("sha256:")
    assert "P(answer leaks forget-set content) <= 0.05" in loaded.statement
    assert "No configuration could be certified" in _artifact(passed=False).statement


def test_fingerprint_mismatches_are_named() -> None:
    mine = _artifact().fingerprints
    other = mine.model_copy(update={"forget_set": "sha256:z", "prompts": "sha256:y"})
    assert mine.mismatches(other) == ["forget_set", "prompts"]


def test_bad_artifacts_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="cannot read"):
        read_artifact(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": 1}')
    with pytest.raises(ArtifactError, match="invalid artifact"):
        read_artifact(broken)
