"""Closed rooms: who closed them, when, why, and whether the work is done."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.direct import Prepared
from revier.storage.rooms.tables import room_closures

# Every member event into a room asks whether it is closed.
_GET = Prepared(select(room_closures).where(room_closures.c.room_id == bindparam("room")))


@dataclass(frozen=True, slots=True)
class RoomClosure:
    room_id: str
    tenant: str
    # A user ID, or "cli:<os user>" for the admin command line.
    closed_by: str
    closed_ts: int
    reason: str | None
    # The room's data is (being) deleted as well.
    purge: bool
    # None while members are still being taken out (or data deleted).
    completed_ts: int | None


class RoomClosureRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, closure: RoomClosure) -> None:
        """Raises ``storage.Conflict`` (at commit or here) when the room is closed already."""
        await self._conn.execute(
            insert(room_closures).values(
                room_id=closure.room_id,
                tenant=closure.tenant,
                closed_by=closure.closed_by,
                closed_ts=closure.closed_ts,
                reason=closure.reason,
                purge=closure.purge,
                completed_ts=closure.completed_ts,
            )
        )

    async def get(self, room_id: str) -> RoomClosure | None:
        row = (await _GET.rows(self._conn, {"room": room_id})).first()
        return RoomClosure(**row._asdict()) if row else None

    async def get_many(self, room_ids: Iterable[str]) -> dict[str, RoomClosure]:
        ids = list(set(room_ids))
        out: dict[str, RoomClosure] = {}
        for start in range(0, len(ids), 500):
            stmt = select(room_closures).where(
                room_closures.c.room_id.in_(ids[start : start + 500])
            )
            for row in await self._conn.execute(stmt):
                out[row.room_id] = RoomClosure(**row._mapping)
        return out

    async def lock(self, room_id: str) -> RoomClosure | None:
        """The closure, locked until the transaction ends: two runs of one room's
        closing (two workers resuming it) take turns, and the second sees the
        first's work. (SQLite has one writer at a time anyway.)"""
        stmt = select(room_closures).where(room_closures.c.room_id == room_id).with_for_update()
        row = (await self._conn.execute(stmt)).first()
        return RoomClosure(**row._mapping) if row else None

    async def pending(self) -> list[RoomClosure]:
        """Closures whose work was interrupted (a restart resumes them), oldest first."""
        stmt = (
            select(room_closures)
            .where(room_closures.c.completed_ts.is_(None))
            .order_by(room_closures.c.closed_ts)
        )
        return [RoomClosure(**row._mapping) for row in await self._conn.execute(stmt)]

    async def request_purge(self, room_id: str) -> None:
        """Purge a closed room: its work is pending again until the data is gone."""
        await self._conn.execute(
            update(room_closures)
            .where(room_closures.c.room_id == room_id)
            .values(purge=True, completed_ts=None)
        )

    async def complete(self, room_id: str, ts: int) -> None:
        await self._conn.execute(
            update(room_closures).where(room_closures.c.room_id == room_id).values(completed_ts=ts)
        )
