"""Tenants at run time: their settings, signing keys, and which Host reaches which.

A tenant is a Matrix ``server_name`` with its own signing key, users, admins
and policy. Every request belongs to exactly one tenant, chosen by its
``Host`` header; with a single tenant every Host reaches it, so
``127.0.0.1:8008`` works on a laptop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from signedjson.key import read_signing_keys, write_signing_keys
from signedjson.types import SigningKey, VerifyKey

from revier.config import Settings, StartupRefused, TenantPolicy, TenantSettings
from revier.errors import NotFound
from revier.events.signing import generate_signing_key, get_verify_key, key_id_of
from revier.storage import Store
from revier.storage.core import CoreRepos

KEY_DIR = "keys"


@dataclass(frozen=True)
class Tenant:
    server_name: str
    policy: TenantPolicy
    settings: TenantSettings
    signing_key: SigningKey  # with .alg and .version set by signedjson

    @property
    def key_id(self) -> str:
        return key_id_of(self.signing_key)

    @property
    def verify_key(self) -> VerifyKey:
        return get_verify_key(self.signing_key)

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"


class TenantRegistry:
    def __init__(self, tenants: list[Tenant]) -> None:
        self._tenants = {t.server_name: t for t in tenants}
        self._by_host: dict[str, Tenant] = {}
        for tenant in tenants:
            for host in [tenant.server_name, *tenant.settings.hostnames]:
                self._by_host[host.lower()] = tenant
        self._only = tenants[0] if len(tenants) == 1 else None

    def __iter__(self) -> Iterator[Tenant]:
        return iter(self._tenants.values())

    def get(self, server_name: str) -> Tenant | None:
        return self._tenants.get(server_name)

    def for_host(self, host: str | None) -> Tenant:
        """The tenant a request's Host header names (port ignored)."""
        if host:
            name = host.lower()
            tenant = self._by_host.get(name) or self._by_host.get(_strip_port(name))
            if tenant:
                return tenant
        if self._only is not None:
            return self._only
        raise NotFound(f"No tenant is served at host {host!r}")

    def owning(self, user_id: str) -> Tenant | None:
        """The tenant a user ID belongs to, or None for a foreign server."""
        _, _, server = user_id.partition(":")
        return self._tenants.get(server)


def _strip_port(host: str) -> str:
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def check_tenants_kept(store: Store, settings: Settings) -> None:
    """Refuse a configuration that drops a tenant the database holds.

    A Matrix server name can never change: it is part of every user ID, room
    and signature. A renamed ``server_name`` would otherwise start as a new,
    empty tenant with a new admin, and the old accounts would silently vanish.
    """
    async with store.read() as tx:
        db = CoreRepos.of(tx)
        known = await db.users.tenants() | await db.tenant_policies.tenants()
    configured = [t.server_name for t in settings.tenants]
    missing = sorted(known - set(configured))
    if missing:
        raise StartupRefused(
            f"this database holds the tenant(s) {', '.join(map(repr, missing))}, which the "
            f"configuration no longer names (it names {', '.join(map(repr, configured))}). "
            "A Matrix server name can never change: put the old server_name back; "
            "to serve another organisation as well, add a new [[tenants]] block"
        )


def load_tenants(settings: Settings) -> TenantRegistry:
    """Read (or on first start create) every tenant's signing key."""
    key_dir = settings.server.data_dir / KEY_DIR
    tenants = []
    for ts in settings.tenants:
        path = ts.signing_key_path or key_dir / f"{ts.server_name.replace(':', '_')}.signing.key"
        tenants.append(Tenant(ts.server_name, ts.policy, ts, _signing_key(path)))
    return TenantRegistry(tenants)


def _signing_key(path: Path) -> SigningKey:
    if path.exists():
        with path.open(encoding="ascii") as f:
            keys = read_signing_keys(f)
        if not keys:
            raise ValueError(f"{path} holds no signing key")
        key: SigningKey = keys[0]
        return key
    key = generate_signing_key(os.urandom(4).hex())
    _write_secret(path, lambda f: write_signing_keys(f, [key]))
    return key


def read_or_create_secret(path: Path, size: int = 32) -> bytes:
    """A random secret kept in a file readable by the server's user only."""
    if path.exists():
        return path.read_bytes()
    secret = os.urandom(size)
    _write_secret(path, lambda f: f.write(secret.hex()))
    return path.read_bytes()


def _write_secret(path: Path, write: Callable[[TextIO], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        write(f)
