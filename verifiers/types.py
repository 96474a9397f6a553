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
class Span:
    """Characters ``[start, end)`` of the candidate, as given to the check, that carry a leak
    of ``target_id``. Offsets only: refinement acts on them, nothing shows their text."""

    target_id: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Passage:
    """Characters ``[start, end)`` of conversation turn ``turn`` (an index into
    :attr:`VerifyContext.turns`) that hold a fact of ``target_id`` the candidate repeats:
    what context scrubbing removes before the next round. Offsets only, never the text."""

    target_id: str
    turn: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of the conversation before the candidate, as the verifiers see it."""

    role: str  # system | developer | user | assistant | tool
    content: str


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
    spans: tuple[Span, ...] = ()  # where in the candidate the leak is
    passages: tuple[Passage, ...] = ()  # where in the conversation the matching facts are


@dataclass(frozen=True, slots=True)
class VerifyContext:
    """What a check may look at besides the candidate: the conversation so far.

    ``question`` and ``history`` are what the *user* said (last turn, earlier turns): content
    there is known to the user, so repeating it is no news. ``turns`` is the whole
    conversation before the candidate, every role, in order (empty when only user text is
    known); :class:`Passage` offsets index into it.
    """

    question: str
    history: tuple[str, ...] = ()
    turns: tuple[Turn, ...] = ()

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

    @property
    def spans(self) -> tuple[Span, ...]:
        """Leaking spans of the candidate, for the flagged targets (all when none flagged)."""
        return tuple(
            dict.fromkeys(s for v in self.verdicts for s in v.spans if self._counts(s.target_id))
        )

    @property
    def passages(self) -> tuple[Passage, ...]:
        """Context passages holding the flagged targets' matching facts."""
        return tuple(
            dict.fromkeys(p for v in self.verdicts for p in v.passages if self._counts(p.target_id))
        )

    def _counts(self, target_id: str) -> bool:
        return not self.targets or target_id in self.targets
