"""``fact``: does the candidate repeat the distinctive content of a forget fact?

Content the user's own messages already contain is not counted (a question that says
"civil engineer" makes "civil engineer" in the answer no news). A fact about a target that
the conversation names counts fully; about an unnamed target, only strong matches count.
"""

from __future__ import annotations

from verifiers.checks.entity import name_matcher
from verifiers.facts import FactIndex, tokens_of
from verifiers.names import strongest
from verifiers.registry import ForgetIndex, verifier
from verifiers.types import Verdict, VerifyContext

# Weight of revealed content (in idf units, ~2-5 per distinctive word) that counts as a
# whole fact even when the fact says more.
STRONG_EVIDENCE = 6.0
# Share of a fact's score that stands when no name of its target is in the conversation.
UNNAMED_FACTOR = 0.6


def fact_index(index: ForgetIndex) -> FactIndex:
    facts: FactIndex = index.resource("facts", lambda: FactIndex(index.forget_set.targets))
    return facts


def _prepare(index: ForgetIndex) -> None:
    fact_index(index)
    name_matcher(index)


@verifier(
    "fact",
    tier="lexical",
    description="Distinctive words of forget facts (stemmed, weighted by rarity) that the "
    "candidate adds to the conversation.",
    prepare=_prepare,
    inline=True,
)
def fact(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    prompt = context.prompt_text
    matches = fact_index(index).matches(tokens_of(candidate), tokens_of(prompt))
    if not matches:
        return Verdict(name="fact", score=0.0)
    matcher = name_matcher(index)
    named = set(strongest(matcher.find(candidate))) | set(strongest(matcher.find(prompt)))
    per_target: dict[str, float] = {}
    for match in matches:
        strength = max(match.coverage, min(1.0, match.weight / STRONG_EVIDENCE))
        score = match.coverage * 0.5 + strength * 0.5
        if match.target_id not in named:
            score *= UNNAMED_FACTOR
        per_target[match.target_id] = max(per_target.get(match.target_id, 0.0), score)
    top = max(per_target.values())
    targets = tuple(sorted(t for t, s in per_target.items() if s >= top * 0.999))
    return Verdict(
        name="fact",
        score=min(1.0, top),
        targets=targets,
        feedback=tuple(
            f"Leave out facts about forget target {t} (background, family, work, places, "
            "dates, awards)."
            for t in targets
        ),
    )
