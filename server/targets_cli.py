"""``lethe targets add|remove|list``: change the forget sets from scripts and cron jobs.

Two ways in. By default the command opens the store the configuration names
(``unlearning.store``) and writes to it directly, like a server would: no server needs to be
running, and every server on that store enforces the change on its next request (SQLite) or
within seconds (PostgreSQL). With ``--url`` it goes through a server's ``/admin/targets``
with the admin key in ``LETHE_ADMIN_KEY`` instead (another machine, no database access).

A target file is one target (``id``, ``name``, ``aliases``, ``facts``, ``documents``) in YAML
or JSON, or a forget-set file with a ``targets`` list. Messages name ids, never content.
Exit status: 0 done, 1 some target was refused (conflict, missing), 2 bad input or setup.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
import yaml
from pydantic import ValidationError

from server.config import AdminClientSettings, ConfigError, Settings
from server.logs import AuditLog, TargetChange
from server.store import (
    StoreError,
    TargetConflictError,
    TargetMissingError,
    TargetStore,
    target_hash,
)
from server.store_cli import actor, open_seeded_store, scope_of
from verifiers.forgetset import ForgetSetError, Target, load_forget_set

# Seconds to wait for a server's answer (a write is one transaction: quick).
HTTP_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class TargetsOptions:
    action: str  # add | remove | list | export
    tenant: str | None = None
    files: tuple[Path, ...] = ()
    ids: tuple[str, ...] = ()
    replace: bool = False
    url: str | None = None
    as_json: bool = False
    out: Path | None = None  # export: where to write (None: stdout)


def read_targets(path: Path, stdin: IO[str]) -> list[Target]:
    """The targets of one file: a forget-set file, or a single target (``-``: stdin)."""
    if path != Path("-") and path.suffix in (".yaml", ".yml", ".jsonl"):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read ({type(exc).__name__})") from exc
        data = _parse(path, text)
        if path.suffix == ".jsonl" or (isinstance(data, dict) and "targets" in data):
            try:
                return list(load_forget_set(path).targets)
            except ForgetSetError as exc:
                raise ConfigError(str(exc)) from exc
        return [_one(path, data)]
    text = stdin.read() if path == Path("-") else path.read_text(encoding="utf-8")
    data = _parse(path, text)
    if isinstance(data, dict) and "targets" in data:
        return [_one(path, item, f"targets.{i}.") for i, item in enumerate(data["targets"])]
    return [_one(path, data)]


def _parse(path: Path, text: str) -> Any:
    try:
        return yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML or JSON") from exc


def _one(path: Path, data: Any, prefix: str = "") -> Target:
    try:
        return Target.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = prefix + ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: field {field or '(top level)'}: {first['msg']}") from exc


def run_targets(settings: Settings, options: TargetsOptions, out: IO[str], stdin: IO[str]) -> int:
    scope = scope_of(settings, options.tenant)
    targets = [t for path in options.files for t in read_targets(path, stdin)]
    if options.url is not None:
        if options.action == "export":
            raise ConfigError("export reads the store itself (the API never returns facts)")
        return _via_api(options, targets, out)
    return _via_store(settings, scope, options, targets, out)


# --- directly on the store ------------------------------------------------------------------


def _via_store(
    settings: Settings, scope: str, options: TargetsOptions, targets: list[Target], out: IO[str]
) -> int:
    store = open_seeded_store(settings, "change")
    audit = AuditLog(settings.server.audit_log) if settings.server.audit_log else None
    who = actor("cli")
    try:
        if options.action == "list":
            return _list_store(store, scope, options.as_json, out)
        if options.action == "export":
            return _export(store, scope, options.out, out)
        failed = 0
        if options.action == "add":
            for target in targets:
                failed += _add(store, scope, target, options.replace, who, audit, out)
        else:
            for target_id in options.ids:
                failed += _remove(store, scope, target_id, who, audit, out)
        return 1 if failed else 0
    except StoreError as exc:
        print(f"lethe: the target store failed, nothing more was changed: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
        if audit is not None:
            audit.close()


def _add(
    store: TargetStore,
    scope: str,
    target: Target,
    replace: bool,
    actor: str,
    audit: AuditLog | None,
    out: IO[str],
) -> int:
    change = TargetChange(
        actor, scope or None, target.id, "replace" if replace else "put", "conflict",
        target_hash(target), None, None,
    )  # fmt: skip
    try:
        result = store.put(scope, target, replace=replace, actor=actor)
    except TargetConflictError:
        _audit(audit, change)
        print(f"conflict {target.id}: it exists with other content (use --replace)", file=out)
        return 1
    change.outcome, change.revision = result.outcome, result.revision
    _audit(audit, change)
    print(f"{result.outcome} {target.id} (revision {result.revision})", file=out)
    return 0


def _remove(
    store: TargetStore,
    scope: str,
    target_id: str,
    actor: str,
    audit: AuditLog | None,
    out: IO[str],
) -> int:
    change = TargetChange(actor, scope or None, target_id, "delete", "missing", None, None, None)
    try:
        result = store.delete(scope, target_id, actor=actor)
    except TargetMissingError:
        _audit(audit, change)
        print(f"missing {target_id}: no such target", file=out)
        return 1
    change.outcome, change.revision = "deleted", result.revision
    _audit(audit, change)
    print(f"deleted {target_id} (revision {result.revision})", file=out)
    return 0


def _audit(audit: AuditLog | None, change: TargetChange) -> None:
    if audit is not None:
        audit.write_change(change)


def _export(store: TargetStore, scope: str, path: Path | None, out: IO[str]) -> int:
    """The scope's targets as a forget-set file (facts included: for ``lethe build-dataset``
    and a recalibration), readable by its owner only."""
    targets = sorted(
        (row.target for row in store.snapshot().targets if row.scope == scope),
        key=lambda target: target.id,
    )
    document = {
        "version": 1,
        "name": f"{scope or 'global'}-targets",
        "targets": [t.model_dump(mode="json", exclude_defaults=True) for t in targets],
    }
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    if path is None:
        out.write(text)
        return 0
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"exported {len(targets)} targets to {path}", file=sys.stderr)
    return 0


def _list_store(store: TargetStore, scope: str, as_json: bool, out: IO[str]) -> int:
    rows = sorted(
        (row for row in store.snapshot().targets if row.scope == scope),
        key=lambda row: row.target.id,
    )
    items = [
        {
            "id": row.target.id,
            "source": row.source,
            "aliases": len(row.target.aliases),
            "facts": len(row.target.facts),
            "documents": len(row.target.documents),
            "added_at": datetime.fromtimestamp(row.added_at, UTC).isoformat(timespec="seconds"),
            "coverage": None,  # a server's artifact decides it: lethe targets list --url
        }
        for row in rows
    ]
    _print_list(items, as_json, out)
    return 0


def _print_list(items: list[dict[str, Any]], as_json: bool, out: IO[str]) -> None:
    if as_json:
        for item in items:
            print(json.dumps(item), file=out)
        return
    for item in items:
        print(
            f"{item['id']}\t{item['source']}\taliases={item['aliases']}\tfacts={item['facts']}"
            f"\tdocuments={item['documents']}\tadded={item['added_at']}"
            f"\tcoverage={item.get('coverage') or '-'}",
            file=out,
        )


# --- through a server -----------------------------------------------------------------------


def _via_api(options: TargetsOptions, targets: list[Target], out: IO[str]) -> int:
    key = AdminClientSettings().admin_key
    if key is None:
        raise ConfigError("--url needs the admin key in the environment variable LETHE_ADMIN_KEY")
    assert options.url is not None
    base = options.url.rstrip("/") + "/admin/targets"
    params = {"tenant": options.tenant} if options.tenant else {}
    headers = {"Authorization": f"Bearer {key.get_secret_value()}"}
    try:
        with httpx.Client(headers=headers, timeout=HTTP_TIMEOUT) as client:
            if options.action == "list":
                return _list_api(client, base, params, options.as_json, out)
            failed = 0
            for target in targets:
                body = target.model_dump(mode="json")
                if options.replace:
                    response = client.put(f"{base}/{target.id}", json=body, params=params)
                else:
                    response = client.post(base, json=body, params=params)
                failed += _report(response, target.id, out)
            for target_id in options.ids:
                response = client.delete(f"{base}/{target_id}", params=params)
                failed += _report(response, target_id, out)
            return 1 if failed else 0
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach {options.url}: {type(exc).__name__}") from exc


def _report(response: httpx.Response, target_id: str, out: IO[str]) -> int:
    if response.status_code == 204:
        print(f"deleted {target_id}", file=out)
        return 0
    body = response.json() if response.content else {}
    if response.is_success:
        print(
            f"{body['outcome']} {target_id} (revision {body['revision']}, "
            f"forget set {body['forget_set_hash']})",
            file=out,
        )
        return 0
    error = body.get("error", {}) if isinstance(body, dict) else {}
    print(f"{response.status_code} {target_id}: {error.get('message', '')}", file=out)
    if response.status_code in (409, 404):
        return 1
    raise ConfigError(f"the server refused the request ({response.status_code})")


def _list_api(
    client: httpx.Client, base: str, params: dict[str, str], as_json: bool, out: IO[str]
) -> int:
    after: str | None = None
    items: list[dict[str, Any]] = []
    while True:
        page = client.get(base, params={**params, **({"after": after} if after else {})})
        if not page.is_success:
            raise ConfigError(f"the server refused the listing ({page.status_code})")
        body = page.json()
        items += body["data"]
        if not body["has_more"]:
            break
        after = body["data"][-1]["id"]
    _print_list(items, as_json, out)
    return 0
