"""Where a flagged target's evidence lies: the characters of the candidate that carry it
(spans), and the lines of system, tool and earlier assistant turns that hold the matching fact
(passages, by offset). What refinement scrubs and redacts; never the fact text itself."""

from __future__ import annotations

from collections.abc import Iterable

from verifiers.evidence import Gathered, facts
from verifiers.facts import tokens_of
from verifiers.registry import ForgetIndex
from verifiers.text import fold_spans, stem
from verifiers.types import Passage, Span

# A context passage must hold at least this much of the repeated content (idf units).
PASSAGE_MIN = 1.5


def spans(gathered: Gathered, candidate: str, target_ids: Iterable[str]) -> tuple[Span, ...]:
    """Characters of the candidate that carry the targets' names or fact words."""
    wanted = set(target_ids)
    out: dict[Span, None] = {}
    for hit in gathered.name_hits:
        if hit.target_id in wanted:
            out.setdefault(Span(hit.target_id, hit.start, hit.end))
    folded = fold_spans(candidate)
    for target_id in wanted:
        item = gathered.targets.get(target_id)
        if item is None or not item.said:
            continue
        for word, (start, end) in zip(folded.words, folded.spans, strict=True):
            if stem(word) in item.said:
                out.setdefault(Span(target_id, start, end))
    return tuple(sorted(out, key=lambda s: (s.start, s.end, s.target_id)))


def passages(
    gathered: Gathered, index: ForgetIndex, target_ids: Iterable[str]
) -> tuple[Passage, ...]:
    """Lines (or sentences) of system, tool and earlier assistant turns that hold the fact
    words a flagged target's verdict rests on: what context scrubbing removes."""
    fact_index = facts(index)
    out: list[Passage] = []
    for target_id in target_ids:
        item = gathered.targets.get(target_id)
        if item is None or not item.words:
            continue
        wanted = frozenset().union(*item.words.values())
        for number, turn in gathered.conversation.passage_turns():
            for start, end in segments(turn.content):
                found = fact_index.resolve(tokens_of(turn.content[start:end]))
                weight = sum(fact_index.weight.get(w, 0.0) for w in wanted.intersection(found))
                if weight >= PASSAGE_MIN:
                    out.append(Passage(target_id, number, start, end))
    return tuple(out)


def segments(text: str) -> list[tuple[int, int]]:
    """Non-blank lines of ``text``; a long line is cut into sentences."""
    out: list[tuple[int, int]] = []
    position = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped:
            start = position + line.index(stripped[0])
            out.extend(_sentences(text, start, start + len(stripped)))
        position += len(line)
    return out


LONG_LINE = 300


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    if end - start <= LONG_LINE:
        return [(start, end)]
    out: list[tuple[int, int]] = []
    begin = start
    for position in range(start, end - 1):
        if text[position] in ".!?" and text[position + 1].isspace():
            out.append((begin, position + 1))
            begin = position + 2
    if begin < end:
        out.append((begin, end))
    return [(a, b) for a, b in out if text[a:b].strip()]
