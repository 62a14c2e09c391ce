"""Read receipts: per room, per user and receipt type (and thread), moving only forward."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage import streams
from revier.storage.rooms.tables import receipts
from revier.storage.streams import SHORT_RANGE, StreamChanges, in_window

_START = -1
"""Below every stream position: "changed after _START" is "ever changed"."""

# What every /sync asks, built once (see revier.storage.rooms.events).
_RECEIPTS_CHANGED = select(receipts).where(
    receipts.c.room_id.in_(bindparam("rooms", expanding=True)),
    *in_window(receipts.c.stream_ordering),
)
_RECEIPTS_IN_RANGE = select(receipts).where(*in_window(receipts.c.stream_ordering))
_READ_UPTO = select(receipts.c.event_stream_ordering).where(
    receipts.c.user_id == bindparam("user"),
    receipts.c.room_id == bindparam("room"),
    receipts.c.receipt_type.in_(("m.read", "m.read.private")),
)


@dataclass(frozen=True, slots=True)
class Receipt:
    room_id: str
    receipt_type: str
    user_id: str
    thread_id: str
    event_id: str
    event_stream_ordering: int
    ts: int
    stream_ordering: int


class ReceiptRepository:
    def __init__(self, conn: AsyncConnection, changes: StreamChanges) -> None:
        self._conn = conn
        self._changes = changes

    async def put(self, receipt: Receipt) -> bool:
        """Store a receipt unless the user's receipt already points later; True if stored."""
        where = and_(
            receipts.c.room_id == receipt.room_id,
            receipts.c.receipt_type == receipt.receipt_type,
            receipts.c.user_id == receipt.user_id,
            receipts.c.thread_id == receipt.thread_id,
        )
        current = (
            await self._conn.execute(select(receipts.c.event_stream_ordering).where(where))
        ).scalar()
        # Recorded even if not stored below: saying "changed" is always safe.
        self._changes.record(receipt.stream_ordering, streams.RECEIPT, receipt.room_id)
        values = {
            "event_id": receipt.event_id,
            "event_stream_ordering": receipt.event_stream_ordering,
            "ts": receipt.ts,
            "stream_ordering": receipt.stream_ordering,
        }
        if current is None:
            await self._conn.execute(
                insert(receipts).values(
                    room_id=receipt.room_id,
                    receipt_type=receipt.receipt_type,
                    user_id=receipt.user_id,
                    thread_id=receipt.thread_id,
                    **values,
                )
            )
            return True
        if current >= receipt.event_stream_ordering:
            return False  # receipts only move forward
        await self._conn.execute(update(receipts).where(where).values(**values))
        return True

    async def changed(self, room_ids: Sequence[str], after: int | None, upto: int) -> list[Receipt]:
        if not room_ids:
            return []
        if after is not None and upto - after <= SHORT_RANGE:
            wanted = set(room_ids)
            rows = await self._conn.execute(_RECEIPTS_IN_RANGE, {"after": after, "upto": upto})
            return [Receipt(**row._mapping) for row in rows if row.room_id in wanted]
        params = {
            "rooms": list(room_ids),
            "after": _START if after is None else after,
            "upto": upto,
        }
        return [
            Receipt(**row._mapping) for row in await self._conn.execute(_RECEIPTS_CHANGED, params)
        ]

    async def on_events_or_by_in_rooms(
        self, event_ids: Sequence[str], room_ids: Sequence[str], user_id: str
    ) -> list[Receipt]:
        """The rooms' receipts on some events (those of their timelines), and every
        receipt of one user in them: what a client seeing rooms for the first time needs."""
        out: list[Receipt] = []
        for start in range(0, len(room_ids), 500):
            stmt = select(receipts).where(
                receipts.c.room_id.in_(room_ids[start : start + 500]),
                or_(receipts.c.event_id.in_(list(event_ids)), receipts.c.user_id == user_id),
            )
            out += [Receipt(**row._mapping) for row in await self._conn.execute(stmt)]
        return out

    async def read_upto(self, user_id: str, room_id: str) -> int:
        """The stream position the user has read to (m.read or m.read.private, unthreaded)."""
        params = {"user": user_id, "room": room_id}
        values = [int(v) for v in (await self._conn.execute(_READ_UPTO, params)).scalars()]
        return max(values, default=0)
