"""The application factory: the guard starts before the port is bound, the lifespan owns the
backend, and one Settings object configures everything."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.backends.scripted import ScriptedBackend
from server.config import Settings
from server.guard import GuardState
from server.policy import GuardStartError
from tests.server.test_policy import _settings, _write_artifact


class LateModels(ScriptedBackend):
    """An upstream whose model id is known only after start() (as after a /models probe)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = False

    def model_ids(self) -> list[str]:
        return super().model_ids() if self.started else []

    async def start(self) -> None:
        self.started = True


def test_without_a_forget_set_there_is_no_guard() -> None:
    app = create_app(Settings(backend={"kind": "scripted"}), backend=ScriptedBackend())
    assert app.state.guard is None


def test_the_guard_is_active_before_serving_when_the_model_is_known(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path), backend=ScriptedBackend())
    assert app.state.guard.state is GuardState.ACTIVE


def test_a_guard_that_cannot_start_stops_the_factory(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _write_artifact(settings, tmp_path / "a.json", verifiers="sha256:other")
    unlearning = settings.unlearning.model_copy(update={"artifact": tmp_path / "a.json"})
    with pytest.raises(GuardStartError, match="verifiers"):
        create_app(
            settings.model_copy(update={"unlearning": unlearning}), backend=ScriptedBackend()
        )


def test_the_lifespan_starts_a_deferred_guard_and_closes_the_backend(tmp_path: Path) -> None:
    backend = LateModels()
    app = create_app(_settings(tmp_path), backend=backend)
    guard = app.state.guard
    assert guard.state is GuardState.DEFERRED
    with TestClient(app) as client:
        assert guard.state.value == "active"
        assert client.get("/ready").status_code == 200
    assert backend.closed
