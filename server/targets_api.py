"""``/admin/targets``: add, replace, remove and list forget targets live (admin keys).

Thin handlers: the body is a target as in a forget-set file (``verifiers.forgetset.Target``:
a bad one is an OpenAI-shaped 400 naming the field), :class:`~server.targets.LiveTargets`
writes it to the store and enforces it, and every change is counted and written to the audit
log (key id, target id, content hash: never content). A 201/200/204 means committed durably.
Listings give ids, counts and dates, never facts. A tenant's admin key sees its tenant only;
a global admin key picks a tenant with ``?tenant=``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

from server.errors import (
    ConflictError,
    InvalidRequestError,
    LetheError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
)
from server.logs import AuditLog, TargetChange
from server.metrics import Metrics
from server.store import (
    GLOBAL,
    StoreError,
    TargetConflictError,
    TargetMissingError,
    target_hash,
)
from server.targets import LiveTargets, Written, view_of
from server.tenants import Principal
from verifiers.forgetset import Target

logger = logging.getLogger("lethe.targets")

# The largest page of a listing (ids and counts only, about 200 bytes a target).
MAX_PAGE = 10_000


class TargetWrite(BaseModel):
    id: str
    tenant: str | None
    outcome: Literal["created", "replaced", "unchanged"]
    forget_set_hash: str
    revision: int


class TargetInfo(BaseModel):
    """What a listing says of a target: never its facts, names or documents."""

    id: str
    source: Literal["file", "api"]
    aliases: int
    facts: int
    documents: int
    added_at: str
    updated_at: str
    coverage: Literal["certified", "interim"] | None  # None: no artifact, no certificate


class TargetList(BaseModel):
    object: Literal["list"] = "list"
    tenant: str | None
    data: list[TargetInfo]
    has_more: bool
    forget_set_hash: str
    revision: int


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _live(request: Request) -> LiveTargets:
    live: LiveTargets | None = request.app.state.live
    if live is None:
        raise ServiceUnavailableError(
            "No forget set is configured on this server (unlearning.forget_set or "
            "unlearning.store).",
            code="unlearning_not_configured",
        )
    return live


def _writable(request: Request) -> LiveTargets:
    live = _live(request)
    if not live.durable:
        raise ServiceUnavailableError(
            "Targets cannot be changed without a durable store: set unlearning.store "
            "(e.g. sqlite:///lethe.sqlite3).",
            code="store_not_configured",
        )
    return live


def target_scope(request: Request, tenant: str | None = None) -> str:
    """The scope an admin request acts on: a tenant key's own, or the ``tenant`` a global
    admin key names (the global forget set by default)."""
    principal: Principal = request.state.principal
    if principal.scope != GLOBAL:
        if tenant is not None and tenant != principal.scope:
            raise PermissionDeniedError("This key cannot administer that tenant.", param="tenant")
        return principal.scope
    if tenant is None:
        return GLOBAL
    if tenant not in request.app.state.settings.tenants:
        raise NotFoundError("Unknown tenant.", param="tenant")
    return tenant


Scope = Annotated[str, Depends(target_scope)]


def _record(request: Request, change: TargetChange) -> None:
    metrics: Metrics = request.app.state.metrics
    metrics.target_changes.labels(change.operation, change.outcome).inc()
    audit: AuditLog | None = request.app.state.audit
    if audit is not None:
        try:
            audit.write_change(change)
        except OSError as exc:  # a full disk must not undo a committed change
            logger.error("audit log write failed (%s)", type(exc).__name__)


async def _write(request: Request, scope: str, target: Target, *, replace: bool) -> Response:
    live = _writable(request)
    principal: Principal = request.state.principal
    operation = "replace" if replace else "put"
    tenant = scope or None
    change = TargetChange(
        principal.actor, tenant, target.id, operation, "failed", target_hash(target), None, None
    )
    try:
        written: Written = await live.put(scope, target, replace=replace, actor=principal.actor)
    except TargetConflictError:
        change.outcome = "conflict"
        _record(request, change)
        raise ConflictError(
            f"Target {target.id} exists with other content; replace it with "
            f"PUT /admin/targets/{target.id}.",
            param="id",
        ) from None
    except StoreError as exc:
        _record(request, change)
        raise _unavailable() from exc
    change.outcome, change.revision = written.outcome, written.revision
    change.forget_set = written.forget_set_hash
    _record(request, change)
    body = TargetWrite(
        id=target.id,
        tenant=tenant,
        outcome=written.outcome,
        forget_set_hash=written.forget_set_hash,
        revision=written.revision,
    )
    status = 201 if written.outcome == "created" else 200
    return JSONResponse(body.model_dump(), status_code=status)


def _unavailable() -> LetheError:
    return ServiceUnavailableError(
        "The target store cannot be reached; nothing was changed. Retry later.",
        code="store_unavailable",
    )


router = APIRouter(prefix="/targets")


@router.post("", status_code=201, response_model=TargetWrite)
async def add_target(target: Target, scope: Scope, request: Request) -> Response:
    """201 with the new forget-set hash; the same target again is a 200 no-op."""
    return await _write(request, scope, target, replace=False)


@router.put("/{target_id}", response_model=TargetWrite)
async def replace_target(
    target_id: str, target: Target, scope: Scope, request: Request
) -> Response:
    if target.id != target_id:
        raise InvalidRequestError(
            "The target's id must be the id in the path.", param="id", code="invalid_value"
        )
    return await _write(request, scope, target, replace=True)


@router.delete("/{target_id}", status_code=204)
async def remove_target(target_id: str, scope: Scope, request: Request) -> Response:
    live = _writable(request)
    principal: Principal = request.state.principal
    change = TargetChange(
        principal.actor, scope or None, target_id, "delete", "failed", None, None, None
    )
    try:
        written = await live.delete(scope, target_id, actor=principal.actor)
    except TargetMissingError:
        change.outcome = "missing"
        _record(request, change)
        raise NotFoundError(f"No target {target_id[:200]}.", param="target_id") from None
    except StoreError as exc:
        _record(request, change)
        raise _unavailable() from exc
    change.outcome, change.revision = "deleted", written.revision
    change.forget_set = written.forget_set_hash
    _record(request, change)
    return Response(status_code=204)


@router.get("", response_model=TargetList)
async def list_targets(
    scope: Scope,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1000,
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> TargetList:
    """Targets in id order, ``limit`` at a time after the id ``after``."""
    live = _live(request)
    rows = sorted(live.rows(scope), key=lambda row: row.target.id)
    if after is not None:
        rows = [row for row in rows if row.target.id > after]
    page = rows[:limit]
    data = [
        TargetInfo(
            id=row.target.id,
            source=row.source,
            aliases=len(row.target.aliases),
            facts=len(row.target.facts),
            documents=len(row.target.documents),
            added_at=_iso(row.added_at),
            updated_at=_iso(row.updated_at),
            coverage=live.coverage_of(scope, row.target.id),
        )
        for row in page
    ]
    return TargetList(
        tenant=scope or None,
        data=data,
        has_more=len(rows) > limit,
        forget_set_hash=live.forget_set_hash(view_of(scope)),
        revision=max(live.revision, 0),
    )
