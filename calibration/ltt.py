"""Learn-then-Test (Angelopoulos et al., 2021): p-values, fixed-sequence testing, sample sizes.

Two families of p-values live here. The exact binomial one below is valid when the n
calibration *queries* are exchangeable — they are not when several queries ask about one
target, which is why the certificate tests over targets (:func:`hb_p_value`, used by
:mod:`calibration.targets`). The binomial test is kept for the per-query reading of old
artifacts, the simulations that show why it is not enough, and Clopper-Pearson bounds.

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
    """The per-query test: every (τ, K) with its exact binomial p-value over n queries, in
    the fixed sequence of :func:`fixed_sequence`. Valid only for exchangeable queries."""
    check_sample_size(n, epsilon, delta, len(budgets))
    p = {key: p_value(count, n, epsilon) for key, count in failures.items()}
    rejected = fixed_sequence(p, delta, thresholds, budgets)
    return [
        Hypothesis(t, k, failures[(t, k)], n, p[(t, k)], rejected[(t, k)])
        for k in budgets
        for t in sorted(thresholds)
    ]


# --- Over targets: per-target mean losses in [0, 1], Hoeffding-Bentkus ----------------------


class TargetCountError(SampleSizeError):
    """Too few calibration targets for (ε, δ): even zero leaks could not certify anything."""


def _kl_bernoulli(a: float, b: float) -> float:
    """h1(a, b) = a log(a / b) + (1 - a) log((1 - a) / (1 - b)), the Bernoulli KL divergence."""
    first = a * math.log(a / b) if a > 0.0 else 0.0
    second = (1.0 - a) * math.log((1.0 - a) / (1.0 - b)) if a < 1.0 else 0.0
    return first + second


def hb_p_value(mean: float, n: int, alpha: float) -> float:
    """Hoeffding-Bentkus p-value of H0: E[L] > alpha, from the mean of n i.i.d. losses in [0, 1].

    Bates et al. (2021), "Distribution-free, risk-controlling prediction sets", Prop. 3.5, as
    used by Learn-then-Test (Angelopoulos et al., 2021, section 3):

        p = min( exp(-n h1(min(mean, alpha), alpha)),  e * P(Bin(n, alpha) <= ceil(n mean)) )

    Hoeffding's term uses only boundedness; Bentkus's term is the binomial tail, which
    dominates every [0, 1] variable of that mean (with the factor e). Valid in finite samples:
    no asymptotics, no variance estimate. Here each loss is one *target's* leak rate, so the
    queries of one target may depend on each other in any way.
    """
    if n <= 0:
        return 1.0
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie strictly between 0 and 1")
    hoeffding = math.exp(-n * _kl_bernoulli(min(mean, alpha), alpha))
    # n * mean is a sum of rationals; the tolerance keeps 3.0000000001 from rounding up to 4.
    count = math.ceil(n * mean - 1e-9)
    bentkus = math.e * binomial_cdf(count, n, alpha)
    return min(1.0, hoeffding, bentkus)


def minimum_targets(epsilon: float, delta: float, sequences: int = 1) -> int:
    """Fewest targets at which a configuration with no leak at all is certified.

    With mean 0 the HB p-value is (1 - ε)^n (Hoeffding's term; Bentkus's is e times it), so
    n must satisfy (1 - ε)^n <= δ / sequences: n >= log(δ / sequences) / log(1 - ε).
    """
    return minimum_n(epsilon, delta / sequences)


def check_target_count(
    n_targets: int, epsilon: float, delta: float, sequences: int = 1, what: str = "targets"
) -> None:
    """Reject up front what ``n_targets`` cannot support (raises :class:`TargetCountError`)."""
    if not 0.0 < epsilon < 1.0 or not 0.0 < delta < 1.0:
        raise ValueError("epsilon and delta must lie strictly between 0 and 1")
    needed = minimum_targets(epsilon, delta, sequences)
    if n_targets < needed:
        raise TargetCountError(
            f"{n_targets} calibration {what} cannot support epsilon = {epsilon}, delta = "
            f"{delta} over {sequences} budget sequence(s): at least {needed} are needed (even "
            "with zero leaks). Add targets (the unit is the target, not the query), or raise "
            "epsilon or delta."
        )


def largest_certifiable_mean(n: int, alpha: float, level: float) -> float:
    """The largest mean loss over n targets whose HB p-value is still <= level (0 if none).

    The finite-sample correction written as a risk: a configuration is certified at ε when
    its empirical per-target risk is at most this, which sits below ε by a margin that
    shrinks roughly like sqrt(log(1 / level) / n).
    """
    if n <= 0 or hb_p_value(0.0, n, alpha) > level:
        return 0.0
    low, high = 0.0, alpha
    for _ in range(50):  # bisection: the p-value grows with the mean
        mid = (low + high) / 2
        if hb_p_value(mid, n, alpha) <= level:
            low = mid
        else:
            high = mid
    return low


def fixed_sequence(
    p_values: dict[tuple[float, int], float],
    delta: float,
    thresholds: Sequence[float],
    budgets: Sequence[int],
    sequences: int | None = None,
) -> dict[tuple[float, int], bool]:
    """Which (τ, K) are certified: per budget, thresholds from strict to lax at δ / m each,
    where m is the number of sequences tested in all (``sequences``; by default one per
    budget here: Bonferroni), a sequence stopping at its first p-value above the level."""
    level = delta / (sequences or len(budgets))
    rejected: dict[tuple[float, int], bool] = {}
    for budget in budgets:
        still_testing = True
        for threshold in sorted(thresholds):
            still_testing = still_testing and p_values[(threshold, budget)] <= level
            rejected[(threshold, budget)] = still_testing
    return rejected


def hb_upper_bound(mean: float, n: int, alpha: float) -> float:
    """One-sided (1 - alpha) upper confidence bound on E[L] from the mean of n i.i.d. losses
    in [0, 1]: the largest risk level the HB test cannot reject (1 when n is 0)."""
    if n <= 0 or mean >= 1.0:
        return 1.0
    low, high = mean, 1.0
    for _ in range(50):  # bisection: the p-value falls as the tested level rises
        mid = (low + high) / 2
        if mid >= 1.0 or hb_p_value(mean, n, mid) > alpha:
            low = mid
        else:
            high = mid
    return high
