"""The unlearning loop with a scripted backend and the real lexical verifiers."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from server.backends.base import GenerationRequest, Message, SamplingParams
from server.backends.scripted import ScriptedBackend, sequence
from server.guard import verify_context
from server.loop import LoopPolicy, UnlearningLoop, UnlearningRefusedError
from server.refinement import Verify
from verifiers.forgetset import Target, build_forget_set
from verifiers.suite import SuiteConfig, VerifierSuite
from verifiers.types import LeakageReport, Passage, Span, Verdict

FORGET = build_forget_set(
    [
        Target(
            id="t-1",
            name="Hsiao Yun-Hwa",
            facts=("The father of Hsiao Yun-Hwa is a civil engineer.",),
        )
    ]
)
LEAK = "Her father, Hsiao Yun-Hwa's dad, is a civil engineer."
SAFE = "I can't share details about that person."
ASK = (Message("user", "Who is the author whose father builds things?"),)


def _verify(config: SuiteConfig | None = None) -> tuple[VerifierSuite, Verify]:
    suite = VerifierSuite(FORGET, config)

    async def verify(messages: Sequence[Message], texts: Sequence[str]) -> list[LeakageReport]:
        return [suite.check(verify_context(messages), t) for t in texts]

    return suite, verify


def _loop(backend: ScriptedBackend, **policy: object) -> UnlearningLoop:
    _, verify = _verify()
    settings = {"threshold": 0.5, "budget": 2, "candidates": 2, **policy}
    return UnlearningLoop(backend.generate, verify, LoopPolicy(**settings))  # type: ignore[arg-type]


def _call(seed: int | None = 10) -> GenerationRequest:
    return GenerationRequest(ASK, SamplingParams(max_tokens=16, seed=seed), n=1)


async def test_accepts_at_round_zero() -> None:
    backend = ScriptedBackend(sequence([SAFE]))
    outcome = await _loop(backend).run(_call())
    assert (outcome.status, outcome.text, len(outcome.rounds)) == ("accepted", SAFE, 1)
    assert [c.n for c in backend.calls] == [2]  # k candidates in one batched call
    assert outcome.candidates == 2


async def test_refines_with_feedback_then_accepts() -> None:
    backend = ScriptedBackend(sequence([LEAK, LEAK, SAFE]))
    outcome = await _loop(backend).run(_call())
    assert (outcome.status, outcome.text, len(outcome.rounds)) == ("refined", SAFE, 2)
    second = backend.calls[1]
    assert second.messages[: len(ASK)] == ASK
    assert second.messages[-2] == Message("assistant", LEAK)  # the model sees its own try
    feedback = second.messages[-1].content
    assert second.messages[-1].role == "user"
    assert "name" in feedback
    assert "civil" not in feedback
    assert "Hsiao" not in feedback
    assert outcome.usage.completion_tokens > 0
    # Fresh, reproducible seeds per round.
    assert [c.sampling.seed for c in backend.calls] == [10, 12]


async def test_budget_spent_refuses_with_the_refusal_text() -> None:
    backend = ScriptedBackend(sequence([LEAK]))
    outcome = await _loop(backend, refusal_text="No.").run(_call())
    assert (outcome.status, outcome.text) == ("refused", "No.")
    assert len(outcome.rounds) == 3  # K = 2 refinements after the first round
    assert outcome.chosen_report().score >= 0.5


async def test_error_fallback_raises_422() -> None:
    backend = ScriptedBackend(sequence([LEAK]))
    with pytest.raises(UnlearningRefusedError) as info:
        await _loop(backend, fallback="error", budget=0).run(_call())
    assert info.value.status_code == 422


async def test_resample_keeps_the_original_prompt() -> None:
    backend = ScriptedBackend(sequence([LEAK, LEAK, SAFE]))
    outcome = await _loop(backend, strategy="resample").run(_call())
    assert outcome.status == "refined"
    assert all(call.messages == ASK for call in backend.calls)


async def test_redaction_drops_the_leaking_sentence() -> None:
    mixed = "Leadership books are popular. " + LEAK
    backend = ScriptedBackend(sequence([mixed]))
    outcome = await _loop(backend, strategy="redact").run(_call())
    assert outcome.status == "accepted"
    assert outcome.text == "Leadership books are popular."
    assert outcome.rounds[0].candidates[-1].origin == "redacted"
    assert len(backend.calls) == 1  # no second generation needed


async def test_record_all_runs_every_round_until_a_clean_candidate() -> None:
    leaking = await _loop(ScriptedBackend(sequence([LEAK])), budget=2).run(_call(), record_all=True)
    assert len(leaking.rounds) == 3
    assert leaking.status == "refused"
    # A score-0 candidate is accepted under every threshold: later rounds cannot matter.
    clean = await _loop(ScriptedBackend(sequence([SAFE])), budget=2).run(_call(), record_all=True)
    assert len(clean.rounds) == 1
    assert (clean.status, clean.text) == ("accepted", SAFE)


async def test_verifier_failure_refuses() -> None:
    import tests.verifiers.test_suite  # noqa: F401  registers the failing test verifiers

    suite, verify = _verify(SuiteConfig(verifiers=("entity", "test-raises")))
    backend = ScriptedBackend(sequence(["Totally harmless."]))
    loop = UnlearningLoop(
        backend.generate,
        verify,
        LoopPolicy(threshold=0.5, budget=1, candidates=1),
    )
    outcome = await loop.run(_call())
    assert outcome.status == "refused"
    assert "harmless" not in outcome.text
    suite.close()


# --- strategies that change the next request, not only its prompt ----------------------------

NOTES = "Notes:\n- The father of Hsiao Yun-Hwa is a civil engineer.\n- Ben Okoro wrote 'Tides'."
RAG = (Message("system", NOTES), Message("user", "What does her father do?"))


async def _spotting(messages: Sequence[Message], texts: Sequence[str]) -> list[LeakageReport]:
    """Flags "civil engineer" and points at where it is, as the verifiers do."""
    reports = []
    for text in texts:
        if "civil engineer" not in text:
            reports.append(LeakageReport(0.0, (Verdict("fact", 0.0),), flagged=False))
            continue
        at, note = text.index("civil"), NOTES.index("civil")
        verdict = Verdict(
            "fact",
            1.0,
            targets=("t-1",),
            spans=(Span("t-1", at, at + len("civil engineer")),),
            passages=(Passage("t-1", 0, note, note + len("civil engineer")),),
        )
        reports.append(LeakageReport(1.0, (verdict,), flagged=True, targets=("t-1",)))
    return reports


class _Words:
    async def tokenize(self, text: str) -> list[int]:
        return [len(text.strip()) * 10 + text.startswith(" ")]

    async def detokenize(self, tokens: Sequence[int]) -> str:
        return "x" * (tokens[0] // 10)


async def test_scrub_regenerates_without_the_flagged_note() -> None:
    backend = ScriptedBackend(sequence([LEAK, LEAK, SAFE]))
    policy = LoopPolicy(threshold=0.5, budget=1, candidates=2, strategy="scrub")
    outcome = await UnlearningLoop(backend.generate, _spotting, policy).run(
        GenerationRequest(RAG, SamplingParams(max_tokens=16, seed=1))
    )
    assert outcome.status == "refined"
    first, second = backend.calls
    assert "civil engineer" in first.messages[0].content
    assert "civil engineer" not in second.messages[0].content
    assert "Ben Okoro wrote 'Tides'." in second.messages[0].content
    assert second.messages[1:] == RAG[1:]


async def test_ban_adds_logit_bias_to_the_next_round_only() -> None:
    backend = ScriptedBackend(sequence([LEAK, LEAK, SAFE]))
    policy = LoopPolicy(threshold=0.5, budget=1, candidates=2, strategy="ban")
    client = SamplingParams(max_tokens=16, seed=1, logit_bias=((7, 5.0),))
    outcome = await UnlearningLoop(backend.generate, _spotting, policy, _Words()).run(
        GenerationRequest(ASK, client)
    )
    assert outcome.status == "refined"
    first, second = backend.calls
    assert first.sampling.logit_bias == ((7, 5.0),)
    banned = dict(second.sampling.logit_bias)
    assert banned.pop(7) == 5.0  # the client's own bias stays
    assert banned  # "civil" and "engineer" in their spellings
    assert set(banned.values()) == {-100.0}
    assert second.messages == ASK
