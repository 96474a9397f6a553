"""The conversation around a candidate, as the checks read it.

Three kinds of text, treated differently:

- the **user's** turns: known to the user, so content there is no news (``known``);
- earlier **assistant** turns: what the assistant already said (client-written ones too). A
  candidate is verified together with them, so a fact split over two answers is one fact;
- **context** turns (system, developer, tool): notes the user has not seen. Repeating them is
  the leak a retrieval-augmented deployment worries about, so they are never "known"; they
  are where :class:`~verifiers.types.Passage` offsets point.

Whether an earlier turn's subject is still the subject: the current question *refers back*
when it has a pronoun or a phrase like "the author", or is a short question with (almost) no
content words of its own ("What kind?", "And the other?", "go on"). Otherwise the user has
moved on, and targets named only earlier count as a weaker anchor (``evidence.STALE``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from verifiers.refusal import substance
from verifiers.text import content_tokens
from verifiers.types import Turn, VerifyContext

CONTEXT_ROLES = frozenset({"system", "developer", "tool", "function"})
# A question this short (words), with at most one content word of its own, continues the
# previous turn: "What kind?", "A manual of what?", "And the other?", "go on".
FOLLOW_UP_LENGTH = 4
FOLLOW_UP_WORDS = 1
_BACK_REFERENCE = re.compile(
    r"\b(?:he|she|him|his|her|hers|they|them|their|theirs"
    r"|the (?:author|writer|person|novelist|book|award)"
    # fr, es, de, it, pt: the pronouns and possessives a follow-up question uses
    r"|il|elle|ils|elles|lui|leur|son|sa|ses|él|ella|ellos|su|sus|er|sie|ihm|ihr|sein|seine"
    r"|lei|suo|sua|suoi|ele|dela|dele)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Conversation:
    """The parts of a :class:`VerifyContext` the checks need, computed once."""

    question: str  # the current user turn
    user_text: str  # every user turn: known to the user
    earlier: tuple[tuple[int, Turn], ...]  # every turn but the current question, with its index
    said_before: str  # what earlier assistant turns stated (declining clauses removed)
    refers_back: bool  # the question continues an earlier turn's subject

    def context_turns(self) -> tuple[tuple[int, Turn], ...]:
        """Turns the user has not seen: system, developer and tool messages."""
        return tuple((i, t) for i, t in self.earlier if t.role in CONTEXT_ROLES)

    def passage_turns(self) -> tuple[tuple[int, Turn], ...]:
        """Turns whose content a candidate can repeat as news: context and assistant turns."""
        return tuple((i, t) for i, t in self.earlier if t.role != "user")


def refers_back(question: str) -> bool:
    if _BACK_REFERENCE.search(question):
        return True
    short = len(question.split()) <= FOLLOW_UP_LENGTH
    return short and len(content_tokens(question)) <= FOLLOW_UP_WORDS


def conversation(context: VerifyContext) -> Conversation:
    turns = context.turns or tuple(
        Turn("user", text) for text in (*context.history, context.question)
    )
    last_user = max((i for i, t in enumerate(turns) if t.role == "user"), default=-1)
    earlier = tuple((i, t) for i, t in enumerate(turns) if i != last_user)
    assistant = [substance(t.content) for _, t in earlier if t.role == "assistant"]
    question = context.question
    return Conversation(
        question=question,
        user_text=context.prompt_text,
        earlier=earlier,
        said_before="\n".join(a for a in assistant if a.strip()),
        refers_back=refers_back(question) if last_user > 0 else True,
    )
