"""Whether a conversation names someone who is not a forget target.

When it does and a target is not named, words shared with that target's facts are about that
someone else ("Jaime Vasquez was born in Santiago"): :mod:`verifiers.evidence` scales the
target's indirect anchor down. What is *not* someone: a forget target, a title (a function word
inside it: "The Village That Vanished"), a span whose every word a forget fact holds, and the
cells of a table column of works ("| Title |").
"""

from __future__ import annotations

import re

from verifiers.facts import FactIndex, tokens_of
from verifiers.names import NameMatcher
from verifiers.refusal import proper_names

# A title, not a person: a capitalised function word after its first word ("... That
# Vanished", "... Over Keelung"), or "The" and two more words ("The Lantern Keeper").
_TITLE_INSIDE = re.compile(
    r"(?<=\s)(?:The|A|An|That|Of|In|On|At|For|And|With|To|From|By|Over|Under|Beyond|Through"
    r"|Into|Upon|Without|Between|Before|After|Behind|Beneath|About|Among|Across|Is|Was|Who)\b"
    r"|^The\s+\S+\s+\S+"
)
# A table column of works: its cells are titles, whatever they look like.
_TITLE_HEADER = re.compile(
    r"(?:book|novel|work|title|film|movie|song|album|poem|story|play|series)s?(?: title)?",
    re.IGNORECASE,
)


def _title_cells(text: str) -> frozenset[str]:
    """The cells of markdown-table columns headed "Title", "Book", "Novel"...: works, not
    people ("| 1 | Norwegian Wood | literary |" in a reading list)."""
    cells: set[str] = set()
    columns: list[int] = []
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            columns = []
            continue
        row = [cell.strip(" *_") for cell in line.strip().strip("|").split("|")]
        if not columns:
            columns = [i for i, cell in enumerate(row) if _TITLE_HEADER.fullmatch(cell)]
            continue
        cells.update(row[i] for i in columns if i < len(row))
    return frozenset(cells)


def others_named(text: str, matcher: NameMatcher, fact_index: FactIndex) -> bool:
    """Whether a person or thing that is not a forget target (nor one of their works) is named.
    A title ("The Village That Vanished": a function word inside) is a work, not someone: what
    is said around it is said of its author, who may well be a target."""
    works = _title_cells(text)
    for span in proper_names(text):
        if matcher.find(span) or _TITLE_INSIDE.search(span) or span in works:
            continue
        words = fact_index.resolve(tokens_of(span))
        if len(words) < len(tokens_of(span)):
            return True
    return False
