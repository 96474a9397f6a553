"""A scope's layers: a write is indexed in the recent layer at once, a full recent layer is
frozen for a minor merge, a major merge rebuilds the base; removed or replaced content stays
enforced until a merge; the scope's hash depends on the targets, not on their order."""

from __future__ import annotations

import itertools

from bench.targets import distinct_target
from server.scopes import RECENT_MAX, ScopeIndex, build_index
from server.store import StoredTarget, target_hash
from verifiers.forgetset import Target
from verifiers.suite import SuiteConfig
from verifiers.types import VerifyContext

CONFIG = SuiteConfig()
ASK = VerifyContext(question="Tell me about someone.")


def person(number: int, replaced: bool = False) -> StoredTarget:
    """Made-up people whose names and facts share no word."""
    made = distinct_target(number)
    facts = (f"{made.name} sails a {made.facts[0].split()[-1]}",) if replaced else made.facts
    target = Target(id=f"t-{number}", name=made.name, facts=facts)
    return StoredTarget("", target, target_hash(target), "api", 0.0, 0.0)


def said(number: int, replaced: bool = False) -> str:
    """An answer that repeats that person's (first) fact."""
    return person(number, replaced).target.facts[0]


def flagged(index: ScopeIndex, text: str) -> set[str]:
    return {t for layer in index.layers for t in layer.check(ASK, text).targets}


def rebuild_recent(index: ScopeIndex) -> bool:
    recent = build_index("t", index.recent_targets(), CONFIG) if index.recent_targets() else None
    return index.install_recent(recent)[1]


def test_a_write_is_enforced_by_the_recent_layer() -> None:
    index = ScopeIndex.build("", CONFIG, {"t-0": person(0)})
    assert flagged(index, said(1)) == set()
    index.apply([person(1)], [])
    assert rebuild_recent(index) is False
    assert len(index.layers) == 2
    assert flagged(index, said(1)) == {"t-1"}
    assert index.pending == 1


def test_a_full_recent_layer_is_frozen_then_merged_into_the_delta() -> None:
    index = ScopeIndex.build("", CONFIG, {})
    frozen = False
    for number in range(RECENT_MAX):
        index.apply([person(number)], [])
        frozen = rebuild_recent(index)
    assert frozen
    assert (len(index.frozen), index.recent, index.recent_ids) == (1, None, set())
    minor = index.minor_input()
    index.apply([person(99)], [])  # written while the minor merge runs
    rebuild_recent(index)
    replaced = index.install_delta(build_index("d", minor.targets, CONFIG), minor)
    assert len(replaced) == 1  # the frozen run it took in
    assert index.frozen == []
    assert flagged(index, said(3)) == {"t-3"}
    assert flagged(index, said(99)) == {"t-99"}


def test_removed_and_replaced_content_stays_enforced_until_the_merge() -> None:
    rows = {f"t-{n}": person(n) for n in range(3)}
    index = ScopeIndex.build("", CONFIG, rows)
    index.apply([person(1, replaced=True)], ["t-2"])
    rebuild_recent(index)
    assert set(index.rows) == {"t-0", "t-1"}
    assert flagged(index, said(2)) == {"t-2"}  # fail closed
    assert flagged(index, said(1)) == {"t-1"}  # the old content too, until the merge
    assert flagged(index, said(1, replaced=True)) == {"t-1"}
    merged = index.merge_input()
    index.install_base(build_index("b", (r.target for r in merged.rows.values()), CONFIG), merged)
    assert index.pending == 0
    assert flagged(index, said(2)) == set()
    assert flagged(index, said(1, replaced=True)) == {"t-1"}


def test_a_minor_merge_built_before_a_major_one_is_void() -> None:
    index = ScopeIndex.build("", CONFIG, {})
    index.apply([person(1)], [])
    minor = index.minor_input()
    merged = index.merge_input()
    index.install_base(build_index("b", (r.target for r in merged.rows.values()), CONFIG), merged)
    late = build_index("d", minor.targets, CONFIG)
    assert index.install_delta(late, minor) == [late]  # handed back to be closed
    assert index.delta is None


def test_the_hash_follows_the_targets_not_their_order() -> None:
    people = [person(n) for n in range(4)]
    hashes = set()
    for order in itertools.permutations(people):
        index = ScopeIndex.build("", CONFIG, {})
        index.apply(order, [])
        hashes.add(index.hash)
    assert len(hashes) == 1
    index.apply([], ["t-3"])
    smaller = ScopeIndex.build("", CONFIG, {r.target.id: r for r in people[:3]})
    assert index.hash == smaller.hash
    assert index.hash.startswith("set-sha256:")
    assert ScopeIndex.build("acme", CONFIG, smaller.rows).hash != smaller.hash  # scoped
