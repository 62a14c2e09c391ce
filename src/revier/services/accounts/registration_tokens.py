"""Registration tokens: the help desk hands one out, a newcomer registers with it.

A token is a secret like a password: it is shown once when created and kept
only as a keyed hash (the access-token key), so a copy of the database can't
be used to register. The help desk addresses tokens by a short public
``token_id`` (list, show, update, delete) or by the token itself. Creating,
changing and deleting a token is audited (by ``token_id``, never the token).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from revier.errors import InvalidParam, NotFound
from revier.services.core import Actor, AuditLog, Clock, Tenant, TokenHasher
from revier.storage import Conflict, Store
from revier.storage.accounts import AccountRepos
from revier.storage.accounts.registration_tokens import RegistrationToken

# The spec: opaque identifier grammar, at most 64 characters.
_TOKEN_GRAMMAR = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")
_TOKEN_ID = re.compile(r"^[0-9a-f]{1,64}$")
# The columns' ranges: INTEGER uses, BIGINT milliseconds (kept JSON-safe).
MAX_USES = 2**31 - 1
MAX_TS = 2**53


@dataclass(frozen=True, slots=True)
class NewToken:
    token: str  # the secret: print it once, never log it
    info: RegistrationToken


def valid_token_syntax(token: str) -> bool:
    return bool(_TOKEN_GRAMMAR.match(token))


class RegistrationTokens:
    def __init__(self, store: Store, clock: Clock, hasher: TokenHasher, audit: AuditLog) -> None:
        self._store = store
        self._clock = clock
        self._hasher = hasher
        self._audit = audit

    def hash(self, token: str) -> bytes:
        # A separate domain from access tokens: one HMAC key, two kinds of secret.
        return self._hasher.hash("registration_token:" + token)

    async def create(
        self,
        tenant: Tenant,
        actor: Actor,
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
        _check_limits(uses_allowed, expiry_time)
        if max_devices is not None and not 1 <= max_devices <= 100:
            raise InvalidParam("max_devices must be between 1 and 100")
        if displayname_pattern is not None and not 0 < len(displayname_pattern) <= 255:
            raise InvalidParam("displayname_pattern must be 1 to 255 characters")
        if displayname_pattern is not None and "\x00" in displayname_pattern:
            raise InvalidParam("displayname_pattern must not contain NUL")
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
                await AccountRepos.of(tx).registration_tokens.create(info, self.hash(token))
                await self._audit.record_as(
                    tx,
                    tenant,
                    actor,
                    "registration_token.created",
                    target=info.token_id,
                    details=_limits(info.uses_allowed, info.expiry_time),
                )
        except Conflict:
            raise InvalidParam("This token exists already; choose another") from None
        return NewToken(token, info)

    async def list(self, tenant: Tenant) -> list[RegistrationToken]:
        async with self._store.read() as tx:
            return await AccountRepos.of(tx).registration_tokens.for_tenant(tenant.server_name)

    async def get(self, tenant: Tenant, ref: str) -> RegistrationToken:
        """A token by its token_id or by the token itself (on the command line; the
        HTTP API takes token IDs only, since a token doesn't belong in a URL)."""
        try:
            return await self.by_id(tenant, ref)
        except NotFound:
            pass
        async with self._store.read() as tx:
            found = await AccountRepos.of(tx).registration_tokens.by_hash(self.hash(ref))
        if found is None or found.tenant != tenant.server_name:
            raise NotFound("No such registration token")
        return found

    async def by_id(self, tenant: Tenant, token_id: str) -> RegistrationToken:
        found = None
        if _TOKEN_ID.match(token_id):
            async with self._store.read() as tx:
                found = await AccountRepos.of(tx).registration_tokens.get(token_id)
        if found is None or found.tenant != tenant.server_name:
            raise NotFound("No such registration token")
        return found

    async def update(
        self,
        tenant: Tenant,
        actor: Actor,
        token_id: str,
        *,
        uses_allowed: int | None,
        expiry_time: int | None,
    ) -> RegistrationToken:
        """Set the limits (None: unlimited / never expires)."""
        current = await self.by_id(tenant, token_id)
        _check_limits(uses_allowed, expiry_time)
        async with self._store.transaction() as tx:
            await AccountRepos.of(tx).registration_tokens.update(
                current.token_id, uses_allowed=uses_allowed, expiry_time=expiry_time
            )
            await self._audit.record_as(
                tx,
                tenant,
                actor,
                "registration_token.updated",
                target=current.token_id,
                details=_limits(uses_allowed, expiry_time),
            )
        return await self.by_id(tenant, current.token_id)

    async def delete(self, tenant: Tenant, actor: Actor, token_id: str) -> None:
        current = await self.by_id(tenant, token_id)
        async with self._store.transaction() as tx:
            await AccountRepos.of(tx).registration_tokens.delete(current.token_id)
            await self._audit.record_as(
                tx, tenant, actor, "registration_token.deleted", target=current.token_id
            )

    async def lookup(self, tenant: Tenant, token: str) -> RegistrationToken | None:
        """The usable token with this secret, or None (unknown, expired, used up)."""
        if not valid_token_syntax(token):
            return None
        async with self._store.read() as tx:
            found = await AccountRepos.of(tx).registration_tokens.by_hash(self.hash(token))
        if found is None or found.tenant != tenant.server_name:
            return None
        return found if found.usable(self._clock.time_ms()) else None


def _check_limits(uses_allowed: int | None, expiry_time: int | None) -> None:
    if uses_allowed is not None and not 0 <= uses_allowed <= MAX_USES:
        raise InvalidParam(f"uses_allowed must be between 0 and {MAX_USES}")
    if expiry_time is not None and not 0 <= expiry_time <= MAX_TS:
        raise InvalidParam("expiry_time must be milliseconds since the epoch")


def _limits(uses_allowed: int | None, expiry_time: int | None) -> dict[str, int | None]:
    return {"uses_allowed": uses_allowed, "expiry_time": expiry_time}
