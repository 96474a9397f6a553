"""HTTP routes: thin handlers that validate, delegate to the services, and frame responses."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from server.completions import CompletionRequest, TextCompletion
from server.errors import (
    AuthenticationError,
    ModelNotFoundError,
    NotFoundError,
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
from server.streaming import SSE_HEADERS

T = TypeVar("T")
logger = logging.getLogger("lethe.routes")

# Status logged and counted when the client left before its answer (nginx's convention).
CLIENT_CLOSED_REQUEST = 499


def _service(request: Request) -> ChatService:
    service: ChatService = request.app.state.chat_service
    return service


def require_api_key(request: Request) -> None:
    keys: list[bytes] = request.app.state.api_keys
    if keys:
        _check_bearer(request, keys)


def require_admin_key(request: Request) -> None:
    keys: list[bytes] = request.app.state.admin_keys
    if not keys:  # admin endpoints are off unless they have their own keys
        raise NotFoundError(f"Unknown route {request.url.path}.")
    _check_bearer(request, keys)


def _check_bearer(request: Request, keys: list[bytes]) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'."
        )
    presented = token.strip().encode()
    # Compare against every key so timing reveals neither which key nor how much matched.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(presented, key)
    if not matched:
        raise AuthenticationError("Incorrect API key provided.")


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
    if task.cancelled():
        raise ClientDisconnected
    return task.result()


v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)])
ops = APIRouter()
admin = APIRouter(prefix="/admin", dependencies=[Depends(require_admin_key)])


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
    guard: Guard | None = request.app.state.guard
    if guard is None:
        raise ServiceUnavailableError(
            "No forget set is configured on this server (unlearning.forget_set).",
            code="unlearning_not_configured",
        )
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
    guard: Guard | None = request.app.state.guard
    if guard is not None and checks["backend"]:
        with contextlib.suppress(ServiceUnavailableError):  # /ready reports, never raises
            await guard.ensure_active()
    if guard is not None:
        checks["policy"] = guard.policy is not None
        checks["artifact_current"] = guard.policy is not None and not guard.policy.stale
    status = 200 if all(checks.values()) else 503
    body = {"status": "ready" if status == 200 else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=status)


@ops.get("/metrics")
async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE)


@admin.post("/reload", response_model=ReloadResponse)
async def reload(request: Request) -> ReloadResponse:
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
