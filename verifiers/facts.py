"""Index the distinctive content of every fact, so a candidate is compared only with the facts
that share a word with it (an inverted index: cost follows the candidate, not the forget set).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from verifiers.forgetset import Target
from verifiers.text import content_tokens, fold

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class FactEntry:
    target_id: str
    tokens: frozenset[str]


@dataclass(frozen=True, slots=True)
class FactMatch:
    target_id: str
    fact_no: int
    coverage: float  # weighted share of the fact's new content found in the candidate
    weight: float  # total weight of that content found


def fact_texts(target: Target) -> list[str]:
    """Facts, plus each document's sentences (a document is a bag of facts)."""
    sentences = [s for doc in target.documents for s in _SENTENCE_END.split(doc) if s.strip()]
    return [*target.facts, *sentences]


class FactIndex:
    def __init__(self, targets: Iterable[Target]) -> None:
        self.entries: list[FactEntry] = []
        for target in targets:
            name_tokens = set(content_tokens(" ".join(target.names())))
            for text in fact_texts(target):
                tokens = frozenset(content_tokens(text)) - name_tokens
                if tokens:
                    self.entries.append(FactEntry(target.id, tokens))
        self.postings: dict[str, list[int]] = {}
        for number, entry in enumerate(self.entries):
            for token in entry.tokens:
                self.postings.setdefault(token, []).append(number)
        total = len(self.entries) + 1
        self.weight = {
            token: math.log(total / len(postings)) + 1.0
            for token, postings in self.postings.items()
        }

    def matches(self, candidate_tokens: set[str], known_tokens: set[str]) -> list[FactMatch]:
        """Facts whose content *not already known* (from the prompt) the candidate repeats."""
        touched: set[int] = set()
        for token in candidate_tokens - known_tokens:
            touched.update(self.postings.get(token, ()))
        found: list[FactMatch] = []
        for number in touched:
            entry = self.entries[number]
            new = entry.tokens - known_tokens
            if not new:
                continue
            revealed = new & candidate_tokens
            total = sum(self.weight[t] for t in new)
            got = sum(self.weight[t] for t in revealed)
            found.append(FactMatch(entry.target_id, number, got / total, got))
        return found


def tokens_of(text: str) -> set[str]:
    return set(content_tokens(text))


def folded_contains(haystack: str, needle: str) -> bool:
    return fold(needle) in fold(haystack)
