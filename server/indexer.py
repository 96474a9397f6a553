"""Keeps every scope's index layers current (:mod:`server.scopes`): the recent layer on each
change, minor and major merges in the background, replaced layers closed once no check can
still be using them. The heavy builds run in worker threads; installs take the caller's lock,
so a merge never swaps layers under a change being applied.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from server.config import UnlearningSettings
from server.heap import HeapFreezer
from server.metrics import Metrics
from server.scopes import RECENT_MAX, ScopeIndex, build_index
from server.store import scope_label
from verifiers.forgetset import Target
from verifiers.suite import SuiteConfig, VerifierSuite

logger = logging.getLogger("lethe.targets")

# A replaced index may still be checking a candidate; close it once that must be over.
RETIRE_AFTER_MIN_SECONDS = 30.0
# From this many targets the heap is frozen once loaded (server/heap.py): below it a full
# collection takes milliseconds, and a server that is created often (tests) is better off
# with plain collection.
FREEZE_MIN_TARGETS = 10_000

Publish = Callable[[set[str]], None]


class Indexer:
    def __init__(
        self,
        unlearning: UnlearningSettings,
        config: SuiteConfig,
        metrics: Metrics,
        lock: asyncio.Lock,
        publish: Publish,
    ) -> None:
        self._unlearning = unlearning
        self._config = config
        self._metrics = metrics
        self._lock = lock
        self._publish = publish
        self._merging: set[str] = set()  # scopes whose base is being rebuilt
        self._minor: set[str] = set()  # scopes whose delta is being rebuilt
        self._quiet_since: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._retire_after = max(RETIRE_AFTER_MIN_SECONDS, 2 * unlearning.verifier_timeout_seconds)
        self._heap = HeapFreezer()
        self._large = False

    def loaded(self, scopes: Mapping[str, ScopeIndex]) -> None:
        """A fresh load (blocking, before serving): freeze the heap if the index is large."""
        self._large = sum(len(index.rows) for index in scopes.values()) >= FREEZE_MIN_TARGETS
        if self._large:
            self._heap.freeze()

    async def changed(self, scope: str, index: ScopeIndex) -> None:
        """Targets of ``scope`` changed (already applied to ``index``): index them now."""
        self._quiet_since[scope] = time.monotonic()
        await self._rebuild_recent(scope, index)

    async def _rebuild_recent(self, scope: str, index: ScopeIndex) -> None:
        """Index the last few writes (milliseconds); a full recent layer is frozen and a
        minor merge folds it into the delta in the background."""
        recent = await self._build(scope, index.recent_targets())
        previous, frozen = index.install_recent(recent)
        self._retire(previous)
        if frozen and scope not in self._minor:
            self._minor.add(scope)
            self._spawn(self._minor_merge(scope, index), f"lethe-minor-{scope_label(scope)}")

    async def _build(self, scope: str, targets: tuple[Target, ...]) -> VerifierSuite | None:
        if not targets:
            return None
        return await asyncio.to_thread(build_index, scope_label(scope), targets, self._config)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- merges -------------------------------------------------------------------------

    def schedule(self, scopes: Mapping[str, ScopeIndex]) -> None:
        """Start a major merge where writes are pending and quiet, or too many."""
        now = time.monotonic()
        for scope, index in scopes.items():
            if scope in self._merging or not index.pending:
                continue
            quiet_for = now - self._quiet_since.get(scope, 0.0)
            quiet = quiet_for >= self._unlearning.compact_after_seconds
            if quiet or len(index.delta_ids) >= self._unlearning.compact_delta_targets:
                self._merging.add(scope)
                self._spawn(self._merge(scope, index), f"lethe-merge-{scope_label(scope)}")

    async def _minor_merge(self, scope: str, index: ScopeIndex) -> None:
        """Fold the frozen recent layers into one delta (every target the base lacks)."""
        try:
            while index.frozen:
                minor = index.minor_input()
                delta = await self._build(scope, minor.targets)
                async with self._lock:
                    for replaced in index.install_delta(delta, minor):
                        self._retire(replaced)
                    self._publish({scope})
        finally:
            self._minor.discard(scope)

    async def _merge(self, scope: str, index: ScopeIndex) -> None:
        """Rebuild ``scope``'s base from all its targets (off the loop), then swap it in and
        index what was written meanwhile."""
        try:
            merged = index.merge_input()
            targets = tuple(row.target for row in merged.rows.values())
            started = time.perf_counter()
            base = await asyncio.to_thread(build_index, scope_label(scope), targets, self._config)
            async with self._lock:
                self._retire_base(index.install_base(base, merged))
                if len(index.recent_ids) > RECENT_MAX:  # many writes during the merge
                    minor = index.minor_input()
                    index.recent_ids.clear()
                    delta = await self._build(scope, minor.targets)
                    for replaced in index.install_delta(delta, minor):
                        self._retire(replaced)
                else:
                    await self._rebuild_recent(scope, index)
                self._publish({scope})
            self._metrics.index_merges.inc()
            logger.info(
                "merged the %s index: %d targets in %.1f s",
                scope_label(scope),
                len(targets),
                time.perf_counter() - started,
            )
        finally:
            self._merging.discard(scope)

    async def merge_now(self, scopes: Mapping[str, ScopeIndex]) -> None:
        """Merge every scope with pending changes now (tests, benchmarks)."""
        for scope, index in scopes.items():
            if index.pending and scope not in self._merging:
                self._merging.add(scope)
                await self._merge(scope, index)

    # --- retiring -----------------------------------------------------------------------

    def _retire(self, suite: VerifierSuite | None) -> None:
        if suite is not None:
            asyncio.get_running_loop().call_later(self._retire_after, suite.close)

    def _retire_base(self, suites: list[VerifierSuite]) -> None:
        """Close a replaced base (and the layers it made redundant) once no check can still
        use it, and thaw the heap so the next full collection frees it (server/heap.py)."""

        def close() -> None:
            for suite in suites:
                suite.close()
            suites.clear()
            if self._large:
                self._heap.thaw()

        asyncio.get_running_loop().call_later(self._retire_after, close)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._heap.close()
