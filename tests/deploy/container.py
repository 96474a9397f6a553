"""A container's file system, rebuilt from repository files, to load Lethe's settings as the
container would: files copied into the image and mounted volumes become symlinks under a
temporary root, and absolute paths in the settings are read under that root."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from calibration.artifact import read_artifact
from server.config import EMBEDDED_MODEL_ID, Settings, load_settings
from server.guard import suite_config
from server.policy import current_fingerprints
from verifiers.forgetset import ForgetSet, load_forget_set

REPO = Path(__file__).resolve().parents[2]


class ContainerFS:
    def __init__(self, root: Path) -> None:
        self.root = root

    def host(self, container_path: str | PurePosixPath) -> Path:
        path = PurePosixPath(container_path)
        assert path.is_absolute(), f"{path} is not an absolute container path"
        return self.root.joinpath(*path.parts[1:])

    def add(self, container_path: str | PurePosixPath, source: Path) -> None:
        """Make ``source`` (a repository file or directory) appear at ``container_path``."""
        assert source.exists(), f"{source} does not exist"
        target = self.host(container_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source.resolve(), target_is_directory=source.is_dir())

    def write(self, container_path: str | PurePosixPath, text: str) -> None:
        target = self.host(container_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def exists(self, container_path: str | PurePosixPath) -> bool:
        return self.host(container_path).exists()


def settings_field(env_name: str) -> bool:
    """Whether ``LETHE_A__B__C`` names a field of :class:`Settings` (pydantic-settings nesting)."""
    assert env_name.startswith("LETHE_"), env_name
    model: type[BaseModel] = Settings
    parts = env_name.removeprefix("LETHE_").lower().split("__")
    for depth, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        last = depth == len(parts) - 1
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if last:
                return False  # a whole section cannot be set from one variable here
            model = annotation
        elif not last:
            return False
    return True


def load_in_container(
    fs: ContainerFS,
    config: str,
    env: Mapping[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """``lethe serve --config CONFIG`` with ``env``, inside ``fs``."""
    for name in list(os.environ):
        if name.startswith("LETHE_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("LETHE_"):
            assert settings_field(name), f"{name} is not a Lethe setting"
            monkeypatch.setenv(name, value)
    settings = load_settings(fs.host(config))

    def inside(path: Path | None) -> Path | None:
        if path is None or fs.root in path.parents:
            return path
        return fs.host(PurePosixPath(path.as_posix()))

    unlearning = settings.unlearning.model_copy(
        update={
            "forget_set": inside(settings.unlearning.forget_set),
            "artifact": inside(settings.unlearning.artifact),
        }
    )
    return settings.model_copy(update={"unlearning": unlearning})


def forget_set_of(settings: Settings) -> ForgetSet:
    assert settings.unlearning.forget_set is not None, "no forget set configured"
    assert settings.unlearning.forget_set.exists(), f"{settings.unlearning.forget_set} missing"
    return load_forget_set(settings.unlearning.forget_set)


def stale_fields(settings: Settings) -> list[str]:
    """What the configured artifact was calibrated for differently (empty: it is current).

    Only for the embedded model, whose id is known without starting it (as LlamaCppBackend
    names it).
    """
    backend = settings.backend
    assert backend.kind == "llamacpp"
    assert settings.unlearning.artifact is not None, "no artifact configured"
    artifact = read_artifact(settings.unlearning.artifact)
    path = backend.llamacpp.model_path
    model_id = backend.served_model_name or (EMBEDDED_MODEL_ID if path is None else path.stem)
    current = current_fingerprints(
        settings, forget_set_of(settings), suite_config(settings.unlearning), model_id
    )
    return list(artifact.fingerprints.mismatches(current))


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
