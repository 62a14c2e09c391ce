"""Registration tokens: the help desk hands one out, a newcomer registers with it.

A token is a secret like a password: it is shown once when created and kept
only as a keyed hash (the access-token key), so a copy of the database can't
be used to register. The help desk addresses tokens by a short public
``token_id`` (list, show, update, delete) or by the token itself.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from revier.errors import InvalidParam, NotFound
from revier.services.clock import Clock
from revier.services.tenants import Tenant
from revier.services.tokens import TokenHasher
from revier.storage import Conflict, Store
from revier.storage.registration_tokens import RegistrationToken

# The spec: opaque identifier grammar, at most 64 characters.
_TOKEN_GRAMMAR = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")


@dataclass(frozen=True, slots=True)
class NewToken:
    token: str  # the secret: print it once, never log it
    info: RegistrationToken


def valid_token_syntax(token: str) -> bool:
    return bool(_TOKEN_GRAMMAR.match(token))


class RegistrationTokens:
    def __init__(self, store: Store, clock: Clock, hasher: TokenHasher) -> None:
        self._store = store
        self._clock = clock
        self._hasher = hasher

    def hash(self, token: str) -> bytes:
        # A separate domain from access tokens: one HMAC key, two kinds of secret.
        return self._hasher.hash("registration_token:" + token)

    async def create(
        self,
        tenant: Tenant,
        *,
        uses_allowed: int | None = None,
        expiry_time: int | None = None,
        token: str | None = None,
        displayname_pattern: str | None = None,
        max_devices: int | None = None,
    ) -> NewToken:
        if token is None:
            token = secrets.token_urlsafe(24)  # 192 bits: not guessable
        elif not valid_token_syntax(token):
            raise InvalidParam("A token is 1 to 64 characters of A-Z a-z 0-9 . _ ~ -")
        if uses_allowed is not None and uses_allowed < 0:
            raise InvalidParam("uses_allowed must not be negative")
        if max_devices is not None and not 1 <= max_devices <= 100:
            raise InvalidParam("max_devices must be between 1 and 100")
        now = self._clock.time_ms()
        if expiry_time is not None and expiry_time <= now:
            raise InvalidParam("The expiry time is in the past")
        info = RegistrationToken(
            token_id=secrets.token_hex(4),
            tenant=tenant.server_name,
            uses_allowed=uses_allowed,
            pending=0,
            completed=0,
            expiry_time=expiry_time,
            created_ts=now,
            displayname_pattern=displayname_pattern,
            max_devices=max_devices,
        )
        try:
            async with self._store.transaction() as tx:
                await tx.registration_tokens.create(info, self.hash(token))
        except Conflict:
            raise InvalidParam("This token exists already; choose another") from None
        return NewToken(token, info)

    async def list(self, tenant: Tenant) -> list[RegistrationToken]:
        async with self._store.read() as tx:
            return await tx.registration_tokens.for_tenant(tenant.server_name)

    async def get(self, tenant: Tenant, ref: str) -> RegistrationToken:
        """A token by its token_id or by the token itself."""
        async with self._store.read() as tx:
            found = await tx.registration_tokens.get(ref)
            if found is None or found.tenant != tenant.server_name:
                found = await tx.registration_tokens.by_hash(self.hash(ref))
        if found is None or found.tenant != tenant.server_name:
            raise NotFound("No such registration token")
        return found

    async def update(
        self,
        tenant: Tenant,
        ref: str,
        *,
        uses_allowed: int | None,
        expiry_time: int | None,
    ) -> RegistrationToken:
        """Set the limits (None: unlimited / never expires)."""
        current = await self.get(tenant, ref)
        if uses_allowed is not None and uses_allowed < 0:
            raise InvalidParam("uses_allowed must not be negative")
        async with self._store.transaction() as tx:
            await tx.registration_tokens.update(
                current.token_id, uses_allowed=uses_allowed, expiry_time=expiry_time
            )
        return await self.get(tenant, current.token_id)

    async def delete(self, tenant: Tenant, ref: str) -> None:
        current = await self.get(tenant, ref)
        async with self._store.transaction() as tx:
            await tx.registration_tokens.delete(current.token_id)

    async def lookup(self, tenant: Tenant, token: str) -> RegistrationToken | None:
        """The usable token with this secret, or None (unknown, expired, used up)."""
        if not valid_token_syntax(token):
            return None
        async with self._store.read() as tx:
            found = await tx.registration_tokens.by_hash(self.hash(token))
        if found is None or found.tenant != tenant.server_name:
            return None
        return found if found.usable(self._clock.time_ms()) else None
