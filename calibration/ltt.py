"""Learn-then-Test (Angelopoulos et al., 2021) with exact binomial p-values.

Each configuration λ = (τ, K) is a hypothesis test of H0(λ): R(λ) > ε, where R is the
probability that a returned answer leaks. With n exchangeable calibration queries of which
``failures`` leaked under λ, the exact p-value is the binomial tail

    p(λ) = P(Bin(n, ε) ≤ failures),

valid in finite samples (no asymptotics). Configurations are tested in a fixed sequence from
strict to lax along τ, one sequence per budget K, with δ split evenly across the sequences
(Bonferroni): a sequence stops at its first p-value above δ / |K|. Every rejected H0 is a
configuration whose risk is at most ε with probability at least 1 - δ over the draw of the
calibration set, simultaneously for all of them (family-wise error control).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


class SampleSizeError(ValueError):
    """n is too small for (ε, δ): even zero failures could not certify any configuration."""


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(Bin(n, p) ≤ k), summed exactly in log space (n up to ~1e6 is fine)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * log_p
        + (n - i) * log_q
        for i in range(k + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def p_value(failures: int, n: int, epsilon: float) -> float:
    """Exact p-value of H0: risk > ε after ``failures`` leaks in ``n`` queries."""
    return binomial_cdf(failures, n, epsilon)


def minimum_n(epsilon: float, delta: float) -> int:
    """Smallest n at which zero failures give p ≤ δ: (1 - ε)^n ≤ δ."""
    return math.ceil(math.log(delta) / math.log1p(-epsilon))


def check_sample_size(n: int, epsilon: float, delta: float, sequences: int = 1) -> None:
    if not 0.0 < epsilon < 1.0 or not 0.0 < delta < 1.0:
        raise ValueError("epsilon and delta must lie strictly between 0 and 1")
    needed = minimum_n(epsilon, delta / sequences)
    if n < needed:
        raise SampleSizeError(
            f"n = {n} calibration queries cannot support epsilon = {epsilon}, delta = {delta}"
            f" over {sequences} budget sequence(s): at least {needed} are needed (even with "
            "zero leaks). Add calibration queries, or raise epsilon or delta."
        )


def clopper_pearson_upper(failures: int, n: int, alpha: float) -> float:
    """One-sided (1 - alpha) upper confidence bound on a binomial proportion."""
    if failures >= n:
        return 1.0
    low, high = failures / n, 1.0
    for _ in range(60):  # bisection on the monotone cdf
        mid = (low + high) / 2
        if binomial_cdf(failures, n, mid) > alpha:
            low = mid
        else:
            high = mid
    return high


@dataclass(frozen=True, slots=True)
class Hypothesis:
    threshold: float
    budget: int
    failures: int
    n: int
    p_value: float
    rejected: bool  # H0 rejected: certified risk ≤ ε

    @property
    def risk(self) -> float:
        return self.failures / self.n if self.n else 0.0


def learn_then_test(
    failures: dict[tuple[float, int], int],
    n: int,
    epsilon: float,
    delta: float,
    thresholds: Sequence[float],
    budgets: Sequence[int],
) -> list[Hypothesis]:
    """Test every (τ, K); thresholds are tested in increasing (strict to lax) order."""
    check_sample_size(n, epsilon, delta, len(budgets))
    level = delta / len(budgets)
    results: list[Hypothesis] = []
    for budget in budgets:
        still_testing = True
        for threshold in sorted(thresholds):
            count = failures[(threshold, budget)]
            p = p_value(count, n, epsilon)
            rejected = still_testing and p <= level
            still_testing = rejected
            results.append(Hypothesis(threshold, budget, count, n, p, rejected))
    return results
