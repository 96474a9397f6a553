"""The unlearning loop: sample k candidates, verify, accept the best if its leakage score is at
most τ, otherwise refine and try again; refuse when the round budget K is spent.

No HTTP types here. The policy (τ, K, k, strategy) normally comes from a calibration
artifact; :func:`calibration.records.accepted` is the decision rule both here and in
calibration, so what was calibrated is what runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from calibration.artifact import Strategy
from calibration.records import CandidateRecord, RoundRecord, accepted
from server.backends.base import (
    FinishReason,
    Generation,
    GenerationRequest,
    GenerationResult,
    Message,
    OutputShape,
    Usage,
)
from server.config import DEFAULT_REFINE_TEMPLATE, DEFAULT_REFUSAL
from server.errors import LetheError
from server.guarded import round_request
from server.refinement import RefinementSettings, RoundView, Tokenizer, Verify, strategy
from server.refinement.base import Bias
from server.shapes import conforms, readable
from verifiers.types import LeakageReport, Verdict

Fallback = Literal["refuse", "error"]
Generate = Callable[[GenerationRequest], Awaitable[GenerationResult]]


class UnlearningRefusedError(LetheError):
    """Every candidate leaked and the fallback policy is ``error``. Carries the loop's
    outcome (status ``refused``), so what happened is recorded, not guessed."""

    status_code = 422
    error_type = "invalid_request_error"
    code = "unlearning_refused"

    def __init__(self, message: str, outcome: LoopOutcome) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True)
class LoopPolicy:
    threshold: float  # τ: accept a candidate whose leakage score is at most this
    budget: int  # K: refinement rounds after the first
    candidates: int = 2  # k: candidates per round, sampled in one batched call
    strategy: Strategy = "reprompt"
    fallback: Fallback = "refuse"
    refusal_text: str = DEFAULT_REFUSAL
    refine_template: str = DEFAULT_REFINE_TEMPLATE
    redact_threshold: float = 0.5  # sentences scoring at least this are dropped (redact)


@dataclass
class LoopOutcome:
    status: Literal["accepted", "refined", "refused"]
    text: str
    finish_reason: FinishReason
    rounds: list[RoundRecord]
    reports: list[list[LeakageReport]]  # per round, per candidate (redacted ones included)
    usage: Usage = field(default_factory=Usage)  # everything the loop spent
    returned: Usage = field(default_factory=Usage)  # the client's prompt + the returned answer
    generation: Generation | None = None  # what the model said, as returned (None: refused)

    @property
    def candidates(self) -> int:
        return sum(r.generated for r in self.rounds)

    def chosen_report(self) -> LeakageReport:
        """The accepted candidate's report; when refused, the best rejected one's."""
        pairs = [
            (c, rep)
            for r, reps in zip(self.rounds, self.reports, strict=True)
            for c, rep in zip(r.candidates, reps, strict=True)
        ]
        if self.status == "refused":
            return min(pairs, key=lambda p: p[0].score)[1]
        return next(rep for c, rep in pairs if c.text == self.text)


class UnlearningLoop:
    def __init__(
        self,
        generate: Generate,
        verify: Verify,
        policy: LoopPolicy,
        tokenizer: Tokenizer | None = None,
    ) -> None:
        self._generate = generate
        self._verify = verify
        self.policy = policy
        settings = RefinementSettings(policy.refine_template, policy.redact_threshold, tokenizer)
        self._refinement = strategy(policy.strategy, settings)

    async def run(self, call: GenerationRequest, *, record_all: bool = False) -> LoopOutcome:
        """Run the loop for one conversation.

        ``record_all`` (calibration) keeps going whatever τ says, until a round's best score is
        at most ``policy.threshold`` — set to the smallest τ of the grid, so that round is
        accepted under every threshold and later rounds cannot matter — or the budget is spent.
        """
        policy = self.policy
        original = call.messages
        prompt = original
        bias: Bias = ()  # token bans the strategy added, on top of the client's logit_bias
        rounds: list[RoundRecord] = []
        reports: list[list[LeakageReport]] = []
        sources: dict[int, Generation] = {}  # id of a candidate record -> what the model said
        usage = Usage()
        prompt_tokens = 0
        for number in range(policy.budget + 1):
            request = round_request(call, prompt, number, policy.candidates, bias)
            result = await self._generate(request)
            usage = usage + result.usage
            if number == 0:
                prompt_tokens = result.usage.prompt_tokens
            candidates, checked = await self._checked(original, call.shape, result, sources)
            view = RoundView(original, candidates, checked)
            rounds.append(RoundRecord(tuple(candidates)))
            reports.append(checked)
            if record_all:
                if rounds[-1].best.score <= policy.threshold:
                    break
                prompt, bias = await self._next(view, bias)
                continue
            decision = accepted(rounds, policy.threshold, policy.budget)
            if decision.candidate is not None:
                status: Literal["accepted", "refined"] = "accepted" if number == 0 else "refined"
                return _returned(
                    status, decision.candidate, sources, rounds, reports, usage, prompt_tokens
                )
            if number < policy.budget:
                prompt, bias = await self._next(view, bias)
        return self._finish(rounds, reports, usage, prompt_tokens, sources)

    async def _next(self, view: RoundView, bias: Bias) -> tuple[tuple[Message, ...], Bias]:
        """The next round's conversation and the token bans so far (they add up)."""
        following = await self._refinement.next_round(view)
        merged = dict(bias)
        merged.update(following.logit_bias)
        return following.messages, tuple(sorted(merged.items()))

    async def _checked(
        self,
        original: tuple[Message, ...],
        shape: OutputShape,
        result: GenerationResult,
        sources: dict[int, Generation],
    ) -> tuple[list[CandidateRecord], list[LeakageReport]]:
        """One round's candidates with their reports: what each reply reveals, and whether
        it has the shape asked for; a derived candidate (redaction) only for plain text."""
        generations = result.generations
        # A trailing assistant message is a prefill the answer continues: what the user
        # reads is prefill + continuation, so that is what is verified.
        prefill = original[-1].content if original and original[-1].role == "assistant" else ""
        checked = await self._verify(original, [prefill + readable(g, shape) for g in generations])
        pairs = zip(generations, checked, strict=True)
        checked = [r if conforms(g, shape) else misshapen(r) for g, r in pairs]
        candidates = []
        for g, r, tokens in zip(generations, checked, token_counts(result), strict=True):
            record = CandidateRecord(
                readable(g, shape), r.score, "generated", g.finish_reason, tokens=tokens
            )
            sources[id(record)] = g
            candidates.append(record)
        if shape.plain:
            derived = await self._refinement.derive(
                RoundView(original, candidates, checked), self._verify
            )
            if derived is not None:
                record = estimated(derived[0], candidates)
                sources[id(record)] = Generation(record.text, completion_tokens=record.tokens)
                candidates.append(record)
                checked.append(derived[1])
        return candidates, checked

    def _finish(
        self,
        rounds: list[RoundRecord],
        reports: list[list[LeakageReport]],
        usage: Usage,
        prompt_tokens: int,
        sources: dict[int, Generation],
    ) -> LoopOutcome:
        policy = self.policy
        decision = accepted(rounds, policy.threshold, policy.budget)
        if decision.candidate is not None:  # only when recording every round
            status: Literal["accepted", "refined"] = (
                "accepted" if decision.round == 0 else "refined"
            )
            return _returned(
                status, decision.candidate, sources, rounds, reports, usage, prompt_tokens
            )
        # A refusal returns no generated tokens: the client is billed for its prompt only.
        refused = LoopOutcome(
            "refused", policy.refusal_text, "stop", rounds, reports, usage, Usage(prompt_tokens)
        )
        if policy.fallback == "error":
            raise UnlearningRefusedError(
                "Every candidate answer revealed content this server must not share.", refused
            )
        return refused


def token_counts(result: GenerationResult) -> list[int]:
    """Each candidate's completion tokens: the backend's own counts, or (a batched upstream
    reports one total for all ``n``) the total shared out by length of text."""
    counts = [g.completion_tokens for g in result.generations]
    if all(c is not None for c in counts):
        return [c or 0 for c in counts]
    total = result.usage.completion_tokens
    chars = [len(g.text) for g in result.generations]
    if sum(chars) == 0:
        return [total // max(len(chars), 1)] * len(chars)
    return [round(total * c / sum(chars)) for c in chars]


def estimated(candidate: CandidateRecord, generated: list[CandidateRecord]) -> CandidateRecord:
    """A derived candidate (a redaction) costs its share of its round's tokens per character."""
    if candidate.tokens is not None:
        return candidate
    tokens = sum(c.tokens or 0 for c in generated)
    chars = sum(len(c.text) for c in generated)
    return replace(candidate, tokens=round(tokens * len(candidate.text) / chars) if chars else 0)


def _returned(
    status: Literal["accepted", "refined"],
    chosen: CandidateRecord,
    sources: dict[int, Generation],
    rounds: list[RoundRecord],
    reports: list[list[LeakageReport]],
    usage: Usage,
    prompt_tokens: int,
) -> LoopOutcome:
    generation = sources[id(chosen)]
    reason: FinishReason = "length" if chosen.finish_reason == "length" else "stop"
    if generation.tool_calls:
        reason = "tool_calls"
    returned = Usage(prompt_tokens, chosen.tokens or 0)
    return LoopOutcome(status, chosen.text, reason, rounds, reports, usage, returned, generation)


def misshapen(report: LeakageReport) -> LeakageReport:
    """A reply without the asked-for shape: never acceptable, whatever it reveals."""
    verdict = Verdict("shape", 1.0, feedback=("Answer in exactly the format that was asked for.",))
    return LeakageReport(1.0, (*report.verdicts, verdict), True, report.targets)
