"""Tenants: whose a bearer key is, and the guard each scope's answers are checked by.

A key belongs to the global scope (``server.api_keys``, ``server.admin_api_keys``) or to one
tenant (``tenants.<name>.api_keys``, ``.admin_api_keys``). A tenant's answers are checked
against its own targets plus the global ones, under its own artifact (or the global one); a
tenant's admin key sees and changes that tenant's targets only. Keys are compared in constant
time against every configured key; logs and audit lines name a key by a short hash of it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import partial

from server.artifacts import installer
from server.backends.base import Backend
from server.config import ConfigError, Settings
from server.guard import Guard
from server.metrics import Metrics
from server.store import GLOBAL
from server.targets import LiveTargets, view_of


def key_id(secret: str) -> str:
    """A name for a key in audit lines: not the key, and not enough to guess it."""
    return "key:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the scope their requests belong to, and the key they used."""

    scope: str = GLOBAL
    key: str | None = None  # key_id(...); None on a server without keys

    @property
    def actor(self) -> str:
        return self.key or "anonymous"


class KeyRing:
    """Every configured key, for /v1 and for /admin, with the scope each belongs to."""

    def __init__(self, settings: Settings) -> None:
        server = settings.server
        self._api = [(k.get_secret_value(), GLOBAL) for k in server.api_keys]
        self._admin = [(k.get_secret_value(), GLOBAL) for k in server.admin_api_keys]
        for name, tenant in settings.tenants.items():
            self._api += [(k.get_secret_value(), name) for k in tenant.api_keys]
            self._admin += [(k.get_secret_value(), name) for k in tenant.admin_api_keys]
        owners: dict[str, str] = {}
        for secret, scope in (*self._api, *self._admin):
            owner = scope or "server"
            if owners.setdefault(secret, owner) != owner:
                # Name the two owners, never the key (this message reaches logs).
                raise ConfigError(f"a key of {owner!r} is also a key of {owners[secret]!r}")

    @property
    def api_required(self) -> bool:
        """/v1 is open only when no key at all is configured for it."""
        return bool(self._api)

    @property
    def admin_enabled(self) -> bool:
        return bool(self._admin)

    def api(self, token: str) -> Principal | None:
        return _match(token, self._api)

    def admin(self, token: str) -> Principal | None:
        return _match(token, self._admin)


def _match(token: str, keys: list[tuple[str, str]]) -> Principal | None:
    """Compare against every key so timing reveals neither which key nor how much matched."""
    presented = token.encode()
    found: Principal | None = None
    for secret, scope in keys:
        if hmac.compare_digest(presented, secret.encode()) and found is None:
            found = Principal(scope, key_id(secret))
    return found


def scope_settings(settings: Settings, scope: str) -> Settings:
    """The settings a scope's guard runs with: a tenant's own forget set and artifact (the
    global artifact when it has none)."""
    if scope == GLOBAL:
        return settings
    tenant = settings.tenants[scope]
    unlearning = settings.unlearning.model_copy(
        update={
            "forget_set": tenant.forget_set,
            "artifact": tenant.artifact or settings.unlearning.artifact,
        }
    )
    return settings.model_copy(update={"unlearning": unlearning})


def build_guards(
    settings: Settings, metrics: Metrics, backend: Backend, live: LiveTargets
) -> dict[str, Guard]:
    """One live guard per scope, subscribed to the forget sets its answers are checked
    against and to the artifact in force for its scope (published to the store); UNLOADED
    (refusing) until the store has been read."""
    guards: dict[str, Guard] = {}
    for scope in live.known_scopes:
        guard = Guard(
            None,
            scope_settings(settings, scope),
            metrics,
            backend,
            scopes=view_of(scope),
            refresh=live.refresh_if_changed,
            on_policy=live.policy_listener(scope),
            artifacts=partial(live.artifacts.artifact_for, scope),
        )
        live.subscribe(guard)
        live.artifacts.listen(scope, installer(guard))
        guards[scope] = guard
    return guards
