"""Deleting a room's expired messages (retention), a batch at a time.

What goes with each expired message: its row in ``events`` and the search
index, its edges (``event_edges``), its relation row as a child and the
``threads`` row it is the root of, the ``receipts`` and ``event_txns`` naming
it, and the redactions of it (a redaction holds nothing once its target is
gone). The other wings forget their part in the same transaction (push
actions: notifications).

What stays: every state event (the current state and its history: the auth
chain of every later event), and the room's forward extremities even when they
are expired messages, since the next event names them as its prev_events.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.rooms.search import SearchRepository
from revier.storage.rooms.tables import (
    event_edges,
    event_relations,
    event_txns,
    events,
    forward_extremities,
    receipts,
    room_closures,
    rooms,
    threads,
)


@dataclass(frozen=True)
class PurgedBatch:
    """What one batch deleted: how many events, their positions, and the range
    of their timestamps (for the audit log; never their content)."""

    count: int
    positions: list[int]
    oldest_ts: int | None
    newest_ts: int | None


class RetentionPurgeRepository:
    def __init__(self, conn: AsyncConnection, search: SearchRepository) -> None:
        self._conn = conn
        self._search = search

    async def delete_expired(self, room_id: str, before_ts: int, limit: int) -> PurgedBatch:
        """Delete up to ``limit`` of the room's messages sent before ``before_ts``
        (oldest first), with what hangs on them."""
        stmt = (
            select(
                events.c.event_id,
                events.c.stream_ordering,
                events.c.origin_server_ts,
                events.c.redacted_by,
            )
            .where(
                events.c.room_id == room_id,
                events.c.origin_server_ts < before_ts,
                events.c.state_key.is_(None),
                events.c.event_id.not_in(
                    select(forward_extremities.c.event_id).where(
                        forward_extremities.c.room_id == room_id
                    )
                ),
            )
            .order_by(events.c.origin_server_ts)
            .limit(limit)
        )
        rows = list(await self._conn.execute(stmt))
        if not rows:
            return PurgedBatch(0, [], None, None)
        ids = [row.event_id for row in rows]
        chosen = set(ids)
        # The redactions of these events go with them (unless one is an extremity).
        redactions = [r.redacted_by for r in rows if r.redacted_by and r.redacted_by not in chosen]
        if redactions:
            found = await self._conn.execute(
                select(events.c.event_id, events.c.stream_ordering).where(
                    events.c.event_id.in_(redactions),
                    events.c.room_id == room_id,
                    events.c.event_id.not_in(
                        select(forward_extremities.c.event_id).where(
                            forward_extremities.c.room_id == room_id
                        )
                    ),
                )
            )
            extra = list(found)
            ids += [r.event_id for r in extra]
            positions = [r.stream_ordering for r in rows] + [r.stream_ordering for r in extra]
        else:
            positions = [r.stream_ordering for r in rows]
        # The events first: what this transaction really deleted is what it reports
        # (another worker's purge of the same room may have been first).
        deleted = await self._conn.execute(
            delete(events).where(and_(events.c.room_id == room_id, events.c.event_id.in_(ids)))
        )
        if not deleted.rowcount:
            return PurgedBatch(0, [], None, None)
        await self._search.forget(positions)
        for stmt_ in (
            delete(event_edges).where(event_edges.c.event_id.in_(ids)),
            delete(event_relations).where(event_relations.c.event_id.in_(ids)),
            delete(threads).where(threads.c.room_id == room_id, threads.c.thread_id.in_(ids)),
            delete(receipts).where(receipts.c.room_id == room_id, receipts.c.event_id.in_(ids)),
            delete(event_txns).where(event_txns.c.event_id.in_(ids)),
        ):
            await self._conn.execute(stmt_)
        stamps = [row.origin_server_ts for row in rows]
        return PurgedBatch(int(deleted.rowcount), positions, min(stamps), max(stamps))

    async def room_ids(self, tenant: str, after: str, limit: int) -> list[str]:
        """A page of the tenant's rooms, by room ID after ``after``."""
        stmt = (
            select(rooms.c.room_id)
            .where(rooms.c.tenant == tenant, rooms.c.room_id > after)
            .order_by(rooms.c.room_id)
            .limit(limit)
        )
        return [row.room_id for row in await self._conn.execute(stmt)]

    async def closed_unpurged(self, tenant: str, closed_before: int) -> list[str]:
        """Rooms closed (the closing done) before ``closed_before`` and not purged."""
        stmt = select(room_closures.c.room_id).where(
            room_closures.c.tenant == tenant,
            room_closures.c.purge.is_(False),
            room_closures.c.completed_ts.isnot(None),
            room_closures.c.closed_ts < closed_before,
        )
        return [row.room_id for row in await self._conn.execute(stmt)]
