"""What the commands that open the target store themselves share (``lethe targets``,
``lethe artifacts``, ``lethe calibrate --incremental``): which scope a ``--tenant`` names,
who the store and the audit log record as the actor, and the store opened and seeded from
the configured forget-set files, as a server starting on it would leave it."""

from __future__ import annotations

import getpass
import os

from server.config import ConfigError, Settings
from server.guard import read_seed
from server.store import GLOBAL, StoreError, TargetStore, open_store


def scope_of(settings: Settings, tenant: str | None) -> str:
    """The scope ``--tenant`` names (none: the global one)."""
    if tenant is None:
        return GLOBAL
    if tenant not in settings.tenants:
        raise ConfigError(f"unknown tenant {tenant!r} (not in the configuration's tenants)")
    return tenant


def actor(kind: str) -> str:
    """Who changed the store: the command and the user running it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry or login name
        user = f"uid-{os.getuid()}"
    return f"{kind}:{user}"


def _seed_forget_sets(settings: Settings, store: TargetStore) -> None:
    """The configured forget-set files seed the store, as a server starting on it would."""
    seeds = {GLOBAL: settings.unlearning.forget_set}
    seeds.update({name: tenant.forget_set for name, tenant in settings.tenants.items()})
    for scope, path in seeds.items():
        if path is not None:
            seed = read_seed(path)
            store.seed(scope, seed.targets, seed.content_hash, "file")


def open_seeded_store(settings: Settings, purpose: str) -> TargetStore:
    """The configured store, migrated and seeded by the configured forget-set files.
    ``purpose`` ends the message when no store is configured ("there is no store to ...")."""
    url = settings.unlearning.store
    if url is None:
        raise ConfigError(f"unlearning.store is not set: there is no store to {purpose}")
    try:
        store = open_store(url)
        store.migrate()
    except StoreError as exc:
        raise ConfigError(f"the target store cannot be opened: {exc}") from exc
    try:
        _seed_forget_sets(settings, store)
    except StoreError as exc:
        store.close()
        raise ConfigError(f"the target store cannot be seeded: {exc}") from exc
    return store
