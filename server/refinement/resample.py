"""``resample``: ask again, unchanged; a fresh seed draws new candidates."""

from __future__ import annotations

from server.backends.base import Message
from server.refinement.base import PromptOnly, RoundView


class Resample(PromptOnly):
    def next_prompt(self, view: RoundView) -> tuple[Message, ...]:
        return view.original
