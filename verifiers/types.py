"""The small typed values verifiers exchange: context in, verdict out, report aggregated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Tier = Literal["lexical", "semantic", "llm"]
Aggregation = Literal["max", "mean", "noisy_or"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a verifier saw a target in the candidate. For logs and tests, never for users."""

    target_id: str
    kind: str
    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class Verdict:
    """One verifier's opinion of one candidate. ``score`` 1.0 means a certain leak."""

    name: str
    score: float
    feedback: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    latency_ms: float = 0.0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyContext:
    """What a check may look at besides the candidate: the conversation so far."""

    question: str
    history: tuple[str, ...] = ()

    @property
    def prompt_text(self) -> str:
        return "\n".join((*self.history, self.question))


@dataclass(frozen=True, slots=True)
class LeakageReport:
    """All verdicts for one candidate and the aggregated leakage score ``score``."""

    score: float
    verdicts: tuple[Verdict, ...]
    flagged: bool
    targets: tuple[str, ...] = field(default=())

    @property
    def feedback(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for verdict in self.verdicts:
            for line in verdict.feedback:
                seen.setdefault(line)
        return tuple(seen)

    @property
    def failed(self) -> bool:
        return any(v.error is not None for v in self.verdicts)
