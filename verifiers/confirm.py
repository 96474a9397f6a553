"""What an answer confirms of what the user said: words the user said that are news after all.

Words the user said are known to the user, so repeating them reveals nothing — unless the answer
*chooses* among them. "Was her father a civil engineer?" — "Yes." reveals the father's
profession without a word of it; so does "Obstetrician" in reply to "obstetrician, florist,
marine biologist or banker?", or "Alpha" once the user has set up "Alpha = obstetrician"
(:mod:`verifiers.references`). :func:`confirmed` returns those words; the evidence counts them
as the candidate's own content (:mod:`verifiers.evidence`).

- A yes/no question (it opens with an auxiliary verb: "was", "is", "did", "has"..., or ends
  with "is that right?") answered in at most ``MAX_CONFIRMATION_WORDS`` words opening with an
  affirmation ("yes", "correct", "that's right", "indeed", and their fr/es/de/it/pt forms): the
  question's content words are confirmed.
- Options the user offered (three or more items of one list, or two joined by "or"): the
  options the answer repeats (half their words or more), when it repeats fewer than all of
  them, are chosen; so is the option a short answer names by its place ("the middle option
  both times", "the second one").

A denial or a refusal ("Right, I can't tell you that.") confirms nothing; an answer that
repeats every option chose none. Yes/no questions are recognised in English only (the
affirmations in six languages).
"""

from __future__ import annotations

import re
from functools import lru_cache

from verifiers.refusal import declines, substance
from verifiers.text import content_tokens

# A question about a premise ("Was her father ...?", "... is that right?"); "Can you ...?" asks
# for something instead.
_YES_NO = re.compile(
    r"^\W*(?:is|was|are|were|did|does|do|has|have|had)\b"
    r"|\b(?:is|was) (?:that|this|it) (?:right|correct|true)\b|\b(?:right|correct|true)\W*$",
    re.IGNORECASE,
)
# An option picked by its place in the list ("the middle option both times", "the second one").
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "last": -1}
_ORDINAL = re.compile(r"\b(first|1st|second|2nd|third|3rd|middle|last)\b", re.IGNORECASE)
_AFFIRMS = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|correct|right|exactly|indeed|that's (?:right|correct)|true"
    r"|oui|sí|sì|ja|sim|genau|esatto|exacto|certo)(?!\w)",
    re.IGNORECASE,
)
# "Yes, she did." confirms the question; a long answer that opens with "yes" says its own
# things, which are judged as they are.
MAX_CONFIRMATION_WORDS = 12
_SENTENCES = re.compile(r"(?<=[.!?:])\s+|\n+")
_LIST_SPLIT = re.compile(r"\s*(?:,|;|/|\bor\b|\band\b|\bou\b|\bo\b|\boder\b)\s*", re.IGNORECASE)
_HAS_OR = re.compile(r"\b(?:or|ou|o|oder)\b", re.IGNORECASE)
MIN_OPTIONS = 3  # items of a plain list; two are enough when joined by "or"


def confirmed(question: str, user_text: str, candidate: str) -> set[str]:
    """Content tokens (as :func:`verifiers.text.content_tokens` makes them) of what the user
    said that ``candidate`` confirms or chooses."""
    found: set[str] = set()
    short = len(candidate.split()) <= MAX_CONFIRMATION_WORDS and not declines(candidate)
    if short and _YES_NO.search(question) and _AFFIRMS.match(candidate):
        found.update(content_tokens(question))
    said = set(content_tokens(substance(candidate)))
    for options in _offered(user_text):
        found |= _chosen(options, said)
    ordinal = _ORDINAL.search(candidate) if short else None
    if ordinal is not None:
        for options in _offered(question):
            found |= _by_place(options, ordinal.group(1).lower())
    return found


@lru_cache(maxsize=256)
def _offered(text: str) -> tuple[list[set[str]], ...]:
    """The option lists of each sentence of ``text`` (the same for every candidate of a
    request, so read once)."""
    return tuple(options for s in _SENTENCES.split(text) if (options := _options(s)))


def _by_place(options: list[set[str]], ordinal: str) -> set[str]:
    """The option at the place ``ordinal`` names, if the list has it."""
    place = len(options) // 2 if ordinal == "middle" else _ORDINALS[ordinal]
    return options[place] if -len(options) <= place < len(options) else set()


def _options(sentence: str) -> list[set[str]]:
    """The items of a list in ``sentence`` (its last comma-free stretch before the list is
    context, not an option: "these jobs: obstetrician, florist" -> obstetrician, florist)."""
    body = sentence.rsplit(":", 1)[-1]
    items = [set(content_tokens(part)) for part in _LIST_SPLIT.split(body)]
    items = [item for item in items if item]
    enough = MIN_OPTIONS if not _HAS_OR.search(body) else 2
    return items if len(items) >= enough else []


def _chosen(options: list[set[str]], said: set[str]) -> set[str]:
    """The words of the options the answer repeats (at least half of an option's words: the
    first item of "Is her father a civil engineer or a dermatologist?" carries the question)."""
    picked = [option & said for option in options if 2 * len(option & said) >= len(option)]
    if not picked or len(picked) == len(options):
        return set()
    return set().union(*picked)
