"""Index the distinctive content of every fact, so a candidate is compared only with the facts
that share a word with it (an inverted index: cost follows the candidate, not the forget set).

Words are matched after folding and light stemming, and, for words of five letters or more,
by spelling similarity too, which catches most cognates in other languages ("ingénieur",
"histórica", "Bagdad") at a discount.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import Indel

from verifiers.forgetset import Target
from verifiers.frequency import english_zipf, highest_zipf
from verifiers.language import LATIN_LANGUAGES, OTHER_MIN_ZIPF, WORDLIST
from verifiers.refusal import proper_names
from verifiers.text import content_stems, content_tokens, fold, stem

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Titles and award names: quoted, three or more capitalised words in a row ("Seoul
# Architecture Book of the Year"), or a capitalised word and "Award" ("Pen/Faulkner Award").
# They name one target's work; places ("Seoul, South Korea") and professions are attributes
# many people share.
_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”|‘([^’]+)’|(?<!\w)\'(.+?)\'(?!\w)')
_TITLE_CASE = re.compile(
    r"\b[A-Z][\w'’/+&-]*(?:\s+(?:(?:of|in|for|the|and|a|an|on|to|with|at)\s+)*[A-Z][\w'’/+&-]*){2,}"
    # and two-word award names ("Pen/Faulkner Award", "Nebula Prize")
    r"|\b[A-Z][\w'’/+&-]*\s+(?:Award|Prize|Medal|Trophy|Fellowship)s?\b"
)
# A capitalised run naming an institution ("University of Karachi", "Royal Academy of Arts"), a
# street, a firm or a river is a place many people studied or worked at, an attribute like a
# city: not a title of the target's work (a question about the university is not a question
# about its alumna). Quoted titles stay titles whatever their words.
_NO_WORK = re.compile(
    r"\b(?:Universit(?:y|ies)|College|Institute|School|Academy|Museum|Hospital|Library|Church"
    r"|Cathedral|Company|Corporation|Society|Council|Ministry|Department|Foundation|Cent(?:er|re)"
    r"|Observatory|Laborator(?:y|ies)|Conservatory|Gallery|Bank|Association|Agency"
    r"|Organi[sz]ation|Club|Parliament|Court|Embassy|Seminary|Polytechnic)\b"
    # ... a street, or a firm by its legal or trade suffix ("Oak Tree Road in Edison",
    # "Bracewell Logistics"): places and companies are attributes too, not the target's work.
    r"|\b(?:Road|Street|Avenue|Lane|Boulevard|Drive|Square|Terrace|Crescent|Highway"
    r"|Inc|Ltd|LLC|GmbH|PLC|Corp|Group|Holdings|Systems|Logistics|Technologies|Industries"
    r"|Labs|Foods|Pharmaceuticals|Motors|Partners|Solutions|Clinic|Pharmacy|Hotel|Restaurant"
    r"|Bakery|Salon|Garage|Brewery|Winery|Surgery|Dental|Consulting|Airlines|Insurance)\b"
    # ... or a river, lake or mountain by name ("River Severn at Upton-upon-Severn"; a title
    # may still hold such a word: "On the Mountain Peak").
    r"|^(?:River|Lake|Loch|Mount|Cape|Isle) (?=[A-Z])"
)
_ARTICLE = re.compile(r"\b(?:a|an)\s+$", re.IGNORECASE)
# An award is given to many people over the years: its name points at the award, not at one of
# its winners (a question about the Nebula Award is general knowledge). A work's title names
# its author's work alone. Checked on the title and the words after it ("... Luminary" award).
_AWARD = re.compile(
    r"\b(?:awards?|prizes?|medals?|laureate|honou?rs?|trophy|fellowship|of the year)\b",
    re.IGNORECASE,
)
_AFTER_TITLE = 12  # characters after a title that may hold its "award"
# Words of one fact this close together (in content words) describe one attribute ("born in
# Seoul, South Korea"); farther apart, or in different facts, they are different attributes.
LINK_WINDOW = 3
FUZZY_MIN_LENGTH = 5
FUZZY_MIN_SIMILARITY = 0.8
FUZZY_DISCOUNT = 0.8
FUZZY_PREFIX = 3
MIN_POSTING_CAP = 64


@dataclass(frozen=True, slots=True)
class FactEntry:
    target_id: str
    text_no: int
    tokens: frozenset[str]


@dataclass(frozen=True, slots=True)
class FactMatch:
    target_id: str
    fact_no: int
    coverage: float  # weighted share of the fact's new content found in the candidate
    weight: float  # total weight of that content found
    words: frozenset[str]  # the fact's words the candidate repeats


def fact_texts(target: Target) -> list[str]:
    """Facts, plus each document's sentences (a document is a bag of facts)."""
    sentences = [s for doc in target.documents for s in _SENTENCE_END.split(doc) if s.strip()]
    return [*target.facts, *sentences]


class FactIndex:
    def __init__(self, targets: Iterable[Target]) -> None:
        self.entries: list[FactEntry] = []
        self.name_tokens: dict[str, frozenset[str]] = {}
        # Adjacent content words of titles (not award names): a phrase that names a work.
        self.identifiers: dict[tuple[str, str], set[str]] = {}
        # Adjacent content words of award names.
        self.awards: dict[tuple[str, str], set[str]] = {}
        # Per target, the content words of each title and of each part of a title around a
        # colon ("Melodies of Mercy" of "Melodies of Mercy: The Diary of a Medical Intern"):
        # how much of a title a mention names.
        self.title_parts: dict[str, set[frozenset[str]]] = {}
        # Per target, which of its words belong to one attribute (see LINK_WINDOW).
        self.links: dict[str, dict[str, set[str]]] = {}
        # The content words of each sentence of a fact of several sentences, by (target, fact
        # number): one sentence of a long fact can state an attribute its whole barely covers.
        self.sentences: dict[tuple[str, int], tuple[frozenset[str], ...]] = {}
        # The content words of each title and award name of two or more words in a fact, by
        # (target, fact number): a work named whole is the fact's strongest evidence.
        self.works: dict[tuple[str, int], tuple[frozenset[str], ...]] = {}
        # ... and those of them that are awards: a winner is described by one, not pointed at.
        self.award_names: set[frozenset[str]] = set()
        # Facts that name another person besides the target ("influenced by Mikhail Bulgakov,
        # who wrote ..."): their works are not surely the target's own.
        self.name_others: set[tuple[str, int]] = set()
        # The words each stem stands for in the facts: how common a stem is in English is how
        # common its commonest word is ("writ" is rare, "writing" is not).
        surfaces: dict[str, set[str]] = {}
        places: set[str] = set()  # words that name a place ("Grunwaldzka Street"): no coinage
        for target in targets:
            names = frozenset(content_tokens(" ".join(target.names())))
            self.name_tokens[target.id] = names
            links = self.links.setdefault(target.id, {})
            title_pairs: set[tuple[str, str]] = set()
            described: set[tuple[str, str]] = set()
            for text_no, text in enumerate(fact_texts(target)):
                words = fold(text).split()
                for word in words:
                    surfaces.setdefault(stem(word), set()).add(word)
                places.update(stem(m.group(1)) for m in _PLACE_NAMED.finditer(" ".join(words)))
                ordered = content_stems(words)
                tokens = frozenset(ordered) - names
                if tokens:
                    self.entries.append(FactEntry(target.id, text_no, tokens))
                pieces = [p for p in _SENTENCE_END.split(text) if p.strip()]
                if len(pieces) > 1:
                    self.sentences[target.id, text_no] = tuple(
                        frozenset(content_stems(fold(p).split())) - names for p in pieces
                    )
                titles, rest = split_titles(text)
                if any(set(content_tokens(span)) - names for span in proper_names(rest)):
                    self.name_others.add((target.id, text_no))
                plain = [t for t in content_tokens(rest) if t not in names]
                described.update(itertools.pairwise(plain))
                self.works[target.id, text_no] = tuple(
                    work
                    for title in titles
                    if len(work := frozenset(content_tokens(title)) - names) >= 2
                )
                for title in titles:
                    words = [t for t in content_tokens(title) if t not in names]
                    if is_award(title, text):
                        self.award_names.add(frozenset(words))
                        for pair in itertools.pairwise(words):
                            self.awards.setdefault(pair, set()).add(target.id)
                    else:
                        title_pairs.update(itertools.pairwise(words))
                        self.title_parts.setdefault(target.id, set()).update(_parts(title, names))
                    # A title is one attribute, with the words around it ("honored with
                    # the ... Award"): what the fact says of the work, not a second attribute.
                    around = [t for t in _around(text, title) if t not in names]
                    _link(links, words + around, window=len(words) + len(around))
                _link(links, plain)
            # A title's word pair that the facts also use as plain words ("historical
            # fiction": a genre too) names no work of its own.
            for pair in title_pairs - described:
                self.identifiers.setdefault(pair, set()).add(target.id)
        self.postings: dict[str, list[int]] = {}
        vocabulary: dict[str, set[str]] = {}
        for number, entry in enumerate(self.entries):
            vocabulary.setdefault(entry.target_id, set()).update(entry.tokens)
            for token in entry.tokens:
                self.postings.setdefault(token, []).append(number)
        self.vocabulary_of = {target: frozenset(words) for target, words in vocabulary.items()}
        self._posting_cap = max(MIN_POSTING_CAP, len(self.entries) // 200)
        total = len(self.entries) + 1
        self.weight = {
            token: (math.log(total / len(postings)) + 1.0)
            * min(specificity(word) for word in surfaces.get(token, {token}))
            for token, postings in self.postings.items()
        }
        self._totals = [sum(self.weight[t] for t in entry.tokens) for entry in self.entries]
        # Coined words of each target's facts ("Skyloom", "Vantor"), by word and target, each
        # with the rare words of the facts it is in ("Gävle" beside "Norrfjord"): see `coined`.
        coined_tokens = {
            token
            for token in self.postings
            if token not in places and all(coined(w) for w in surfaces.get(token, {token}))
        }
        rare = {
            token
            for token in self.postings
            if max(english_zipf(w) for w in surfaces.get(token, {token})) < RARE_ZIPF
        }
        self.coined_by_word: dict[str, dict[str, frozenset[str]]] = {}
        for entry in self.entries:
            for token in entry.tokens & coined_tokens:
                owners = self.coined_by_word.setdefault(token, {})
                companions = owners.get(entry.target_id, frozenset())
                owners[entry.target_id] = companions | ((entry.tokens & rare) - {token})
        # Words every text may use ("health", "science", "university"): Zipf >= EVERYDAY_ZIPF.
        self.everyday = frozenset(
            token
            for token in self.postings
            if max(english_zipf(w) for w in {token, *surfaces.get(token, ())}) >= EVERYDAY_ZIPF
        )
        # ... and of each sentence of a long fact, weighed once here rather than per request.
        self.sentence_totals = {
            key: tuple(sum(self.weight[t] for t in sentence) for sentence in sentences)
            for key, sentences in self.sentences.items()
        }
        # Cognates share their first letters ("histórica", "historical"): compare within those.
        self._by_prefix: dict[str, list[str]] = {}
        for token in sorted(self.postings):
            if len(token) >= FUZZY_MIN_LENGTH:
                self._by_prefix.setdefault(token[:FUZZY_PREFIX], []).append(token)
        self.canonical = lru_cache(maxsize=65536)(self._canonical)

    def _canonical(self, token: str) -> tuple[str, float] | None:
        """The indexed word ``token`` stands for, with a confidence factor."""
        if token in self.postings:
            return token, 1.0
        bucket = (
            self._by_prefix.get(token[:FUZZY_PREFIX]) if len(token) >= FUZZY_MIN_LENGTH else None
        )
        if not bucket:
            return None
        best = process.extractOne(
            token,
            bucket,
            scorer=Indel.normalized_similarity,
            score_cutoff=FUZZY_MIN_SIMILARITY,
        )
        return (best[0], FUZZY_DISCOUNT) if best is not None else None

    def resolve(self, tokens: Iterable[str]) -> dict[str, float]:
        """Map words to indexed words (exact or cognate), keeping the best confidence."""
        found: dict[str, float] = {}
        for token in tokens:
            hit = self.canonical(token)
            if hit is not None and hit[1] > found.get(hit[0], 0.0):
                found[hit[0]] = hit[1]
        return found

    def matches(self, candidate: dict[str, float], known: set[str]) -> list[FactMatch]:
        """Facts whose content *not already known* (from the prompt) the candidate repeats.

        Facts are found through their rarer words only: a word shared by hundreds of facts
        ("born", "award") would make the cost grow with the forget set, and a fact matched by
        such words alone scores low anyway. Every word still counts in the coverage.
        """
        touched: set[int] = set()
        for token in candidate.keys() - known:
            postings = self.postings.get(token, ())
            if len(postings) <= self._posting_cap:
                touched.update(postings)
        found: list[FactMatch] = []
        weight = self.weight
        for number in touched:
            entry = self.entries[number]
            if known.isdisjoint(entry.tokens):  # the usual case: the prompt said none of it
                total = self._totals[number]
                words = entry.tokens.intersection(candidate)
            else:
                new = entry.tokens - known
                if not new:
                    continue
                total = sum(weight[t] for t in new)
                words = new.intersection(candidate)
            got = sum(weight[t] * candidate[t] for t in words)
            found.append(FactMatch(entry.target_id, entry.text_no, got / total, got, words))
        return found


def _parts(title: str, names: frozenset[str]) -> set[frozenset[str]]:
    """The content words of a title and of each of its parts around a colon."""
    pieces = [title, *title.split(":")] if ":" in title else [title]
    parts = (frozenset(t for t in content_tokens(piece) if t not in names) for piece in pieces)
    return {part for part in parts if part}


def split_titles(text: str) -> tuple[list[str], str]:
    """The titles and award names in a fact, and the fact without them (institutions are
    neither: they stay in the fact's words)."""
    titles = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]
    rest = _QUOTED.sub(" | ", text)
    titles += [m.group(0) for m in _TITLE_CASE.finditer(rest) if _names_a_work(m)]
    return titles, _TITLE_CASE.sub(_cut_title, rest)


def _names_a_work(match: re.Match[str]) -> bool:
    """Whether a capitalised run is a title or award: not an institution ("University of
    Karachi"), nor a common noun written capitalised after "a"/"an" ("her father is a Real
    Estate Agent")."""
    run, before = match.group(0), match.string[max(0, match.start() - 4) : match.start()]
    if _NO_WORK.search(run):
        return False
    return bool(_AWARD.search(run)) or not _ARTICLE.search(before)  # "an Edgar Award" stays


def _cut_title(match: re.Match[str]) -> str:
    """A title cut out of a fact's plain words; any other capitalised run stays."""
    return " | " if _names_a_work(match) else match.group(0)


def is_award(title: str, fact: str) -> bool:
    """Whether ``title`` (found in ``fact``) names an award rather than a work."""
    start = fact.find(title)
    after = fact[start + len(title) : start + len(title) + _AFTER_TITLE] if start >= 0 else ""
    return bool(_AWARD.search(title) or _AWARD.search(after))


def _around(fact: str, title: str) -> list[str]:
    """The content words within ``LINK_WINDOW`` before and after ``title`` in ``fact``."""
    start = fact.find(title)
    if start < 0:
        return []
    before = content_tokens(_QUOTED.sub(" ", _TITLE_CASE.sub(" ", fact[:start])))
    after = content_tokens(_QUOTED.sub(" ", _TITLE_CASE.sub(" ", fact[start + len(title) :])))
    return before[-LINK_WINDOW:] + after[:LINK_WINDOW]


def _link(links: dict[str, set[str]], ordered: list[str], window: int = LINK_WINDOW) -> None:
    for i, word in enumerate(ordered):
        near = links.setdefault(word, set())
        for other in ordered[max(0, i - window) : i + window + 1]:
            if other != word:
                near.add(other)


def content_bigrams(text: str) -> set[tuple[str, str]]:
    ordered = content_tokens(text)
    return set(itertools.pairwise(ordered))


# 30 per million English words: commoner words are how anyone talks about anything ("health",
# "university"); rarer ones start to say which thing ("astronaut", "optometrist", "Seoul").
EVERYDAY_ZIPF = 4.5


def specificity(token: str) -> float:
    """How much a word says on its own: "father" little, "paramedic" more, "scribing" most.

    From the word's frequency in general English (Zipf scale: 7 = "the", 1 = very rare), so
    that words common everywhere weigh less than the forget set's own rarities.
    """
    zipf = english_zipf(token)
    return min(1.5, max(0.25, (7.0 - zipf) / 4.0))


COINED_MIN_LETTERS = 4
# A word before a place noun names a place ("Grunwaldzka Street", "the Wrzeszcz district",
# "Ballyvourkeen, a village"): local names missing from wordfreq, which anyone may ask about.
_PLACE_NAMED = re.compile(
    r"\b([a-z]+) (?:(?:a|an|the) )?(?:small |little )?(?:street|road|avenue|lane|boulevard"
    r"|district|square|park|village|town|city|county|province|region|neighbou?rhood|suburb"
    r"|valley|river|lake|mountain|island|quarter|borough|municipality)\b"
)
# Rarer than once per million English words: a place or thing a fact names ("Gävle", "Kinsale"),
# not one anyone's text may hold ("Beirut", "Cork", "warehouse").
RARE_ZIPF = 3.0
_PLAIN_WORD = re.compile(r"[a-z]+")


def coined(word: str) -> bool:
    """A word of no language: not in English's list nor among the everyday words of another
    Latin-script one ("Skyloom", a company; "Fikadu", a parent). Such words of a target's facts
    name something of its own, as a name does (the rule is in :mod:`verifiers.evidence`)."""
    return (
        len(word) >= COINED_MIN_LETTERS
        and _PLAIN_WORD.fullmatch(word) is not None
        and english_zipf(word) == 0.0
        and highest_zipf(word, LATIN_LANGUAGES, WORDLIST) < OTHER_MIN_ZIPF
    )


def tokens_of(text: str) -> set[str]:
    return set(content_tokens(text))
