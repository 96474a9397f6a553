"""Render deploy/k8s kustomizations with the real tool (`kubectl kustomize`), and list the
files each kustomization reads.

Generated ConfigMaps get kustomize's content-hash name suffix and every reference to them is
rewritten, so tests follow references instead of assuming names. CI installs kubectl; without
it the tests fail rather than skip.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

Obj = dict[str, Any]

# Every kustomization field deploy/k8s uses; `referenced_files` knows which of them name files. Any
# other field fails there, so the file list cannot silently fall behind the kustomizations.
FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "components",
    "configMapGenerator",
    "images",
    "patches",
}


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail("kubectl not found on PATH: the deploy/k8s tests need `kubectl kustomize`")
    return path


def render(directory: Path) -> list[Obj]:
    try:
        result = subprocess.run(
            [kubectl(), "kustomize", str(directory)], check=True, capture_output=True, text=True
        )
    except subprocess.CalledProcessError as error:
        raise AssertionError(f"kubectl kustomize {directory}: {error.stderr}") from error
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]
    assert all(isinstance(obj, dict) for obj in objects), directory
    return objects


def referenced_files(directory: Path) -> Iterator[Path]:
    """Every file a kustomization (and the ones it includes) reads."""
    path = directory / "kustomization.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    assert set(data) <= FIELDS, f"{path}: fields that may name files: {set(data) - FIELDS}"
    yield path
    for entry in [*data.get("resources", []), *data.get("components", [])]:
        resolved = (directory / entry).resolve()
        yield from referenced_files(resolved) if resolved.is_dir() else [resolved]
    for generator in data.get("configMapGenerator", []):
        assert set(generator) <= {"name", "files"}, f"{path}: {generator}"
        for entry in generator.get("files", []):
            yield (directory / entry.rpartition("=")[2]).resolve()  # [key=]file
    for patch in data.get("patches", []):
        assert set(patch) <= {"path", "target"}, f"{path}: {patch}"
        yield (directory / patch["path"]).resolve()


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} objects"
    return matches[0]


def pod_spec(obj: Obj) -> Obj:
    spec: Obj = obj["spec"]["template"]["spec"]
    return spec


def containers(objects: list[Obj]) -> Iterator[Obj]:
    for obj in objects:
        if obj["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            spec = pod_spec(obj)
            yield from spec.get("initContainers", [])
            yield from spec["containers"]
