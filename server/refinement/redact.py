"""``redact``: drop the flagged sentences of the best candidate and verify what is left;
the next round re-prompts with feedback as ``reprompt`` does.

Which sentences go: those that hold a span the verifiers flagged; when the report has no spans
(a verifier that gives none), each sentence is verified on its own and those scoring at least
``redact_threshold`` go. Either way the remainder is verified again as a whole, and is only a
candidate like any other: it is accepted when its own score passes τ.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from calibration.records import CandidateRecord
from server.backends.base import Message
from server.refinement.base import NextRound, RefinementSettings, RoundView, Verify
from server.refinement.reprompt import Reprompt
from verifiers.types import LeakageReport, Span

_SENTENCE = re.compile(r"[^\n]*?(?:[.!?](?=\s)|\n|$)\s*")


class Redact:
    def __init__(self, settings: RefinementSettings) -> None:
        self.settings = settings
        self._reprompt = Reprompt(settings)

    async def derive(
        self, view: RoundView, verify: Verify
    ) -> tuple[CandidateRecord, LeakageReport] | None:
        index = view.best()
        best = view.candidates[index]
        if best.score <= 0.0:  # τ-free, so calibration records the same rounds
            return None
        sentences = [(m.start(), m.group()) for m in _SENTENCE.finditer(best.text) if m.group()]
        if len(sentences) < 2:
            return None
        spans = view.reports[index].spans
        keep = (
            _outside(sentences, spans)
            if spans
            else await self._below_threshold(view, verify, [s for _, s in sentences])
        )
        kept = [s.strip() for (_, s), k in zip(sentences, keep, strict=True) if k and s.strip()]
        if not kept or len(kept) == len(sentences):
            return None
        text = " ".join(kept)
        report = (await verify(view.original, [text]))[0]
        return CandidateRecord(text, report.score, "redacted"), report

    async def _below_threshold(
        self, view: RoundView, verify: Verify, sentences: list[str]
    ) -> list[bool]:
        scores = await verify(view.original, sentences)
        return [r.score < self.settings.redact_threshold for r in scores]

    async def next_round(self, view: RoundView) -> NextRound:
        return await self._reprompt.next_round(view)

    def next_prompt(self, view: RoundView) -> tuple[Message, ...]:
        return self._reprompt.next_prompt(view)


def _outside(sentences: list[tuple[int, str]], spans: Sequence[Span]) -> list[bool]:
    """Per sentence, whether no flagged span touches it."""
    return [
        not any(s.start < start + len(text) and s.end > start for s in spans)
        for start, text in sentences
    ]
