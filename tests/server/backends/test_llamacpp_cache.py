"""The embedded model's prompt cache stays within its configured capacity."""

from __future__ import annotations

import numpy as np
from llama_cpp.llama import LlamaState
from llama_cpp.llama_cache import LlamaRAMCache

from server.backends.llamacpp_cache import BoundedRAMCache, entry_bytes

VOCAB = 49_152  # SmolLM2


def _state(tokens: int) -> LlamaState:
    """An entry shaped like llama-cpp-python's: small C state, tokens x vocab float32 logits."""
    return LlamaState(
        input_ids=np.zeros(tokens, dtype=np.intc),
        scores=np.zeros((tokens, VOCAB), dtype=np.single),
        n_tokens=tokens,
        llama_state=b"\0" * (tokens * 24 * 1024),
        llama_state_size=tokens * 24 * 1024,
        seed=0,
    )


def test_entry_bytes_counts_the_logits() -> None:
    state = _state(10)
    assert entry_bytes(state) == 10 * 24 * 1024 + 10 * VOCAB * 4 + 10 * 4


def test_capacity_bounds_every_array() -> None:
    capacity = 8 << 20
    bounded, stock = BoundedRAMCache(capacity), LlamaRAMCache(capacity)
    for key in range(40):  # 40 prompts of 20 tokens: ~3.9 MiB of logits each
        for cache in (bounded, stock):
            cache[(key, *range(19))] = _state(20)
    held = sum(entry_bytes(s) for s in bounded.cache_state.values())
    assert 0 < held <= capacity
    assert list(bounded.cache_state)[-1][0] == 39  # least recently used entries went first
    # llama-cpp-python's own accounting counts the C state only: ~70 MiB in an "8 MiB" cache.
    assert len(stock.cache_state) > 4 * len(bounded.cache_state)
    assert sum(entry_bytes(s) for s in stock.cache_state.values()) > 8 * capacity
