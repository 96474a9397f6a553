"""Calibrate several refinement strategies at once: one family of hypotheses, one choice.

Each strategy's loop is recorded on the same queries (its first round is the same request,
so the same candidates: a budget K = 0 never refines and does not depend on the strategy).
The family tested is therefore one fixed sequence over τ for K = 0, plus one per (strategy,
K) for every K >= 1, and every sequence is tested at δ / m with m their number (Bonferroni):

    m = [0 in budgets] + |strategies| x |{K in budgets : K >= 1}|

so with probability at least 1 - δ every certified (strategy, τ, K) has both risks at or below
their levels at once, and choosing among all of them, across strategies, costs nothing more.
The choice is :func:`calibration.evaluate.selection_key` (most answers right, then fewest
generator calls, ...); on a full tie the strategy listed first wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from calibration.artifact import Strategy
from calibration.evaluate import (
    DEFAULT_THRESHOLDS,
    Calibration,
    ConfigResult,
    QueryRecord,
    calibrate,
    selection_key,
)


def family_size(strategies: int, budgets: Iterable[int]) -> int:
    """How many fixed sequences a grid of ``strategies`` x ``budgets`` tests."""
    ks = set(budgets)
    return (1 if 0 in ks else 0) + strategies * sum(1 for k in ks if k >= 1)


@dataclass(frozen=True)
class StrategyGrid:
    """Every strategy's calibration (all tested as one family) and the chosen one."""

    calibrations: dict[Strategy, Calibration]
    chosen_strategy: Strategy  # the first strategy when nothing was certified

    @property
    def chosen(self) -> Calibration:
        return self.calibrations[self.chosen_strategy]

    @property
    def chosen_config(self) -> ConfigResult | None:
        return self.chosen.chosen


def calibrate_strategies(
    records: Mapping[Strategy, Sequence[QueryRecord]],
    epsilon: float,
    delta: float,
    thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
    budgets: Iterable[int] = (0, 1, 2, 3),
    *,
    forget_epsilon: float | None = None,
) -> StrategyGrid:
    """Test every (strategy, τ, K) as one family; K = 0 is tested once, on the records of the
    first strategy (it never reaches a refinement)."""
    if not records:
        raise ValueError("calibrate_strategies needs the records of at least one strategy")
    order = list(records)
    ks = sorted(set(budgets))
    taus = sorted(thresholds)
    family = family_size(len(order), ks)
    calibrations: dict[Strategy, Calibration] = {}
    for index, strategy in enumerate(order):
        tested = ks if index == 0 else [k for k in ks if k >= 1]
        if not tested:
            continue
        calibrations[strategy] = calibrate(
            records[strategy],
            epsilon,
            delta,
            taus,
            tested,
            forget_epsilon=forget_epsilon,
            sequences=family,
        )
    picks = [
        (selection_key(c.chosen), order.index(s), s)
        for s, c in calibrations.items()
        if c.chosen is not None
    ]
    chosen = min(picks)[2] if picks else order[0]
    return StrategyGrid(calibrations, chosen)
