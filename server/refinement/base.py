"""The interface every refinement strategy implements: what the loop does between rounds.

After each round the loop gives the strategy what it saw (:class:`RoundView`). A strategy may
``derive`` one extra candidate from the round (redaction: the best candidate minus its flagged
spans, verified again), and says what the next round sends (:meth:`Refinement.next_round`): the
conversation, and tokens to push away with ``logit_bias``. Strategies never read the forget set:
they act on the verifiers' reports — which targets, which spans of the candidate, which context
passages — and on the candidates' own text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from calibration.records import CandidateRecord
from server.backends.base import Message
from verifiers.types import LeakageReport

Verify = Callable[[Sequence[Message], Sequence[str]], Awaitable[list[LeakageReport]]]
"""Score texts against the forget set in the context of a conversation."""
Bias = tuple[tuple[int, float], ...]
"""``logit_bias`` entries: (token id, bias), sorted by token id."""


@runtime_checkable
class Tokenizer(Protocol):
    """The served model's tokenizer, for strategies that bias tokens (a backend provides it)."""

    async def tokenize(self, text: str) -> list[int]:
        """``text``'s token ids as they would follow other text (no BOS)."""
        ...

    async def detokenize(self, tokens: Sequence[int]) -> str: ...


def tokenizer_of(backend: object) -> Tokenizer | None:
    """The backend's tokenizer, when it has one (the embedded model and OpenAI upstreams)."""
    return backend if isinstance(backend, Tokenizer) else None


@dataclass(frozen=True, slots=True)
class RoundView:
    original: tuple[Message, ...]  # the client's conversation, as received
    candidates: Sequence[CandidateRecord]  # this round's candidates (with their scores)
    reports: Sequence[LeakageReport]  # one per candidate

    def best(self) -> int:
        """Index of the lowest-scoring candidate."""
        return min(range(len(self.candidates)), key=lambda i: self.candidates[i].score)

    def flagged(self) -> list[int]:
        """Indexes of the candidates the verifiers flagged."""
        return [i for i, report in enumerate(self.reports) if report.flagged]


@dataclass(frozen=True, slots=True)
class NextRound:
    """What the next round sends: the conversation, and token biases to add to the client's."""

    messages: tuple[Message, ...]
    logit_bias: Bias = ()


@dataclass(frozen=True, slots=True)
class RefinementSettings:
    refine_template: str  # the re-prompt, with a ``{feedback}`` slot
    redact_threshold: float  # sentences scoring at least this are dropped
    tokenizer: Tokenizer | None = None  # None: token bans fall back to resampling


class Refinement(Protocol):
    async def derive(
        self, view: RoundView, verify: Verify
    ) -> tuple[CandidateRecord, LeakageReport] | None:
        """An extra candidate made from this round, verified; ``None`` when there is none."""
        ...

    async def next_round(self, view: RoundView) -> NextRound:
        """What the next round sends to the model."""
        ...


class PromptOnly:
    """Base of strategies that only change the next prompt and derive no candidate."""

    def __init__(self, settings: RefinementSettings) -> None:
        self.settings = settings

    async def derive(
        self, view: RoundView, verify: Verify
    ) -> tuple[CandidateRecord, LeakageReport] | None:
        return None

    async def next_round(self, view: RoundView) -> NextRound:
        return NextRound(self.next_prompt(view))

    def next_prompt(self, view: RoundView) -> tuple[Message, ...]:
        raise NotImplementedError
