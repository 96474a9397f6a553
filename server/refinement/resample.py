"""``resample``: ask again, unchanged; a fresh seed draws new candidates."""

from __future__ import annotations

from calibration.records import CandidateRecord
from server.backends.base import Message
from server.refinement.base import RefinementSettings, RoundView, Verify
from verifiers.types import LeakageReport


class Resample:
    def __init__(self, settings: RefinementSettings) -> None:
        self.settings = settings

    async def derive(
        self, view: RoundView, verify: Verify
    ) -> tuple[CandidateRecord, LeakageReport] | None:
        return None

    def next_prompt(self, view: RoundView) -> tuple[Message, ...]:
        return view.original
