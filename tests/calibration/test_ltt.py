from __future__ import annotations

import math
import random

import pytest

from calibration.ltt import (
    SampleSizeError,
    TargetCountError,
    binomial_cdf,
    check_sample_size,
    check_target_count,
    clopper_pearson_upper,
    fixed_sequence,
    hb_p_value,
    hb_upper_bound,
    largest_certifiable_mean,
    learn_then_test,
    minimum_n,
    minimum_targets,
    p_value,
)


def test_binomial_cdf_hand_worked() -> None:
    assert binomial_cdf(0, 10, 0.5) == pytest.approx(1 / 1024)
    assert binomial_cdf(1, 3, 0.2) == pytest.approx(0.8**3 + 3 * 0.2 * 0.8**2)
    assert binomial_cdf(3, 3, 0.2) == 1.0
    assert binomial_cdf(-1, 3, 0.2) == 0.0
    # Large n stays finite and accurate: mean 50, P(X <= 50) a bit above one half.
    assert 0.5 < binomial_cdf(50, 1000, 0.05) < 0.56


def test_p_value_is_the_binomial_tail() -> None:
    assert p_value(0, 59, 0.05) == pytest.approx(0.95**59)
    assert p_value(0, 59, 0.05) <= 0.05 < p_value(0, 58, 0.05)


def test_minimum_n_and_rejection_message() -> None:
    assert minimum_n(0.05, 0.05) == 59
    assert minimum_n(0.05, 0.05 / 4) == math.ceil(math.log(0.0125) / math.log(0.95))
    with pytest.raises(SampleSizeError, match="at least 59"):
        check_sample_size(58, 0.05, 0.05)
    check_sample_size(59, 0.05, 0.05)
    with pytest.raises(SampleSizeError, match="at least 86"):
        check_sample_size(80, 0.05, 0.05, sequences=4)


def test_clopper_pearson_upper_bound() -> None:
    # Zero failures: the exact bound solves (1 - p)^n = alpha.
    assert clopper_pearson_upper(0, 100, 0.05) == pytest.approx(1 - 0.05 ** (1 / 100), abs=1e-9)
    assert clopper_pearson_upper(100, 100, 0.05) == 1.0
    assert clopper_pearson_upper(5, 100, 0.05) > 0.05


def test_fixed_sequence_stops_at_the_first_non_rejection() -> None:
    n, eps, delta = 200, 0.05, 0.05
    failures = {(0.1, 0): 0, (0.2, 0): 30, (0.3, 0): 0}  # 0.3 would pass alone, but comes later
    results = learn_then_test(failures, n, eps, delta, [0.3, 0.1, 0.2], [0])
    assert [(h.threshold, h.rejected) for h in results] == [(0.1, True), (0.2, False), (0.3, False)]


def test_bonferroni_across_budgets() -> None:
    # 4 failures in 200 pass at delta = 0.05 but not at 0.05 / 2.
    n, eps = 200, 0.05
    p = p_value(4, n, eps)
    assert 0.025 < p <= 0.05
    one = learn_then_test({(0.1, 0): 4}, n, eps, 0.05, [0.1], [0])
    two = learn_then_test({(0.1, 0): 4, (0.1, 1): 4}, n, eps, 0.05, [0.1], [0, 1])
    assert one[0].rejected
    assert not any(h.rejected for h in two)


def test_family_wise_error_is_controlled_on_synthetic_data() -> None:
    """Exchangeable data with known risks: the chance that LTT certifies any configuration
    whose true risk exceeds epsilon stays at or below delta (allowing Monte Carlo error)."""
    rng = random.Random(7)
    eps, delta, n, draws = 0.1, 0.1, 150, 1500
    thresholds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    budgets = [0, 1]
    # True risk grows with the threshold and the budget; some configurations sit just above
    # epsilon, where a careless procedure would often certify them.
    risk = {(t, k): min(1.0, 0.25 * t + 0.01 * k) for t in thresholds for k in budgets}
    bad = certified_safe = 0
    for _ in range(draws):
        u = [rng.random() for _ in range(n)]  # shared latent: losses nested like real ones
        failures = {key: sum(x < r for x in u) for key, r in risk.items()}
        results = learn_then_test(failures, n, eps, delta, thresholds, budgets)
        if any(h.rejected and risk[(h.threshold, h.budget)] > eps for h in results):
            bad += 1
        certified_safe += results[0].rejected  # (0.1, K=0): true risk 0.025
    rate = bad / draws
    monte_carlo = 3 * math.sqrt(delta * (1 - delta) / draws)
    assert rate <= delta + monte_carlo
    # ... and it is not vacuous: a clearly safe configuration is certified most of the time.
    assert certified_safe / draws > 0.8


def test_hb_p_value_hand_worked() -> None:
    # Mean 0: Hoeffding's term (1 - alpha)^n is the smaller one.
    assert hb_p_value(0.0, 100, 0.1) == pytest.approx(0.9**100)
    # Mean at or above alpha: no evidence against H0.
    assert hb_p_value(0.1, 100, 0.1) == 1.0
    assert hb_p_value(0.5, 100, 0.1) == 1.0
    # In between: the smaller of exp(-n h1(mean, alpha)) and e P(Bin(n, alpha) <= ceil(n mean)).
    mean, n, alpha = 0.03, 200, 0.1
    h1 = mean * math.log(mean / alpha) + (1 - mean) * math.log((1 - mean) / (1 - alpha))
    expected = min(math.exp(-n * h1), math.e * binomial_cdf(6, n, alpha))
    assert hb_p_value(mean, n, alpha) == pytest.approx(expected)
    assert hb_p_value(0.0, 0, 0.1) == 1.0


def test_hb_p_value_grows_with_the_mean_and_is_never_below_the_exact_binomial() -> None:
    n, alpha = 150, 0.1
    values = [hb_p_value(k / n, n, alpha) for k in range(0, 16)]
    assert values == sorted(values)
    for k in range(0, 16):  # for 0/1 losses the exact test is the tightest valid one
        assert hb_p_value(k / n, n, alpha) >= p_value(k, n, alpha) * (1 - 1e-12)


def test_hb_p_value_is_valid_for_bounded_losses() -> None:
    """Losses in [0, 1] with mean exactly alpha (the boundary of H0): P(p <= level) <= level."""
    rng = random.Random(3)
    n, alpha, level, draws = 80, 0.1, 0.1, 3000
    # Per-target leak rates: most targets never leak, a few leak often (mean 0.1).
    rejected = 0
    for _ in range(draws):
        losses = [rng.betavariate(0.2, 1.8) for _ in range(n)]
        rejected += hb_p_value(sum(losses) / n, n, alpha) <= level
    assert rejected / draws <= level + 3 * math.sqrt(level * (1 - level) / draws)


def test_minimum_targets_and_the_largest_certifiable_mean() -> None:
    assert minimum_targets(0.05, 0.05) == 59
    assert minimum_targets(0.1, 0.05, sequences=3) == math.ceil(math.log(0.05 / 3) / math.log(0.9))
    with pytest.raises(TargetCountError, match="at least 59 are needed"):
        check_target_count(58, 0.05, 0.05)
    # The finite-sample correction: with 120 targets at ε = 0.1 and δ / 3, a per-target mean
    # up to about 0.033 is certified; nothing is below the minimum number of targets.
    margin = largest_certifiable_mean(120, 0.1, 0.05 / 3)
    assert 0.02 < margin < 0.05
    assert hb_p_value(margin, 120, 0.1) <= 0.05 / 3 < hb_p_value(margin + 0.005, 120, 0.1)
    assert largest_certifiable_mean(20, 0.1, 0.05) == 0.0


def test_fixed_sequence_takes_p_values() -> None:
    p = {(0.1, 0): 0.001, (0.2, 0): 0.2, (0.3, 0): 0.001, (0.1, 1): 0.02, (0.2, 1): 0.03}
    p[(0.3, 1)] = 0.001
    rejected = fixed_sequence(p, 0.05, [0.3, 0.2, 0.1], [0, 1])
    assert rejected == {
        (0.1, 0): True,
        (0.2, 0): False,
        (0.3, 0): False,
        (0.1, 1): True,  # 0.02 <= 0.05 / 2
        (0.2, 1): False,
        (0.3, 1): False,
    }


def test_hb_upper_bound_inverts_the_test() -> None:
    bound = hb_upper_bound(0.02, 120, 0.05)
    assert 0.02 < bound < 0.2
    assert hb_p_value(0.02, 120, bound * 1.01) <= 0.05 < hb_p_value(0.02, 120, bound * 0.99)
    assert hb_upper_bound(0.0, 120, 0.05) == pytest.approx(1 - 0.05 ** (1 / 120), rel=1e-3)
    assert hb_upper_bound(0.1, 0, 0.05) == 1.0
    assert hb_upper_bound(0.02, 400, 0.05) < bound  # more targets, tighter
