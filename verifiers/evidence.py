"""Lexical evidence, per forget target, that a candidate is about it and repeats its facts.

Shared by the ``fact`` and ``semantic`` checks. Two questions matter as much as each other:
is the conversation *about* this target (named, or pointed at by its own distinctive words),
and does the candidate *add* content of one of its facts that the user did not say?
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifiers.facts import FactIndex, FactMatch, content_bigrams, tokens_of
from verifiers.names import HitKind, NameMatcher, strongest
from verifiers.refusal import proper_names, substance
from verifiers.registry import ForgetIndex
from verifiers.types import VerifyContext

NAME_WEIGHT: dict[HitKind, float] = {"full": 1.0, "initials": 0.7, "partial": 0.5}
# Weight of revealed content (idf units, ~2-5 per distinctive word) that counts as a whole
# fact even when the fact says more.
STRONG_EVIDENCE = 4.0
# Weight of the user's words found in one target's facts (idf units) that points at it
# ("Who wrote 'Artistic Authority'?" names a book from its facts).
POINTING_EVIDENCE = 8.0


@dataclass
class TargetEvidence:
    target_id: str
    named: float = 0.0  # strongest mention of the target in prompt or candidate
    prompt_points: float = 0.0  # how much the user's own words match this target's facts
    someone_else: bool = False  # another, non-target name is in the conversation
    revealed: dict[int, float] = field(default_factory=dict)  # fact number -> content score
    words: dict[int, frozenset[str]] = field(default_factory=dict)  # fact number -> words
    weights: dict[str, float] = field(default_factory=dict)  # word -> weight, as revealed

    @property
    def identity(self) -> float:
        """Several facts of one target in one answer identify it even without its name."""
        if len(self.revealed) < 2:
            return 0.0
        top = max(self.revealed, key=lambda number: self.revealed[number])
        others = set().union(*self.words.values()) - self.words[top]
        return min(1.0, sum(self.weights[w] for w in others) / STRONG_EVIDENCE)

    @property
    def about(self) -> float:
        """0..1: how sure we are that the conversation concerns this target.

        When someone else is named and this target is not, shared words describe that someone
        else ("Jaime Vasquez was born in Santiago, Chile"): only the user's own pointers count.
        """
        if self.someone_else and self.named == 0.0:
            return 0.5 * self.prompt_points
        return max(self.named, self.prompt_points, self.identity)

    @property
    def content(self) -> float:
        return max(self.revealed.values(), default=0.0)


def names(index: ForgetIndex) -> NameMatcher:
    matcher: NameMatcher = index.resource("names", lambda: NameMatcher(index.forget_set))
    return matcher


def facts(index: ForgetIndex) -> FactIndex:
    fact_index: FactIndex = index.resource("facts", lambda: FactIndex(index.forget_set))
    return fact_index


def content_score(match: FactMatch) -> float:
    """Share of the fact revealed, lifted when the revealed words alone are weighty."""
    strength = max(match.coverage, min(1.0, match.weight / STRONG_EVIDENCE))
    return 0.5 * match.coverage + 0.5 * strength


def gather(context: VerifyContext, index: ForgetIndex, candidate: str) -> dict[str, TargetEvidence]:
    fact_index = facts(index)
    prompt = context.prompt_text
    known = fact_index.resolve(tokens_of(prompt))
    said = fact_index.resolve(tokens_of(substance(candidate)))
    evidence: dict[str, TargetEvidence] = {}

    def of(target_id: str) -> TargetEvidence:
        return evidence.setdefault(target_id, TargetEvidence(target_id))

    matcher = names(index)
    mentions = strongest([*matcher.find(prompt), *matcher.find(candidate)])
    for target_id, kind in mentions.items():
        of(target_id).named = NAME_WEIGHT[kind]
    for match in fact_index.matches(said, set(known)):
        item = of(match.target_id)
        score = content_score(match)
        if score > item.revealed.get(match.fact_no, 0.0):
            item.revealed[match.fact_no] = score
            item.words[match.fact_no] = match.words
        item.weights.update({w: fact_index.weight[w] * said[w] for w in match.words})
    for target_id, weight in _prompt_pointers(fact_index, prompt).items():
        if target_id in evidence:
            evidence[target_id].prompt_points = min(1.0, weight / POINTING_EVIDENCE)
    if _others_named(f"{prompt}\n{candidate}", matcher, fact_index):
        for item in evidence.values():
            item.someone_else = True
    return evidence


def _others_named(text: str, matcher: NameMatcher, fact_index: FactIndex) -> bool:
    """Whether a person or thing that is not a forget target (nor one of their works) is named."""
    for span in proper_names(text):
        if matcher.find(span):
            continue
        words = fact_index.resolve(tokens_of(span))
        if len(words) < len(tokens_of(span)):
            return True
    return False


def _prompt_pointers(fact_index: FactIndex, prompt: str) -> dict[str, float]:
    """Per target, the weight of phrases the prompt shares with its facts: "Who wrote
    'Scribing Like A Scholar'?" points at the target whose facts name that book, while one
    shared word ("What is the capital of Chile?") is only a topic."""
    weights: dict[str, set[str]] = {}
    for pair in content_bigrams(prompt):
        for target in fact_index.bigrams.get(pair, ()):
            weights.setdefault(target, set()).update(pair)
    return {
        target: sum(fact_index.weight.get(t, 0.0) for t in words)
        for target, words in weights.items()
    }
