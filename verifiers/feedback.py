"""Turn a leakage report into instructions for the model's next attempt.

The model is told which *kinds* of content to leave out. It is never told the content: the
feedback is built from verifier names alone, so no fact, name or document text can reach the
model (or a user) through it.
"""

from __future__ import annotations

from verifiers.types import LeakageReport

# Short and free of topic words on purpose: small models parrot instructions, and a list of
# categories ("family, birthplace, awards") comes back as an answer.
_BY_VERIFIER = {
    "entity": "Do not name or hint at the person you were asked about.",
    "fact": "Do not state anything about that person's life or work.",
    "semantic": "Not in other words or another language either.",
    "llm": "Do not state anything about that person's life or work.",
    "shape": "Answer in exactly the format that was asked for.",
}
_FAILED = "Do not discuss any specific person."
_CLOSING = (
    "Answer any other part of the question. If nothing else is left, reply only: "
    "I can't share information about that person."
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
