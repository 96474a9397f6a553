"""``fact``: does the candidate add the distinctive content of a forget fact about a target the
conversation points at?

The scoring rule, with every constant, is in :mod:`verifiers.evidence`: content the user
already said is not news; a fact's content counts fully only when something other than that
content anchors its target (a name, initials, a title, a description, an earlier turn), so a
sentence that merely shares words with a fact ("Seoul is the capital of South Korea") scores
low. Earlier assistant turns are read with the candidate (a fact split over two answers).
"""

from __future__ import annotations

from verifiers.evidence import facts, gather, names
from verifiers.language import load as load_languages
from verifiers.locate import passages, spans
from verifiers.registry import ForgetIndex, verifier
from verifiers.types import Verdict, VerifyContext

# Targets within this factor of the top score are reported with it.
TIE = 0.999


def _prepare(index: ForgetIndex) -> None:
    load_languages()  # every conversation's language is read: at start-up, not on request one
    facts(index)
    names(index)


@verifier(
    "fact",
    tier="lexical",
    description="Distinctive words of forget facts (stemmed, cognates, weighted by rarity) "
    "that the candidate adds, counted when the conversation points at their target.",
    prepare=_prepare,
    inline=True,
)
def fact(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    gathered = gather(context, index, candidate)
    per_target = {
        target: item.score()
        for target, item in gathered.targets.items()
        if item.content > 0 or item.describes > 0
    }
    top = max(per_target.values(), default=0.0)
    if top <= 0:
        return Verdict(name="fact", score=0.0)
    targets = tuple(sorted(t for t, s in per_target.items() if s >= top * TIE))
    return Verdict(
        name="fact",
        score=min(1.0, top),
        targets=targets,
        feedback=tuple(
            f"Leave out facts about forget target {t} (background, family, work, places, "
            "dates, awards)."
            for t in targets
        ),
        spans=spans(gathered, candidate, targets),
        passages=passages(gathered, index, targets),
    )
