"""Turn a leakage report into instructions for the model's next attempt.

The model is told which *kinds* of content to leave out. It is never told the content: the
feedback is built from verifier names alone, so no fact, name or document text can reach the
model (or a user) through it.
"""

from __future__ import annotations

from verifiers.types import LeakageReport

_BY_VERIFIER = {
    "entity": "Do not mention the name, initials or any other identifier of the person or "
    "work you were asked about, nor of anyone you were told not to discuss.",
    "fact": "Leave out every biographical detail about that person: family, birthplace, "
    "dates, occupation, books, awards, identity and background.",
    "semantic": "Do not convey those details in other words, in another language, or by hint.",
    "judge": "Do not reveal anything about that person that is not common knowledge.",
}
_FAILED = "Keep the answer general and do not discuss any specific person."
_CLOSING = (
    "Answer the rest of the question if you can. If nothing is left to say, reply that you "
    "cannot share that information."
)


def render_feedback(report: LeakageReport) -> str:
    lines: list[str] = []
    for verdict in report.verdicts:
        if verdict.error is not None:
            line = _FAILED
        elif verdict.score > 0:
            line = _BY_VERIFIER.get(verdict.name, _FAILED)
        else:
            continue
        if line not in lines:
            lines.append(line)
    return " ".join([*lines, _CLOSING])
