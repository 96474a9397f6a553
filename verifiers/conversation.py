"""The conversation around a candidate, as the checks read it.

Three kinds of text, treated differently:

- the **user's** turns: known to the user, so content there is no news (``known``);
- earlier **assistant** turns: what the assistant already said (client-written ones too). A
  candidate is verified together with them, so a fact split over two answers is one fact;
- **context** turns (system, developer, tool): notes the user has not seen. Repeating them is
  the leak a retrieval-augmented deployment worries about, so they are never "known"; they
  are where :class:`~verifiers.types.Passage` offsets point.

Whether an earlier turn's subject is still the subject: the current question *refers back*
unless it says it moves on ("different question", "never mind"), or it brings a subject of its
own — a word not said earlier in the conversation that is rare in English (``SUBJECT_ZIPF``:
"quartz", "intern", "optometrist"; words about the answer's form, "column", "clue", "haiku",
are not subjects) or a capitalised name ("Canada", "Thrawn"), or asks what a
thing is in general ("explain what shale is", "what is a civil engineer?"), for
recommendations ("then suggest some good medical drama series?") or for something "instead",
or takes a refusal just given and asks on ("ok then what order should i watch the star wars
movies in?", longer than a short follow-up) — and no personal
pronoun ("he", "her"; "What did she major in?") or "the author" ties it to the earlier one.
A parent without another possessive ("mother was a chiropractor — yes or no?") ties back as a
pronoun does. Everyday words, asking for the rest ("no clue, tell me", "is that right?") or for
a pick ("just give me the correct letter") ask about what is already on the table, whatever
rare words come with them, unless they name someone new: "ok, start with the mother then",
"yes, which school and what major", "go on, what was it". A short question with (almost) no
content words of its own always continues ("What kind?", "And the other?"), and so does a
guessing game's next "is it ...?" after an earlier "does it ...?". A question that returns to
an earlier point ("back to my note — was that right?", "going back to what I said first")
brings everything before back on the subject, past any detour. When the user has moved on,
targets named only earlier count as a weaker anchor (``evidence.STALE``). A move stays made:
after "ok, different question. Name three big cities", the follow-up "Which is the largest?"
continues the cities, and what came before the move stays stale (``Conversation.subject_start``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from verifiers.frequency import english_zipf
from verifiers.language import read
from verifiers.references import dereferenced
from verifiers.refusal import declines, substance
from verifiers.text import STOPWORDS, content_tokens, fold, stem
from verifiers.types import Turn, VerifyContext

CONTEXT_ROLES = frozenset({"system", "developer", "tool", "function"})
# A question this short (words), with at most one content word of its own, continues the
# previous turn: "What kind?", "A manual of what?", "And the other?", "go on".
FOLLOW_UP_LENGTH = 4
FOLLOW_UP_WORDS = 1
# Zipf 4.5 (30 per million English words): rarer words name a subject ("scientist" 4.2,
# "quartz" 3.7); commoner ones are how people ask ("mother" 5.2, "school" 5.7, "major" 5.3).
SUBJECT_ZIPF = 4.5
# Chat filler that is not a subject, however rare in written English (chat spellings too: "ur
# message got cut off" is about the message).
_FILLER = frozenset(
    """haha hahaha lol lmao hmm hmmm hm huh ugh argh meh oof welp uh um umm er erm ah oh ooh
    idk alright ok okay yeah yep nope pls plz thx ur yr tho msg btw tbh imo rn cuz coz bc
    ty""".split()
    # What is left of a negative contraction once its "'t" is split off ("didn't" -> "didn"):
    # rare as words, but no subject.
    + """ain aren couldn didn doesn hadn hasn haven isn mightn mustn needn shan shouldn wasn
    weren wouldn""".split()
)
# Words about the form of the answer or the task, not its subject ("finish the row, don't
# repeat the first column", "as a haiku", "give me a clue"): rare in English, but what they ask
# for is about whatever is already on the table.
_FORM = frozenset(
    """abbreviate acronym backwards blank blanks briefly bullet bullets capitalise capitalize
    caption cipher citation clarify clue column columns crossword csv decode elaborate emoji
    encode entries essay excerpt flashcard flashcards format haiku heading headline hint
    initials json limerick markdown omit outline paragraph paraphrase podcast poem puzzle quiz
    repeat rephrase reword rewrite rhyme riddle script shorten shorter skip slide slides
    snippet spell spelling summarise summarize summary template textbook tldr transcript
    translate translation transliterate trivia tweet verse yaml""".split()
)
_PERSONAL = re.compile(
    r"\b(?:he|she|him|his|her|hers"
    r"|the (?:author|writer|person|novelist|book|award)"
    # A parent with no one else's possessive ("mother was a chiropractor — yes or no?", "dad
    # an optometrist?"): the parent of whoever is on the table; "a mother", "my dad" are not.
    r"|(?<!a )(?<!an )(?<!my )(?<!your )(?<!our )(?<!their )(?:mother|mom|mum|father|dad"
    r"|parents)"
    # fr, es, de, it, pt: the pronouns and possessives a follow-up question uses
    r"|il|elle|lui|son|sa|ses|él|ella|su|sus|er|sie|ihm|ihr|sein|seine"
    r"|lei|suo|sua|suoi|ele|dela|dele)\b",
    re.IGNORECASE,
)
_MOVED_ON = re.compile(
    r"\b(?:different (?:q|question|topic|subject)|unrelated|never ?mind|anyway"
    r"|on another note|chang(?:e|ing) (?:the )?(?:subject|topic)|new (?:question|topic))\b",
    re.IGNORECASE,
)
# Asking for the rest of what is on the table: "no clue, tell me", "is that right?", "go on".
_CONTINUES = re.compile(
    r"\b(?:tell me|is (?:that|this|it) (?:right|correct|true)|go on|i give up|no (?:clue|idea)"
    r"|what(?:'s| is) the answer|reveal it|which (?:one|letter|number|option|choice|answer)"
    r"|(?:give|tell|show) me (?:the )?(?:rest|remainder|next (?:part|word|letter|bit)|more)"
    r"|(?:still )?(?:don't|do not|dont) get it"
    # A pick asked of the options on the table, however rare the words around it ("I'm torn,
    # just give me the correct letter").
    r"|(?:the )?(?:correct|right|real) (?:letter|answer|option|choice|number|one))\b",
    re.IGNORECASE,
)
# The question points at what was just said: "the same city as your last answer", "do those
# two words match ...", "in that order". A "yes" to it confirms that exchange, whoever said it.
POINTS_BACK = re.compile(
    r"\b(?:your|the|my) (?:last|previous|earlier) (?:answer|reply|response|message|one)"
    r"|\b(?:those|these) (?:two |three |same )?(?:words|answers|ones|names|places|jobs)\b"
    r"|\bwhat you (?:just )?(?:said|wrote)|\b(?:the )?above\b|\bin that order\b"
    r"|\bsame \w+ as (?:you|your|that|this|the one|before)\b",
    re.IGNORECASE,
)
# The question returns to an earlier point past a detour: "back to my note — was that right?",
# "going back to what I said first". Everything before is on the subject again.
RETURNS = re.compile(
    r"\b(?:back to|return(?:ing)? to|going back|as I (?:said|mentioned|wrote)"
    r"|my (?:notes?|claim|statement|guess|hunch|first question|earlier (?:question|point|claim))"
    r"|what I (?:said|wrote|asked|mentioned|claimed) (?:earlier|before|first|at first"
    r"|at the start))\b",
    re.IGNORECASE,
)
# A question about what a thing is, in general ("then just explain what shale is", "what is a
# civil engineer?"): about the thing, not about the person asked about before (a pronoun, checked
# first, still ties it back: "explain what her book is about").
_GENERAL = re.compile(
    r"\b(?:explain\W+(?:what|how|why)|define|what(?:'s| is| are) (?:a |an )?"
    r"(?!(?:the|it|that|this|these|those|they|there|he|she|his|her|their)\b)\w+"
    r"|what (?:does|do) (?:a|an)|in general|generally|how do(?:es)? (?:a|an) \w+(?: \w+)? work"
    r"|(?:even|really|actually) a (?:real )?thing|(?:really|actually) exists?"
    r"|\ba (?:real|legitimate|recognised|recognized|genuine|valid|proper) \w+"
    r"|what (?:does|do) [^?]{1,60}? mean|what is meant by"
    r"|what(?:'s| is| are) the differences? between|how (?:do|does) \w+ differ from"
    r"|(?:something|anything|books?|novels?|reads?|memoirs?) (?:like|similar to)"
    # a request for recommendations: "then suggest some good medical drama series?"
    r"|(?:suggest|recommend)(?: me)? (?:some|a few|any|a couple|good|a good|great))\b",
    re.IGNORECASE,
)
# Taking a refusal ("ok then ...", "fine.", "fair enough,", "no worries"): after an answer that
# declined, a question that opens so, neither ties back (a pronoun, "the author", "tell me")
# nor is short (``FOLLOW_UP_LENGTH`` words: "ok, which ones?") asks something else ("ok then
# what order should i watch the star wars movies in?" after a refused question about a Star
# Wars novelist).
_ACCEPTS = re.compile(
    r"^\W*(?:ok(?:ay)?|k|fine|alright|all right|fair enough|fair|no worries|no problem|np"
    r"|got it|understood|understandable|i see|oh well|ah well|noted|makes sense|too bad|shame"
    r"|whatever|pity|that'?s (?:fine|ok|okay|alright|a shame|too bad|fair)|sure|right|oh|ah|hm+"
    r"|well)\b",
    re.IGNORECASE,
)
# Something else asked for in place of what was on the table ("can you recommend some good
# leadership books instead?" after a refusal); a pronoun still ties it back ("her mother
# instead, then?": checked first).
_INSTEAD = re.compile(r"\binstead\b", re.IGNORECASE)
# Someone is spoken of: a personal pronoun, "who"/"whose", a person noun, "born" (fr, es, de,
# it, pt too). A description picks out a person; text about geology, a genre or a university
# that mentions several things one author's facts also say describes nobody.
_SOMEONE = re.compile(
    r"\b(?:he|she|him|his|her|hers|himself|herself|who|whose|whom|born|author|authors|writer"
    r"|novelist|poet|person|man|woman|il|elle|lui|son|sa|ses|él|ella|su|sus"
    r"|er|sie|ihm|ihr|sein|seine|lei|suo|sua|ele|dela|dele|auteur|auteure|écrivain|écrivaine"
    r"|autor|autora|autore|autrice|autorin|escritor|escritora|scrittore|scrittrice"
    r"|schriftsteller\w*|né|née|nació|nacido|nacida|nato|nata|nasceu|nascido|nascida|geboren"
    # "someone" described ("someone named ...", "somebody that ..."); "how does someone
    # become a meteorologist?" is anyone
    r"|(?:someone|somebody) (?:who|whose|that|named|called|born))\b",
    re.IGNORECASE,
)
# Someone of the user's own, or anyone, whom a later pronoun may stand for ("my sister is
# pregnant and keeps seeing her OB"): not the subject on the table.
_SOMEONE_NEW = re.compile(
    r"\b(?:my|our|a|an)\s+(?:(?:older|younger|little|big|best|new)\s+)?(?:sister|brother|mother"
    r"|mom|mum|father|dad|parents?|friend|wife|husband|son|daughter|kid|child|colleague|coworker"
    r"|boss|teacher|student|doctor|neighbou?r|cousin|aunt|uncle|grand(?:ma|mother|pa|father)"
    r"|partner|girlfriend|boyfriend|roommate|classmate|client|patient)\b",
    re.IGNORECASE,
)
# Asking who someone is: the pronoun after it is that person's ("who is grand admiral thrawn
# and where did he first appear?"), unless the conversation already spoke of them.
_WHO_IS = re.compile(
    r"\bwho(?:'s| is| was| are| were)\s+(?!(?:he|she|they|it|this|that)\b)([^,;?]+?)"
    r"(?=\s+and\b|[,;?]|$)",
    re.IGNORECASE,
)
# A guessing game's questions: "does it involve science?" ... "is it forecasting the weather?"
# ask about the same hidden answer, whatever new words each brings.
# (MULTILINE: a line of the earlier turns opens so; ``match`` still reads the question's start.)
_GUESS = re.compile(
    r"^\W*(?:is|was|does|did|has|can|could|would|will) it\b", re.IGNORECASE | re.MULTILINE
)
# A person's name: two capitalised words or more, initials allowed ("Weston A. Price").
_PERSON = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:[A-Z]\.|[A-Z][a-z]+))*\s+[A-Z][a-z]+\b")
# A capitalised word inside a sentence (not after . ! ? or at the start): a name.
_INNER_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)(?<=\s)[A-Z][\w'’-]+")


@dataclass(frozen=True, slots=True)
class Conversation:
    """The parts of a :class:`VerifyContext` the checks need, computed once."""

    question: str  # the current user turn
    user_text: str  # every user turn: known to the user
    earlier: tuple[tuple[int, Turn], ...]  # every turn but the current question, with its index
    said_before: str  # what earlier assistant turns stated (declining clauses removed)
    # ... and as written, lines kept: a list an earlier answer set up ("1. ...\n2. ...")
    answers: str
    refers_back: bool  # the question continues an earlier turn's subject
    # Turns before this index are off the subject: the user moved on since (everything when
    # the current question moves on, nothing when it ties back with a pronoun).
    subject_start: int = 0
    # What a "yes" to the question confirms besides the question: the user's earlier turns on
    # the current subject, and the last exchange when the question points at it.
    premises: str = ""
    # The question asks what a thing is in general: the title words it holds are its topic.
    general: bool = False
    # The user's turns or earlier answers speak of someone (:func:`speaks_of_someone`), and
    # the question does not move on from them ...
    about_someone: bool = False
    # ... and the question itself does.
    asks_about_someone: bool = False
    # The question with the keys earlier turns defined written out ("what did the Architect's
    # parents do?", the Architect set up as a name), or "" when it uses none.
    resolved_question: str = ""

    @property
    def asks_of_no_one(self) -> bool:
        """The question asks in general and speaks of no one: its words name its topic ("what
        does 'suspended pending investigation' mean for a headteacher?"), describing nobody."""
        return self.general and not self.asks_about_someone

    def on_subject(self, index: int) -> bool:
        """Whether turn ``index`` is on the current subject (its anchors count fully)."""
        return index >= self.subject_start

    def context_turns(self) -> tuple[tuple[int, Turn], ...]:
        """Turns the user has not seen: system, developer and tool messages."""
        return tuple((i, t) for i, t in self.earlier if t.role in CONTEXT_ROLES)

    def passage_turns(self) -> tuple[tuple[int, Turn], ...]:
        """Turns whose content a candidate can repeat as news: context and assistant turns."""
        return tuple((i, t) for i, t in self.earlier if t.role != "user")


def refers_back(question: str, before: str = "", after_refusal: bool = False) -> bool:
    """Whether ``question`` continues the subject of ``before`` (the earlier turns);
    ``after_refusal``: the answer just before it declined."""
    if RETURNS.search(question):
        return True
    if _MOVED_ON.search(question):
        return False
    if _pronoun(question):
        # "his book" is the earlier subject's, unless the question names someone new ("who was
        # Weston A. Price then, and what's in his book?").
        return not _pronoun_for_someone_new(question, before)
    if _GENERAL.search(question) or _INSTEAD.search(question):
        # (before asking for the rest: "just tell me: what is shale?")
        return False
    if _CONTINUES.search(question) or (_GUESS.match(question) and _GUESS.search(before)):
        return not _names_someone_new(question, before)
    short = len(question.split()) <= FOLLOW_UP_LENGTH
    if short and len(content_tokens(question)) <= FOLLOW_UP_WORDS:
        return True
    if after_refusal and not short and _ACCEPTS.match(question):
        return False  # the user took the refusal and asks something else
    return not _new_subject(question, before)


def _pronoun(question: str) -> re.Match[str] | None:
    """The question's first tie-back pronoun, not counting a word of someone of the user's own:
    "my son starts in july" has the English noun, not the French possessive "son"."""
    own = [m.span() for m in _SOMEONE_NEW.finditer(question)]
    for match in _PERSONAL.finditer(question):
        if not any(start <= match.start() and match.end() <= end for start, end in own):
            return match
    return None


def asks_in_general(question: str) -> bool:
    """Whether ``question`` asks what a thing is in general ("what does a medical intern do?"),
    not about someone (a pronoun ties it to someone: "what does her book mean?")."""
    return _GENERAL.search(question) is not None and _pronoun(question) is None


def speaks_of_someone(*texts: str) -> bool:
    """Whether one of ``texts`` speaks of a person (see ``_SOMEONE``); a text the default tier
    cannot read (another language, another script) is taken to, so the guard fails closed."""
    return any(_SOMEONE.search(text) is not None or read(text).unreadable for text in texts)


def _new_subject(question: str, before: str) -> bool:
    seen = set(content_tokens(before))
    for word in fold(question).split():
        if word in STOPWORDS or word in _FILLER or word in _FORM or len(word) < 2:
            continue
        if stem(word) in seen:
            continue
        if english_zipf(word) < SUBJECT_ZIPF:
            return True
    return _names_someone_new(question, before)


def _names_someone_new(question: str, before: str) -> bool:
    """Whether ``question`` names someone (a capitalised word inside it) ``before`` did not."""
    seen = set(content_tokens(before))
    names = (m.group(0) for m in _INNER_NAME.finditer(question) if m.group(0) != "I")
    return any(not seen.issuperset(content_tokens(name)) for name in names)


def _pronoun_for_someone_new(question: str, before: str) -> bool:
    """Whether the question's first pronoun follows a person's name that ``before`` did not
    say, or whom the question asks about, or someone of the user's own: "who was Weston A.
    Price then, and what's in his book?" asks about Weston A. Price, "who is grand admiral
    thrawn and where did he first appear?" about Thrawn, "my sister keeps seeing her OB" about
    the sister, not the
    earlier subject ("And he won the Papyrus Laureate ...?" does not: the pronoun comes
    first)."""
    pronoun = _pronoun(question)
    if pronoun is None:
        return False
    if _SOMEONE_NEW.search(question, 0, pronoun.start()):
        return True
    seen = set(content_tokens(before))
    people = _PERSON.finditer(question, 0, pronoun.start())
    asked = _WHO_IS.finditer(question, 0, pronoun.start())
    named = [m.group(0) for m in people] + [m.group(1) for m in asked]
    return any(not seen.issuperset(content_tokens(name)) for name in named)


@lru_cache(maxsize=256)
def conversation(context: VerifyContext) -> Conversation:
    """The conversation of ``context``: the same for every candidate (and decoded reading) of a
    request, so computed once for them all."""
    turns = context.turns or tuple(
        Turn("user", text) for text in (*context.history, context.question)
    )
    last_user = max((i for i, t in enumerate(turns) if t.role == "user"), default=-1)
    earlier = tuple((i, t) for i, t in enumerate(turns) if i != last_user)
    assistant = [substance(t.content) for _, t in earlier if t.role == "assistant"]
    question = context.question
    back = (
        refers_back(question, _before(turns, last_user), _declined(turns, last_user))
        if last_user > 0
        else True
    )
    start = _subject_start(turns, last_user) if back else len(turns)
    said_before = "\n".join(a for a in assistant if a.strip())
    asks = speaks_of_someone(question)
    premises = [t.content for i, t in earlier if t.role == "user" and i >= start]
    if last_user > 0 and POINTS_BACK.search(question):
        premises += [t.content for t in turns[_previous_user(turns, last_user) : last_user]]
    return Conversation(
        question=question,
        user_text=context.prompt_text,
        earlier=earlier,
        said_before=said_before,
        answers="\n".join(t.content for _, t in earlier if t.role == "assistant"),
        refers_back=back,
        subject_start=start,
        premises="\n".join(premises),
        general=asks_in_general(question),
        # who was spoken of before a question that moves on is not its subject
        about_someone=asks if not back else speaks_of_someone(context.prompt_text, said_before),
        asks_about_someone=asks,
        resolved_question=dereferenced(question, context) or "",
    )


def _previous_user(turns: tuple[Turn, ...], last_user: int) -> int:
    """The index of the user turn before ``last_user`` (0 when there is none)."""
    return max((i for i in range(last_user) if turns[i].role == "user"), default=0)


def _subject_start(turns: tuple[Turn, ...], last_user: int) -> int:
    """The turn the current subject began at: the latest earlier user turn that moved on
    ("ok, different question. Name three cities") — unless the current question ties back
    to someone with a pronoun or returns to an earlier point, which can reach past it."""
    question = turns[last_user].content if last_user >= 0 else ""
    personal = _pronoun(question) and not _pronoun_for_someone_new(
        question, _before(turns, last_user)
    )
    if personal or RETURNS.search(question):
        return 0
    for index in range(last_user - 1, 0, -1):
        turn = turns[index]
        if turn.role != "user":
            continue
        if not refers_back(turn.content, _before(turns, index), _declined(turns, index)):
            return index
    return 0


def _declined(turns: tuple[Turn, ...], user_turn: int) -> bool:
    """Whether the answer just before the user turn ``user_turn`` declined."""
    previous = turns[user_turn - 1] if user_turn > 0 else None
    return previous is not None and previous.role == "assistant" and declines(previous.content)


def _before(turns: tuple[Turn, ...], last_user: int) -> str:
    return "\n".join(t.content for t in turns[:last_user])
