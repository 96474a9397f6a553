"""Several refinement strategies calibrated as one family of hypotheses."""

from __future__ import annotations

import pytest

from calibration.evaluate import QueryRecord
from calibration.ltt import TargetCountError
from calibration.records import CandidateRecord, RoundRecord
from calibration.strategies import calibrate_strategies, family_size

THRESHOLDS = (0.2, 0.5)


def _one(score: float, leaks: bool = False, correct: bool | None = None) -> RoundRecord:
    return RoundRecord((CandidateRecord("a", score, leaks=leaks, correct=correct),))


def _mixed_population(fixed_in_round_two: bool, targets: int = 150) -> list[QueryRecord]:
    """Per target: a mixed question whose first answer leaks (score 0.6); the refinement
    either fixes it (an answer that keeps the retain half, 0.1) or does not (0.6 again), and
    an unrelated question answered right at once."""
    second = _one(0.1, correct=True) if fixed_in_round_two else _one(0.6, leaks=True)
    records: list[QueryRecord] = []
    for t in range(targets):
        unit = f"t{t}"
        rounds = (_one(0.6, leaks=True, correct=True), second)
        records.append(QueryRecord(f"{unit}m", "mixed", unit, rounds))
        records.append(QueryRecord(f"{unit}u", "unrelated", unit, (_one(0.1, correct=True),)))
    return records


def test_family_size_counts_k0_once() -> None:
    assert family_size(1, [0, 1, 2]) == 3
    assert family_size(3, [0, 1, 2]) == 7  # K = 0 once, then 3 strategies x 2 budgets
    assert family_size(3, [0]) == 1
    assert family_size(2, [1, 2]) == 4


def test_the_strategy_whose_refinement_works_is_chosen() -> None:
    grid = calibrate_strategies(
        {
            "reprompt": _mixed_population(fixed_in_round_two=False),
            "scrub": _mixed_population(fixed_in_round_two=True),
        },
        epsilon=0.1,
        delta=0.05,
        thresholds=THRESHOLDS,
        budgets=[0, 1],
        forget_epsilon=0.1,
    )
    assert grid.chosen_strategy == "scrub"
    chosen = grid.chosen_config
    assert chosen is not None
    assert (chosen.threshold, chosen.budget) == (0.5, 1)
    assert chosen.utility == pytest.approx(1.0)  # mixed questions answered, not refused
    # K = 0 is tested once, on the first strategy's records; the others test K >= 1 only.
    assert {h.budget for h in grid.calibrations["scrub"].hypotheses} == {1}
    assert {h.budget for h in grid.calibrations["reprompt"].hypotheses} == {0, 1}
    assert all(c.sequences == 3 for c in grid.calibrations.values())


def test_every_sequence_is_tested_at_delta_over_the_whole_family() -> None:
    # 30 clean targets: the HB p-value of a zero risk at ε = 0.1 is 0.9 ** 30 ≈ 0.042
    # (Hoeffding's term), below δ / 1 = 0.05 for one sequence, above δ / 3 for a family of 3.
    population = _mixed_population(fixed_in_round_two=True, targets=30)
    alone = calibrate_strategies(
        {"scrub": population}, 0.1, 0.05, THRESHOLDS, budgets=[1], forget_epsilon=0.1
    )
    assert alone.chosen_config is not None
    # A family of three cannot certify anything from 30 targets, even with no leak: rejected
    # up front, with the number of targets it would need.
    with pytest.raises(TargetCountError, match="at least 39 are needed"):
        calibrate_strategies(
            {"reprompt": population, "scrub": population, "ban": population},
            0.1,
            0.05,
            THRESHOLDS,
            budgets=[1],
            forget_epsilon=0.1,
        )


def test_no_records_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one strategy"):
        calibrate_strategies({}, 0.1, 0.05)
