"""The application factory: one ``Settings`` in, one FastAPI app out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server import __version__
from server.backends import Backend, create_backend
from server.config import Settings
from server.errors import install_error_handlers
from server.guard import Guard, GuardState
from server.logs import AuditLog
from server.metrics import Metrics
from server.middleware import (
    BodyLimitMiddleware,
    InFlightLimitMiddleware,
    RequestContextMiddleware,
)
from server.reload import Reloader
from server.routes import admin, ops, v1
from server.serving import ChatService


def create_app(settings: Settings, *, backend: Backend | None = None) -> FastAPI:
    """Build the app. ``backend`` overrides the configured one (tests, benchmarks).

    Raises :class:`~server.policy.GuardStartError` when the guard cannot start, before the
    port is bound.
    """
    the_backend = backend if backend is not None else create_backend(settings.backend)
    metrics = Metrics()
    guard = Guard.from_settings(settings, metrics, the_backend)
    if guard is not None:
        guard.start()  # fails here when the model is known; else DEFERRED until it is

    reloader = Reloader(guard, settings, metrics) if guard is not None else None
    audit_path = settings.server.audit_log
    audit = AuditLog(audit_path) if audit_path is not None and guard is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await the_backend.start()
        if guard is not None and guard.state is GuardState.DEFERRED:
            guard.start()  # an upstream's model id may be known now
        interval = settings.server.reload_interval_seconds
        watcher = (
            asyncio.create_task(reloader.watch(interval), name="lethe-reload")
            if reloader is not None and interval > 0
            else None
        )
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
            await the_backend.aclose()
            if guard is not None and reloader is not None:
                reloader.close()
                guard.close()
            if audit is not None:
                audit.close()

    app = FastAPI(
        title="Lethe",
        summary="OpenAI-compatible gateway that makes a deployed LLM forget at inference time.",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.api_keys = [k.get_secret_value().encode() for k in settings.server.api_keys]
    app.state.guard = guard
    app.state.reloader = reloader
    app.state.admin_keys = [k.get_secret_value().encode() for k in settings.server.admin_api_keys]
    app.state.chat_service = ChatService(
        the_backend,
        backend_kind=settings.backend.kind,
        generation=settings.generation,
        metrics=metrics,
        keepalive_seconds=settings.server.keepalive_seconds,
        guard=guard,
        audit=audit,
        refusal_style=settings.unlearning.refusal_style,
        deadline_seconds=settings.server.request_timeout_seconds,
    )
    install_error_handlers(app)
    app.include_router(v1)
    app.include_router(ops)
    app.include_router(admin)
    # Added innermost first: the request context wraps everything, so 413/429 get ids too.
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.server.max_body_bytes, metrics=metrics
    )
    app.add_middleware(
        InFlightLimitMiddleware,
        limit=settings.server.max_in_flight,
        retry_after=settings.server.retry_after_seconds,
        metrics=metrics,
    )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app
