"""``lethe calibrate --incremental``: recalibrate for the forget set served now.

1. The served forget set: the scope's targets in the configured store (seeded by the
   configured files first, as a server starting on it would), else its forget-set file.
2. The served targets the dataset does not hold yet (by id and content hash) get calibration
   traffic from the dataset builder (the dataset's own plan and seed; retain subjects are the
   dataset's targets that are not served), as a new group whose forget set is the *whole*
   served forget set, so the largest calibrated forget set grows with the served one
   (``max_forget_set_size``: coverage). The group's forget-set file is written with mode 600
   (it holds facts); the queries go to a new file and the manifest, replaced last and
   atomically, switches to it: an interrupted run leaves the dataset as it was, or whole.
3. The certificate is rerun: every group already recorded is read from the calibration cache
   (same queries, same fingerprints), only the new group's queries run.
4. ``--publish``: the artifact goes to the store with the ids and content hashes of the served
   targets it was calibrated on, and every replica installs it (:mod:`server.artifacts`).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibration.artifact import Artifact
from calibration.atomic import write_atomically
from calibration.builder import QA, Plan, build_queries, read_general, subjects_of
from calibration.dataset import MANIFEST, Query, read_dataset
from server.artifacts_cli import open_configured_store, publish
from server.calibrate_cli import CalibrateOptions, calibrate
from server.config import ConfigError, Settings
from server.progress import CalibrationProgress
from server.store import GLOBAL, StoreError, scope_label, target_hash
from server.store_cli import actor
from verifiers.forgetset import ForgetSetError, Target, load_forget_set

logger = logging.getLogger("lethe.incremental")

FILE_MODE = 0o600
"""Forget-set files hold the facts to forget: readable by their owner only."""
DIR_MODE = 0o700


@dataclass(frozen=True)
class IncrementOptions:
    scope: str = GLOBAL
    base_dataset: Path | None = None  # copied to --dataset when that does not exist yet
    general: Path | None = None  # general questions with gold answers (mixed, unrelated)
    publish: bool = False
    pushgateway: str | None = None


@dataclass(frozen=True)
class Increment:
    """What a run added to the dataset: a group (None: every served target was held)."""

    group: str | None
    served: int
    new_targets: int
    queries: int


# --- the served forget set ------------------------------------------------------------------


def served_targets(settings: Settings, scope: str) -> tuple[list[Target], str]:
    """The scope's targets as served now (sorted by id), and where they were read."""
    if settings.unlearning.store is not None:
        store = open_configured_store(settings)
        try:
            rows = [r for r in store.snapshot().targets if r.scope == scope]
            where = store.description
        except StoreError as exc:
            raise ConfigError(f"the target store cannot be read: {exc}") from exc
        finally:
            store.close()
        return sorted((r.target for r in rows), key=lambda t: t.id), where
    path = settings.unlearning.forget_set
    if scope != GLOBAL:
        path = settings.tenants[scope].forget_set
    if path is None:
        raise ConfigError("--incremental needs unlearning.store or a forget-set file")
    try:
        forget_set = load_forget_set(path)
    except ForgetSetError as exc:
        raise ConfigError(str(exc)) from exc
    return sorted(forget_set.targets, key=lambda t: t.id), str(path)


# --- the dataset ----------------------------------------------------------------------------


def ensure_dataset(dataset: Path, base: Path | None) -> None:
    """A dataset to grow: ``dataset``, or a copy of ``base`` made there on the first run."""
    if (dataset / MANIFEST).exists():
        return
    if base is None:
        raise ConfigError(f"{dataset}: no dataset there (give --base-dataset to start one)")
    if dataset.exists() and any(dataset.iterdir()):
        raise ConfigError(f"{dataset}: not empty and not a dataset")
    shutil.copytree(base, dataset, dirs_exist_ok=True)
    dataset.chmod(DIR_MODE)


def _manifest(dataset: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((dataset / MANIFEST).read_text(encoding="utf-8"))
    return manifest


def held_targets(dataset: Path) -> tuple[set[tuple[str, str]], list[Target]]:
    """(id, content hash) of every target of every forget set of the dataset, and the
    targets themselves (retain subjects for the new traffic)."""
    held: set[tuple[str, str]] = set()
    targets: dict[str, Target] = {}
    for path in read_dataset(dataset).forget_sets.values():
        for target in load_forget_set(path).targets:
            held.add((target.id, target_hash(target)))
            targets.setdefault(target.id, target)
    return held, list(targets.values())


def _group_name(manifest: dict[str, Any], scope: str) -> str:
    prefix = "served" if scope == GLOBAL else f"served-{scope}"
    number = 1 + sum(1 for name in manifest["forget_sets"] if name.startswith(prefix + "-"))
    while f"{prefix}-{number:03d}" in manifest["forget_sets"]:
        number += 1
    return f"{prefix}-{number:03d}"


def _write_private(path: Path, text: str) -> None:
    """``text`` to ``path`` atomically, readable by its owner only from the first byte."""
    write_atomically(path, text, FILE_MODE)


def _queries_text(queries: list[Query]) -> str:
    return "".join(json.dumps(q.to_json(), ensure_ascii=False) + "\n" for q in queries)


def add_group(
    dataset: Path, served: list[Target], scope: str, general: list[QA], source: str
) -> Increment:
    """Add the served targets the dataset does not hold as a new group (see the module)."""
    held, known = held_targets(dataset)
    new = [t for t in served if (t.id, target_hash(t)) not in held]
    if not new:
        return Increment(None, len(served), 0, 0)
    manifest = _manifest(dataset)
    group = _group_name(manifest, scope)
    served_ids = {t.id for t in served}
    retain = subjects_of([t for t in known if t.id not in served_ids])
    plan = Plan(**manifest.get("plan", {}))
    queries = build_queries(
        group, subjects_of(new), retain, general, plan, int(manifest.get("seed", 0))
    )
    relative = f"forget-sets/{group}.jsonl"
    (dataset / relative).parent.mkdir(parents=True, exist_ok=True)
    lines = (t.model_dump_json(exclude_defaults=True) for t in served)
    _write_private(dataset / relative, "\n".join(lines) + "\n")
    old_queries = str(manifest["queries"])
    new_queries = f"queries-{group}.jsonl"
    existing = (dataset / old_queries).read_text(encoding="utf-8")
    _write_private(dataset / new_queries, existing + _queries_text(queries))
    manifest["forget_sets"][group] = relative
    manifest["queries"] = new_queries
    manifest.setdefault("increments", []).append(
        {"group": group, "scope": scope_label(scope), "served": len(served),
         "new_targets": len(new), "queries": len(queries), "source": source}
    )  # fmt: skip
    _write_private(dataset / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    if old_queries.startswith("queries-"):  # an earlier increment's copy: superseded
        (dataset / old_queries).unlink(missing_ok=True)
    return Increment(group, len(served), len(new), len(queries))


def calibrated_on(dataset: Path, scope: str) -> dict[str, str] | None:
    """Id -> content hash of the served targets of the scope's latest group (None: none)."""
    manifest = _manifest(dataset)
    label = scope_label(scope)
    groups = [i["group"] for i in manifest.get("increments", []) if i["scope"] == label]
    if not groups:
        return None
    path = dataset / manifest["forget_sets"][groups[-1]]
    return {t.id: target_hash(t) for t in load_forget_set(path).targets}


# --- the run --------------------------------------------------------------------------------


def run_incremental(settings: Settings, options: CalibrateOptions, inc: IncrementOptions) -> int:
    if options.dataset is None:
        raise ConfigError("--incremental needs --dataset (the dataset it grows)")
    if inc.publish and settings.unlearning.store is None:
        raise ConfigError("--publish needs unlearning.store: the store the servers read")
    ensure_dataset(options.dataset, inc.base_dataset)
    served, source = served_targets(settings, inc.scope)
    general = read_general(inc.general) if inc.general is not None else []
    increment = add_group(options.dataset, served, inc.scope, general, source)
    if increment.group is None:
        print(f"every one of the {increment.served} served targets is in the dataset already")
    else:
        print(
            f"added group {increment.group}: {increment.queries} queries about "
            f"{increment.new_targets} new targets; its forget set is the {increment.served} "
            "served targets"
        )
    progress = CalibrationProgress(inc.pushgateway, scope_label(inc.scope))
    artifact = calibrate(settings, options, progress)
    print(_summary(artifact, options.artifact))
    if inc.publish:
        _publish(settings, inc.scope, artifact, calibrated_on(options.dataset, inc.scope))
    return 0


def _summary(artifact: Artifact, path: Path) -> str:
    verdict = "certified" if artifact.passed else "nothing certified"
    return (
        f"{verdict} over {artifact.n_targets} targets, forget sets of up to "
        f"{artifact.max_forget_set_size} targets; wrote {path}"
    )


def _publish(
    settings: Settings, scope: str, artifact: Artifact, calibrated: dict[str, str] | None
) -> None:
    store = open_configured_store(settings)
    try:
        audit_log = settings.server.audit_log
        result = publish(store, scope, artifact, calibrated, actor("calibrate"), audit_log)
    except StoreError as exc:
        raise ConfigError(f"the artifact was written but not published: {exc}") from exc
    finally:
        store.close()
    print(
        f"{result.outcome} {artifact.artifact_id()} for {scope_label(scope)} "
        f"(revision {result.revision})"
    )
