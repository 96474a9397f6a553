"""The heap freezer: frozen after loading, thawed after a merge so the next full collection
frees the replaced index, frozen again right after that collection."""

from __future__ import annotations

import asyncio
import gc
import weakref

from server.heap import HeapFreezer


class Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


async def test_a_thawed_heap_frees_replaced_cycles_and_refreezes() -> None:
    heap = HeapFreezer()
    try:
        old = Node()
        alive = weakref.ref(old)
        heap.freeze()
        assert gc.get_freeze_count() > 0
        del old
        gc.collect()
        assert alive() is not None  # frozen: the collector does not see it
        heap.thaw()
        assert gc.get_freeze_count() == 0
        gc.collect()
        assert alive() is None  # the first full collection after thawing frees it
        await asyncio.sleep(0)  # the refreeze runs on the loop, after the collection
        assert gc.get_freeze_count() > 0
    finally:
        heap.close()
        gc.unfreeze()  # leave the test process as it was
