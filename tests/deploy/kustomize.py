"""A small kustomize: the fields deploy/k8s uses, applied the way kustomize applies them.

Differences from the real tool, none of which changes what the tests check: generated
ConfigMaps keep their plain names (kustomize adds a content-hash suffix and rewrites the
references to it), and strategic-merge patches merge lists of named objects by ``name``.
A kustomization using any other field fails here, so this cannot silently fall behind.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

SUPPORTED = {
    "Kustomization": {
        "apiVersion",
        "kind",
        "resources",
        "components",
        "configMapGenerator",
        "images",
        "patches",
    },
    "Component": {"apiVersion", "kind", "resources"},
}


def kustomization(directory: Path) -> Obj:
    data = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    unsupported = set(data) - SUPPORTED[data["kind"]]
    assert not unsupported, f"{directory}: fields this renderer does not apply: {unsupported}"
    return data


def referenced_files(directory: Path) -> Iterator[Path]:
    """Every file a kustomization (and the ones it includes) reads."""
    data = kustomization(directory)
    yield directory / "kustomization.yaml"
    for entry in [*data.get("resources", []), *data.get("components", [])]:
        path = (directory / entry).resolve()
        if path.is_dir():
            yield from referenced_files(path)
        else:
            yield path
    for generator in data.get("configMapGenerator", []):
        for entry in generator.get("files", []):
            yield (directory / entry.split("=", 1)[-1]).resolve()  # [key=]file
    for patch in data.get("patches", []):
        yield (directory / patch["path"]).resolve()


def render(directory: Path) -> list[Obj]:
    data = kustomization(directory)
    objects: list[Obj] = []
    for entry in data.get("resources", []):
        path = directory / entry
        objects += render(path) if path.is_dir() else _documents(path)
    for entry in data.get("components", []):
        objects += render(directory / entry)
    for generator in data.get("configMapGenerator", []):
        assert generator.get("behavior", "create") == "create"
        files: dict[str, str] = {}
        for entry in generator["files"]:
            key, _, name = entry.rpartition("=")  # [key=]file
            files[key or Path(name).name] = (directory / name).read_text(encoding="utf-8")
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": generator["name"]},
                "data": files,
            }
        )
    for patch in data.get("patches", []):
        assert set(patch) == {"path"}, "only strategic-merge patch files are supported"
        for change in _documents(directory / patch["path"]):
            target = find(objects, change["kind"], change["metadata"]["name"])
            merged = merge(target, change)
            target.clear()
            target.update(merged)
    for image in data.get("images", []):
        for container in containers(objects):
            name = container["image"].partition(":")[0]
            if name == image["name"]:
                new_name = image.get("newName", name)
                container["image"] = (
                    f"{new_name}:{image['newTag']}" if "newTag" in image else new_name
                )
    return objects


def _documents(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge: maps merge key by key; lists of named objects merge by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        out_list = copy.deepcopy(base)
        for item in patch:
            for index, existing in enumerate(out_list):
                if existing["name"] == item["name"]:
                    out_list[index] = merge(existing, item)
                    break
            else:
                out_list.append(copy.deepcopy(item))
        return out_list
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)


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
