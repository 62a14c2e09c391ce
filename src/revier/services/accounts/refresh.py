"""Refresh tokens (spec "Refreshing access tokens"): issuing an access token
with its refresh token, and exchanging a refresh token for a new pair.

Only where the tenant sets ``access_token_lifetime`` and the client asks
(``refresh_token: true``): then the access token expires (an expired one gets
401 ``M_UNKNOWN_TOKEN`` with ``soft_logout: true``) and ``POST /refresh`` gives
a new pair. The exchanged refresh token stays usable until the new pair is
first used (a lost response can be retried), then it is spent: using it again
is 401. Both tokens are keyed hashes at rest and die with their device
(``sessions.remove_devices``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from revier.errors import UnknownToken, UserLocked
from revier.notify import Notifier
from revier.services.core import Clock, Tenant, TokenHasher, users
from revier.storage import Store, Tx
from revier.storage.accounts import AccountRepos

REFRESH_PREFIX = "rvrt_"


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str | None = None
    expires_in_ms: int | None = None  # None: the access token never expires


async def issue_tokens(
    tx: Tx,
    hasher: TokenHasher,
    tenant: Tenant,
    user_id: str,
    device_id: str,
    *,
    now: int,
    refresh: bool,
    retires: bytes | None = None,
) -> IssuedTokens:
    """A new access token for the device, with a refresh token if the client asked
    for one and the tenant lets tokens expire. ``retires``: the refresh token this
    pair replaces, spent at the new access token's first use."""
    db = AccountRepos.of(tx)
    access = hasher.new_token()
    lifetime = tenant.policy.access_token_lifetime
    if not (refresh and lifetime):
        await db.access_tokens.create(
            hasher.hash(access),
            user_id=user_id,
            device_id=device_id,
            tenant=tenant.server_name,
            created_ts=now,
        )
        return IssuedTokens(access)
    refresh_token = REFRESH_PREFIX + secrets.token_urlsafe(32)
    refresh_hash = hasher.hash(refresh_token)
    await db.refresh_tokens.create(
        refresh_hash,
        user_id=user_id,
        device_id=device_id,
        tenant=tenant.server_name,
        created_ts=now,
    )
    await db.access_tokens.create(
        hasher.hash(access),
        user_id=user_id,
        device_id=device_id,
        tenant=tenant.server_name,
        created_ts=now,
        expires_ts=now + lifetime * 1000,
        refresh_hash=refresh_hash,
        retires_refresh=retires,
    )
    if retires is not None:
        await db.refresh_tokens.set_next(retires, refresh_hash)
    return IssuedTokens(access, refresh_token, lifetime * 1000)


class RefreshService:
    def __init__(self, store: Store, clock: Clock, hasher: TokenHasher, notifier: Notifier) -> None:
        self._store = store
        self._clock = clock
        self._hasher = hasher
        self._notifier = notifier

    async def refresh(self, tenant: Tenant, refresh_token: str) -> IssuedTokens:
        """POST /refresh: a new pair for a valid refresh token of this tenant."""
        token_hash = self._hasher.hash(refresh_token)
        async with self._store.transaction() as tx:
            db = AccountRepos.of(tx)
            # Locked: two refreshes of one token take turns, the second sees the first.
            row = await db.refresh_tokens.get_for_update(token_hash)
            # A token of another tenant is as unknown here as a made-up one.
            owner = await users.get(tx, row.user_id) if row else None
            if row is None or row.tenant != tenant.server_name or owner is None:
                raise UnknownToken("Unknown refresh token; log in again")
            if owner.deactivated:
                raise UnknownToken("This account has been deactivated")
            if owner.locked:
                # Spec "Account locking": the session is kept (soft logout), and
                # unlocking lets the client refresh as before.
                raise UserLocked("This account has been locked; ask the help desk")
            if row.next_hash is not None:
                # Exchanged before, but that pair was never used (its answer got
                # lost?): it is replaced by the pair made now.
                await db.access_tokens.delete_issued_with(row.next_hash)
                await db.refresh_tokens.delete(row.next_hash)
            # Using this token spends the one it replaced, and ends its own access token.
            await db.refresh_tokens.delete_predecessor(token_hash)
            await db.access_tokens.delete_issued_with(token_hash)
            issued = await issue_tokens(
                tx,
                self._hasher,
                tenant,
                row.user_id,
                row.device_id,
                now=self._clock.time_ms(),
                refresh=True,
                retires=token_hash,
            )
            if issued.refresh_token is None:
                # The tenant no longer lets tokens expire: a lasting token instead.
                await db.refresh_tokens.delete(token_hash)
        # The ended access token must leave every worker's token cache.
        self._notifier.notify(users=[row.user_id])
        return issued

    async def confirm(self, token_hash: bytes, retires: bytes) -> None:
        """A refreshed access token's first use: the refresh token it replaced is spent."""
        async with self._store.transaction() as tx:
            db = AccountRepos.of(tx)
            await db.refresh_tokens.delete(retires)
            await db.access_tokens.confirm_refresh(token_hash)
