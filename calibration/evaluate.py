"""Evaluate every (τ, K) on recorded loop runs, certify with Learn-then-Test, pick a policy."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibration.dataset import Kind
from calibration.ltt import Hypothesis, learn_then_test
from calibration.records import Acceptance, CandidateRecord, RoundRecord, accepted

DEFAULT_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(2, 19))  # 0.10 .. 0.90


@dataclass(frozen=True)
class QueryRecord:
    """Every round the loop ran for one calibration query, with judge labels."""

    id: str
    kind: Kind
    group: str
    rounds: tuple[RoundRecord, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "group": self.group,
            "rounds": [
                [
                    {
                        "text": c.text,
                        "score": c.score,
                        "origin": c.origin,
                        "finish_reason": c.finish_reason,
                        "leaks": c.leaks,
                    }
                    for c in r.candidates
                ]
                for r in self.rounds
            ],
        }

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> QueryRecord:
        rounds = tuple(
            RoundRecord(
                tuple(
                    CandidateRecord(
                        text=c["text"],
                        score=float(c["score"]),
                        origin=c.get("origin", "generated"),
                        finish_reason=c.get("finish_reason", "stop"),
                        leaks=c.get("leaks"),
                    )
                    for c in candidates
                )
            )
            for candidates in record["rounds"]
        )
        return cls(str(record["id"]), record["kind"], str(record["group"]), rounds)


def read_records(path: Path) -> list[QueryRecord]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [QueryRecord.from_json(json.loads(line)) for line in handle if line.strip()]


@dataclass(frozen=True)
class ConfigResult:
    threshold: float
    budget: int
    n: int
    failures: int  # returned answers that leak, over all queries
    forget_n: int
    forget_failures: int
    refusal_unrelated: float
    refusal_forget: float
    mean_rounds: float
    mean_rounds_unrelated: float
    mean_rounds_forget: float
    p95_rounds: float


def _leaks(decision: Acceptance) -> bool:
    return decision.candidate is not None and bool(decision.candidate.leaks)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _p95(values: Sequence[int]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))])


def evaluate(records: Sequence[QueryRecord], threshold: float, budget: int) -> ConfigResult:
    decisions = [(r, accepted(r.rounds, threshold, budget)) for r in records]
    forget = [d for r, d in decisions if r.kind == "forget"]
    unrelated = [d for r, d in decisions if r.kind == "unrelated"]
    rounds = [d.rounds_used for _, d in decisions]
    return ConfigResult(
        threshold=threshold,
        budget=budget,
        n=len(decisions),
        failures=sum(_leaks(d) for _, d in decisions),
        forget_n=len(forget),
        forget_failures=sum(_leaks(d) for d in forget),
        refusal_unrelated=_mean([float(d.refused) for d in unrelated]),
        refusal_forget=_mean([float(d.refused) for d in forget]),
        mean_rounds=_mean(rounds),
        mean_rounds_unrelated=_mean([d.rounds_used for d in unrelated]),
        mean_rounds_forget=_mean([d.rounds_used for d in forget]),
        p95_rounds=_p95(rounds),
    )


@dataclass(frozen=True)
class Calibration:
    results: dict[tuple[float, int], ConfigResult]
    hypotheses: list[Hypothesis]
    chosen: ConfigResult | None  # None: nothing certified

    @property
    def certified(self) -> list[ConfigResult]:
        return [self.results[(h.threshold, h.budget)] for h in self.hypotheses if h.rejected]

    def hypothesis(self, threshold: float, budget: int) -> Hypothesis:
        return next(h for h in self.hypotheses if (h.threshold, h.budget) == (threshold, budget))


def calibrate(
    records: Sequence[QueryRecord],
    epsilon: float,
    delta: float,
    thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
    budgets: Iterable[int] = (0, 1, 2, 3),
) -> Calibration:
    """Grid-evaluate, run LTT, and choose among the certified configurations: fewest
    refusals of unrelated queries, then fewest rounds, then fewest leaks on the calibration
    set, then the laxer threshold (it refuses forget queries least).

    Every certified configuration carries the same guarantee (LTT controls the family-wise
    error over all of them), so choosing among them costs nothing statistically; when
    several are equally useful, the one that leaked least on calibration should be served
    rather than the one that spends the whole risk budget.
    """
    taus, ks = sorted(thresholds), sorted(budgets)
    results = {(t, k): evaluate(records, t, k) for t in taus for k in ks}
    failures = {key: result.failures for key, result in results.items()}
    hypotheses = learn_then_test(failures, len(records), epsilon, delta, taus, ks)
    valid = [results[(h.threshold, h.budget)] for h in hypotheses if h.rejected]
    chosen = min(
        valid,
        key=lambda r: (
            round(r.refusal_unrelated, 9),
            round(r.mean_rounds, 9),
            r.failures,
            -r.threshold,
        ),
        default=None,
    )
    return Calibration(results, hypotheses, chosen)
