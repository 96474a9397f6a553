"""``lethe artifacts publish|list``: calibration artifacts in the target store.

``publish FILE`` makes an artifact its scope's active one in the store the configuration names
(``unlearning.store``); every server on that store installs it without a restart (SQLite:
before its next request; PostgreSQL: within seconds). Publishing an older artifact again makes
it active again (a rollback). ``list`` shows each scope's active artifact: ids, dates and
sizes, never content. The configured files seed the store first, exactly as a server starting
on it would, so a server started later does not replace a publication with its file.
Exit status: 0 done, 2 bad input or setup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from calibration.artifact import Artifact, ArtifactError, parse_artifact
from server.artifacts import artifact_files, body_of, read_artifact_file
from server.config import ConfigError, Settings
from server.logs import ArtifactPublication, AuditLog
from server.store import (
    PublishResult,
    StoredArtifact,
    StoreError,
    TargetStore,
    scope_label,
)
from server.store_cli import actor, open_seeded_store, scope_of


@dataclass(frozen=True, slots=True)
class ArtifactsOptions:
    action: str  # publish | list
    tenant: str | None = None
    file: Path | None = None
    as_json: bool = False


def open_configured_store(settings: Settings) -> TargetStore:
    """The configured store, migrated and seeded by the configured files (targets and
    artifacts), as a server starting on it would leave it."""
    seeds = {scope: read_artifact_file(path) for scope, path in artifact_files(settings).items()}
    store = open_seeded_store(settings, "publish to")
    try:
        for scope, artifact in seeds.items():
            store.seed_artifact(scope, artifact.artifact_id(), body_of(artifact), "file")
    except StoreError as exc:
        store.close()
        raise ConfigError(f"the target store cannot be seeded: {exc}") from exc
    return store


def publish(
    store: TargetStore,
    scope: str,
    artifact: Artifact,
    calibrated: Mapping[str, str] | None,
    actor: str,
    audit_log: Path | None,
) -> PublishResult:
    """Make ``artifact`` the scope's active one, and say so in the audit log (if any)."""
    result = store.publish_artifact(
        scope, artifact.artifact_id(), body_of(artifact), calibrated=calibrated, actor=actor
    )
    if audit_log is not None:
        audit = AuditLog(audit_log)
        publication = ArtifactPublication(
            actor=actor,
            tenant=scope or None,
            artifact=artifact.artifact_id(),
            outcome=result.outcome,
            revision=result.revision,
            certified=artifact.passed,
        )
        try:
            audit.write_publication(publication)
        finally:
            audit.close()
    return result


def run_artifacts(settings: Settings, options: ArtifactsOptions, out: IO[str]) -> int:
    scope = scope_of(settings, options.tenant)
    artifact = read_artifact_file(options.file) if options.file is not None else None
    store = open_configured_store(settings)
    try:
        if options.action == "publish":
            assert artifact is not None
            audit_log = settings.server.audit_log
            result = publish(store, scope, artifact, None, actor("cli"), audit_log)
            print(
                f"{result.outcome} {artifact.artifact_id()} for {scope_label(scope)} "
                f"(revision {result.revision})",
                file=out,
            )
            return 0
        _list(store, options.as_json, out)
        return 0
    except StoreError as exc:
        raise ConfigError(f"the target store failed, nothing was changed: {exc}") from exc
    finally:
        store.close()


def _list(store: TargetStore, as_json: bool, out: IO[str]) -> None:
    for row in store.artifacts():
        item: dict[str, Any] = {
            "scope": scope_label(row.scope),
            "artifact": row.artifact_id,
            "published": datetime.fromtimestamp(row.created, UTC).isoformat(timespec="seconds"),
            "actor": row.actor,
            "revision": row.revision,
            "calibrated_targets": len(row.calibrated) if row.calibrated is not None else None,
        }
        made = _parsed(row)
        if made is not None:
            item.update(
                created=made.created,
                passed=made.passed,
                n_targets=made.n_targets,
                max_forget_set_size=made.max_forget_set_size,
            )
        if as_json:
            print(json.dumps(item), file=out)
        else:
            print("\t".join(f"{k}={v}" for k, v in item.items()), file=out)


def _parsed(row: StoredArtifact) -> Artifact | None:
    """The stored artifact, or None if its body cannot be read (listed by its row only)."""
    try:
        return parse_artifact(row.body, f"artifact {row.artifact_id[:19]}")
    except ArtifactError:
        return None
