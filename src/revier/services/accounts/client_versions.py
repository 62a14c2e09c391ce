"""Client requirements: refusing outdated apps at login and /sync, and telling the
admins which app versions are in use.

The tenant names the oldest version it lets in per client (``min_client_versions``);
the client is read from the User-Agent (``policy/client_versions.py``). Login and
/sync are where a client learns it must update: every app logs in once and syncs
all the time, so an outdated one meets the refusal at once and nothing else it
does is cut halfway. Clients the tenant names no minimum for, and requests that
name no client, pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from revier.errors import ClientOutdated
from revier.policy.client_versions import ClientVersion, parse_user_agent, required_version
from revier.services.core import Tenant, devices
from revier.storage import Store


@dataclass(frozen=True, slots=True)
class ClientCount:
    name: str
    version: str
    devices: int


class ClientVersions:
    def __init__(self, store: Store) -> None:
        self._store = store

    @staticmethod
    def identify(user_agent: str | None) -> tuple[str, str] | None:
        """(name, version) of the client a User-Agent names, or None."""
        client = parse_user_agent(user_agent)
        return (client.name, client.version) if client else None

    @staticmethod
    def require(tenant: Tenant, user_agent: str | None) -> None:
        """Refuse a client older than the tenant allows, naming the version it needs."""
        client = parse_user_agent(user_agent)
        needed = required_version(client, tenant.policy.min_client_versions)
        if needed is not None:
            assert isinstance(client, ClientVersion)
            raise ClientOutdated(client.name, client.version, needed)

    async def in_use(self, tenant: Tenant) -> list[ClientCount]:
        """Each client name and version the tenant's devices last used, with counts."""
        async with self._store.read() as tx:
            rows = await devices.client_versions(tx, tenant.server_name)
        return [ClientCount(name, version, n) for name, version, n in rows]
