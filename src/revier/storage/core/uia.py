"""User-interactive auth sessions, kept in the database so any worker can continue one."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.core.tables import uia_sessions


@dataclass(frozen=True, slots=True)
class UiaSession:
    session_id: str
    user_id: str | None
    operation: str
    completed: list[str]
    created_ts: int


class UiaSessionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(self, session: UiaSession) -> None:
        await self._conn.execute(
            insert(uia_sessions).values(
                session_id=session.session_id,
                user_id=session.user_id,
                operation=session.operation,
                completed=json.dumps(session.completed),
                created_ts=session.created_ts,
            )
        )

    async def get(self, session_id: str) -> UiaSession | None:
        stmt = select(uia_sessions).where(uia_sessions.c.session_id == session_id)
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            return None
        return UiaSession(
            row.session_id, row.user_id, row.operation, json.loads(row.completed), row.created_ts
        )

    async def set_completed(self, session_id: str, completed: list[str]) -> None:
        await self._conn.execute(
            update(uia_sessions)
            .where(uia_sessions.c.session_id == session_id)
            .values(completed=json.dumps(completed))
        )

    async def delete(self, session_id: str) -> None:
        await self._conn.execute(
            delete(uia_sessions).where(uia_sessions.c.session_id == session_id)
        )

    async def delete_older_than(self, ts: int) -> None:
        await self._conn.execute(delete(uia_sessions).where(uia_sessions.c.created_ts < ts))

    async def set_session_token(self, session_id: str, token_id: str | None) -> None:
        await self._conn.execute(
            update(uia_sessions)
            .where(uia_sessions.c.session_id == session_id)
            .values(registration_token_id=token_id)
        )

    async def session_token(self, session_id: str) -> str | None:
        stmt = select(uia_sessions.c.registration_token_id).where(
            uia_sessions.c.session_id == session_id
        )
        value: str | None = (await self._conn.execute(stmt)).scalar_one_or_none()
        return value

    async def consume_session(self, session_id: str, user_id: str) -> bool:
        """Give a registration session its new account; False when another request
        used it up first (or it is gone)."""
        result = await self._conn.execute(
            update(uia_sessions)
            .where(uia_sessions.c.session_id == session_id, uia_sessions.c.user_id.is_(None))
            .values(user_id=user_id)
        )
        return result.rowcount == 1
