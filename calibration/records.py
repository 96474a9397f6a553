"""What one query went through in the loop, and which answer a policy (τ, K) returns.

The server's loop and the calibration share :func:`accepted`: a policy accepts the best
candidate of the first round (at most ``budget`` refinement rounds after the first) whose
leakage score is at most ``threshold``; otherwise it refuses. Recording every round once
therefore lets every (τ, K) on a grid be evaluated without generating again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Origin = Literal["generated", "redacted"]


@dataclass(frozen=True, slots=True)
class CandidateRecord:
    text: str
    score: float
    origin: Origin = "generated"
    finish_reason: str = "stop"
    leaks: bool | None = None  # the reference judge's label, filled offline
    tokens: int | None = None  # completion tokens it cost (serving's usage), when known
    correct: bool | None = None  # holds the query's gold answer (judge's rule), filled offline


@dataclass(frozen=True, slots=True)
class RoundRecord:
    candidates: tuple[CandidateRecord, ...]

    @property
    def best(self) -> CandidateRecord:
        return min(self.candidates, key=lambda c: c.score)

    @property
    def generated(self) -> int:
        return sum(1 for c in self.candidates if c.origin == "generated")


@dataclass(frozen=True, slots=True)
class Acceptance:
    """What a policy (τ, K) does with one query's rounds: accept a candidate, or refuse."""

    round: int  # 0-based round of the accepted candidate, or the rounds spent when refused
    candidate: CandidateRecord | None  # None: refuse

    @property
    def refused(self) -> bool:
        return self.candidate is None

    @property
    def rounds_used(self) -> int:
        return self.round + 1


def accepted(rounds: Sequence[RoundRecord], threshold: float, budget: int) -> Acceptance:
    """The answer policy (τ = ``threshold``, K = ``budget``) returns for these rounds."""
    limit = min(len(rounds), budget + 1)
    for number in range(limit):
        best = rounds[number].best
        if best.score <= threshold:
            return Acceptance(number, best)
    return Acceptance(max(limit - 1, 0), None)
