"""Browser sessions of the sign-in and account pages, by the keyed hash of
their cookie."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.signin.tables import web_sessions


@dataclass(frozen=True, slots=True)
class WebSessionRow:
    session_id: str
    tenant: str
    user_id: str
    factors: tuple[str, ...]
    complete: bool
    password_tag: bytes
    authenticated_ts: int
    last_seen_ts: int
    expires_ts: int


class WebSessionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(self, session_hash: bytes, row: WebSessionRow, now: int) -> None:
        # Expired sessions of anyone go as new ones come: the table stays small.
        await self._conn.execute(delete(web_sessions).where(web_sessions.c.expires_ts <= now))
        await self._conn.execute(
            insert(web_sessions).values(
                session_hash=session_hash,
                session_id=row.session_id,
                tenant=row.tenant,
                user_id=row.user_id,
                factors=" ".join(row.factors),
                complete=row.complete,
                password_tag=row.password_tag,
                authenticated_ts=row.authenticated_ts,
                last_seen_ts=row.last_seen_ts,
                expires_ts=row.expires_ts,
            )
        )

    async def get(self, session_hash: bytes, now: int) -> WebSessionRow | None:
        t = web_sessions.c
        stmt = select(web_sessions).where(t.session_hash == session_hash, t.expires_ts > now)
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            return None
        return WebSessionRow(
            session_id=row.session_id,
            tenant=row.tenant,
            user_id=row.user_id,
            factors=tuple(row.factors.split()),
            complete=row.complete,
            password_tag=row.password_tag,
            authenticated_ts=row.authenticated_ts,
            last_seen_ts=row.last_seen_ts,
            expires_ts=row.expires_ts,
        )

    async def touch(self, session_hash: bytes, *, last_seen_ts: int, expires_ts: int) -> None:
        await self._conn.execute(
            update(web_sessions)
            .where(web_sessions.c.session_hash == session_hash)
            .values(last_seen_ts=last_seen_ts, expires_ts=expires_ts)
        )

    async def retag(self, session_id: str, password_tag: bytes) -> None:
        await self._conn.execute(
            update(web_sessions)
            .where(web_sessions.c.session_id == session_id)
            .values(password_tag=password_tag)
        )

    async def delete(self, session_hash: bytes) -> WebSessionRow | None:
        """The row, and it gone: of two concurrent uses (a rotation) one wins."""
        found = await self.get(session_hash, now=-1)
        if found is None:
            return None
        result = await self._conn.execute(
            delete(web_sessions).where(web_sessions.c.session_hash == session_hash)
        )
        return found if result.rowcount == 1 else None

    async def delete_of_user(self, user_id: str, *, keep: str | None = None) -> int:
        """Ends every session of a user (but ``keep``, a session_id); how many."""
        stmt = delete(web_sessions).where(web_sessions.c.user_id == user_id)
        if keep is not None:
            stmt = stmt.where(web_sessions.c.session_id != keep)
        result = await self._conn.execute(stmt)
        return int(result.rowcount)
