"""Titles and award names in the conversation: which targets they point at, and which award the
user asks about.

The rules are those of :mod:`verifiers.evidence` (its module docstring): a title of a target's
work in the user's turns or an earlier answer points at the target by its words' weight /
``POINTING_EVIDENCE`` (capped at 1) times the share of the title named, under the turn rules of
names; a general question's title words are its topic; and the words of an award the user asks
about are the topic, unless the sentence speaks of its winner or describes an author.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from functools import lru_cache

from verifiers.conversation import Conversation
from verifiers.facts import FactIndex
from verifiers.refusal import substance
from verifiers.text import content_tokens, fold, stem

# Weight of a title's words (idf units) that points at its target for certain.
POINTING_EVIDENCE = 6.0
# Someone who won an award: its words say who that is ("the Green Book Award winner").
_WINNER = re.compile(
    r"\b(?:winner|winning|won|wins|recipient|laureate|awarded|honou?red|received|shortlisted)\b",
    re.IGNORECASE,
)
# ... or whom they describe: "the Seoul-born leadership author whose mother ..." uses words of
# an award's name ("Seoul Leadership ...") as attributes of a person, not as the award asked
# about.
_DESCRIBED = re.compile(r"\b(?:author|writer|novelist|poet|whose|born)\b", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_CAPITALISED = r"[A-Z][\w'’-]*"
_TITLE_WRITTEN = re.compile(
    r"['\"‘“«][^'\"’”»\n]{3,80}['\"’”»]"
    rf"|{_CAPITALISED}(?:\s+(?:(?:of|the|a|an|and|in|on|that|to|for|with|at)\s+)*{_CAPITALISED})*"
)


@lru_cache(maxsize=256)
def conversation_pointers(
    fact_index: FactIndex, talk: Conversation, stale: float
) -> tuple[tuple[str, float], ...]:
    """Per target, how surely the conversation's titles point at it: the same for every
    candidate of a request, so computed once."""
    # A general question's title words are its topic ("what does a medical intern do?" holds
    # half of "The Diary of a Medical Intern"), as an award's words are when asked about.
    # A question on a new subject that names part of a title ("any good books about being a
    # medical intern?") is about its own words; a title (or part around a colon) named whole,
    # and written as a title, still points ("villages that vanished under water" is no title).
    found = (
        {}
        if talk.general
        else _pointers(fact_index, talk.question)
        if talk.refers_back
        else _pointers(fact_index, _written_as_titles(talk.question), whole_only=True)
    )
    for index, turn in talk.earlier:
        if turn.role not in ("user", "assistant"):
            continue
        factor = 1.0 if talk.on_subject(index) else stale
        text = substance(turn.content) if turn.role == "assistant" else turn.content
        for target_id, pointing in _pointers(fact_index, text).items():
            # Capped before the turn rule: a long title asked about before the user moved on
            # still counts only ``stale``.
            found[target_id] = max(found.get(target_id, 0.0), factor * pointing)
    return tuple(found.items())


def _written_as_titles(text: str) -> str:
    """The parts of ``text`` written as titles are: quoted, or capitalised words (function
    words between them allowed: "The Village That Vanished"), one a line."""
    return "\n".join(m.group(0) for m in _TITLE_WRITTEN.finditer(text))


@lru_cache(maxsize=256)
def award_topic(fact_index: FactIndex, user_text: str) -> frozenset[str]:
    """Words of awards the user asks about: the topic, describing the award, not a winner — but
    not in a sentence that speaks of its winner ("the Taipei-born Green Book Award winner") or
    describes an author ("the Seoul-born leadership author")."""
    topic: set[str] = set()
    for sentence in _SENTENCE.split(user_text):
        words = set().union(*_phrases(fact_index.awards, sentence).values())
        # The winner is spoken of outside the award's own name ("Papyrus Laureate" is a name).
        rest = " ".join(w for w in fold(sentence).split() if stem(w) not in words)
        if not _WINNER.search(rest) and not _DESCRIBED.search(rest):
            topic |= words
    return frozenset(topic)


def _pointers(fact_index: FactIndex, text: str, whole_only: bool = False) -> dict[str, float]:
    """Per target, how surely the words of its titles named in ``text`` point at it: their
    weight / ``POINTING_EVIDENCE`` (capped at 1), times the share of the title they name — "leaky
    gut", two words of "The Hidden Truth of the Leaky Gut", is as likely the common phrase as
    the book (a part around a colon counts as a whole title: "Melodies of Mercy"). With
    ``whole_only``, only titles named whole point."""
    found = _phrases(fact_index.identifiers, text)
    shares = {t: _share(fact_index.title_parts.get(t, set()), w) for t, w in found.items()}
    return {
        target: min(1.0, sum(fact_index.weight.get(w, 0.0) for w in words) / POINTING_EVIDENCE)
        * shares[target]
        for target, words in found.items()
        if shares[target] == 1.0 or not whole_only
    }


def _share(parts: set[frozenset[str]], words: set[str]) -> float:
    """The largest share of one title (or part of one) that ``words`` name."""
    return max((len(words & part) / len(part) for part in parts), default=1.0)


def _phrases(pairs: Mapping[tuple[str, str], set[str]], text: str) -> dict[str, set[str]]:
    """Per target, the words of ``text`` in adjacent pairs that ``pairs`` knows."""
    # The same tokens the pairs were built from: a title's stopwords ("Scribing Like A
    # Scholar") must not break its word pairs apart.
    words: dict[str, set[str]] = {}
    for pair in itertools.pairwise(content_tokens(text)):
        for target in pairs.get(pair, ()):
            words.setdefault(target, set()).update(pair)
    return words
