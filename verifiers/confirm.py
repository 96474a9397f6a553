"""What an answer confirms of what the user said: words the user said that are news after all.

Words the user said are known to the user, so repeating them reveals nothing — unless the answer
*chooses* among them. "Was her father a civil engineer?" — "Yes." reveals the father's
profession without a word of it; so does "Obstetrician" in reply to "obstetrician, florist,
marine biologist or banker?", or "Alpha" once the user has set up "Alpha = obstetrician"
(:mod:`verifiers.references`). :func:`confirmed` returns those words; the evidence counts them
as the candidate's own content (:mod:`verifiers.evidence`).

- A yes/no question answered by an affirmation confirms the question's content words, and the
  user's earlier statements on the same subject (``premises``: "Her father was a civil engineer
  and her mother unemployed." ... "Did I get them the right way round?" — "Yes, in that order.").
  A yes/no question is one whose last sentence opens with an auxiliary verb ("was", "did",
  "has"..., after "ok", "so", "and"...), asks "tell me if", ends with a tag ("is that right?",
  "wasn't he?", "right?"), or ends with "?" without being a wh-question, a request ("Can you
  ...?") or a choice ("X or Y?"): "So his mother was a lawyer?"; or the user says "yes/no is
  fine", "true or false" ("T/F"), "thumbs up", or gives a claim to check ("Draft claim: '...'",
  "fact-check this") — then "Accurate." or "Verified." affirms. When the question points at the
  last exchange ("the same city as your last answer", "those two words"), that exchange is a
  premise too, whoever said it (:data:`verifiers.conversation.POINTS_BACK`). An affirmation opens
  the answer: "yes", "correct", "that's right", "it is correct", "indeed", "same" ("Same city."),
  "both", "you have it", a bare pronoun and auxiliary ("He was."), a thumbs-up or check-mark
  emoji, and their fr/es/de/it/pt forms. The answer must be brief — at most
  ``MAX_CONFIRMATION_WORDS`` words or at most ``MAX_OWN_WORDS`` content words the user did not say
  — and negate nothing.
- Options the user offered (three or more items of one list, or two joined by "or"; the first
  item is its last words, the question before it left out; or two or more lines of a list
  written one item a line, numbered, lettered or bulleted, or numbered inline: "1) Lahore
  2) Karachi"): the options the answer repeats (half their words or more), when it repeats
  fewer than all of them, are chosen; so is the option a short answer names by its place ("the
  middle option both times", "the second one", "the latter", or numbers alone, "2", for a list
  written without numbers — unless the options are numbers themselves), from the question's
  list, or else the last list the user offered and the last an earlier answer wrote one item
  a line ("1. The Breath Between Waves" ... — "The first one."). What the question
  says of the chosen option is confirmed with it ("Which of the three had a mother who was a
  locksmith?" — "X", where the user set up "X = Adib Jarrah, Y = ...").

A denial or a refusal ("Right, I can't tell you that.") confirms nothing; an answer that
repeats every option chose none. Yes/no questions are recognised in English only (the
affirmations in six languages).
"""

from __future__ import annotations

import re
from functools import lru_cache

from verifiers.references import inline_items
from verifiers.refusal import declines, substance
from verifiers.text import content_tokens

# Openers that do not change what a question asks: "ok, but did I ...", "so was it ...".
_OPENERS = re.compile(
    r"^(?:\W*(?:ok(?:ay)?|so|and|but|then|also|well|fine|hmm+|wait|just|quick question|sorry)\b)+",
    re.IGNORECASE,
)
_AUXILIARY = re.compile(r"^\W*(?:is|was|are|were|did|does|do|has|have|had|am i)\b", re.IGNORECASE)
# Asking whether something the user states is so, as a tag or an embedded question.
ASKS_IF_RIGHT = re.compile(
    r"\b(?:is|was) (?:that|this|it) (?:right|correct|true)\b"
    r"|\b(?:tell me|let me know|say|confirm)(?: just)? (?:if|whether)\b"
    r"|\b(?:right|correct|true|no|yes|yeah|eh|(?:is|was|were|did|does|has|had)n't \w+)\W*$",
    re.IGNORECASE,
)
# The user says a yes or a no will do.
_SAYS_YES_NO = re.compile(
    r"\byes\s*(?:/|or)\s*no\b|\bY\s*/\s*N\b|\btrue\s*(?:/|or)\s*false\b|\bT\s*/\s*F\b"
    r"|\bthumbs? up\b"
    # ... or gives a claim to check: "Draft claim: '...'", "fact-check this: ...".
    r"|\b(?:accurate\s*(?:/|or)\s*inaccurate|(?:claim|statement)\s*:|fact[- ]?check)",
    re.IGNORECASE,
)
# A question that asks for something else than a yes or a no.
_WH_OR_REQUEST = re.compile(
    r"^\W*(?:what|which|who|whom|whose|where|when|why|how"
    r"|(?:can|could|would|will) you|please|tell me|give me|name|list)\b",
    re.IGNORECASE,
)
# An option picked by its place in the list ("the middle option both times", "the second one").
_ORDINALS = {
    "first": 0, "1st": 0, "former": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3,
    "4th": 3, "last": -1, "latter": -1,
}  # fmt: skip
_ORDINAL = re.compile(
    r"\b(first|1st|former|second|2nd|third|3rd|fourth|4th|middle|last|latter)\b", re.IGNORECASE
)
# An answer of numbers only ("2", "1 and 3"): places in a list the user wrote without numbers.
_PLACES = re.compile(r"\W*\d(?:\s*(?:,|;|&|/|\band\b|\bor\b)\s*\d)*\W*")
_AFFIRMS = re.compile(
    r"^\s*[\U0001F44D\u2705\u2714\u2611]"  # 👍 ✅ ✔ ☑
    r"|^\W*y\W*$"  # "y", as a "y/n" asked for
    r"|^\W*(?:yes|yeah|yep|yup|yea|ya|mhm|affirmative|correct|right|exactly|indeed|accurate"
    r"|verified|confirmed"
    r"|that's (?:right|correct)|true"
    r"|same|both|spot on|you(?:'ve| have)? (?:got )?it|you(?:'re| are) right"
    r"|(?:it|that|this)(?:'s| is| was) (?:correct|right|true|accurate)"
    # a bare pronoun and auxiliary: "He was.", "She did!" (not "It is hard to say.")
    r"|(?:he|she|it|they|that|this) (?:is|was|are|were|do|did|does|has|had)(?=\W*(?:$|[,.;!]))"
    r"|oui|sí|sì|ja|sim|genau|esatto|exacto|certo)(?!\w)",
    re.IGNORECASE,
)
_NEGATES = re.compile(r"\b(?:no|not|never|neither|nor|wrong|incorrect|different)\b|n't\b", re.I)
# "Yes, she did." confirms the question; an answer that says more than a few things of its own
# is judged on what it says.
MAX_CONFIRMATION_WORDS = 12
MAX_OWN_WORDS = 6
_SENTENCES = re.compile(r"(?<=[.!?:])\s+|\n+")
_LIST_SPLIT = re.compile(r"\s*(?:,|;|/|\bor\b|\band\b|\bou\b|\bo\b|\boder\b)\s*", re.IGNORECASE)
_HAS_OR = re.compile(r"\b(?:or|ou|o|oder)\b", re.IGNORECASE)
MIN_OPTIONS = 3  # items of a plain list; two are enough when joined by "or"
_NUMBER = re.compile(r"\d+")
# A list one item a line, numbered, lettered or bulleted: each line is an option, and two
# lines already make a choice ("1. X\n2. Y\nWhich one ...?").
_LIST_LINE = re.compile(r"^\s*(?:\d{1,2}\s*[.)]|\(?[A-Ha-h]\s*[.)]|[-*•])\s+(\S.*?)\s*$")
MIN_LINE_OPTIONS = 2


def confirmed(question: str, user_text: str, candidate: str, premises: str = "") -> set[str]:
    """Content tokens (as :func:`verifiers.text.content_tokens` makes them) of what the user
    said that ``candidate`` confirms or chooses. ``premises`` are the user's earlier turns on
    the current subject, which a "yes" confirms with the question."""
    found: set[str] = set()
    if not declines(candidate) and _affirms(candidate, user_text) and asks_yes_no(question):
        found.update(content_tokens(question), content_tokens(premises))
    picked = chosen(question, user_text, candidate)
    if picked:
        # What the question says of the chosen option is confirmed with it ("Which of the
        # three had a mother who was a locksmith?" — "X"), not the options passed over.
        lists = (*_offered(user_text), *_offered(question))
        offered = set().union(*(option for options in lists for option in options))
        found |= picked | (set(content_tokens(question)) - offered)
    return found


def chosen(question: str, user_text: str, candidate: str, quiz: str = "") -> set[str]:
    """Content tokens of the options the user offered that ``candidate`` chooses (by repeating
    them or by their place); empty for a refusal. ``quiz`` (earlier answers) offers options
    only in lists written as lists ("A) Amman B) Beirut"): commas in prose are no menu."""
    if declines(candidate):
        return set()
    said = set(content_tokens(substance(candidate)))
    found: set[str] = set()
    for options in (*_offered(user_text), *_line_lists(quiz)):
        found |= _chosen(options, said)
    short = len(candidate.split()) <= MAX_CONFIRMATION_WORDS
    ordinal = _ORDINAL.search(candidate) if short else None
    # The list the question offers, or else the last one the user offered ("2008, 2010 or
    # 2012?" ... "no hint, just which one" — "The middle one.") and the last one an earlier
    # answer wrote ("1. The Breath Between Waves 2. Norwegian Wood ..." — "The first one.").
    lists = _offered(question) or (*_offered(user_text)[-1:], *_line_lists(quiz)[-1:])
    if ordinal is not None:
        for options in lists:
            found |= _by_place(options, ordinal.group(1).lower())
    elif _PLACES.fullmatch(candidate):
        for options in lists:
            found |= _by_number(options, [int(n) for n in _NUMBER.findall(candidate)])
    return found


@lru_cache(maxsize=256)
def asks_yes_no(question: str) -> bool:
    """Whether the user's turn asks if what it states is so (see the module docstring)."""
    if _SAYS_YES_NO.search(question):
        return True
    sentences = [s for s in _SENTENCES.split(question.strip()) if s.strip()]
    asks = [s for s in sentences if s.rstrip().endswith("?")] or sentences
    if not asks:
        return False
    if ASKS_IF_RIGHT.search(asks[-1]):
        return True
    ask = _OPENERS.sub("", asks[-1])
    if _HAS_OR.search(ask) is not None and _options(ask):
        return False  # a choice: what is chosen is read from the options
    return bool(_AUXILIARY.match(ask)) or (
        ask.rstrip().endswith("?") and not _WH_OR_REQUEST.match(ask)
    )


def _affirms(candidate: str, user_text: str) -> bool:
    """Whether ``candidate`` (no refusal: the caller checks) is a brief, unqualified
    affirmation."""
    affirmation = _AFFIRMS.match(candidate)
    if affirmation is None or _NEGATES.search(candidate):
        return False
    if len(candidate.split()) <= MAX_CONFIRMATION_WORDS:
        return True
    rest = candidate[affirmation.end() :]
    return len(set(content_tokens(rest)) - set(content_tokens(user_text))) <= MAX_OWN_WORDS


@lru_cache(maxsize=256)
def _offered(text: str) -> tuple[list[set[str]], ...]:
    """The option lists of each sentence of ``text``, and its lists written one item a line
    (the same for every candidate of a request, so read once)."""
    lists = [options for s in _SENTENCES.split(text) if (options := _options(s))]
    return (*lists, *_line_lists(text))


@lru_cache(maxsize=256)  # an earlier answer's quiz is read for every candidate of a request
def _line_lists(text: str) -> tuple[list[set[str]], ...]:
    """Lists written one item a line ("1. Behrouz Rohani", "- Wei-Jun Chen", "b) Hina Ameen"),
    each run of ``MIN_LINE_OPTIONS`` or more items one list, in order; and numbered lists
    inline ("1) Lahore 2) Karachi 3) Dhaka")."""
    lists = [[set(content_tokens(value)) for _, value in items] for items in inline_items(text)]
    lists.append([])
    for line in text.splitlines():
        item = _LIST_LINE.match(line)
        if item is None:
            lists.append([])
        elif words := set(content_tokens(item.group(1))):
            lists[-1].append(words)
    return tuple(items for items in lists if len(items) >= MIN_LINE_OPTIONS)


def _by_place(options: list[set[str]], ordinal: str) -> set[str]:
    """The option at the place ``ordinal`` names, if the list has it."""
    place = len(options) // 2 if ordinal == "middle" else _ORDINALS[ordinal]
    return options[place] if -len(options) <= place < len(options) else set()


def _by_number(options: list[set[str]], places: list[int]) -> set[str]:
    """The options at the places ``places`` count from 1 — unless the options are numbers
    themselves ("2, 3 or 4 books?" — "3" is a value, not a place)."""
    if any(_NUMBER.fullmatch(word) for option in options for word in option):
        return set()
    return set().union(*(options[p - 1] for p in places if 1 <= p <= len(options)))


def _options(sentence: str) -> list[set[str]]:
    """The items of a list in ``sentence`` (its last comma-free stretch before the list is
    context, not an option: "these jobs: obstetrician, florist" -> obstetrician, florist)."""
    body = sentence.rsplit(":", 1)[-1]
    parts = [content_tokens(part) for part in _LIST_SPLIT.split(body)]
    parts = [part for part in parts if part]
    enough = MIN_OPTIONS if not _HAS_OR.search(body) else 2
    if len(parts) < enough:
        return []
    if all(_NUMBER.fullmatch(w) for part in parts[1:] for w in part) and not any(
        _NUMBER.fullmatch(w) for w in parts[0]
    ):  # "in which year was she born, 1934, 1944 or 1954?": the question, then the numbers
        return [set(part) for part in parts[1:]]
    # The first item carries the question before it ("was her mom a florist or a nurse"): as
    # an option it is its last words, as many as the longest other option has (two at least).
    longest = max(2, *(len(part) for part in parts[1:]))
    return [set(parts[0][-longest:]), *(set(part) for part in parts[1:])]


def _chosen(options: list[set[str]], said: set[str]) -> set[str]:
    """The words of the options the answer repeats (at least half of an option's words: the
    first item of "Is her father a civil engineer or a dermatologist?" carries the question)."""
    picked = [option & said for option in options if 2 * len(option & said) >= len(option)]
    if not picked or len(picked) == len(options):
        return set()
    return set().union(*picked)
