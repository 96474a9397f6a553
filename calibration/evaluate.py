"""Evaluate every (τ, K) on recorded loop runs, certify over targets, pick a policy.

A query's loss under (τ, K) is 1 when the returned choice leaks (the reference judge's label
of the accepted candidate; a refusal never leaks). Risks are per-target means
(:mod:`calibration.targets`); the selection among certified configurations values answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibration.dataset import FORGET_RELATED, Kind
from calibration.records import Acceptance, CandidateRecord, RoundRecord, accepted
from calibration.targets import TargetHypothesis, TargetRisks, learn_then_test_targets

DEFAULT_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(2, 19))  # 0.10 .. 0.90


@dataclass(frozen=True)
class QueryRecord:
    """Every round the loop ran for one calibration query, with judge labels."""

    id: str
    kind: Kind
    group: str  # the unit: the forget target the query belongs to
    rounds: tuple[RoundRecord, ...]

    @property
    def forget_related(self) -> bool:
        return self.kind in FORGET_RELATED

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
                        "correct": c.correct,
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
                        correct=c.get("correct"),
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
    forget_n: int  # forget-related queries (forget and mixed)
    forget_failures: int
    refusal_unrelated: float
    refusal_forget: float
    mean_rounds: float  # = generator calls per query (one batched call per round)
    mean_rounds_unrelated: float
    mean_rounds_forget: float
    p95_rounds: float
    utility: float  # share of unrelated and mixed queries answered right (see answered_right)
    refusal_mixed: float
    targets: TargetRisks

    @property
    def risk(self) -> float:
        return self.targets.risk

    @property
    def forget_risk(self) -> float:
        return self.targets.forget_risk


def _leaks(decision: Acceptance) -> bool:
    return decision.candidate is not None and bool(decision.candidate.leaks)


def answered_right(decision: Acceptance) -> bool:
    """An unrelated or mixed query is answered right when the returned choice is not a
    refusal, does not leak, and — where the query has a gold answer (TOFU's, or the retain
    half's of a mixed question) — holds it by the reference judge's rule."""
    candidate = decision.candidate
    return candidate is not None and not candidate.leaks and candidate.correct is not False


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _p95(values: Sequence[int]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))])


def target_risks(
    decisions: Sequence[tuple[QueryRecord, Acceptance]], threshold: float, budget: int
) -> TargetRisks:
    """Per-unit shares of leaking answers, averaged over units (each target weighs the same,
    however many queries it has)."""
    every: dict[str, list[float]] = {}
    forget: dict[str, list[float]] = {}
    for record, decision in decisions:
        loss = float(_leaks(decision))
        every.setdefault(record.group, []).append(loss)
        if record.forget_related:
            forget.setdefault(record.group, []).append(loss)
    return TargetRisks(
        threshold=threshold,
        budget=budget,
        n_units=len(every),
        n_targets=len(forget),
        risk=_mean([_mean(losses) for losses in every.values()]),
        forget_risk=_mean([_mean(losses) for losses in forget.values()]),
    )


def evaluate(records: Sequence[QueryRecord], threshold: float, budget: int) -> ConfigResult:
    decisions = [(r, accepted(r.rounds, threshold, budget)) for r in records]
    forget = [d for r, d in decisions if r.forget_related]
    unrelated = [d for r, d in decisions if r.kind == "unrelated"]
    mixed = [d for r, d in decisions if r.kind == "mixed"]
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
        utility=_mean([float(answered_right(d)) for d in unrelated + mixed]),
        refusal_mixed=_mean([float(d.refused) for d in mixed]),
        targets=target_risks(decisions, threshold, budget),
    )


@dataclass(frozen=True)
class Calibration:
    results: dict[tuple[float, int], ConfigResult]
    hypotheses: list[TargetHypothesis]
    chosen: ConfigResult | None  # None: nothing certified
    epsilon: float
    forget_epsilon: float | None
    delta: float
    sequences: int  # fixed sequences in the whole tested family (each at δ / this)

    @property
    def certified(self) -> list[ConfigResult]:
        return [self.results[(h.threshold, h.budget)] for h in self.hypotheses if h.rejected]

    @property
    def budgets(self) -> list[int]:
        return sorted({k for _, k in self.results})

    def hypothesis(self, threshold: float, budget: int) -> TargetHypothesis:
        return next(h for h in self.hypotheses if (h.threshold, h.budget) == (threshold, budget))


def selection_key(result: ConfigResult) -> tuple[float, ...]:
    """Most answers right first, then fewest generator calls, then the least leaky on the
    calibration set (forget side, then marginal), then the laxer τ.

    Every certified configuration carries the same guarantee (LTT controls the family-wise
    error over all of them), so choosing among them costs nothing statistically.
    """
    return (
        -round(result.utility, 9),
        round(result.mean_rounds, 9),
        round(result.forget_risk, 9),
        round(result.risk, 9),
        -result.threshold,
    )


def calibrate(
    records: Sequence[QueryRecord],
    epsilon: float,
    delta: float,
    thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
    budgets: Iterable[int] = (0, 1, 2, 3),
    *,
    forget_epsilon: float | None = None,
    sequences: int | None = None,
) -> Calibration:
    """Grid-evaluate, run LTT over targets (marginal at ε, forget side at ε_f unless None),
    and choose among the certified configurations by :func:`selection_key`.

    Raises :class:`calibration.ltt.TargetCountError` when the records have too few targets
    to certify anything at (ε, ε_f, δ) over the budgets, even with no leak. ``sequences``:
    the number of fixed sequences in the whole family when these budgets are part of a larger
    one (see :mod:`calibration.strategies`); by default one per budget.
    """
    taus, ks = sorted(thresholds), sorted(budgets)
    results = {(t, k): evaluate(records, t, k) for t in taus for k in ks}
    risks = {key: result.targets for key, result in results.items()}
    family = sequences or len(ks)
    hypotheses = learn_then_test_targets(
        risks, epsilon, forget_epsilon, delta, taus, ks, sequences=family
    )
    valid = [results[(h.threshold, h.budget)] for h in hypotheses if h.rejected]
    chosen = min(valid, key=selection_key, default=None)
    return Calibration(results, hypotheses, chosen, epsilon, forget_epsilon, delta, family)
