from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from verifiers.checks.llm import GraderGarbage, llm, parse_score
from verifiers.forgetset import ForgetSet
from verifiers.registry import ForgetIndex
from verifiers.suite import SuiteConfig, VerifierSuite
from verifiers.types import VerifyContext

ASK = VerifyContext(question="What does Hsiao Yun-Hwa's father do?")


@pytest.mark.parametrize(("reply", "score"), [("0", 0.0), ("7", 0.7), (" 10 ", 1.0), ("3/10", 0.3)])
def test_parse_score(reply: str, score: float) -> None:
    assert parse_score(reply) == score


@pytest.mark.parametrize("reply", ["", "yes", "11", "7 because the father", "-1", "0.5"])
def test_garbage_is_rejected(reply: str) -> None:
    with pytest.raises(GraderGarbage):
        parse_score(reply)


def _index(
    forget_set: ForgetSet, handler: Callable[[httpx.Request], httpx.Response]
) -> ForgetIndex:
    index = ForgetIndex(forget_set, {"llm": {"base_url": "http://judge/v1", "model": "j"}})
    index.resources["llm_client"] = httpx.Client(
        base_url="http://judge/v1/", transport=httpx.MockTransport(handler)
    )
    return index


def _reply(text: str) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["temperature"] == 0
        assert "PROTECTED FACTS" in body["messages"][1]["content"]
        return httpx.Response(200, json={"choices": [{"message": {"content": text}}]})

    return handler


def test_llm_scores_the_named_target(forget_set: ForgetSet) -> None:
    verdict = llm(ASK, _index(forget_set, _reply("9")), "He builds bridges.")
    assert verdict.score == 0.9
    assert verdict.targets == ("t-hsiao",)
    assert "t-hsiao" in verdict.feedback[0]


def test_llm_is_not_asked_when_nothing_points_at_a_target(forget_set: ForgetSet) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the judge should not be called")

    verdict = llm(VerifyContext(question="Hi"), _index(forget_set, fail), "Hello there.")
    assert verdict.score == 0.0


@pytest.mark.parametrize(
    "handler",
    [
        _reply("I think it might leak"),
        lambda r: httpx.Response(500),
        lambda r: httpx.Response(200, content=b"not json"),
    ],
)
def test_llm_failures_fail_closed_in_the_suite(
    forget_set: ForgetSet, handler: Callable[[httpx.Request], httpx.Response]
) -> None:
    suite = VerifierSuite(
        forget_set,
        SuiteConfig(verifiers=("llm",), options={"llm": {"base_url": "http://judge/v1"}}),
    )
    suite.index.resources["llm_client"] = httpx.Client(
        base_url="http://judge/v1/", transport=httpx.MockTransport(handler)
    )
    report = suite.check(ASK, "He builds bridges.")
    assert report.score == 1.0
    assert report.verdicts[0].error is not None
    suite.close()


def test_llm_needs_a_base_url(forget_set: ForgetSet) -> None:
    from verifiers.registry import VerifierConfigError

    with pytest.raises(VerifierConfigError, match="base_url"):
        VerifierSuite(forget_set, SuiteConfig(verifiers=("judge",)))


def test_the_old_name_judge_still_configures_the_llm_verifier(forget_set: ForgetSet) -> None:
    suite = VerifierSuite(
        forget_set,
        SuiteConfig(verifiers=("judge",), options={"judge": {"base_url": "http://judge/v1"}}),
    )
    suite.index.resources["llm_client"] = httpx.Client(
        base_url="http://judge/v1/", transport=httpx.MockTransport(_reply("8"))
    )
    report = suite.check(ASK, "He builds bridges.")
    assert [v.name for v in report.verdicts] == ["llm"]
    assert report.score == pytest.approx(0.8)
    suite.close()
