"""HTTP routes: thin handlers that validate, delegate to the services, and frame responses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from server.completions import CompletionRequest, TextCompletion
from server.errors import (
    AuthenticationError,
    ModelNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    ReloadFailedError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
)
from server.guard import Guard, verify_response
from server.metrics import CONTENT_TYPE, Metrics
from server.protocol import (
    ChatCompletion,
    ChatCompletionRequest,
    ModelCard,
    ModelList,
    ReloadResponse,
    ReloadResult,
    VerifyRequest,
    VerifyResponse,
)
from server.reload import Reloader
from server.serving import ChatService
from server.store import GLOBAL
from server.streaming import SSE_HEADERS
from server.targets_api import router as targets_router
from server.tenants import KeyRing, Principal

T = TypeVar("T")
logger = logging.getLogger("lethe.routes")

# Status logged and counted when the client left before its answer (nginx's convention).
CLIENT_CLOSED_REQUEST = 499


def _principal(request: Request) -> Principal:
    principal: Principal = getattr(request.state, "principal", Principal())
    return principal


def _service(request: Request) -> ChatService:
    """The chat service of the caller's scope (a tenant's checks its targets too)."""
    services: dict[str, ChatService] = request.app.state.chat_services
    return services[_principal(request).scope]


def require_api_key(request: Request) -> None:
    keys: KeyRing = request.app.state.keys
    if keys.api_required:
        request.state.principal = _check_bearer(request, keys.api)


def require_admin_key(request: Request) -> None:
    keys: KeyRing = request.app.state.keys
    if not keys.admin_enabled:  # admin endpoints are off unless they have their own keys
        raise NotFoundError(f"Unknown route {request.url.path}.")
    request.state.principal = _check_bearer(request, keys.admin)


def _check_bearer(request: Request, match: Callable[[str], Principal | None]) -> Principal:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'."
        )
    principal = match(token.strip())
    if principal is None:
        raise AuthenticationError("Incorrect API key provided.")
    return principal


def require_json(request: Request) -> None:
    """A body declared as anything but JSON (or not declared: FastAPI then leaves it unparsed)
    is a 415, not a puzzling schema error. No body at all is the schema's to refuse (400)."""
    headers = request.headers
    media = headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    if not media and not has_body:
        return
    shown = f"not {media[:100]!r}" if media else "and it is missing"
    raise UnsupportedMediaTypeError(
        f"Content-Type must be application/json, {shown}.", param="content-type"
    )


class ClientDisconnected(Exception):
    pass


async def cancel_on_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Await ``work``, cancelling it if the client disconnects first."""
    task = asyncio.ensure_future(work)

    async def wait_for_disconnect() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(wait_for_disconnect())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            # Cancelling only asks: the work is done once it has unwound (a generation thread
            # stops at its next token). Until then it has neither a result nor "cancelled".
            await asyncio.wait({task})
    if task.cancelled():
        raise ClientDisconnected
    return task.result()


v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)])
ops = APIRouter()
admin = APIRouter(prefix="/admin", dependencies=[Depends(require_admin_key)])
admin.include_router(targets_router)


@v1.post("/chat/completions", response_model=ChatCompletion, dependencies=[Depends(require_json)])
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
    service = _service(request)
    chat = service.prepare(body)
    if body.stream:
        return StreamingResponse(
            service.stream(chat), media_type="text/event-stream", headers=SSE_HEADERS
        )
    try:
        completion = await cancel_on_disconnect(request, service.complete(chat))
    except ClientDisconnected:
        metrics: Metrics = request.app.state.metrics
        metrics.client_disconnects.inc()
        logger.info("client disconnected; generation cancelled")
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    return Response(completion.model_dump_json(), media_type="application/json")


@v1.post("/completions", response_model=TextCompletion, dependencies=[Depends(require_json)])
async def completions(body: CompletionRequest, request: Request) -> Response:
    """The legacy text completions API, guarded like chat (see server/completions.py)."""
    service = _service(request)
    prepared = service.prepare_text(body)
    echo = body.text() if body.echo else None
    if body.stream:
        return StreamingResponse(
            service.stream_text(prepared, echo), media_type="text/event-stream", headers=SSE_HEADERS
        )
    try:
        completion = await cancel_on_disconnect(request, service.complete_text(prepared, echo))
    except ClientDisconnected:
        metrics: Metrics = request.app.state.metrics
        metrics.client_disconnects.inc()
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    return Response(completion.model_dump_json(), media_type="application/json")


@v1.post("/unlearning/verify", response_model=VerifyResponse, dependencies=[Depends(require_json)])
async def verify(body: VerifyRequest, request: Request) -> VerifyResponse:
    guards: dict[str, Guard] = request.app.state.guards
    guard = guards.get(_principal(request).scope)
    if guard is None:
        raise ServiceUnavailableError(
            "No forget set is configured on this server (unlearning.forget_set).",
            code="unlearning_not_configured",
        )
    await guard.ensure_active()  # takes in targets written elsewhere; 503 before any is loaded
    report = await guard.check(body.backend_messages(), body.response)
    return verify_response(report, guard)


@v1.get("/models", response_model=ModelList)
async def list_models(request: Request) -> ModelList:
    return ModelList(data=[ModelCard(id=m) for m in _service(request).model_ids()])


@v1.get("/models/{model_id:path}", response_model=ModelCard)
async def retrieve_model(model_id: str, request: Request) -> ModelCard:
    """One served model (ids may contain slashes, as Hugging Face ids do)."""
    if model_id not in _service(request).model_ids():
        raise ModelNotFoundError(
            f"The model '{model_id[:100]}' does not exist on this server.", param="model"
        )
    return ModelCard(id=model_id)


@ops.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@ops.get("/ready")
async def ready(request: Request) -> Response:
    checks = {"backend": await _service(request).backend.ready()}
    guards: dict[str, Guard] = request.app.state.guards
    if guards and checks["backend"]:
        for guard in guards.values():
            with contextlib.suppress(ServiceUnavailableError):  # /ready reports, never raises
                await guard.ensure_active()
    if guards:
        # Every scope must be servable: a policy in force (so a forget set was loaded) from
        # a current artifact. A changed forget set never fails this: coverage judges it.
        policies = [guard.policy for guard in guards.values()]
        checks["policy"] = all(policy is not None for policy in policies)
        checks["artifact_current"] = all(p is not None and not p.stale for p in policies)
    status = 200 if all(checks.values()) else 503
    body = {"status": "ready" if status == 200 else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=status)


@ops.get("/metrics")
async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE)


@admin.post("/reload", response_model=ReloadResponse)
async def reload(request: Request) -> ReloadResponse:
    if _principal(request).scope != GLOBAL:  # every scope's files: not a tenant's to trigger
        raise PermissionDeniedError("This key administers one tenant's targets only.")
    reloader: Reloader | None = request.app.state.reloader
    if reloader is None:
        raise ServiceUnavailableError(
            "No forget set is configured on this server (unlearning.forget_set).",
            code="unlearning_not_configured",
        )
    report = await reloader.reload(force=True)
    if report.failed:
        failed = [
            f"{name}: {result.error}"
            for name, result in (("forget_set", report.forget_set), ("artifact", report.artifact))
            if result.outcome == "failed"
        ]
        raise ReloadFailedError("Reload failed; the previous state is kept. " + "; ".join(failed))
    return ReloadResponse(
        forget_set=ReloadResult(outcome=report.forget_set.outcome),
        artifact=ReloadResult(outcome=report.artifact.outcome),
        stale=report.stale,
        forget_set_hash=report.forget_set_hash,
        artifact_id=report.artifact_id,
    )
