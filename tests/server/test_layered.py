"""Several verifier suites checked as one: the merged report is the one a single suite over
all their targets would give in score, flag and targets."""

from __future__ import annotations

from server.layered import LayeredSuite, merge_verdicts
from verifiers.forgetset import ForgetSet, Target, build_forget_set
from verifiers.suite import SuiteConfig, VerifierSuite
from verifiers.types import Span, Verdict, VerifyContext

ALICE = Target(id="a", name="Alice Quornby", facts=("Alice Quornby keeps bees in Oslo.",))
BOB = Target(id="b", name="Bob Trevellian", facts=("Bob Trevellian sails to Lima.",))
ASK = VerifyContext(question="Tell me about my neighbours.")


def _suite(*targets: Target) -> VerifierSuite:
    return VerifierSuite(build_forget_set(targets), SuiteConfig())


def test_layers_flag_what_one_suite_over_all_targets_flags() -> None:
    first, second, whole = _suite(ALICE), _suite(BOB), _suite(ALICE, BOB)
    layered = LayeredSuite([first, second], whole.forget_set, whole.config)
    try:
        for answer in (
            "Alice Quornby keeps bees.",
            "Bob Trevellian sails to Lima.",
            "Alice Quornby and Bob Trevellian met.",
            "The weather is mild.",
        ):
            merged, single = layered.check(ASK, answer), whole.check(ASK, answer)
            assert merged.flagged == single.flagged, answer
            assert set(merged.targets) == set(single.targets), answer
            assert merged.score == single.score, answer
            assert [v.name for v in merged.verdicts] == ["entity", "fact"]
    finally:
        for suite in (first, second, whole):
            suite.close()


def test_merged_verdict_keeps_the_highest_score_and_every_flagged_target() -> None:
    low = Verdict("fact", 0.2, targets=("x",), spans=(Span("x", 0, 1),))
    high = Verdict("fact", 0.9, targets=("a",), feedback=("f-a",), spans=(Span("a", 2, 5),))
    other = Verdict("fact", 0.6, targets=("b",), feedback=("f-b",), error=None)
    merged = merge_verdicts([low, high, other], flag_threshold=0.5)
    assert merged.score == 0.9
    assert merged.targets == ("a", "b")  # flagged ones; the low one is not a flag
    assert merged.feedback == ("f-a", "f-b")
    assert merged.spans == (Span("a", 2, 5),)
    failed = merge_verdicts([high, Verdict("fact", 1.0, error="timeout")], 0.5)
    assert (failed.score, failed.error) == (1.0, "timeout")  # fail closed survives merging


def test_a_live_forget_set_is_built_only_when_asked() -> None:
    suite = _suite(ALICE)
    calls: list[int] = []

    def make() -> ForgetSet:
        calls.append(1)
        return suite.forget_set

    layered = LayeredSuite([suite], make, suite.config, size=1, hash="set-sha256:x")
    assert (layered.size, layered.hash, calls) == (1, "set-sha256:x", [])
    assert layered.forget_set is layered.forget_set
    assert calls == [1]
    suite.close()
