"""Log probabilities of the embedded model's sampled tokens, without ``logits_all``.

llama-cpp-python returns logprobs only from a model built with ``logits_all=True``, which keeps
every position's logits: n_ctx x vocabulary floats (about 400 MB for SmolLM2 at 2048 tokens) per
pool instance. Instead a logits processor sees each step's logits as sampling happens, keeps
the step's top alternatives, and learns which token was sampled from the next step's input
ids; only the newest step's distribution is held. The processor also applies ``logit_bias``
(llama-cpp-python drops a caller's processors when it adds its own bias processor).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from server.backends.base import TokenLogprob

Floats = npt.NDArray[np.float32]
Detokenize = Callable[[int], str]
Tokenize = Callable[[str], list[int]]


@dataclass(slots=True)
class _Step:
    top: tuple[tuple[int, float], ...]
    token: int | None = None
    logprob: float = 0.0


def apply_bias(scores: Floats, bias: Sequence[tuple[int, float]]) -> Floats:
    if not bias:
        return scores
    biased = scores.copy()
    for token, value in bias:
        if 0 <= token < biased.shape[0]:
            biased[token] += value
    return biased


@dataclass(slots=True)
class LogprobRecorder:
    """A llama-cpp-python logits processor: biases, then records each sampling step."""

    top_n: int
    bias: Sequence[tuple[int, float]] = ()
    steps: list[_Step] = field(default_factory=list)
    _last: Floats | None = None

    def __call__(self, input_ids: npt.NDArray[np.intc], scores: Floats) -> Floats:
        scores = apply_bias(scores, self.bias)
        if self._last is not None and len(input_ids):
            self._resolve(int(input_ids[-1]))  # the token the previous step sampled
        shifted = scores - scores.max()
        logprobs = (shifted - np.log(np.exp(shifted).sum())).astype(np.float32)
        count = max(1, self.top_n)
        best = np.argpartition(-logprobs, count - 1)[:count]
        best = best[np.argsort(-logprobs[best])]
        self.steps.append(_Step(tuple((int(i), float(logprobs[i])) for i in best)))
        self._last = logprobs
        return scores

    def _resolve(self, token: int) -> None:
        assert self._last is not None
        step = self.steps[-1]
        step.token, step.logprob = token, float(self._last[token])
        self._last = None

    def finish(self, text: str, detokenize: Detokenize, tokenize: Tokenize) -> list[TokenLogprob]:
        """The returned ``text``'s tokens with their logprobs. The last sampled token is never
        seen as input, so it is read off what remains of the text; tokens past the end of the
        text (a stop sequence, end of turn) are not part of the answer and are dropped."""
        said = "".join(detokenize(s.token) for s in self.steps if s.token is not None)
        rest = text[len(said) :] if text.startswith(said) else ""
        if self._last is not None and rest:
            ids = tokenize(rest)
            if len(ids) == 1:
                self._resolve(ids[0])
        result: list[TokenLogprob] = []
        length = 0
        for step in self.steps:
            if step.token is None:
                break
            piece = detokenize(step.token)
            if not piece or length + len(piece) > len(text):
                break
            length += len(piece)
            top = tuple((detokenize(i), p) for i, p in step.top[: self.top_n])
            result.append(TokenLogprob(piece, step.logprob, top))
        return result


def processors(recorder: LogprobRecorder | None) -> Any:
    """The ``logits_processor`` argument for ``create_completion``."""
    if recorder is None:
        return None
    import llama_cpp

    return llama_cpp.LogitsProcessorList([recorder])
