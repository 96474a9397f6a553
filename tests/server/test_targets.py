"""The live forget sets: another writer's change reaches the guards before the next request
(SQLite) or on the watcher's next look; own writes are applied once; background merges leave
what is enforced unchanged; a store never read refuses, and is read as soon as it answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.targets import distinct_target
from server.config import Settings
from server.coverage import InterimView
from server.layered import LayeredSuite
from server.metrics import Metrics
from server.scopes import RECENT_MAX
from server.store import GLOBAL, open_store
from server.targets import LiveTargets
from verifiers.types import VerifyContext

ASK = VerifyContext(question="Tell me about someone.")


class Recorder:
    """A subscriber that keeps what it was given."""

    scopes = (GLOBAL,)

    def __init__(self) -> None:
        self.suites: list[LayeredSuite] = []

    def use_forget_set(self, suite: LayeredSuite, interim: InterimView) -> None:
        self.suites.append(suite)

    def refuses(self, number: int) -> bool:
        return self.suites[-1].check(ASK, distinct_target(number).facts[0]).flagged


def _live(tmp_path: Path, **unlearning: object) -> tuple[LiveTargets, Recorder]:
    settings = Settings(unlearning={"store": f"sqlite:///{tmp_path}/lethe.sqlite3", **unlearning})
    live = LiveTargets(settings, Metrics(), {})
    assert live.load()
    recorder = Recorder()
    live.subscribe(recorder)
    return live, recorder


async def test_another_writer_is_seen_before_the_next_request(tmp_path: Path) -> None:
    live, recorder = _live(tmp_path)
    other = open_store(f"sqlite:///{tmp_path}/lethe.sqlite3")  # e.g. `lethe targets add`
    other.put(GLOBAL, distinct_target(1), replace=False, actor="cli")
    assert not recorder.refuses(1)
    await live.refresh_if_changed()
    assert recorder.refuses(1)
    published = len(recorder.suites)
    await live.refresh_if_changed()  # nothing new: nothing republished
    assert len(recorder.suites) == published
    other.close()
    await live.aclose()


async def test_own_writes_apply_once_and_merges_keep_enforcing(tmp_path: Path) -> None:
    live, recorder = _live(tmp_path)
    for number in range(RECENT_MAX + 3):  # fills and freezes the recent layer once
        written = await live.put(GLOBAL, distinct_target(number), replace=False, actor="k")
        assert written.outcome == "created"
    await live.refresh()  # the store's log replays the same writes: no change
    assert all(recorder.refuses(n) for n in range(RECENT_MAX + 3))
    await asyncio.sleep(0)  # let the minor merge start
    for _ in range(100):
        if not live.scopes[GLOBAL].frozen:
            break
        await asyncio.sleep(0.02)
    assert live.scopes[GLOBAL].delta is not None
    assert all(recorder.refuses(n) for n in range(RECENT_MAX + 3))
    await live.delete(GLOBAL, "prop-0000", actor="k")
    await live.merge_now()
    index = live.scopes[GLOBAL]
    assert (index.pending, len(index.layers)) == (0, 1)
    assert not recorder.refuses(0)
    assert all(recorder.refuses(n) for n in range(1, RECENT_MAX + 3))
    assert recorder.suites[-1].size == RECENT_MAX + 2
    await live.aclose()


async def test_a_store_never_read_is_read_when_it_answers(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the store's directory should be")
    settings = Settings(unlearning={"store": f"sqlite:///{blocked}/lethe.sqlite3"})
    metrics = Metrics()
    live = LiveTargets(settings, metrics, {})
    assert not live.load()
    assert not live.loaded
    recorder = Recorder()
    live.subscribe(recorder)
    assert recorder.suites == []  # nothing to enforce yet: the guard stays UNLOADED
    blocked.unlink()
    await live.refresh()
    assert live.loaded
    assert len(recorder.suites) == 1
    await live.aclose()
