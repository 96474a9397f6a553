from __future__ import annotations

import math
import time

import pytest

from verifiers.forgetset import ForgetSet
from verifiers.registry import (
    ForgetIndex,
    VerifierConfigError,
    get_verifier,
    registered,
    verifier,
)
from verifiers.suite import SuiteConfig, VerifierSuite, aggregate
from verifiers.types import Verdict, VerifyContext


@verifier("test-raises", tier="lexical", description="always raises")
def _raises(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    raise RuntimeError("secret fact text that must not be logged")


@verifier("test-slow", tier="semantic", description="sleeps past the timeout")
def _slow(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    time.sleep(0.5)
    return Verdict(name="test-slow", score=0.0)


@verifier("test-nan", tier="lexical", description="returns NaN", inline=True)
def _nan(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    return Verdict(name="test-nan", score=math.nan)


@verifier("test-big", tier="lexical", description="returns 3", inline=True)
def _big(context: VerifyContext, index: ForgetIndex, candidate: str) -> Verdict:
    return Verdict(name="test-big", score=3.0)


ASK = VerifyContext(question="hello")


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("test-raises", "error: RuntimeError"),
        ("test-slow", "timeout"),
        ("test-nan", "invalid score"),
        ("test-big", "score out of range"),
    ],
)
def test_failures_fail_closed(forget_set: ForgetSet, name: str, error: str) -> None:
    suite = VerifierSuite(forget_set, SuiteConfig(verifiers=("entity", name), timeout_s=0.1))
    report = suite.check(ASK, "a perfectly harmless answer")
    assert report.score == 1.0
    assert report.flagged
    assert report.failed
    failed = report.verdicts[1]
    assert (failed.name, failed.error) == (name, error)
    assert "secret" not in " ".join(failed.feedback)
    suite.close()


def test_clean_answer_passes(forget_set: ForgetSet) -> None:
    report = VerifierSuite(forget_set).check(ASK, "The sky is blue.")
    assert report.score == 0.0
    assert not report.flagged
    assert [v.name for v in report.verdicts] == ["entity", "fact"]
    assert all(v.latency_ms >= 0 for v in report.verdicts)


def test_leak_is_flagged_with_targets_and_feedback(forget_set: ForgetSet) -> None:
    report = VerifierSuite(forget_set).check(ASK, "That is Hsiao Yun-Hwa, a Taipei native.")
    assert report.flagged
    assert report.targets == ("t-hsiao",)
    assert report.feedback
    assert all("Hsiao" not in line for line in report.feedback)


@pytest.mark.parametrize(
    ("how", "expected"), [("max", 0.5), ("mean", 0.3), ("noisy_or", 1 - 0.9 * 0.5)]
)
def test_aggregation(how: str, expected: float) -> None:
    assert aggregate([0.1, 0.5], how) == pytest.approx(expected)  # type: ignore[arg-type]
    assert aggregate([], how) == 0.0  # type: ignore[arg-type]


def test_registry_lists_builtins_and_rejects_unknown() -> None:
    names = {spec.name for spec in registered()}
    assert {"entity", "fact"} <= names
    assert get_verifier("entity").tier == "lexical"
    with pytest.raises(VerifierConfigError, match="unknown verifier"):
        get_verifier("nope")


def test_fingerprint_tracks_config() -> None:
    assert SuiteConfig().fingerprint() == SuiteConfig().fingerprint()
    assert SuiteConfig().fingerprint() != SuiteConfig(flag_threshold=0.4).fingerprint()
