"""One scope's targets as the store holds them, and the verifier layers that enforce them.

Indexing 100,000 targets takes seconds, so a write never re-indexes a scope. Its layers:

- *base*: every target of the scope at some moment (rebuilt by a background *major merge*);
- *delta*: the targets written since that moment (rebuilt by a background *minor merge*);
- *frozen* runs: recent indexes waiting for the next minor merge to take them in;
- *recent*: the last few targets written (at most ``RECENT_MAX``), rebuilt on every write.

A write rebuilds only *recent* (milliseconds), so it is enforced on the next request at any
forget-set size; when *recent* is full it is frozen as it is and a minor merge starts. Merges
swap their result in when done; until then the older layers keep checking. A removed or
replaced target's old content stays in the layers, still enforced, until a merge drops it:
removing is never urgent, forgetting is.

The scope's hash is order-free and updated per write: the sum, modulo 2**256, of
SHA-256(scope, target content hash) over its targets (``set-sha256:`` + 64 hex digits), so
replicas holding the same targets show the same hash without re-hashing every target.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from server.coverage import InterimTargets
from server.store import StoredTarget, scope_label
from verifiers.forgetset import ForgetSet, Target
from verifiers.suite import SuiteConfig, VerifierSuite

MODULUS = 1 << 256
SET_HASH_PREFIX = "set-sha256:"
# Targets in the layer rebuilt on every write: indexing costs about 0.2 ms a target (2 cores),
# so 16 keep a write's own indexing near 3 ms; more would slow writes, fewer would freeze
# more runs (each one more layer every candidate is checked against until merged).
RECENT_MAX = 16


def member_hash(scope: str, content_hash: str) -> int:
    digest = hashlib.sha256(f"{scope}\0{content_hash}".encode()).digest()
    return int.from_bytes(digest, "big")


def set_hash(digest: int) -> str:
    return f"{SET_HASH_PREFIX}{digest % MODULUS:064x}"


def build_index(name: str, targets: Iterable[Target], config: SuiteConfig) -> VerifierSuite:
    """A verifier suite over ``targets`` (seconds for 100,000: run it off the event loop)."""
    chosen = tuple(targets)
    return VerifierSuite(ForgetSet(name, chosen, set_hash(0), "store"), config)


@dataclass(frozen=True, slots=True)
class Merge:
    """What a major merge indexes: the scope's targets at one moment."""

    rows: dict[str, StoredTarget]
    generation: int


@dataclass(frozen=True, slots=True)
class MinorMerge:
    """What a minor merge indexes: the targets the base lacks, and the runs it replaces."""

    targets: tuple[Target, ...]
    runs: int
    generation: int


class ScopeIndex:
    """A scope's live targets and its layers. Mutated only on the event loop, one change at a
    time (the caller serialises); the suites it hands out are never changed."""

    def __init__(
        self, scope: str, config: SuiteConfig, rows: Mapping[str, StoredTarget], base: VerifierSuite
    ) -> None:
        self.scope = scope
        self.config = config
        self.rows: dict[str, StoredTarget] = dict(rows)
        self.base = base
        self.base_hashes = {target_id: row.content_hash for target_id, row in self.rows.items()}
        self.delta: VerifierSuite | None = None
        self.frozen: list[VerifierSuite] = []
        self.recent: VerifierSuite | None = None
        self.recent_ids: set[str] = set()
        self.delta_ids: set[str] = set()  # ids whose current content the base does not hold
        self.removed: set[str] = set()  # ids the base holds that are gone
        self.digest = sum(member_hash(scope, r.content_hash) for r in self.rows.values()) % MODULUS
        self.interim = InterimTargets()
        self.generation = 0  # bumped by each major merge: a minor one built before is void

    @classmethod
    def build(cls, scope: str, config: SuiteConfig, rows: Mapping[str, StoredTarget]) -> ScopeIndex:
        base = build_index(scope_label(scope), (r.target for r in rows.values()), config)
        return cls(scope, config, rows, base)

    @property
    def hash(self) -> str:
        return set_hash(self.digest)

    @property
    def layers(self) -> tuple[VerifierSuite, ...]:
        optional = (self.delta, *self.frozen, self.recent)
        return (self.base, *(layer for layer in optional if layer is not None))

    @property
    def pending(self) -> int:
        """Targets the base does not reflect: written since, or removed since."""
        return len(self.delta_ids) + len(self.removed)

    def targets(self) -> tuple[Target, ...]:
        return tuple(row.target for row in self.rows.values())

    # --- writes -------------------------------------------------------------------------

    def apply(self, upserts: Iterable[StoredTarget], deletes: Iterable[str]) -> set[str]:
        """Mirror writes; returns the ids whose content changed. New content goes to the
        recent layer: rebuild it (:meth:`recent_targets`, then :meth:`install_recent`)."""
        changed: set[str] = set()
        for row in upserts:
            target_id = row.target.id
            old = self.rows.get(target_id)
            if old == row:
                continue
            if old is not None:
                self.digest -= member_hash(self.scope, old.content_hash)
            self.rows[target_id] = row
            self.digest = (self.digest + member_hash(self.scope, row.content_hash)) % MODULUS
            self.removed.discard(target_id)
            if self.base_hashes.get(target_id) == row.content_hash:
                self.delta_ids.discard(target_id)
            else:
                self.delta_ids.add(target_id)
                self.recent_ids.add(target_id)
            changed.add(target_id)
        for target_id in deletes:
            old = self.rows.pop(target_id, None)
            if old is None:
                continue
            self.digest = (self.digest - member_hash(self.scope, old.content_hash)) % MODULUS
            self.delta_ids.discard(target_id)
            self.recent_ids.discard(target_id)
            if target_id in self.base_hashes:
                self.removed.add(target_id)
            changed.add(target_id)
        return changed

    def recent_targets(self) -> tuple[Target, ...]:
        return tuple(self.rows[i].target for i in sorted(self.recent_ids) if i in self.rows)

    def install_recent(self, recent: VerifierSuite | None) -> tuple[VerifierSuite | None, bool]:
        """Swap in a recent layer built from :meth:`recent_targets`. Returns the replaced one,
        and whether the new one was frozen (full): a minor merge should then start."""
        previous, self.recent = self.recent, recent
        if recent is None or len(self.recent_ids) < RECENT_MAX:
            return previous, False
        self.frozen.append(recent)
        self.recent, self.recent_ids = None, set()
        return previous, True

    # --- merges -------------------------------------------------------------------------

    def minor_input(self) -> MinorMerge:
        targets = tuple(self.rows[i].target for i in sorted(self.delta_ids))
        return MinorMerge(targets, len(self.frozen), self.generation)

    def install_delta(self, delta: VerifierSuite | None, merged: MinorMerge) -> list[VerifierSuite]:
        """Swap in a delta built from ``merged``; returns what it replaces (the old delta and
        the frozen runs it took in), or the new delta itself if a major merge came first."""
        if merged.generation != self.generation:
            return [delta] if delta is not None else []
        replaced = [s for s in (self.delta, *self.frozen[: merged.runs]) if s is not None]
        self.delta = delta
        self.frozen = self.frozen[merged.runs :]
        return replaced

    def merge_input(self) -> Merge:
        return Merge(dict(self.rows), self.generation)

    def install_base(self, base: VerifierSuite, merged: Merge) -> list[VerifierSuite]:
        """Swap in a base built from ``merged``. Every other layer goes: what was written
        during the merge becomes the recent layer, to rebuild from :meth:`recent_targets`
        (or, if more than ``RECENT_MAX``, the delta, from :meth:`minor_input`). Returns the
        replaced suites."""
        replaced = [s for s in (self.base, self.delta, *self.frozen, self.recent) if s]
        self.base, self.delta, self.frozen, self.recent = base, None, [], None
        self.base_hashes = {target_id: row.content_hash for target_id, row in merged.rows.items()}
        self.delta_ids = {
            target_id
            for target_id, row in self.rows.items()
            if self.base_hashes.get(target_id) != row.content_hash
        }
        self.recent_ids = set(self.delta_ids)
        self.removed = {target_id for target_id in self.base_hashes if target_id not in self.rows}
        self.generation += 1
        return replaced
