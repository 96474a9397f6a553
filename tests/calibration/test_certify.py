"""Records -> artifact and report: both numbers, the unit, what was calibrated on."""

from __future__ import annotations

from pathlib import Path

from calibration.artifact import Fingerprints, coverage, read_artifact
from calibration.certify import CalibrateOptions, Provenance, certify
from calibration.evaluate import QueryRecord
from calibration.records import CandidateRecord, RoundRecord

FINGERPRINTS = Fingerprints(
    forget_set="sha256:a", verifiers="sha256:b", backend_model="sha256:c", sampling="sha256:d",
    prompts="sha256:e", model_weights="sha256:f", verifier_code="sha256:g",
    judge_code="sha256:h", loop_code="sha256:i",
)  # fmt: skip
PROVENANCE = Provenance(
    calibration_set="sha256:set",
    forget_sets=("sha256:fs1", "sha256:fs2"),
    target_kinds=("person",),
    max_forget_set_size=15,
    max_tokens=48,
)


def _one(score: float, leaks: bool = False, correct: bool | None = None) -> RoundRecord:
    return RoundRecord((CandidateRecord("a", score, leaks=leaks, correct=correct),))


def _records(targets: int, leaky: int) -> list[QueryRecord]:
    records: list[QueryRecord] = []
    for t in range(targets):
        unit = f"s/t{t}"
        rounds = (_one(0.5, leaks=t < leaky), _one(0.1))
        records.append(QueryRecord(f"{unit}/f", "forget", unit, rounds))
        records.append(QueryRecord(f"{unit}/u", "unrelated", unit, (_one(0.2, correct=True),)))
    return records


def _options(tmp_path: Path, **changes: object) -> CalibrateOptions:
    base = CalibrateOptions(artifact=tmp_path / "a.json", report=tmp_path / "r.md", max_budget=1)
    return CalibrateOptions(**{**base.__dict__, **changes})


def test_certify_writes_both_numbers_and_what_it_was_calibrated_on(tmp_path: Path) -> None:
    options = _options(tmp_path, epsilon=0.1, forget_epsilon=0.1)
    made = certify(_records(120, leaky=2), options, FINGERPRINTS, PROVENANCE)
    assert made == read_artifact(options.artifact)
    assert made.passed
    assert (made.unit, made.method, made.format) == ("target", "ltt-hb-targets", 2)
    assert (made.n, made.n_targets, made.n_forget, made.n_unrelated) == (240, 120, 120, 120)
    assert (made.epsilon, made.forget_epsilon, made.max_tokens) == (0.1, 0.1, 48)
    assert made.target_kinds == ["person"]
    assert made.max_forget_set_size == 15
    assert made.calibration_set == "sha256:set"
    assert made.forget_sets == ["sha256:fs1", "sha256:fs2"]
    # Every τ from 0.2 up answers the unrelated questions in one call at K = 0; τ >= 0.5 also
    # returns the 2 leaking answers (still certified: 1.7 % of targets), so the laxest τ that
    # leaks nothing wins, and K = 0 over K = 1 (same answers, fewer calls).
    assert (made.policy.threshold, made.policy.budget) == (0.45, 0)
    assert made.forget_risk == 0.0
    assert next(g for g in made.grid if (g["threshold"], g["budget"]) == (0.5, 0))["certified"]
    assert made.p_value == max(made.forget_p_value or 0.0, made.p_value)
    assert made.utility == 1.0
    assert coverage(made, "person", 15) == "certified"
    assert {"risk", "forget_risk", "forget_p_value", "marginal_p_value", "utility"} <= set(
        made.grid[0]
    )
    report = options.report.read_text(encoding="utf-8")
    assert "Learn-then-Test over targets" in report
    assert "| τ | leaks | forget risk |" in report
    assert "120 forget targets" in report


def test_nothing_certified_gives_a_refusing_policy(tmp_path: Path) -> None:
    records = [
        QueryRecord(f"s/t{t}/f", "forget", f"s/t{t}", (_one(0.05, leaks=True),)) for t in range(120)
    ]
    made = certify(records, _options(tmp_path, epsilon=0.1), FINGERPRINTS, PROVENANCE)
    assert not made.passed
    assert (made.policy.threshold, made.policy.budget) == (0.0, 0)
    assert made.statement.startswith("No configuration could be certified")
    assert coverage(made, "person", 1) == "interim"
