"""One scope's targets as the store holds them, and the verifier layers that enforce them.

A scope (the global forget set, or one tenant's) keeps a *base* index built from all its
targets at some moment, and a small *delta* index of the targets written since (added, or
replaced with other content). A write rebuilds only the delta, so it is enforced at once at
any forget-set size; a background merge (``compact``) later rebuilds the base from every
target and empties the delta. A removed target stays in the base, still enforced, until that
merge: removing is never urgent, forgetting is.

The scope's hash is order-free and updated per write: the sum, modulo 2**256, of
SHA-256(scope, target content hash) over its targets (``set-sha256:`` + 64 hex digits), so
replicas holding the same targets show the same hash without re-hashing 100,000 targets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from server.coverage import InterimTargets
from server.store import StoredTarget
from verifiers.forgetset import ForgetSet, Target
from verifiers.suite import SuiteConfig, VerifierSuite

MODULUS = 1 << 256
SET_HASH_PREFIX = "set-sha256:"


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
    """What a background merge indexes: the scope's targets at one moment."""

    rows: dict[str, StoredTarget]


class ScopeIndex:
    """A scope's live targets and its base and delta layers. Mutated only on the event loop,
    one change at a time (the caller serialises); the suites it hands out are immutable."""

    def __init__(
        self, scope: str, config: SuiteConfig, rows: Mapping[str, StoredTarget], base: VerifierSuite
    ) -> None:
        self.scope = scope
        self.config = config
        self.rows: dict[str, StoredTarget] = dict(rows)
        self.base = base
        self.base_hashes = {target_id: row.content_hash for target_id, row in self.rows.items()}
        self.delta: VerifierSuite | None = None
        self.delta_ids: set[str] = set()  # ids whose current content the base does not hold
        self.removed: set[str] = set()  # ids the base holds that are gone
        self.digest = sum(member_hash(scope, r.content_hash) for r in self.rows.values()) % MODULUS
        self.interim = InterimTargets()
        self.changes = 0  # writes applied since start: a merge knows what came after it

    @classmethod
    def build(cls, scope: str, config: SuiteConfig, rows: Mapping[str, StoredTarget]) -> ScopeIndex:
        base = build_index(scope or "global", (r.target for r in rows.values()), config)
        return cls(scope, config, rows, base)

    @property
    def hash(self) -> str:
        return set_hash(self.digest)

    @property
    def layers(self) -> tuple[VerifierSuite, ...]:
        return (self.base,) if self.delta is None else (self.base, self.delta)

    @property
    def pending(self) -> int:
        """Targets the base does not reflect: written since, or removed since."""
        return len(self.delta_ids) + len(self.removed)

    def targets(self) -> tuple[Target, ...]:
        return tuple(row.target for row in self.rows.values())

    def apply(self, upserts: Iterable[StoredTarget], deletes: Iterable[str]) -> set[str]:
        """Mirror writes; returns the ids whose content changed (the delta needs a rebuild
        when any did: :meth:`delta_targets`, then :meth:`install_delta`)."""
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
            changed.add(target_id)
        for target_id in deletes:
            old = self.rows.pop(target_id, None)
            if old is None:
                continue
            self.digest = (self.digest - member_hash(self.scope, old.content_hash)) % MODULUS
            self.delta_ids.discard(target_id)
            if target_id in self.base_hashes:
                self.removed.add(target_id)
            changed.add(target_id)
        if changed:
            self.changes += 1
        return changed

    def delta_targets(self) -> tuple[Target, ...]:
        return tuple(self.rows[target_id].target for target_id in sorted(self.delta_ids))

    def install_delta(self, delta: VerifierSuite | None) -> VerifierSuite | None:
        """Swap in a delta built from :meth:`delta_targets`; returns the one it replaced."""
        previous, self.delta = self.delta, delta
        return previous

    def merge_input(self) -> Merge:
        return Merge(dict(self.rows))

    def install_base(self, base: VerifierSuite, merged: Merge) -> list[VerifierSuite]:
        """Swap in a base built from ``merged``; the delta must then be rebuilt from
        :meth:`delta_targets` (writes that came during the merge). Returns the replaced base."""
        previous = self.base
        self.base = base
        self.base_hashes = {target_id: row.content_hash for target_id, row in merged.rows.items()}
        self.delta_ids = {
            target_id
            for target_id, row in self.rows.items()
            if self.base_hashes.get(target_id) != row.content_hash
        }
        self.removed = {target_id for target_id in self.base_hashes if target_id not in self.rows}
        return [previous]
