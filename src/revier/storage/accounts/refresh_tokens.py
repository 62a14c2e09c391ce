"""Refresh tokens, stored only as keyed hashes, each bound to one device."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.accounts.tables import refresh_tokens


@dataclass(frozen=True, slots=True)
class RefreshToken:
    user_id: str
    device_id: str
    tenant: str
    next_hash: bytes | None
    family: bytes | None = None


class RefreshTokenRepository:
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
        family: bytes | None = None,
    ) -> None:
        await self._conn.execute(
            insert(refresh_tokens).values(
                token_hash=token_hash,
                user_id=user_id,
                device_id=device_id,
                tenant=tenant,
                created_ts=created_ts,
                family=family,
            )
        )

    async def get_for_update(self, token_hash: bytes) -> RefreshToken | None:
        """The token, locked (PostgreSQL) so that two refreshes of it take turns."""
        t = refresh_tokens.c
        stmt = select(t.user_id, t.device_id, t.tenant, t.next_hash, t.family).where(
            t.token_hash == token_hash
        )
        if self._conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = (await self._conn.execute(stmt)).first()
        return RefreshToken(**row._mapping) if row else None

    async def get(self, token_hash: bytes) -> RefreshToken | None:
        t = refresh_tokens.c
        stmt = select(t.user_id, t.device_id, t.tenant, t.next_hash, t.family).where(
            t.token_hash == token_hash
        )
        row = (await self._conn.execute(stmt)).first()
        return RefreshToken(**row._mapping) if row else None

    async def family_device(self, family: bytes) -> RefreshToken | None:
        """A live token of the family (whose device the family signs in), if any."""
        t = refresh_tokens.c
        stmt = (
            select(t.user_id, t.device_id, t.tenant, t.next_hash, t.family)
            .where(t.family == family)
            .limit(1)
        )
        row = (await self._conn.execute(stmt)).first()
        return RefreshToken(**row._mapping) if row else None

    async def set_next(self, token_hash: bytes, next_hash: bytes) -> None:
        await self._conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == token_hash)
            .values(next_hash=next_hash)
        )

    async def delete(self, token_hash: bytes) -> None:
        await self._conn.execute(
            delete(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
        )

    async def delete_predecessor(self, token_hash: bytes) -> None:
        """The token that was exchanged for this one: spent once this one is used."""
        await self._conn.execute(
            delete(refresh_tokens).where(refresh_tokens.c.next_hash == token_hash)
        )

    async def delete_for_devices(self, user_id: str, device_ids: list[str]) -> None:
        await self._conn.execute(
            delete(refresh_tokens).where(
                refresh_tokens.c.user_id == user_id, refresh_tokens.c.device_id.in_(device_ids)
            )
        )
