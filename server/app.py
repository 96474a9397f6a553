"""The application factory: one ``Settings`` in, one FastAPI app out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server import __version__
from server.artifacts import artifact_files, read_artifact_file
from server.backends import Backend, create_backend
from server.config import Settings
from server.errors import install_error_handlers
from server.guard import GuardState, read_seed
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
from server.store import GLOBAL
from server.targets import LiveTargets
from server.tenants import KeyRing, build_guards

logger = logging.getLogger("lethe.app")


def open_live_targets(settings: Settings, metrics: Metrics) -> LiveTargets | None:
    """The forget sets and artifacts to enforce, read from the store (seeded by the configured
    files): None when nothing is configured. A bad seed file stops start-up (GuardStartError);
    a store that cannot be read leaves the guards refusing until it can (fail closed)."""
    unlearning = settings.unlearning
    if unlearning.forget_set is None and unlearning.store is None and not settings.tenants:
        return None
    seeds = {GLOBAL: read_seed(unlearning.forget_set)} if unlearning.forget_set else {}
    for name, tenant in settings.tenants.items():
        if tenant.forget_set is not None:
            seeds[name] = read_seed(tenant.forget_set)
    artifacts = {
        scope: read_artifact_file(path) for scope, path in artifact_files(settings).items()
    }
    live = LiveTargets(settings, metrics, seeds, artifacts)
    live.load()
    return live


def create_app(settings: Settings, *, backend: Backend | None = None) -> FastAPI:
    """Build the app. ``backend`` overrides the configured one (tests, benchmarks).

    Raises :class:`~server.policy.GuardStartError` when the guard cannot start, before the
    port is bound.
    """
    the_backend = backend if backend is not None else create_backend(settings.backend)
    metrics = Metrics()
    live = open_live_targets(settings, metrics)  # None: nothing to forget (answers bypassed)
    guards = build_guards(settings, metrics, the_backend, live) if live is not None else {}
    for guard in guards.values():
        guard.start()  # fails here when the model is known; else DEFERRED until it is
    reloader = Reloader(guards, live, settings, metrics) if live is not None else None
    audit_path = settings.server.audit_log
    audit = AuditLog(audit_path) if audit_path is not None and live is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await the_backend.start()
        for guard in guards.values():
            if guard.state is GuardState.DEFERRED:
                guard.start()  # an upstream's model id may be known now
        interval = settings.server.reload_interval_seconds
        watchers = []
        if reloader is not None and interval > 0:
            watchers.append(asyncio.create_task(reloader.watch(interval), name="lethe-reload"))
        if live is not None:
            logger.info("%s", live.describe())
            watchers.append(asyncio.create_task(live.watch(), name="lethe-targets"))
        try:
            yield
        finally:
            for watcher in watchers:
                watcher.cancel()
            await the_backend.aclose()
            if live is not None:
                await live.aclose()
            for guard in guards.values():
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
    app.state.keys = KeyRing(settings)
    app.state.live = live
    app.state.guards = guards
    app.state.guard = guards.get(GLOBAL)
    app.state.reloader = reloader
    app.state.audit = audit
    app.state.chat_services = {
        scope: ChatService(
            the_backend,
            backend_kind=settings.backend.kind,
            generation=settings.generation,
            metrics=metrics,
            keepalive_seconds=settings.server.keepalive_seconds,
            guard=guards.get(scope),
            audit=audit,
            refusal_style=settings.unlearning.refusal_style,
            deadline_seconds=settings.server.request_timeout_seconds,
        )
        for scope in (GLOBAL, *settings.tenants)
    }
    app.state.chat_service = app.state.chat_services[GLOBAL]
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
