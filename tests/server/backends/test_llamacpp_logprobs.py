"""The logits processor that records logprobs and applies logit_bias, on made-up logits."""

from __future__ import annotations

import math

import numpy as np

from server.backends.llamacpp_logprobs import LogprobRecorder, apply_bias

PIECES = {0: "", 1: "Hel", 2: "lo", 3: "!", 4: " world"}


def piece(token: int) -> str:
    return PIECES[token]


def tokenize(text: str) -> list[int]:
    return [t for t, p in PIECES.items() if p == text] or [9, 9]


def logits(best: int) -> np.ndarray:
    scores = np.zeros(5, dtype=np.float32)
    scores[best] = 3.0
    return scores


def test_bias_moves_only_the_named_tokens() -> None:
    biased = apply_bias(np.zeros(4, dtype=np.float32), [(1, -100.0), (7, 5.0)])
    assert biased.tolist() == [0.0, -100.0, 0.0, 0.0]


def test_sampled_tokens_get_their_logprobs_and_alternatives() -> None:
    recorder = LogprobRecorder(top_n=2)
    prompt = [0, 0]
    for step, token in enumerate([1, 2, 3]):  # "Hel", "lo", "!" sampled in turn
        recorder(np.array(prompt + [1, 2, 3][:step], dtype=np.intc), logits(token))
    tokens = recorder.finish("Hello!", piece, tokenize)
    assert [t.token for t in tokens] == ["Hel", "lo", "!"]
    expected = 3.0 - math.log(math.exp(3.0) + 4)
    assert all(abs(t.logprob - expected) < 1e-5 for t in tokens)
    assert all(len(t.top) == 2 and t.top[0][0] == t.token for t in tokens)


def test_tokens_past_the_returned_text_are_dropped() -> None:
    recorder = LogprobRecorder(top_n=1)
    for step, token in enumerate([1, 2, 4]):  # " world" was cut by a stop sequence
        recorder(np.array([0, *[1, 2, 4][:step]], dtype=np.intc), logits(token))
    assert [t.token for t in recorder.finish("Hello", piece, tokenize)] == ["Hel", "lo"]


def test_the_recorder_applies_the_bias_it_was_given() -> None:
    recorder = LogprobRecorder(top_n=1, bias=[(1, -100.0)])
    out = recorder(np.array([0], dtype=np.intc), logits(1))
    assert out[1] < -90
    assert recorder.steps[0].top[0][0] != 1
