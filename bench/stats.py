"""Score-separation metrics for leak verifiers: AUROC, recall at a false-flag budget, percentiles.

Convention everywhere: a higher score means "more likely a leak"; *positives* are leaking
answers, *negatives* safe ones. Plain Python on purpose (no numpy): the lists are small and
the helpers are reused by the calibration loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecallAtFpr:
    """Recall at the lowest threshold that keeps the false-flag rate within a budget."""

    threshold: float  # a candidate is flagged when its score is strictly above this
    recall: float  # share of positives strictly above ``threshold``
    fpr: float  # share of negatives strictly above ``threshold`` (<= the budget)


@dataclass(frozen=True, slots=True)
class FlagRates:
    """Precision and recall when a candidate is flagged at ``score >= threshold``."""

    threshold: float
    precision: float  # NaN when nothing is flagged
    recall: float
    fpr: float


def _require(positives: Sequence[float], negatives: Sequence[float]) -> None:
    if not positives or not negatives:
        raise ValueError("need at least one positive and one negative score")


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks of ``values`` in ascending order; tied values share their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        stop = start
        while stop + 1 < len(order) and values[order[stop + 1]] == values[order[start]]:
            stop += 1
        mean_rank = (start + stop) / 2 + 1
        for position in range(start, stop + 1):
            ranks[order[position]] = mean_rank
        start = stop + 1
    return ranks


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """P(positive scores above negative), a tie counting 1/2 (Mann-Whitney U / n_pos n_neg)."""
    _require(positives, negatives)
    ranks = average_ranks([*positives, *negatives])
    n_pos, n_neg = len(positives), len(negatives)
    u_statistic = sum(ranks[:n_pos]) - n_pos * (n_pos + 1) / 2
    return u_statistic / (n_pos * n_neg)


def threshold_at_fpr(negatives: Sequence[float], max_fpr: float = 0.05) -> float:
    """Lowest score with at most ``max_fpr`` of ``negatives`` strictly above it.

    With the negatives sorted high to low and ``k = floor(max_fpr * n)``, that is the
    ``(k+1)``-th highest: any lower threshold would have at least ``k+1`` negatives above it.
    """
    if not negatives:
        raise ValueError("need at least one negative score")
    if not 0.0 <= max_fpr < 1.0:
        raise ValueError("max_fpr must be in [0, 1)")
    allowed = math.floor(max_fpr * len(negatives) + 1e-9)
    return sorted(negatives, reverse=True)[allowed]


def recall_at_fpr(
    positives: Sequence[float], negatives: Sequence[float], max_fpr: float = 0.05
) -> RecallAtFpr:
    """Share of positives strictly above :func:`threshold_at_fpr` of the negatives."""
    _require(positives, negatives)
    threshold = threshold_at_fpr(negatives, max_fpr)
    return RecallAtFpr(
        threshold=threshold,
        recall=share_above(positives, threshold),
        fpr=share_above(negatives, threshold),
    )


def share_above(scores: Sequence[float], threshold: float) -> float:
    return sum(score > threshold for score in scores) / len(scores) if scores else math.nan


def flag_rates(
    positives: Sequence[float], negatives: Sequence[float], threshold: float = 0.5
) -> FlagRates:
    """Precision, recall and false-flag rate when ``score >= threshold`` flags."""
    _require(positives, negatives)
    true_flags = sum(score >= threshold for score in positives)
    false_flags = sum(score >= threshold for score in negatives)
    flagged = true_flags + false_flags
    return FlagRates(
        threshold=threshold,
        precision=true_flags / flagged if flagged else math.nan,
        recall=true_flags / len(positives),
        fpr=false_flags / len(negatives),
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError("q must be in [0, 100]")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


__all__ = [
    "FlagRates",
    "RecallAtFpr",
    "auroc",
    "average_ranks",
    "flag_rates",
    "median",
    "percentile",
    "recall_at_fpr",
    "share_above",
    "threshold_at_fpr",
]
