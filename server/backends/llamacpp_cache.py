"""The llama.cpp prompt cache, bounded by what its entries really hold.

``llama_cpp.llama_cache.LlamaRAMCache`` counts only each entry's serialized C state against
its capacity, but every entry also keeps a copy of the logits of all its tokens (``scores``:
tokens x vocabulary float32, about 192 KiB per token for SmolLM2's 49,152-token vocabulary),
about nine times the counted state. A "256 MiB" cache of ordinary chat prompts kept growing
past 1 GiB per model instance (``python -m bench reliability``); counting the arrays keeps it
within ``backend.llamacpp.prompt_cache_mb``.
"""

from __future__ import annotations

from llama_cpp.llama import LlamaState
from llama_cpp.llama_cache import LlamaRAMCache


def entry_bytes(state: LlamaState) -> int:
    """Memory one cache entry holds: C state, logits and token ids."""
    return int(state.llama_state_size) + int(state.scores.nbytes) + int(state.input_ids.nbytes)


class BoundedRAMCache(LlamaRAMCache):
    """A :class:`LlamaRAMCache` whose size (and so its LRU eviction) counts every array."""

    @property
    def cache_size(self) -> int:
        return sum(entry_bytes(state) for state in self.cache_state.values())
