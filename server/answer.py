"""What a request's answer is, before it is put on the wire: one result per choice, the
usage to bill, the ``unlearning`` block and the audit decision. No HTTP types here.

A refused choice is OpenAI's refusal by default (``finish_reason: "content_filter"``,
``message.content: null``, ``message.refusal``: the refusal text), so clients that detect
refusals (the openai SDK's ``parse()``, langchain-openai) see one; ``unlearning.refusal_style:
text`` keeps the older form, the refusal text as an ordinary answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from server import __version__
from server.backends.base import FinishReason, Generation, TokenLogprob, ToolCall, Usage
from server.guard import Guard
from server.logs import Decision
from server.loop import LoopOutcome
from server.policy import ActivePolicy
from server.protocol import (
    AssistantMessage,
    Choice,
    ChoiceLogprobs,
    TokenLogprobWire,
    ToolCallWire,
    TopLogprob,
    UnlearningInfo,
    VerifierSummary,
    usage_info,
)

RefusalStyle = Literal["openai", "text"]


@dataclass(frozen=True, slots=True)
class ChoiceResult:
    text: str
    finish_reason: FinishReason
    refused: bool = False
    tool_calls: tuple[ToolCall, ...] = ()
    logprobs: tuple[TokenLogprob, ...] | None = None

    @classmethod
    def of(cls, generation: Generation, finish_reason: FinishReason | None = None) -> ChoiceResult:
        reason = finish_reason or generation.finish_reason
        if generation.tool_calls:
            return cls(
                "", "tool_calls", tool_calls=generation.tool_calls, logprobs=generation.logprobs
            )
        return cls(generation.text, reason, logprobs=generation.logprobs)


@dataclass(slots=True)
class Answer:
    choices: list[ChoiceResult]
    usage: Usage  # what is billed: the prompt once, and the returned completions
    info: UnlearningInfo


def answer_of(outcomes: Sequence[LoopOutcome], info: UnlearningInfo) -> Answer:
    choices = [
        ChoiceResult(o.text, o.finish_reason, refused=True)
        if o.generation is None
        else ChoiceResult.of(o.generation, o.finish_reason)
        for o in outcomes
    ]
    prompt = outcomes[0].returned.prompt_tokens  # one conversation, billed once
    completion = sum(o.returned.completion_tokens for o in outcomes)
    return Answer(choices, Usage(prompt, completion), info)


def wire_choice(index: int, result: ChoiceResult, style: RefusalStyle) -> Choice:
    if result.refused and style == "openai":
        message = AssistantMessage(content=None, refusal=result.text)
        return Choice(index=index, message=message, finish_reason="content_filter")
    logprobs = wire_logprobs(result.logprobs)
    if result.tool_calls:
        calls = [ToolCallWire.of(c) for c in result.tool_calls]
        message = AssistantMessage(content=None, tool_calls=calls)
        return Choice(index=index, message=message, finish_reason="tool_calls", logprobs=logprobs)
    message = AssistantMessage(content=result.text)
    return Choice(
        index=index, message=message, finish_reason=result.finish_reason, logprobs=logprobs
    )


def wire_logprobs(logprobs: Sequence[TokenLogprob] | None) -> ChoiceLogprobs | None:
    if logprobs is None:
        return None
    return ChoiceLogprobs(
        content=[
            TokenLogprobWire(
                token=t.token,
                logprob=t.logprob,
                bytes=list(t.token.encode()),
                top_logprobs=[
                    TopLogprob(token=a, logprob=lp, bytes=list(a.encode())) for a, lp in t.top
                ],
            )
            for t in logprobs
        ]
    )


def system_fingerprint(model: str, artifact: str | None) -> str:
    """What produced the answer: Lethe's version, the model, the calibration artifact."""
    digest = hashlib.sha256(f"{__version__}\0{model}\0{artifact or '-'}".encode())
    return "fp_" + digest.hexdigest()[:12]


def unlearning_info(outcomes: Sequence[LoopOutcome], active: ActivePolicy) -> UnlearningInfo:
    """One block for all choices: the worst status, the most rounds, every candidate, and
    every token the guard spent on them (``usage``)."""
    spent = sum((o.usage for o in outcomes), Usage())
    order = {"accepted": 0, "refined": 1, "refused": 2}
    worst = max(outcomes, key=lambda o: order[o.status])
    report = max((o.chosen_report() for o in outcomes), key=lambda r: r.score)
    return UnlearningInfo(
        status=worst.status,
        rounds=max(len(o.rounds) for o in outcomes),
        candidates=sum(o.candidates for o in outcomes),
        leakage_score=round(report.score, 6),
        threshold=active.loop.threshold,
        budget=active.loop.budget,
        guarantee=active.guarantee,
        usage=usage_info(spent.prompt_tokens, spent.completion_tokens),
        verifiers=[
            VerifierSummary(name=v.name, score=round(v.score, 6), latency_ms=round(v.latency_ms, 3))
            for v in report.verdicts
        ],
    )


def decision_of(outcomes: Sequence[LoopOutcome], info: UnlearningInfo, guard: Guard) -> Decision:
    flagged: dict[str, None] = {}
    for outcome in outcomes:
        for round_reports in outcome.reports:
            for report in round_reports:
                flagged.update(dict.fromkeys(report.targets))
    guarantee = info.guarantee
    return Decision(
        status=info.status,
        rounds=info.rounds,
        candidates=info.candidates,
        leakage_score=info.leakage_score,
        threshold=info.threshold,
        budget=info.budget,
        forget_set=guard.forget_set_hash,
        artifact=guarantee.artifact if guarantee is not None else None,
        stale=guarantee.stale if guarantee is not None else False,
        verifiers={v.name: v.score for v in info.verifiers},
        targets=list(flagged),
    )
