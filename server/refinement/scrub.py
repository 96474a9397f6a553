"""``scrub``: regenerate from a conversation with the leaking facts taken out of its context.

A weak model that ignores "leave that out" still cannot repeat what it no longer sees. The
verifiers say which context passages (system notes, tool results, earlier assistant turns)
hold the facts a flagged candidate repeated; the next round sends the client's conversation
with those passages removed — the whole sentence or line each one sits on, so a notes bullet
goes and the other notes stay — and nothing else changed, so the part of a mixed question
about someone who is not forgotten is still answered from what remains. The user's own turns
are never edited: what the user said is theirs. Without passages (a verifier that gives
none), the next round asks again unchanged, as ``resample`` does.

Every later round is verified against the client's original conversation, so removing a
passage never makes a leak look like news the user already had.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from server.backends.base import Message
from server.refinement.base import PromptOnly, RoundView
from verifiers.types import Passage

EDITABLE_ROLES = frozenset({"system", "developer", "tool", "assistant"})


class Scrub(PromptOnly):
    def next_prompt(self, view: RoundView) -> tuple[Message, ...]:
        passages = [p for i in view.flagged() for p in view.reports[i].passages]
        return scrubbed(view.original, passages)


def scrubbed(messages: tuple[Message, ...], passages: Iterable[Passage]) -> tuple[Message, ...]:
    """``messages`` with every line that holds a passage removed (user turns untouched)."""
    cuts: dict[int, list[tuple[int, int]]] = {}
    for passage in passages:
        if 0 <= passage.turn < len(messages) and messages[passage.turn].role in EDITABLE_ROLES:
            cuts.setdefault(passage.turn, []).append((passage.start, passage.end))
    return tuple(
        replace(m, content=_without_lines(m.content, cuts[i])) if i in cuts else m
        for i, m in enumerate(messages)
    )


# A unit of context: one sentence, or one line (a notes bullet), with its trailing space.
_UNIT = re.compile(r"[^\n]*?(?:[.!?](?=\s)|\n|$)\s*")


def _without_lines(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` minus each sentence or line a span touches."""
    kept: list[str] = []
    for unit in _UNIT.finditer(text):
        start, end = unit.span()
        if start == end:
            continue
        if not any(s < end and e > start for s, e in spans):
            kept.append(unit.group())
    return "".join(kept).rstrip()
