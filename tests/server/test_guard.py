"""The guard's life cycle: deferred until the model is known, active or stale once a policy
is in force, failed (fail closed) when a deferred activation cannot be served."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.backends.base import Message, ToolCall
from server.config import ConfigError, Settings
from server.errors import ServiceUnavailableError
from server.guard import Guard, GuardState, verify_context
from server.metrics import Metrics
from server.policy import GuardStartError
from tests.server.test_policy import _settings, _write_artifact


class Models:
    """A backend's model ids, switchable: empty while the upstream is down."""

    def __init__(self, *ids: str, up_when_probed: bool = False) -> None:
        self.ids = list(ids)
        self.ready_calls = 0
        self.up_when_probed = up_when_probed

    def model_ids(self) -> list[str]:
        return list(self.ids)

    async def ready(self) -> bool:
        self.ready_calls += 1
        await asyncio.sleep(0)  # let concurrent callers interleave
        if self.up_when_probed:
            self.ids = ["scripted"]
        return bool(self.ids)


def _guard(settings: Settings, models: Models) -> Guard:
    guard = Guard.from_settings(settings, Metrics(), models)
    assert guard is not None
    return guard


def _with_artifact(tmp_path: Path, **changes: str) -> Settings:
    settings = _settings(tmp_path)
    _write_artifact(settings, tmp_path / "a.json", **changes)
    unlearning = settings.unlearning.model_copy(update={"artifact": tmp_path / "a.json"})
    return settings.model_copy(update={"unlearning": unlearning})


def test_no_forget_set_means_no_guard(tmp_path: Path) -> None:
    assert Guard.from_settings(Settings(backend={"kind": "scripted"}), Metrics()) is None
    with pytest.raises(ConfigError, match=r"lethe verify needs unlearning\.forget_set"):
        Guard.required(Settings(backend={"kind": "scripted"}), "lethe verify")


def test_a_known_model_activates_at_start(tmp_path: Path) -> None:
    guard = _guard(_with_artifact(tmp_path), Models("scripted"))
    assert guard.state is GuardState.DEFERRED
    assert guard.policy is None
    guard.start()
    assert guard.state.value == "active"
    assert guard.policy is not None
    assert guard.policy.loop.threshold == 0.3
    assert guard.model_id == "scripted"


async def test_deferred_until_the_upstream_answers_then_active(tmp_path: Path) -> None:
    models = Models()
    guard = _guard(_with_artifact(tmp_path), models)
    guard.start()
    assert guard.state is GuardState.DEFERRED
    with pytest.raises(ServiceUnavailableError):
        await guard.ensure_active()
    assert guard.state is GuardState.DEFERRED  # still waiting, not failed
    models.ids = ["scripted"]
    policy = await guard.ensure_active()
    assert guard.state.value == "active"
    assert policy is guard.policy


async def test_concurrent_requests_activate_once(tmp_path: Path) -> None:
    models = Models(up_when_probed=True)  # each caller would probe, then activate
    guard = _guard(_with_artifact(tmp_path), models)
    installs: list[GuardState] = []
    original = guard.install

    def counting(*args: object, **kwargs: object) -> object:
        installs.append(guard.state)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    guard.install = counting  # type: ignore[method-assign,assignment]
    policies = await asyncio.gather(*(guard.ensure_active() for _ in range(5)))
    assert len(installs) == 1
    assert models.ready_calls == 1
    assert all(p is policies[0] for p in policies)


async def test_a_deferred_activation_that_cannot_serve_fails_closed(tmp_path: Path) -> None:
    models = Models()
    guard = _guard(_with_artifact(tmp_path, forget_set="sha256:other"), models)
    guard.start()
    models.ids = ["scripted"]
    with pytest.raises(ServiceUnavailableError):
        await guard.ensure_active()
    assert guard.state is GuardState.FAILED
    calls = models.ready_calls
    with pytest.raises(ServiceUnavailableError):
        await guard.ensure_active()
    assert models.ready_calls == calls  # failed is final until a reload installs a policy
    assert guard.policy is None


def test_a_stale_artifact_stops_start_up_unless_allowed(tmp_path: Path) -> None:
    settings = _with_artifact(tmp_path, prompts="sha256:other")
    with pytest.raises(GuardStartError, match="prompts"):
        _guard(settings, Models("scripted")).start()
    allowed = settings.model_copy(
        update={"unlearning": settings.unlearning.model_copy(update={"allow_stale": True})}
    )
    guard = _guard(allowed, Models("scripted"))
    guard.start()
    assert guard.state is GuardState.STALE
    assert guard.policy is not None
    assert guard.policy.stale


def test_install_switches_state_by_the_policy(tmp_path: Path) -> None:
    guard = _guard(_with_artifact(tmp_path), Models("scripted"))
    active = guard.activate("scripted")
    assert guard.state is GuardState.ACTIVE
    stale = type(active)(active.loop, active.guarantee, stale=True, stale_fields=("forget_set",))
    guard.install(guard.suite, guard.artifact, stale)
    assert guard.state.value == "stale"
    assert guard.policy is stale


def test_start_errors_are_one_type_and_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets:\n  - id: x\n")
    settings = Settings(backend={"kind": "scripted"}, unlearning={"forget_set": str(bad)})
    with pytest.raises(GuardStartError, match=r"bad\.yaml:2") as info:
        Guard.from_settings(settings, Metrics())
    assert isinstance(info.value, ConfigError)
    missing = _settings(tmp_path, artifact=str(tmp_path / "nope.json"))
    with pytest.raises(GuardStartError, match="cannot read"):
        _guard(missing, Models("scripted")).start()


def test_verify_context_keeps_every_turn_and_the_users_words_apart() -> None:
    messages = (
        Message("system", "Notes about an author."),
        Message("user", "Who is she?"),
        Message("assistant", "", tool_calls=(ToolCall("c1", "lookup", '{"q": "author"}'),)),
        Message("tool", "lookup result", tool_call_id="c1"),
        Message("assistant", "She writes."),
        Message("user", "What else?"),
    )
    context = verify_context(messages)
    assert (context.question, context.history) == ("What else?", ("Who is she?",))
    assert [t.role for t in context.turns] == [m.role for m in messages]
    assert context.turns[2].content.endswith('lookup({"q": "author"})')
    assert context.turns[3].content == "lookup result"
