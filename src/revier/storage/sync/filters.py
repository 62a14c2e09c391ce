"""Stored sync filters."""

from __future__ import annotations

import secrets

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.sync.tables import filters


class FilterRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user_id: str, json_text: str) -> str:
        # Random, not a counter: two devices creating filters at once can't collide.
        filter_id = secrets.token_hex(8)
        await self._conn.execute(
            insert(filters).values(user_id=user_id, filter_id=filter_id, json=json_text)
        )
        return filter_id

    async def get(self, user_id: str, filter_id: str) -> str | None:
        stmt = select(filters.c.json).where(
            filters.c.user_id == user_id, filters.c.filter_id == filter_id
        )
        value = (await self._conn.execute(stmt)).scalar()
        return str(value) if value is not None else None
