"""Short-lived single-purpose tokens (OpenID, m.login.token), as keyed hashes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.accounts.tables import short_tokens

Kind = Literal["openid", "login"]


@dataclass(frozen=True, slots=True)
class ShortToken:
    user_id: str
    tenant: str


class ShortTokenRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(
        self, token_hash: bytes, kind: Kind, *, user_id: str, tenant: str, expires_ts: int, now: int
    ) -> None:
        # Expired tokens of any user go as new ones come: the table stays small.
        await self._conn.execute(delete(short_tokens).where(short_tokens.c.expires_ts <= now))
        await self._conn.execute(
            insert(short_tokens).values(
                token_hash=token_hash,
                kind=kind,
                user_id=user_id,
                tenant=tenant,
                expires_ts=expires_ts,
            )
        )

    async def valid(self, token_hash: bytes, kind: Kind, now: int) -> ShortToken | None:
        t = short_tokens.c
        stmt = select(t.user_id, t.tenant).where(
            t.token_hash == token_hash, t.kind == kind, t.expires_ts > now
        )
        row = (await self._conn.execute(stmt)).first()
        return ShortToken(row.user_id, row.tenant) if row else None

    async def consume(self, token_hash: bytes, kind: Kind, now: int) -> ShortToken | None:
        """The token's owner, and the token gone: of two concurrent uses one wins."""
        found = await self.valid(token_hash, kind, now)
        if found is None:
            return None
        t = short_tokens.c
        result = await self._conn.execute(
            delete(short_tokens).where(t.token_hash == token_hash, t.kind == kind)
        )
        return found if result.rowcount == 1 else None
