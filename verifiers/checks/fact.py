"""``fact``: does the candidate repeat the distinctive content of a forget fact?

Content the user's own messages already contain is not counted (a question that says
"civil engineer" makes "civil engineer" in the answer no news). A fact counts fully when the
conversation is about its target (named, or pointed at by the target's distinctive words);
about nobody in particular, only part of it counts.
"""

from __future__ import annotations

from verifiers.evidence import facts, gather, names
from verifiers.registry import ForgetIndex, verifier
from verifiers.types import Verdict, VerifyContext

# Share of a fact's score that stands when nothing ties the conversation to its target.
UNANCHORED_FACTOR = 0.35


def _prepare(index: ForgetIndex) -> None:
    facts(index)
    names(index)


def anchored(content: float, about: float) -> float:
    return content * (UNANCHORED_FACTOR + (1.0 - UNANCHORED_FACTOR) * about)


@verifier(
    "fact",
    tier="lexical",
    description="Distinctive words of forget facts (stemmed, cognates, weighted by rarity) "
    "that the candidate adds to the conversation.",
    prepare=_prepare,
    inline=True,
)
def fact(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    per_target = {
        target: anchored(item.content, item.about)
        for target, item in gather(context, index, candidate).items()
        if item.content > 0
    }
    if not per_target:
        return Verdict(name="fact", score=0.0)
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
