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


@dataclass(frozen=True, slots=True)
class TokenFamily:
    """The refresh tokens of one OAuth 2.0 sign-in: each carries ``family_id`` in
    clear (``rvrt_<family_id>.<secret>``), the database only its keyed hash, so a
    spent token still names its family and its replay can end the session."""

    family_id: str
    family_hash: bytes
    lifetime_s: int  # of each access token

    @classmethod
    def new(cls, hasher: TokenHasher, lifetime_s: int) -> TokenFamily:
        family_id = secrets.token_urlsafe(16)
        return cls(family_id, hasher.hash(family_id), lifetime_s)

    @classmethod
    def of(cls, hasher: TokenHasher, refresh_token: str, lifetime_s: int) -> TokenFamily | None:
        """The family a presented refresh token names, or None (not one of ours)."""
        body = refresh_token.removeprefix(REFRESH_PREFIX)
        family_id, dot, _ = body.partition(".")
        if not dot or body == refresh_token or not 0 < len(family_id) <= 64:
            return None
        return cls(family_id, hasher.hash(family_id), lifetime_s)


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
    family: TokenFamily | None = None,
) -> IssuedTokens:
    """A new access token for the device, with a refresh token if the client asked
    for one and the tenant lets tokens expire. ``retires``: the refresh token this
    pair replaces, spent at the new access token's first use. ``family``: an OAuth
    2.0 sign-in's, whose tokens always expire and always come with a refresh token."""
    db = AccountRepos.of(tx)
    access = hasher.new_token()
    lifetime = family.lifetime_s if family else tenant.policy.access_token_lifetime
    if family is None and not (refresh and lifetime):
        await db.access_tokens.create(
            hasher.hash(access),
            user_id=user_id,
            device_id=device_id,
            tenant=tenant.server_name,
            created_ts=now,
        )
        return IssuedTokens(access)
    assert lifetime is not None
    secret = secrets.token_urlsafe(32)
    refresh_token = REFRESH_PREFIX + (f"{family.family_id}.{secret}" if family else secret)
    refresh_hash = hasher.hash(refresh_token)
    await db.refresh_tokens.create(
        refresh_hash,
        user_id=user_id,
        device_id=device_id,
        tenant=tenant.server_name,
        created_ts=now,
        family=family.family_hash if family else None,
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

    async def refresh(
        self, tenant: Tenant, refresh_token: str, *, family: TokenFamily | None = None
    ) -> IssuedTokens:
        """POST /refresh: a new pair for a valid refresh token of this tenant.
        ``family``: the OAuth 2.0 refresh token grant's (``TokenFamily.of`` the
        token); each API takes only its own tokens (spec: "Client Authentication")."""
        token_hash = self._hasher.hash(refresh_token)
        async with self._store.transaction() as tx:
            db = AccountRepos.of(tx)
            # Locked: two refreshes of one token take turns, the second sees the first.
            row = await db.refresh_tokens.get_for_update(token_hash)
            # A token of another tenant is as unknown here as a made-up one.
            owner = await users.get(tx, row.user_id) if row else None
            if row is None or row.tenant != tenant.server_name or owner is None:
                raise UnknownToken("Unknown refresh token; log in again")
            if row.family != (family.family_hash if family else None):
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
                family=family,
            )
            if issued.refresh_token is None:
                # The tenant no longer lets tokens expire: a lasting token instead.
                await db.refresh_tokens.delete(token_hash)
        # The ended access token must leave every worker's token cache.
        self._notifier.notify(users=[row.user_id])
        return issued

    async def token_device(self, tenant: Tenant, token: str) -> tuple[str, str] | None:
        """The (user_id, device_id) an access or refresh token of this tenant signs
        in, or None (unknown, spent, another tenant's): for RFC 7009 revocation."""
        token_hash = self._hasher.hash(token)
        async with self._store.read() as tx:
            db = AccountRepos.of(tx)
            owner = await db.access_tokens.owner(token_hash) or await db.refresh_tokens.get(
                token_hash
            )
        if owner is None or owner.tenant != tenant.server_name:
            return None
        return owner.user_id, owner.device_id

    @staticmethod
    async def family_device(tx: Tx, tenant: Tenant, family_hash: bytes) -> tuple[str, str] | None:
        """The (user_id, device_id) a live token family of this tenant signs in, if any."""
        row = await AccountRepos.of(tx).refresh_tokens.family_device(family_hash)
        if row is None or row.tenant != tenant.server_name:
            return None
        return row.user_id, row.device_id

    async def confirm(self, token_hash: bytes, retires: bytes) -> None:
        """A refreshed access token's first use: the refresh token it replaced is spent."""
        async with self._store.transaction() as tx:
            db = AccountRepos.of(tx)
            await db.refresh_tokens.delete(retires)
            await db.access_tokens.confirm_refresh(token_hash)
