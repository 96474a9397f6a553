"""The one builder of guarded requests: calibration's query request is a client's request,
guarded the same way; seeds stay apart per choice and per round."""

from __future__ import annotations

import pytest

from server.backends.base import GenerationRequest, Message, SamplingParams
from server.config import Settings
from server.guarded import (
    CHOICE_SEED_STRIDE,
    GuardedSampling,
    choice_request,
    guarded_request,
    query_request,
    query_seed,
    round_request,
)

ASK = (Message("user", "Who wrote it?"),)
CLIENT = GenerationRequest(
    ASK,
    SamplingParams(
        max_tokens=12,
        temperature=1.3,
        top_p=0.5,
        stop=("\n",),
        seed=7,
        presence_penalty=0.4,
        frequency_penalty=0.2,
    ),
    n=2,
)


def test_guarding_sets_the_calibrated_sampling_and_keeps_the_rest() -> None:
    guarded = guarded_request(CLIENT, GuardedSampling(0.7, 0.95))
    assert (guarded.sampling.temperature, guarded.sampling.top_p) == (0.7, 0.95)
    kept = ("max_tokens", "stop", "seed", "presence_penalty", "frequency_penalty")
    assert all(getattr(guarded.sampling, f) == getattr(CLIENT.sampling, f) for f in kept)
    assert (guarded.messages, guarded.n) == (CLIENT.messages, CLIENT.n)


def test_choices_and_rounds_get_distinct_reproducible_seeds() -> None:
    seeds = {
        round_request(choice_request(CLIENT, choice), ASK, number, 3).sampling.seed
        for choice in range(2)
        for number in range(4)
    }
    assert len(seeds) == 8
    assert choice_request(CLIENT, 1).sampling.seed == 7 + CHOICE_SEED_STRIDE
    assert round_request(CLIENT, ASK, 2, 3).sampling.seed == 7 + 6
    unseeded = GenerationRequest(ASK, SamplingParams(max_tokens=5))
    assert round_request(choice_request(unseeded, 1), ASK, 1, 2).sampling.seed is None


def test_a_round_samples_k_candidates_of_its_prompt() -> None:
    prompt = (*ASK, Message("assistant", "draft"), Message("user", "again"))
    call = round_request(CLIENT, prompt, 1, 4)
    assert (call.messages, call.n) == (prompt, 4)


def test_a_calibration_query_is_built_like_a_guarded_client_request() -> None:
    settings = Settings(
        backend={"kind": "scripted"},
        unlearning={"temperature": 0.6, "top_p": 0.9},
        generation={"default_max_tokens": 40},
    )
    built = query_request(settings, "q-1", [("system", "notes"), ("user", "Who?")])
    client = GenerationRequest(
        (Message("system", "notes"), Message("user", "Who?")),
        SamplingParams(max_tokens=40, seed=query_seed("q-1")),
    )
    assert built == guarded_request(client, GuardedSampling(0.6, 0.9))
    assert query_seed("q-1") == query_seed("q-1") != query_seed("q-2")


def test_an_unknown_role_in_a_query_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown message role"):
        query_request(Settings(backend={"kind": "scripted"}), "q", [("robot", "hi")])
