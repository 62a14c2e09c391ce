"""A room's events by their timestamp (GET /timestamp_to_event), on ``events_room_ts``."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.rooms.events import COLUMNS, EventRepository, StoredEvent
from revier.storage.rooms.tables import events


class EventsByTimeRepository:
    def __init__(self, conn: AsyncConnection, events_repo: EventRepository) -> None:
        self._conn = conn
        self._events = events_repo

    async def nearest(
        self,
        room_id: str,
        ts: int,
        *,
        forward: bool,
        limit: int,
        after: tuple[int, int] | None = None,
    ) -> list[StoredEvent]:
        """Up to ``limit`` events from ``ts`` on (``forward``: at or after it, the
        earliest first; else at or before it, the latest first), ties by stream order.
        ``after``: the (ts, stream_ordering) of the last event of the previous batch."""
        ts_col, so_col = events.c.origin_server_ts, events.c.stream_ordering
        stmt = select(events.c.room_id, *COLUMNS).where(events.c.room_id == room_id)
        if forward:
            stmt = stmt.where(ts_col >= ts).order_by(ts_col.asc(), so_col.asc())
            if after is not None:
                stmt = stmt.where(
                    or_(ts_col > after[0], and_(ts_col == after[0], so_col > after[1]))
                )
        else:
            stmt = stmt.where(ts_col <= ts).order_by(ts_col.desc(), so_col.desc())
            if after is not None:
                stmt = stmt.where(
                    or_(ts_col < after[0], and_(ts_col == after[0], so_col < after[1]))
                )
        rows = await self._conn.execute(stmt.limit(limit))
        return [await self._events.parse(row) for row in rows]
