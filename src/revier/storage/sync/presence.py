"""Presence: one row per user, its stream position moved on every visible change."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from revier.storage import streams
from revier.storage.rooms.tables import memberships
from revier.storage.streams import StreamChanges
from revier.storage.sync.tables import presence


@dataclass(frozen=True, slots=True)
class PresenceState:
    user_id: str
    presence: str  # "online" | "unavailable" | "offline"
    status_msg: str | None
    last_active_ts: int
    stream_ordering: int


def _room_mates(user_id: str) -> Select[tuple[str]]:
    """Users joined to a room ``user_id`` is joined to (``user_id`` included)."""
    mine = select(memberships.c.room_id).where(
        memberships.c.user_id == user_id, memberships.c.membership == "join"
    )
    return select(memberships.c.user_id).where(
        memberships.c.room_id.in_(mine), memberships.c.membership == "join"
    )


class PresenceRepository:
    def __init__(self, conn: AsyncConnection, changes: StreamChanges) -> None:
        self._conn = conn
        self._changes = changes

    async def get(self, user_id: str) -> PresenceState | None:
        row = (
            await self._conn.execute(select(presence).where(presence.c.user_id == user_id))
        ).first()
        return PresenceState(**row._mapping) if row else None

    async def put(self, state: PresenceState) -> None:
        values = {
            "presence": state.presence,
            "status_msg": state.status_msg,
            "last_active_ts": state.last_active_ts,
            "stream_ordering": state.stream_ordering,
        }
        self._changes.record(state.stream_ordering, streams.PRESENCE, state.user_id)
        result = await self._conn.execute(
            update(presence).where(presence.c.user_id == state.user_id).values(**values)
        )
        if result.rowcount == 0:
            await self._conn.execute(insert(presence).values(user_id=state.user_id, **values))

    async def touch(self, user_id: str, last_active_ts: int) -> None:
        """Refresh the activity time alone: no stream position, nobody is woken for it."""
        await self._conn.execute(
            update(presence)
            .where(presence.c.user_id == user_id)
            .values(last_active_ts=last_active_ts)
        )

    async def changed_for(self, user_id: str, after: int | None, upto: int) -> list[PresenceState]:
        """Presence of ``user_id`` and everyone sharing a joined room, changed in (after, upto]."""
        stmt = select(presence).where(
            or_(presence.c.user_id == user_id, presence.c.user_id.in_(_room_mates(user_id))),
            presence.c.stream_ordering <= upto,
        )
        if after is not None:
            stmt = stmt.where(presence.c.stream_ordering > after)
        return [PresenceState(**row._mapping) for row in await self._conn.execute(stmt)]

    async def shares_a_room(self, user_id: str, other: str) -> bool:
        """Whether both users are joined to at least one common room."""
        theirs = aliased(memberships)
        stmt = (
            select(memberships.c.room_id)
            .join(theirs, theirs.c.room_id == memberships.c.room_id)
            .where(
                memberships.c.user_id == user_id,
                memberships.c.membership == "join",
                theirs.c.user_id == other,
                theirs.c.membership == "join",
            )
            .limit(1)
        )
        return (await self._conn.execute(stmt)).first() is not None
