"""The interface every refinement strategy implements: what the loop does between rounds.

After each round the loop gives the strategy what it saw (:class:`RoundView`). A strategy may
``derive`` one extra candidate from the round (redaction: the best candidate minus its flagged
sentences, verified again), and says what the next round asks the model (``next_prompt``).
Strategies never see forget-set content, only the verifiers' reports about the candidates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from calibration.records import CandidateRecord
from server.backends.base import Message
from verifiers.types import LeakageReport

Verify = Callable[[Sequence[Message], Sequence[str]], Awaitable[list[LeakageReport]]]
"""Score texts against the forget set in the context of a conversation."""


@dataclass(frozen=True, slots=True)
class RoundView:
    original: tuple[Message, ...]  # the client's conversation, as received
    candidates: Sequence[CandidateRecord]  # this round's candidates (with their scores)
    reports: Sequence[LeakageReport]  # one per candidate

    def best(self) -> int:
        """Index of the lowest-scoring candidate."""
        return min(range(len(self.candidates)), key=lambda i: self.candidates[i].score)


@dataclass(frozen=True, slots=True)
class RefinementSettings:
    refine_template: str  # the re-prompt, with a ``{feedback}`` slot
    redact_threshold: float  # sentences scoring at least this are dropped


class Refinement(Protocol):
    async def derive(
        self, view: RoundView, verify: Verify
    ) -> tuple[CandidateRecord, LeakageReport] | None:
        """An extra candidate made from this round, verified; ``None`` when there is none."""
        ...

    def next_prompt(self, view: RoundView) -> tuple[Message, ...]:
        """The conversation the next round sends to the model."""
        ...


class PromptOnly:
    """Base of strategies that only change the next prompt and derive no candidate."""

    def __init__(self, settings: RefinementSettings) -> None:
        self.settings = settings

    async def derive(
        self, view: RoundView, verify: Verify
    ) -> tuple[CandidateRecord, LeakageReport] | None:
        return None
