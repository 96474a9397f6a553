"""The forget sets in force: every scope's targets mirrored from the store, enforced by the
guards that subscribe to them, changed live.

Writes go to the store first (committed durably before anything is acknowledged), then into
the mirror and the guards, so a target added through the API is enforced on the next request.
Other writers' changes (another replica, ``lethe targets`` on the store, a seed file) arrive
through :meth:`LiveTargets.refresh`: before each request for a local store (SQLite: reading
its revision costs microseconds), on LISTEN/NOTIFY or the poll interval for PostgreSQL.

Faults: a store unreachable at start leaves the guards without a forget set (they refuse:
fail closed) and is retried; a store lost later keeps the last good forget set in force,
never an empty one, and says so (``lethe_store_up`` 0, alert LetheStoreUnreachable).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from calibration.artifact import Artifact
from server.artifacts import ArtifactMirror, body_of
from server.config import Settings
from server.coverage import Coverage, CoverageRule, InterimView, calibrated_targets
from server.guard import suite_config
from server.indexer import Indexer
from server.layered import LayeredSuite
from server.metrics import Metrics
from server.scopes import MODULUS, ScopeIndex, set_hash
from server.store import (
    GLOBAL,
    MEMORY_URL,
    Delta,
    StoredTarget,
    StoreError,
    TargetStore,
    WriteResult,
    open_store,
    scope_label,
)
from verifiers.forgetset import ForgetSet, Target

logger = logging.getLogger("lethe.targets")
T = TypeVar("T")
Changes = dict[str, tuple[list[StoredTarget], list[str]]]


def view_of(scope: str) -> tuple[str, ...]:
    """The scopes a scope's answers are checked against: a tenant's own and the global."""
    return (GLOBAL,) if scope == GLOBAL else (GLOBAL, scope)


class Subscriber(Protocol):
    """A guard: which scopes its answers are checked against, and how it takes a new set."""

    @property
    def scopes(self) -> tuple[str, ...]: ...

    def use_forget_set(self, suite: LayeredSuite, interim: InterimView) -> None: ...


@dataclass(frozen=True, slots=True)
class Written:
    """An acknowledged write: what it did, and the hash of the forget set now in force."""

    outcome: Literal["created", "replaced", "unchanged", "deleted"]
    revision: int
    forget_set_hash: str


class LiveTargets:
    """Owns the store, the scopes' indexes and their subscribers (event-loop side only; the
    heavy index builds run in worker threads)."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        seeds: Mapping[str, ForgetSet],
        artifacts: Mapping[str, Artifact] | None = None,
    ):
        self._url = settings.unlearning.store or MEMORY_URL
        self._store: TargetStore | None = None
        self._settings = settings
        self._metrics = metrics
        self._config = suite_config(settings.unlearning)
        self._seeds = dict(seeds)
        # Every seed file seen, by content hash: an artifact calibrated on one of them
        # vouches for its targets even after the file moved on (until recalibrated).
        self._seen: dict[str, dict[str, ForgetSet]] = {
            scope: {seed.content_hash: seed} for scope, seed in seeds.items()
        }
        self.scopes: dict[str, ScopeIndex] = {}
        self.revision = -1  # -1: nothing loaded yet (guards refuse: fail closed)
        self.seeded = 0  # targets written by seed files at load
        self._rules: dict[str, CoverageRule] = {}
        self._subscribers: list[Subscriber] = []
        # Each scope's active calibration artifact, from the store (seeded by the files).
        self.artifacts = ArtifactMirror(artifacts or {}, metrics)
        self._lock = asyncio.Lock()
        self._indexer = Indexer(
            settings.unlearning, self._config, metrics, self._lock, self._publish
        )
        metrics.on_scrape(self._update_gauges)

    @property
    def durable(self) -> bool:
        return self._url != MEMORY_URL

    @property
    def loaded(self) -> bool:
        return self.revision >= 0

    @property
    def known_scopes(self) -> tuple[str, ...]:
        return (GLOBAL, *self._settings.tenants)

    # --- loading -------------------------------------------------------------------------

    def store(self) -> TargetStore:
        if self._store is None:
            self._store = open_store(self._url)
        return self._store

    def load(self) -> bool:
        """Open, migrate, seed, read every target and build the indexes (blocking; seconds
        for 100,000 targets). False, and nothing changed, when the store cannot be read."""
        try:
            store = self.store()
            store.migrate()
            for scope, seed in self._seeds.items():
                self.seeded += store.seed(scope, seed.targets, seed.content_hash, "file")
            self.artifacts.seed(store)
            snapshot = store.snapshot()
        except StoreError as exc:
            self._store_failed("load", exc)
            return False
        rows: dict[str, dict[str, StoredTarget]] = {scope: {} for scope in self.known_scopes}
        for row in snapshot.targets:
            if row.scope in rows:
                rows[row.scope][row.target.id] = row
        self.scopes = {s: ScopeIndex.build(s, self._config, r) for s, r in rows.items()}
        self.artifacts.apply(snapshot.artifacts)
        for scope, index in self.scopes.items():
            index.interim.update(self._rules.get(scope, CoverageRule()), index.rows, ())
        self.revision = snapshot.revision
        self._store_ok()
        self._indexer.loaded(self.scopes)
        return True

    def describe(self) -> str:
        """One line for the start-up log: where the targets come from, how many per scope."""
        if not self.loaded:
            return f"forget sets not loaded: the target store ({self._url.split(':')[0]}) failed"
        counts = ", ".join(f"{scope_label(s)} {len(i.rows)}" for s, i in self.scopes.items())
        seeded = f"; seed files wrote {self.seeded} targets" if self.seeded else ""
        where = self.store().description
        return f"forget sets from {where} at revision {self.revision}: {counts}{seeded}"

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)
        if self.loaded:
            self._publish_to(subscriber)

    # --- what guards and the API read ----------------------------------------------------

    def forget_set_hash(self, scopes: Sequence[str]) -> str:
        return set_hash(sum(self.scopes[s].digest for s in scopes if s in self.scopes) % MODULUS)

    def rows(self, scope: str) -> list[StoredTarget]:
        index = self.scopes.get(scope)
        return list(index.rows.values()) if index is not None else []

    def coverage_of(self, scope: str, target_id: str) -> Coverage | None:
        """``certified`` or ``interim``; None while no certificate applies (no artifact)."""
        rule = self._rules.get(scope)
        if rule is None or not rule.applies or scope not in self.scopes:
            return None
        return "interim" if target_id in self.scopes[scope].interim else "certified"

    def policy_listener(self, scope: str) -> Callable[[CoverageRule], None]:
        """What a guard calls when it installs a policy: that certificate now judges which
        of ``scope``'s targets are interim."""

        def listen(rule: CoverageRule) -> None:
            calibrated: dict[str, str] = {}
            for seed in self._seen.get(scope, {}).values():
                calibrated = calibrated or calibrated_targets(rule.artifact, seed)
            # The served targets a published recalibration was made on (ids and hashes).
            calibrated = {**calibrated, **self.artifacts.calibrated(rule.artifact)}
            judged = CoverageRule(rule.artifact, calibrated, rule.stale)
            self._rules[scope] = judged
            index = self.scopes.get(scope)
            if index is not None:
                index.interim.update(judged, index.rows, index.rows.keys())
                self._publish({scope})

        return listen

    # --- writes ----------------------------------------------------------------------------

    async def put(self, scope: str, target: Target, *, replace: bool, actor: str) -> Written:
        """Write one target (raises the store's conflict, missing and unreachable errors)."""
        await self._ensure_loaded()
        result = await self._write(
            "put", lambda: self.store().put(scope, target, replace=replace, actor=actor)
        )
        if result.outcome != "unchanged" and result.row is not None:
            await self._apply_own(result, {scope: ([result.row], [])})
        return Written(result.outcome, result.revision, self.forget_set_hash(view_of(scope)))

    async def delete(self, scope: str, target_id: str, *, actor: str) -> Written:
        await self._ensure_loaded()
        result = await self._write(
            "delete", lambda: self.store().delete(scope, target_id, actor=actor)
        )
        await self._apply_own(result, {scope: ([], [target_id])})
        return Written(result.outcome, result.revision, self.forget_set_hash(view_of(scope)))

    async def seed(self, scope: str, forget_set: ForgetSet) -> int:
        """A seed file changed: write it to the store, then take the changes in."""
        self._seeds[scope] = forget_set
        self._seen.setdefault(scope, {})[forget_set.content_hash] = forget_set
        written = await self._write(
            "seed",
            lambda: self.store().seed(scope, forget_set.targets, forget_set.content_hash, "file"),
        )
        await self.refresh()
        return written

    async def seed_artifact(self, scope: str, artifact: Artifact) -> bool:
        """An artifact file changed: publish it to the store (unless this very artifact was
        seeded before), then take the change in: the guards install it."""
        self.artifacts.remember_seed(scope, artifact)
        published = await self._write(
            "seed",
            lambda: self.store().seed_artifact(
                scope, artifact.artifact_id(), body_of(artifact), "file"
            ),
        )
        await self.refresh()
        return published

    async def _ensure_loaded(self) -> None:
        if not self.loaded:
            await self.refresh()
        if not self.loaded:
            raise StoreError("the target store cannot be read")

    async def _write(self, operation: str, call: Callable[[], T]) -> T:
        try:
            result = await asyncio.to_thread(call)
        except StoreError as exc:
            self._store_failed(operation, exc)
            raise
        self._store_ok()
        return result

    async def _apply_own(self, result: WriteResult, changes: Changes) -> None:
        """Our own committed write, applied at once. Writes by others in between are picked
        up by the next refresh, which re-applies this one harmlessly."""
        async with self._lock:
            await self._apply(changes)
            if result.revision == self.revision + 1:
                self.revision = result.revision
                self._metrics.store_revision.set(self.revision)

    # --- other writers ---------------------------------------------------------------------

    async def refresh(self) -> None:
        """Take in every change committed since the last one seen (or load, if never)."""
        async with self._lock:
            if not self.loaded:
                if await asyncio.to_thread(self.load):
                    self._publish(set(self.scopes))
                    self.artifacts.notify()
                return
            try:
                delta = await asyncio.to_thread(self.store().changes_since, self.revision)
            except StoreError as exc:
                self._store_failed("refresh", exc)
                return
            self._store_ok()
            if delta.revision != self.revision:
                await self._apply(_by_scope(delta, self.scopes))
                self.revision = delta.revision
                self._metrics.store_revision.set(self.revision)
                self.artifacts.apply(delta.artifacts)
            self.artifacts.notify()  # a change, or one whose install failed before

    async def refresh_if_changed(self) -> None:
        """Before a request: for a local store, take in other writers' changes now."""
        store = self._store
        if store is None or not store.local or not self.loaded:
            return
        try:
            revision = store.revision()  # microseconds: one row of a local file, no fsync
        except StoreError as exc:
            self._store_failed("revision", exc)
            return
        if revision != self.revision:
            await self.refresh()

    async def watch(self) -> None:
        """Until cancelled: follow the store, merge deltas, keep the gauges current."""
        interval = self._settings.unlearning.store_poll_seconds
        while True:
            try:
                if self._store is not None and self.loaded:
                    await asyncio.to_thread(self._store.wait, interval)
                else:
                    await asyncio.sleep(interval)
                await self.refresh()
                self._indexer.schedule(self.scopes)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("target store check failed; keeping the current forget sets")
                await asyncio.sleep(interval)

    # --- applying changes ------------------------------------------------------------------

    async def _apply(self, changes: Changes) -> None:
        touched: set[str] = set()
        for scope, (upserts, deletes) in changes.items():
            index = self.scopes.get(scope)
            if index is None:
                continue
            changed = index.apply(upserts, deletes)
            if not changed:
                continue
            touched.add(scope)
            index.interim.update(self._rules.get(scope, CoverageRule()), index.rows, changed)
            await self._indexer.changed(scope, index)
        if touched:
            self._publish(touched)

    def _publish(self, scopes: set[str]) -> None:
        for subscriber in self._subscribers:
            if scopes.intersection(subscriber.scopes):
                self._publish_to(subscriber)

    def _publish_to(self, subscriber: Subscriber) -> None:
        indexes = [self.scopes[s] for s in subscriber.scopes if s in self.scopes]
        layers = [layer for index in indexes for layer in index.layers]
        name = "+".join(scope_label(i.scope) for i in indexes)
        source = self.store().description if self.durable else self._url
        set_hash = self.forget_set_hash([i.scope for i in indexes])

        def forget_set() -> ForgetSet:  # the whole set, built only if someone asks for it
            targets = tuple(t for index in indexes for t in index.targets())
            return ForgetSet(name, targets, set_hash, source)

        size = sum(len(index.rows) for index in indexes)
        suite = LayeredSuite(layers, forget_set, self._config, size=size, hash=set_hash)
        subscriber.use_forget_set(suite, InterimView([i.interim for i in indexes]))

    async def merge_now(self) -> None:
        """Merge every scope with pending changes now (tests, benchmarks)."""
        await self._indexer.merge_now(self.scopes)

    # --- health ----------------------------------------------------------------------------

    def _store_failed(self, operation: str, exc: StoreError) -> None:
        self._metrics.store_up.set(0)
        self._metrics.store_errors.labels(operation).inc()
        state = "keeping the last good forget sets" if self.loaded else "nothing loaded yet"
        logger.error("target store %s failed (%s): %s", operation, state, exc)

    def _store_ok(self) -> None:
        self._metrics.store_up.set(1)

    def _update_gauges(self) -> None:
        metrics, now = self._metrics, time.time()
        limit = self._settings.unlearning.interim_alert_seconds
        for scope, index in self.scopes.items():
            label = scope_label(scope)
            metrics.scope_targets.labels(label).set(len(index.rows))
            metrics.index_pending.labels(label).set(index.pending)
            since = index.interim.since
            oldest = index.interim.oldest()
            metrics.interim_targets.labels(label).set(len(since))
            metrics.interim_oldest_age.labels(label).set(now - oldest if oldest else 0.0)
            metrics.interim_overdue.labels(label).set(
                sum(1 for at in since.values() if now - at > limit)
            )
        self.artifacts.update_gauges({scope: rule.artifact for scope, rule in self._rules.items()})

    async def aclose(self) -> None:
        self._indexer.close()
        if self._store is not None:
            await asyncio.to_thread(self._store.close)


def _by_scope(delta: Delta, known: Mapping[str, ScopeIndex]) -> Changes:
    changes: Changes = {}
    for row in delta.upserts:
        if row.scope in known:
            changes.setdefault(row.scope, ([], []))[0].append(row)
    for scope, target_id in delta.deletes:
        if scope in known:
            changes.setdefault(scope, ([], []))[1].append(target_id)
    return changes
