"""Learn-then-Test over targets: the certificate holds when queries about one target are
dependent (simulated), where the old per-query binomial test does not; and what it does not
cover (targets drawn from another distribution)."""

from __future__ import annotations

import math
import random

import pytest

from calibration.evaluate import QueryRecord, calibrate
from calibration.ltt import TargetCountError, learn_then_test
from calibration.records import CandidateRecord, RoundRecord
from calibration.targets import TargetRisks, check_targets, learn_then_test_targets, p_values

THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
TARGETS, PER_TARGET = 100, 20
EPSILON = DELTA = 0.1


def _record(name: str, kind: str, unit: str, score: float, leaks: bool) -> QueryRecord:
    candidate = CandidateRecord("answer", score, leaks=leaks, correct=None if leaks else True)
    return QueryRecord(name, kind, unit, (RoundRecord((candidate,)),))  # type: ignore[arg-type]


def clustered(rng: random.Random, leaky_share: float, unrelated: int = 0) -> list[QueryRecord]:
    """TARGETS targets x PER_TARGET forget queries. A target is leaky with probability
    ``leaky_share``; then every answer about it leaks, else none does. Scores are uniform, so
    under threshold τ a leaky target's expected leak rate is τ and the true forget-side risk
    is leaky_share · τ. ``unrelated`` queries per target never leak and score below 0.6:
    a laxer τ answers more of them (the selection then prefers it)."""
    records: list[QueryRecord] = []
    for target in range(TARGETS):
        leaky = rng.random() < leaky_share
        unit = f"t{target}"
        records += [
            _record(f"{unit}-f{q}", "forget", unit, rng.random(), leaky) for q in range(PER_TARGET)
        ]
        records += [
            _record(f"{unit}-u{q}", "unrelated", unit, 0.6 * rng.random(), False)
            for q in range(unrelated)
        ]
    return records


def _violated(thresholds: list[float], leaky_share: float) -> bool:
    return any(leaky_share * t > EPSILON for t in thresholds)


def _monte_carlo_margin(rate: float, draws: int) -> float:
    return 3 * math.sqrt(max(rate * (1 - rate), 1e-12) / draws)


@pytest.mark.slow
def test_over_targets_controls_the_risk_where_the_per_query_test_fails() -> None:
    """100 targets x 20 queries, 15 % of targets leaky: every configuration with τ ≥ 0.7 has
    true forget-side risk above ε = 0.1. Over 200 draws of the calibration set, LTT over
    targets certifies one of those at most δ of the time (within Monte-Carlo error); the old
    per-query binomial test, which counts the 2,000 dependent queries as independent, does
    so far more often than δ."""
    rng = random.Random(15)
    draws, leaky_share = 200, 0.15
    over_targets = per_query = safe_certified = 0
    for _ in range(draws):
        records = clustered(rng, leaky_share)
        result = calibrate(records, EPSILON, DELTA, THRESHOLDS, budgets=[0], forget_epsilon=EPSILON)
        certified = [h.threshold for h in result.hypotheses if h.rejected]
        over_targets += _violated(certified, leaky_share)
        safe_certified += 0.1 in certified  # true risk 0.015: the test is not vacuous
        failures = {(t, 0): result.results[(t, 0)].failures for t in THRESHOLDS}
        old = learn_then_test(failures, len(records), EPSILON, DELTA, THRESHOLDS, [0])
        per_query += _violated([h.threshold for h in old if h.rejected], leaky_share)
    rate = over_targets / draws
    assert rate <= DELTA + _monte_carlo_margin(DELTA, draws)
    assert safe_certified / draws > 0.9
    old_rate = per_query / draws
    assert old_rate > DELTA + _monte_carlo_margin(DELTA, draws), old_rate


@pytest.mark.slow
def test_targets_drawn_otherwise_are_not_covered() -> None:
    """The certificate is about targets drawn like the calibration ones. Calibrate where 15 %
    of targets are leaky, then serve targets that all are (another population, or an adaptive
    attacker who finds a leaking phrasing for every target): the chosen policy's true risk on
    them exceeds ε in most draws, although it holds on the calibrated population."""
    rng = random.Random(16)
    draws, calibrated_share, shifted_share = 60, 0.15, 1.0
    certified = exceeded = 0
    for _ in range(draws):
        records = clustered(rng, calibrated_share, unrelated=2)
        result = calibrate(records, EPSILON, DELTA, THRESHOLDS, budgets=[0], forget_epsilon=EPSILON)
        if result.chosen is None:
            continue
        certified += 1
        assert calibrated_share * result.chosen.threshold <= EPSILON  # covered: holds
        exceeded += shifted_share * result.chosen.threshold > EPSILON  # shifted: fails
    assert certified > 0.9 * draws
    assert exceeded / certified > 0.5


def test_both_numbers_must_pass_and_delta_is_not_split() -> None:
    """H0 is rejected only when both p-values are at most the level, each at δ (not δ / 2)."""
    risks = {
        (0.2, 0): TargetRisks(0.2, 0, 150, 150, risk=0.0, forget_risk=0.0),
        (0.4, 0): TargetRisks(0.4, 0, 150, 150, risk=0.0, forget_risk=0.2),
    }
    results = learn_then_test_targets(risks, 0.05, 0.1, 0.05, [0.2, 0.4], [0])
    first, second = results
    assert first.rejected
    assert first.combined_p_value == max(first.p_value, first.forget_p_value)
    assert not second.rejected  # the forget side fails although the marginal one passes
    assert second.p_value <= 0.05 < second.forget_p_value
    # Zero leaks over 59 targets pass at exactly δ = 0.05, which a split of δ would not allow.
    (only,) = learn_then_test_targets(
        {(0.2, 0): TargetRisks(0.2, 0, 59, 59, 0.0, 0.0)}, 0.05, 0.05, 0.05, [0.2], [0]
    )
    assert only.rejected


def test_without_a_forget_epsilon_only_the_marginal_risk_is_tested() -> None:
    risks = TargetRisks(0.3, 1, 100, 40, risk=0.0, forget_risk=0.9)
    marginal, forget = p_values(risks, 0.05, None)
    assert forget == 0.0
    assert marginal == pytest.approx(0.95**100)


def test_too_few_targets_is_rejected_with_the_minimum() -> None:
    with pytest.raises(TargetCountError, match="at least 72 are needed"):
        check_targets(150, 60, 0.05, 0.05, 0.05, sequences=2)
    with pytest.raises(TargetCountError, match="units"):
        check_targets(10, 100, 0.05, None, 0.05, sequences=1)
    check_targets(72, 72, 0.05, 0.05, 0.05, sequences=2)
