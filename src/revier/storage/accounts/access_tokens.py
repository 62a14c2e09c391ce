"""Access tokens: which device a token logs in, stored only as a keyed hash.

``owner_with_account`` reads core's ``users`` table in the same query: every
request needs the token's owner and the account's flags, in one round trip."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.accounts.tables import access_tokens
from revier.storage.core.tables import users
from revier.storage.direct import Prepared

# Every request whose token the cache doesn't hold (a new one, or after its TTL).
_OWNER_WITH_ACCOUNT = Prepared(
    select(
        access_tokens.c.user_id,
        access_tokens.c.device_id,
        access_tokens.c.tenant,
        users.c.is_admin,
        users.c.deactivated,
        users.c.is_guest,
        access_tokens.c.expires_ts,
        access_tokens.c.retires_refresh,
        users.c.locked,
        users.c.suspended,
    )
    .join(users, users.c.user_id == access_tokens.c.user_id)
    .where(access_tokens.c.token_hash == bindparam("hash"))
)


@dataclass(frozen=True, slots=True)
class TokenOwner:
    user_id: str
    device_id: str
    tenant: str


@dataclass(frozen=True, slots=True)
class TokenAccount:
    user_id: str
    device_id: str
    tenant: str
    is_admin: bool
    deactivated: bool
    is_guest: bool = False
    expires_ts: int | None = None  # None: never expires
    retires_refresh: bytes | None = None  # see ``confirm_refresh``
    locked: bool = False
    suspended: bool = False


class AccessTokenRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(
        self,
        token_hash: bytes,
        *,
        user_id: str,
        device_id: str,
        tenant: str,
        created_ts: int,
        expires_ts: int | None = None,
        refresh_hash: bytes | None = None,
        retires_refresh: bytes | None = None,
    ) -> None:
        await self._conn.execute(
            insert(access_tokens).values(
                token_hash=token_hash,
                user_id=user_id,
                device_id=device_id,
                tenant=tenant,
                created_ts=created_ts,
                expires_ts=expires_ts,
                refresh_hash=refresh_hash,
                retires_refresh=retires_refresh,
            )
        )

    async def owner(self, token_hash: bytes) -> TokenOwner | None:
        stmt = select(
            access_tokens.c.user_id, access_tokens.c.device_id, access_tokens.c.tenant
        ).where(access_tokens.c.token_hash == token_hash)
        row = (await self._conn.execute(stmt)).first()
        return TokenOwner(row.user_id, row.device_id, row.tenant) if row else None

    async def owner_with_account(self, token_hash: bytes) -> TokenAccount | None:
        """The token's device and the account flags every request needs, in one query."""
        row = (await _OWNER_WITH_ACCOUNT.rows(self._conn, {"hash": token_hash})).first()
        return TokenAccount(**row._asdict()) if row else None

    async def delete(self, token_hash: bytes) -> None:
        await self._conn.execute(
            delete(access_tokens).where(access_tokens.c.token_hash == token_hash)
        )

    async def delete_issued_with(self, refresh_hash: bytes) -> None:
        """The access token handed out together with a refresh token."""
        await self._conn.execute(
            delete(access_tokens).where(access_tokens.c.refresh_hash == refresh_hash)
        )

    async def confirm_refresh(self, token_hash: bytes) -> None:
        """The token's first use: the refresh token it replaced is now spent."""
        await self._conn.execute(
            update(access_tokens)
            .where(access_tokens.c.token_hash == token_hash)
            .values(retires_refresh=None)
        )

    async def delete_for_devices(self, user_id: str, device_ids: list[str]) -> None:
        await self._conn.execute(
            delete(access_tokens).where(
                access_tokens.c.user_id == user_id, access_tokens.c.device_id.in_(device_ids)
            )
        )
