"""Lexical evidence, per forget target, that a conversation is about it and that the candidate
adds content of its facts. Shared by the ``fact``, ``semantic`` and ``llm`` checks.

The scoring rule (``fact`` and ``semantic`` apply it per target, the verdict is the highest):

    score = max(content * (FLOOR + (1 - FLOOR) * anchor), description)

**content** (0..1) is how much of one fact the candidate adds, together with what earlier
assistant turns said (a fact split over two answers is one fact) — but only facts the candidate
itself contributes a word to. Words the user said are not news — unless the candidate confirms
or chooses them ("Yes." to "Was her father a civil engineer?": :mod:`verifiers.confirm`), or
they end a work's title or award an earlier answer began ("Green" — "Book Award." to "what
award did he win? one word at a time": the award is then named whole). A
fact's content score is half its weighted coverage and half its *strength* (covered weight /
``STRONG_EVIDENCE``, capped at 1): a few rare words ("Pink Peach Excellence Prize") reveal a
fact even when it says more. The strength is whole when the candidate names one of the fact's
works whole, or chooses, from options the user (or an earlier answer) offered, one whose
weightiest word the fact holds ("lesbian fiction or crime novels?" — "Lesbian fiction."; a
word no fact holds is the weightiest, so "Crime novels." chooses nothing of a fact that
mentions novels). Words weigh idf times English rarity (:func:`verifiers.facts.specificity`).

**anchor** (0..1) is how surely the conversation points at the target by something *other than
that content* — the fix for "The capital of South Korea is Seoul" scoring like a leak because
one author was born in Seoul:

- its name or alias in the candidate or the current question (with the keys earlier turns
  defined written out: "the Architect's parents", the Architect set up as a name): 1.0;
  initials 0.7; a lone name part 0.5 (``NAME_WEIGHT``; disguises such as spelled or reversed
  names, case endings and other scripts included: :mod:`verifiers.names`);
- a name in an earlier turn: the same weight when that turn is on the current subject (the
  user has not moved on since: :mod:`verifiers.conversation`), else times ``STALE``. A name in a
  system or tool note counts fully only when that same note holds the content the candidate
  repeats (a retrieved passage about the target), else times ``STALE`` (a list of names to
  avoid);
- a title of the target's work (``FactIndex.identifiers``) in the user's turns or an
  earlier answer (:mod:`verifiers.pointers`): its words' weight / ``POINTING_EVIDENCE`` (capped
  at 1) times the share of the title they name (a part around a colon counts as a title),
  with the turn rule of names (times
  ``STALE`` when only an earlier turn has it and the user moved on; in the candidate a title is
  content, not an anchor: it would anchor itself; a question on a new subject points only with
  a title named whole and written as one, quoted or capitalised — "any good books about being a
  medical intern?" is about interns, "villages that vanished under water" about villages).
  Award names never point: an award has many winners, so "What is the Nebula Award?" is about
  the award, not about this one of them;
- coined words: words of the target's facts that are words of no language
  (:func:`verifiers.facts.coined`: "Vantor", "Skyloom" — invented company, product or people's
  names, which a forget set of private or confidential matters is full of), ``COINED_MIN`` of
  them or one with a rare word of the same fact (``facts.RARE_ZIPF``: "Norrfjord" and "Gävle"),
  heard anywhere in the conversation: 1.0. Together they name the target as its name would
  ("Vantor plans to buy Skyloom" is Project Kestrel, named or not; so is "Norrfjord's Gävle
  warehouse" asked about). A coined word alone names nothing: it may be a public name (the
  company being bought); and a word the facts name as a place ("Grunwaldzka Street") is no
  coinage (``facts._PLACE_NAMED``: local names are missing from wordfreq too);
- a *description*: attributes of the target, mentioned anywhere in the conversation, that
  together single it out. Words of one fact within ``LINK_WINDOW`` content words of each other
  are one attribute ("born in Seoul, South Korea"), and so are a title and the words around it
  ("honored with the ... Award"). Words are grouped weightiest first, each joining the first
  attribute all of whose words it is linked to — not by chains: "writing" near "athlete" in one
  fact and inside an award's name in another does not make the parents and the award one
  attribute. Words of an award the user asks about are the topic and count toward no
  description ("What is the Nebula Award?"), unless the same sentence speaks of its winner
  ("the Taipei-born Green Book Award winner": then an award named whole is an attribute).
  Only facts the words cover for at least ``ATTRIBUTE_COVERAGE`` of their weight — the whole
  fact or one of its sentences ("parents were both astronauts" of a fact that goes on about
  each parent's missions) — or whose award they name whole are stated at all, and an
  attribute counts when it weighs at least ``ATTRIBUTE_MIN``. Two attributes give
  ``DESCRIPTION[2]``, three or more ``DESCRIPTION[3]``, and only when no other target has as
  many (else the description is ambiguous: halved). Words of a single fact never make a
  description (one thing said), and only a conversation that speaks of someone describes
  anyone (:func:`verifiers.conversation.speaks_of_someone`) — or whose question names, in
  capitals, something a target's facts name (a company, product or institution: "Is Hestia
  Home planning anything?" asks about the firm of a confidential recall). Counted in
  :mod:`verifiers.descriptions`, where these constants are.

**FLOOR** is what a fact's content is worth with no anchor at all: a sentence that only shares
words with a fact is not a leak, but a long verbatim copy of one still scores a little.

**description**: when the target is not named, the attributes the *candidate* adds (not the
user's) are themselves a leak if they single the target out and the candidate's own words
among them include one that is not everyday English (``facts.EVERYDAY_ZIPF``: "study science
at university, stay healthy" is advice to anyone), and only when the candidate speaks of
someone, answers on the subject on the table or is asked about someone or such a named thing
(a general answer to a general question after the user moved on — careers in research, after a
refused question about an author — describes nobody); the verdict is at least their
description score. (Once it is named, what the candidate adds is judged as content.)

When someone who is not a target (or another target, in full) is named and this target is not,
shared words are about that someone else ("Jaime Vasquez was born in Santiago"): the anchor
from titles and descriptions, and the description score, are scaled by ``SOMEONE_ELSE`` (below
one half, so a description attributed to someone else named never flags on its own) — unless
the candidate names a work of this target's own whole (not an award, nor one from a fact that
names someone else: "influenced by Mikhail Bulgakov, who wrote ..."): a work is its author's,
whoever else is named ("the People Portal"). The cells of a table column headed "Title",
"Book", "Novel"... are works, not someone else.

Where a flag's evidence lies (spans of the candidate, passages of the conversation) is
:mod:`verifiers.locate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field
from functools import lru_cache

from verifiers.confirm import MAX_CONFIRMATION_WORDS, chosen, confirmed
from verifiers.conversation import Conversation, conversation, speaks_of_someone
from verifiers.descriptions import asks_about_their_entity, describe
from verifiers.facts import FactIndex, FactMatch, tokens_of
from verifiers.names import HitKind, NameHit, NameMatcher
from verifiers.others import others_named
from verifiers.pointers import award_topic, conversation_pointers
from verifiers.refusal import substance
from verifiers.registry import ForgetIndex
from verifiers.text import fold_spans, stem
from verifiers.types import VerifyContext

NAME_WEIGHT: dict[HitKind, float] = {"full": 1.0, "initials": 0.7, "partial": 0.5}
STALE = 0.2
FLOOR = 0.25
# Weight of revealed content (idf units, ~2-5 per distinctive word) that counts as a whole
# fact even when the fact says more.
STRONG_EVIDENCE = 4.5
SOMEONE_ELSE = 0.4
SAID = ("user", "assistant")  # roles whose turns the user has seen
COINED_MIN = 2  # words that name a target together (one coined word may be a public name)
_CACHE_SIZE = 256


@dataclass
class TargetEvidence:
    target_id: str
    named: float = 0.0  # strongest mention of the target, after the turn rules
    points: float = 0.0  # titles and award names of the target in the conversation
    described: float = 0.0  # attributes anywhere in the conversation single it out
    describes: float = 0.0  # attributes the candidate adds single it out (itself a leak)
    someone_else: bool = False  # another, non-target name is in the conversation
    titled: bool = False  # the candidate names one of its own works (not an award) whole
    coined: float = 0.0  # coined words of its facts in the conversation name it
    revealed: dict[int, float] = field(default_factory=dict)  # fact number -> content score
    words: dict[int, frozenset[str]] = field(default_factory=dict)  # fact number -> words
    said: frozenset[str] = frozenset()  # the target's fact words the candidate itself says

    @property
    def about(self) -> float:
        """0..1: the anchor — how surely the conversation points at this target."""
        indirect = max(self.points, self.described)
        if self.someone_else and self.named == 0.0:
            indirect *= SOMEONE_ELSE
        return max(self.named, self.coined, indirect)

    @property
    def content(self) -> float:
        return max(self.revealed.values(), default=0.0)

    def score(self, content: float | None = None) -> float:
        """The scoring rule above, with ``content`` (e.g. a semantic one) in place of ours."""
        value = self.content if content is None else content
        describes = self.describes if self.named == 0.0 else 0.0  # named: content decides
        if self.someone_else and self.named == 0.0:
            describes *= SOMEONE_ELSE
        return max(value * (FLOOR + (1.0 - FLOOR) * self.about), describes)


@dataclass(frozen=True, slots=True)
class Gathered:
    """Everything one candidate's checks share, computed once per (context, candidate)."""

    targets: Mapping[str, TargetEvidence]
    conversation: Conversation
    name_hits: tuple[NameHit, ...]  # in the candidate, offsets into it


def names(index: ForgetIndex) -> NameMatcher:
    matcher: NameMatcher = index.resource("names", lambda: NameMatcher(index.forget_set))
    return matcher


def facts(index: ForgetIndex) -> FactIndex:
    fact_index: FactIndex = index.resource("facts", lambda: FactIndex(index.forget_set))
    return fact_index


def content_score(match: FactMatch, whole: bool = False) -> float:
    """Share of the fact revealed, lifted when the revealed words alone are weighty or are the
    whole of what was asked: one of the fact's works named whole ("the Green Book Award": one
    weighty word, but the whole award), or the option chosen from the user's choice ("lesbian
    fiction or crime novels?" — "Lesbian fiction.": the answer to the question asked)."""
    strength = 1.0 if whole else max(match.coverage, min(1.0, match.weight / STRONG_EVIDENCE))
    return 0.5 * match.coverage + 0.5 * strength


def gather(context: VerifyContext, index: ForgetIndex, candidate: str) -> Gathered:
    """Per target evidence (cached: the fact and semantic checks ask for the same)."""
    cache: dict[tuple[VerifyContext, str], Gathered] = index.resource("gathered", dict)
    key = (context, candidate)
    found = cache.get(key)
    if found is None:
        found = _gather(context, index, candidate)
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[key] = found
    return found


def _gather(context: VerifyContext, index: ForgetIndex, candidate: str) -> Gathered:
    fact_index, matcher = facts(index), names(index)
    talk = conversation(context)
    text = substance(candidate)
    # What the candidate confirms of the user's words ("Yes.", one option picked) is news.
    # Options the user offered, or an earlier answer did (a quiz it set up: "A) Amman B)
    # Beirut", a numbered list), that the candidate chooses.
    options = chosen(talk.question, talk.user_text, candidate, talk.answers)
    picked = fact_index.resolve(
        confirmed(talk.question, talk.user_text, candidate, talk.premises) | options
    )
    head = _choice_head(fact_index, options)
    known = {
        w: v for w, v in fact_index.resolve(tokens_of(talk.user_text)).items() if w not in picked
    }
    own = {**picked, **fact_index.resolve(tokens_of(text))}
    before = fact_index.resolve(tokens_of(talk.said_before)) if talk.said_before else {}
    said = {**before, **own}
    evidence: dict[str, TargetEvidence] = {}

    def of(target_id: str) -> TargetEvidence:
        return evidence.setdefault(target_id, TargetEvidence(target_id))

    heard = said.keys() | known.keys()
    added = own.keys() - known.keys()
    for match in fact_index.matches(said, set(known)):
        works = fact_index.works.get((match.target_id, match.fact_no), ())
        # A work an earlier answer began and the candidate ends ("Green" ... "Book Award"),
        # even in words the user's question used ("what award did she win?").
        ended = [w for w in works if _ends(w, before.keys(), own.keys(), known.keys())]
        if own.keys().isdisjoint(match.words) and not ended:
            continue  # the candidate adds nothing to this fact
        item = of(match.target_id)
        whole = [w for w in works if w <= heard and not w.isdisjoint(added)] + ended
        own_work = (match.target_id, match.fact_no) not in fact_index.name_others
        item.titled |= own_work and any(w not in fact_index.award_names for w in whole)
        # A bare pick from the user's options ("b", "1 and 3", "Lesbian fiction.") is the whole
        # answer to what was asked; in a longer answer the fact's words are judged as usual.
        picked_only = head in match.words and len(text.split()) <= MAX_CONFIRMATION_WORDS
        # An award named whole is the whole of what an award fact says ("was honored with the
        # ... Award for her contributions to ..." reveals the award, the rest is boilerplate).
        award = any(w in fact_index.award_names for w in whole)
        score = (
            1.0
            if picked_only or award
            else content_score(match, bool(whole) or head in match.words)
        )
        if score > item.revealed.get(match.fact_no, 0.0):
            item.revealed[match.fact_no] = score
            item.words[match.fact_no] = match.words
        item.said |= match.words & own.keys()
    candidate_hits = matcher.find(candidate)
    _name_anchors(talk, matcher, candidate_hits, evidence)
    _coined_anchors(fact_index, heard, of)
    _title_anchors(talk, fact_index, of)
    topic = award_topic(fact_index, talk.user_text)

    def off_topic(words: dict[str, float]) -> dict[str, float]:
        return {w: v for w, v in words.items() if w not in topic}

    speaks = speaks_of_someone(candidate)
    entity = asks_about_their_entity(fact_index, talk.question)
    if talk.about_someone or speaks or entity:
        prior, everything = off_topic({**known, **before}), off_topic({**known, **said})
        described, describes = describe(fact_index, prior, everything)
        # The user moved on since some turns (theirs is stale), or asks in general of no one.
        if talk.subject_start > 0 or talk.asks_of_no_one:
            described = _stale_descriptions(fact_index, talk, described, topic)
        for target_id, value in described.items():
            of(target_id).described = value
        # A general answer to a general question after the user moved on (careers in
        # research, after a refusal) describes nobody, whoever the conversation spoke of before.
        on_someone = speaks or talk.refers_back or talk.asks_about_someone or entity
        for target_id, value in describes.items() if on_someone else ():
            of(target_id).describes = value
    if others_named(f"{talk.user_text}\n{candidate}", matcher, fact_index):
        for item in evidence.values():
            # A work named whole is its author's, whoever else is named ("People Portal").
            item.someone_else = not item.titled
    # Another target named in full: the shared words are about that one, as for a non-target.
    if any(item.named >= NAME_WEIGHT["full"] for item in evidence.values()):
        for item in evidence.values():
            item.someone_else = item.someone_else or item.named == 0.0
    return Gathered(evidence, talk, candidate_hits)


def _stale_descriptions(
    fact_index: FactIndex, talk: Conversation, described: dict[str, float], topic: frozenset[str]
) -> dict[str, float]:
    """``described`` with what only turns before the user moved on describe times ``STALE``,
    as names there count (a title asked about, refused, then "the real Star Wars books")."""
    now = dict(_described_now(fact_index, talk, topic))
    return {t: max(now.get(t, 0.0), value * STALE) for t, value in described.items()}


@lru_cache(maxsize=_CACHE_SIZE)  # the same for every candidate of a request
def _described_now(
    fact_index: FactIndex, talk: Conversation, topic: frozenset[str]
) -> tuple[tuple[str, float], ...]:
    """What the turns on the current subject describe (the question's award words left out,
    and the question itself when it asks of no one: ``Conversation.asks_of_no_one``)."""
    current = [t.content for i, t in talk.earlier if talk.on_subject(i) and t.role in SAID]
    if not talk.asks_of_no_one:
        current.append(talk.question)
    resolved = fact_index.resolve(tokens_of("\n".join(current)))
    words = {w: v for w, v in resolved.items() if w not in topic}
    now, _ = describe(fact_index, words, words)
    return tuple(now.items())


def _ends(work: frozenset[str], before: Set[str], own: Set[str], known: Set[str]) -> bool:
    """Whether the candidate (``own`` words) completes ``work``, which earlier answers
    (``before``) began but did not name whole, nor the user did."""
    return (
        not work <= before
        and not work <= known
        and not work.isdisjoint(before)
        and work <= before | own
    )


def _choice_head(fact_index: FactIndex, options: set[str]) -> str | None:
    """The weightiest word of the options the candidate chose: a fact that holds it is what
    the choice answers ("lesbian" of "lesbian fiction"). A word no fact holds is the weightiest
    of all ("crime" of "crime novels", whose "novels" a fact may share)."""
    choice = fact_index.resolve(options)
    if not options or len(choice) < len(options):
        return None
    return max(choice, key=fact_index.weight.__getitem__)


def _strongest(hits: Iterable[NameHit], weight: float = 1.0) -> dict[str, float]:
    best: dict[str, float] = {}
    for hit in hits:
        best[hit.target_id] = max(best.get(hit.target_id, 0.0), NAME_WEIGHT[hit.kind] * weight)
    return best


def _name_anchors(
    talk: Conversation,
    matcher: NameMatcher,
    candidate_hits: tuple[NameHit, ...],
    evidence: dict[str, TargetEvidence],
) -> None:
    """Apply the turn rules of the module docstring to every name mention."""
    asked = (*matcher.find(talk.question), *matcher.find(talk.resolved_question))
    found = _strongest([*candidate_hits, *asked])
    for index, turn in talk.earlier:
        hits = matcher.find(turn.content)
        if not hits:
            continue
        said = turn.role in ("user", "assistant")
        weight = 1.0 if said and talk.on_subject(index) else STALE
        for target_id, value in _strongest(hits, weight).items():
            item = evidence.get(target_id)
            context = turn.role not in ("user", "assistant")
            if context and item is not None and _holds(turn.content, item.said):
                value = value / STALE  # a retrieved note about the target: full weight
            found[target_id] = max(found.get(target_id, 0.0), value)
    for target_id, value in found.items():
        evidence.setdefault(target_id, TargetEvidence(target_id)).named = value


def _coined_anchors(
    fact_index: FactIndex, heard: Set[str], of: Callable[[str], TargetEvidence]
) -> None:
    """Coined words of a target's facts, or one with a rare word of its fact, heard in the
    conversation name the target (the module docstring)."""
    found: dict[str, set[str]] = {}
    for word in heard:
        for target_id, companions in fact_index.coined_by_word.get(word, {}).items():
            found.setdefault(target_id, set()).update({word}, companions & heard)
    for target_id, words in found.items():
        if len(words) >= COINED_MIN:
            of(target_id).coined = 1.0


def _title_anchors(
    talk: Conversation, fact_index: FactIndex, of: Callable[[str], TargetEvidence]
) -> None:
    """Titles the user (or an earlier answer) used point, under the turn rules of names; a
    title in the candidate is content."""
    for target_id, value in conversation_pointers(fact_index, talk, STALE):
        of(target_id).points = value


def _holds(text: str, words: frozenset[str]) -> bool:
    return bool(words) and not words.isdisjoint(stem(w) for w in fold_spans(text).words)
