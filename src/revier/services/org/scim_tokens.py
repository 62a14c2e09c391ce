"""The bearer tokens an identity provider pushes SCIM with: one tenant each,
issued by an operator (``revier admin directory scim-token``) or configured as
SHA-256 digests (``[tenants.directory.scim] token_sha256``). Only hashes are
stored; a token names its tenant, so another tenant's token is as unknown as a
made-up one."""

from __future__ import annotations

import secrets

from revier.services.core import AuditLog, Clock, Tenant, TokenHasher
from revier.storage import Store
from revier.storage.org import OrgRepos


class ScimTokens:
    def __init__(self, store: Store, clock: Clock, hasher: TokenHasher, audit: AuditLog) -> None:
        self._store = store
        self._clock = clock
        self._hasher = hasher
        self._audit = audit

    async def issue(self, tenant: Tenant, actor: str) -> str:
        """A new token, returned this once."""
        token = "scim_" + secrets.token_urlsafe(32)
        async with self._store.transaction() as tx:
            await OrgRepos.of(tx).scim_tokens.add(
                self._hasher.hash(token), tenant.server_name, self._clock.time_ms()
            )
            await self._audit.record(tx, tenant, "directory.scim_token_issued", actor=actor)
        return token

    async def revoke_all(self, tenant: Tenant, actor: str) -> int:
        async with self._store.transaction() as tx:
            n = await OrgRepos.of(tx).scim_tokens.revoke_all(tenant.server_name)
            await self._audit.record(
                tx, tenant, "directory.scim_tokens_revoked", actor=actor, details={"count": n}
            )
        return n

    async def accepts(self, tenant: Tenant, token: str) -> bool:
        """Whether ``token`` is one of ``tenant``'s (configured or issued)."""
        directory = tenant.settings.directory
        if directory is not None and directory.scim is not None and directory.scim.accepts(token):
            return True
        async with self._store.read() as tx:
            owner = await OrgRepos.of(tx).scim_tokens.tenant_of(self._hasher.hash(token))
        return owner == tenant.server_name
