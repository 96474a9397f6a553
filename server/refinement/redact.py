"""``redact``: drop the flagged sentences of the best candidate and verify what is left;
the next round re-prompts with feedback as ``reprompt`` does."""

from __future__ import annotations

import re

from calibration.records import CandidateRecord
from server.backends.base import Message
from server.refinement.base import RefinementSettings, RoundView, Verify
from server.refinement.reprompt import Reprompt
from verifiers.types import LeakageReport

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


class Redact:
    def __init__(self, settings: RefinementSettings) -> None:
        self.settings = settings
        self._reprompt = Reprompt(settings)

    async def derive(
        self, view: RoundView, verify: Verify
    ) -> tuple[CandidateRecord, LeakageReport] | None:
        best = view.candidates[view.best()]
        if best.score <= 0.0:  # τ-free, so calibration records the same rounds
            return None
        sentences = [s for s in _SENTENCE.split(best.text) if s.strip()]
        if len(sentences) < 2:
            return None
        scores = await verify(view.original, sentences)
        threshold = self.settings.redact_threshold
        kept = [s for s, r in zip(sentences, scores, strict=True) if r.score < threshold]
        if not kept or len(kept) == len(sentences):
            return None
        text = " ".join(kept)
        report = (await verify(view.original, [text]))[0]
        return CandidateRecord(text, report.score, "redacted"), report

    def next_prompt(self, view: RoundView) -> tuple[Message, ...]:
        return self._reprompt.next_prompt(view)
