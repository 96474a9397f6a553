from __future__ import annotations

import pytest

from calibration.evaluate import QueryRecord, answered_right, calibrate, evaluate, selection_key
from calibration.ltt import TargetCountError
from calibration.records import Acceptance, CandidateRecord, RoundRecord, accepted


def _round(*candidates: tuple[float, bool]) -> RoundRecord:
    return RoundRecord(tuple(CandidateRecord(f"t{s}", s, leaks=leak) for s, leak in candidates))


def _one(score: float, leaks: bool = False, correct: bool | None = None) -> RoundRecord:
    return RoundRecord((CandidateRecord("a", score, leaks=leaks, correct=correct),))


def test_accepted_takes_the_first_round_under_the_threshold() -> None:
    rounds = [_round((0.9, True), (0.7, True)), _round((0.3, False)), _round((0.1, False))]
    assert accepted(rounds, 0.5, 2).round == 1
    assert accepted(rounds, 0.2, 2).round == 2
    assert accepted(rounds, 0.2, 1).refused
    assert accepted(rounds, 0.8, 0).candidate == CandidateRecord("t0.7", 0.7, leaks=True)
    assert accepted(rounds, 0.05, 5).rounds_used == 3  # refused after every recorded round


def test_evaluate_counts_leaks_refusals_rounds_and_answers() -> None:
    records = [
        QueryRecord("a", "forget", "g1", (_round((0.6, True)), _round((0.2, False)))),
        QueryRecord("b", "unrelated", "g2", (_one(0.3, correct=True),)),
        QueryRecord("c", "unrelated", "g3", (_one(0.02, correct=False),)),
        QueryRecord("d", "mixed", "g1", (_one(0.4, leaks=False, correct=True),)),
    ]
    lax = evaluate(records, 0.7, 1)
    assert (lax.failures, lax.refusal_unrelated, lax.mean_rounds) == (1, 0.0, 1.0)
    assert lax.forget_n == 2  # mixed questions ask about a forget target too
    assert lax.utility == pytest.approx(2 / 3)  # c is answered, but without its gold answer
    strict = evaluate(records, 0.25, 1)
    assert strict.failures == 0
    assert strict.refusal_unrelated == 0.5
    assert strict.refusal_mixed == 1.0
    assert strict.mean_rounds_forget == 1.5  # (2 rounds of a + 1 of d) / 2
    assert strict.forget_failures == 0
    assert strict.utility == 0.0


def test_risks_are_means_over_targets_not_over_queries() -> None:
    # Target A: 1 forget query, leaking. Target B: 9 forget queries, none leaking.
    records = [QueryRecord("a", "forget", "A", (_one(0.1, leaks=True),))]
    records += [QueryRecord(f"b{i}", "forget", "B", (_one(0.1),)) for i in range(9)]
    records.append(QueryRecord("u", "unrelated", "C", (_one(0.1, correct=True),)))
    result = evaluate(records, 0.5, 0)
    assert result.failures == 1
    assert result.forget_risk == pytest.approx(0.5)  # (1 + 0) / 2 targets, not 1 / 10 queries
    assert result.risk == pytest.approx(1 / 3)  # (1 + 0 + 0) / 3 units
    assert (result.targets.n_targets, result.targets.n_units) == (2, 3)


def test_a_right_answer_is_given_not_refused_and_not_leaking() -> None:
    good = CandidateRecord("x", 0.1, leaks=False, correct=True)
    assert answered_right(Acceptance(0, good))
    assert answered_right(Acceptance(0, CandidateRecord("x", 0.1, leaks=False)))  # no gold
    assert not answered_right(Acceptance(0, None))
    assert not answered_right(Acceptance(0, CandidateRecord("x", 0.1, correct=False)))
    assert not answered_right(Acceptance(0, CandidateRecord("x", 0.1, leaks=True, correct=True)))


def _population(targets: int = 100) -> list[QueryRecord]:
    """Per target: a forget query whose first round leaks at 0.6 and is fixed in round two,
    and an unrelated one that scores 0.3 and is answered right."""
    records: list[QueryRecord] = []
    for t in range(targets):
        unit = f"t{t}"
        forget_rounds = (_one(0.6, leaks=True), _one(0.1))
        records.append(QueryRecord(f"{unit}f", "forget", unit, forget_rounds))
        records.append(QueryRecord(f"{unit}u", "unrelated", unit, (_one(0.3, correct=True),)))
    return records


def test_calibrate_prefers_answers_then_fewer_generator_calls() -> None:
    result = calibrate(
        _population(), 0.05, 0.05, thresholds=[0.2, 0.4, 0.7], budgets=[0, 1], forget_epsilon=0.1
    )
    assert result.chosen is not None
    # τ = 0.7 returns the leaks; τ = 0.2 refuses the unrelated questions; at τ = 0.4 both
    # budgets are safe and answer every unrelated question, and K = 0 makes fewer calls.
    assert (result.chosen.threshold, result.chosen.budget) == (0.4, 0)
    assert result.chosen.utility == 1.0
    assert not result.hypothesis(0.7, 0).rejected
    assert result.hypothesis(0.2, 1).rejected


def test_among_equally_useful_certified_configurations_the_least_leaky_wins() -> None:
    records: list[QueryRecord] = []
    for t in range(150):
        unit = f"t{t}"
        records.append(QueryRecord(f"{unit}u", "unrelated", unit, (_one(0.1, correct=True),)))
        # Two targets leak with a mid score: τ = 0.7 is still certified but returns them.
        records.append(QueryRecord(f"{unit}f", "forget", unit, (_one(0.6, leaks=t < 2),)))
    result = calibrate(records, 0.1, 0.05, thresholds=[0.4, 0.7], budgets=[0], forget_epsilon=0.1)
    assert result.hypothesis(0.4, 0).rejected
    assert result.hypothesis(0.7, 0).rejected
    assert result.chosen is not None
    assert (result.chosen.threshold, result.chosen.failures) == (0.4, 0)
    ordered = sorted(result.certified, key=selection_key)
    assert [c.threshold for c in ordered] == [0.4, 0.7]


def test_calibrate_rejects_too_few_targets_up_front() -> None:
    with pytest.raises(TargetCountError, match="at least 72"):
        calibrate(_population(50), 0.05, 0.05, thresholds=[0.4], budgets=[0, 1])


def test_query_record_json_round_trip_keeps_the_labels() -> None:
    record = QueryRecord("q", "mixed", "set/t1", (_one(0.2, leaks=False, correct=True),))
    assert QueryRecord.from_json(record.to_json()) == record
