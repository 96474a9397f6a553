"""Learn-then-Test over forget targets, with two certified numbers.

The exchangeable unit is the forget target, not the query: queries about one target share
its facts, its notes and its name, so their losses are dependent, and a test that counts
them as independent certifies too much (``tests/calibration/test_targets.py`` measures it).
For a configuration λ = (τ, K) and a calibration target j, let

    L_f,j(λ) = share of j's forget-related queries whose returned choice leaks a fact of j
    L_j(λ)   = share of *all* of j's queries (forget-related, mixed and unrelated) that leak.

Each is a number in [0, 1], one per target; targets drawn i.i.d. give i.i.d. numbers, however
the queries of one target depend on each other. The two risks certified are their means:

    R_f(λ) = E_j[L_f,j(λ)] <= ε_f   (forget-side: what users care about)
    R(λ)   = E_j[L_j(λ)]   <= ε     (marginal over the calibration traffic mix)

Each mean is tested with the Hoeffding-Bentkus p-value (:func:`calibration.ltt.hb_p_value`)
over the n_f targets that have forget-related queries and the n units that have queries.
H0(λ) is "R_f(λ) > ε_f or R(λ) > ε"; the maximum of the two p-values is a valid p-value for
it (an intersection-union test), so δ is not split between the two numbers. LTT then tests
λ in a fixed sequence from strict to lax τ per budget K, at δ / m each (Bonferroni over the
m sequences: one per K, or per (strategy, K) when several refinement strategies are
calibrated, :mod:`calibration.strategies`). With probability at least 1 - δ over the draw of
the calibration targets, every certified λ has both risks at or below their levels
simultaneously.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from calibration.ltt import check_target_count, fixed_sequence, hb_p_value


@dataclass(frozen=True, slots=True)
class TargetRisks:
    """One configuration's per-target risks on the calibration set."""

    threshold: float
    budget: int
    n_units: int  # units (targets) with any query: the marginal risk's sample size
    n_targets: int  # targets with forget-related queries: the forget-side risk's sample size
    risk: float  # mean over units of the share of their queries whose answer leaks
    forget_risk: float  # mean over targets of the share of their forget-related queries


@dataclass(frozen=True, slots=True)
class TargetHypothesis:
    threshold: float
    budget: int
    risk: float
    forget_risk: float
    p_value: float  # marginal: H0 R > ε
    forget_p_value: float  # forget-side: H0 R_f > ε_f (0 when ε_f is not tested)
    rejected: bool  # both H0 rejected inside the fixed sequence: certified

    @property
    def combined_p_value(self) -> float:
        return max(self.p_value, self.forget_p_value)


def p_values(
    risks: TargetRisks, epsilon: float, forget_epsilon: float | None
) -> tuple[float, float]:
    """(marginal, forget-side) HB p-values of one configuration."""
    marginal = hb_p_value(risks.risk, risks.n_units, epsilon)
    if forget_epsilon is None:
        return marginal, 0.0
    return marginal, hb_p_value(risks.forget_risk, risks.n_targets, forget_epsilon)


def check_targets(
    n_units: int,
    n_targets: int,
    epsilon: float,
    forget_epsilon: float | None,
    delta: float,
    sequences: int,
) -> None:
    """Reject up front a calibration set too small to certify anything, even with no leak
    (:class:`calibration.ltt.TargetCountError`, with the minimum number in the message)."""
    check_target_count(n_units, epsilon, delta, sequences, "units (targets)")
    if forget_epsilon is not None:
        check_target_count(n_targets, forget_epsilon, delta, sequences, "forget targets")


def learn_then_test_targets(
    risks: Mapping[tuple[float, int], TargetRisks],
    epsilon: float,
    forget_epsilon: float | None,
    delta: float,
    thresholds: Sequence[float],
    budgets: Sequence[int],
    sequences: int | None = None,
) -> list[TargetHypothesis]:
    """Every (τ, K) tested over targets; ordered by budget, then threshold (strict first).

    ``sequences`` is the number of fixed sequences tested in all, when these budgets are only
    part of a larger family (several refinement strategies): each is tested at δ / that.
    """
    any_risks = next(iter(risks.values()))
    family = sequences or len(budgets)
    check_targets(any_risks.n_units, any_risks.n_targets, epsilon, forget_epsilon, delta, family)
    pairs = {key: p_values(r, epsilon, forget_epsilon) for key, r in risks.items()}
    combined = {key: max(pair) for key, pair in pairs.items()}
    rejected = fixed_sequence(combined, delta, thresholds, budgets, family)
    return [
        TargetHypothesis(
            threshold=t,
            budget=k,
            risk=risks[(t, k)].risk,
            forget_risk=risks[(t, k)].forget_risk,
            p_value=pairs[(t, k)][0],
            forget_p_value=pairs[(t, k)][1],
            rejected=rejected[(t, k)],
        )
        for k in budgets
        for t in sorted(thresholds)
    ]
