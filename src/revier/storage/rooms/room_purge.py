"""Deleting a closed room's data for good.

What stays is what keeps the room ID taken and former members' clients
working: the ``rooms`` row (an ID is never handed out twice, and joining
stays refused through ``room_closures``) and each user's ``memberships`` row,
all "leave" by then, so /sync can still tell a client that has not synced
since the closing that it left. Everything that held content, or pointed at
the deleted events, goes:

- ``events`` (every PDU's JSON, redactions and redacted events alike), their
  rows in the search index (``event_search``), and the graph around them:
  ``event_edges``, ``forward_extremities``, ``current_state``;
- ``receipts`` and the ``event_txns`` naming the room's events;
- ``event_relations`` and ``threads`` (which events relate to which).

The other wings forget the room themselves in the same transaction (the
closing job asks them): notifications its ``event_push_actions``, core the
room's per-user ``account_data`` (tags, read markers, drafts some clients
keep there).

The users' server-side key backups (``e2e_room_keys``) are left alone: they
are each user's own encrypted copies, unreadable to the server, managed by
their clients with version and etag; without the events they decrypt nothing.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.rooms.search import SearchRepository
from revier.storage.rooms.tables import (
    current_state,
    event_edges,
    event_relations,
    event_txns,
    events,
    forward_extremities,
    receipts,
    threads,
)


class RoomPurgeRepository:
    def __init__(self, conn: AsyncConnection, search: SearchRepository) -> None:
        self._conn = conn
        self._search = search

    async def delete_derived(self, room_id: str) -> None:
        """Everything but the events themselves, in one go.

        The room's current state goes first: with no m.room.create in it, the
        event writer refuses any new event ("No such room"), so nothing can be
        added while the events are deleted in batches afterwards.
        """
        room_events = select(events.c.event_id).where(events.c.room_id == room_id)
        for stmt in (
            delete(current_state).where(current_state.c.room_id == room_id),
            delete(forward_extremities).where(forward_extremities.c.room_id == room_id),
            delete(receipts).where(receipts.c.room_id == room_id),
            delete(event_relations).where(event_relations.c.room_id == room_id),
            delete(threads).where(threads.c.room_id == room_id),
            # event_txns has no room_id: one pass over it with the room's event IDs.
            delete(event_txns).where(event_txns.c.event_id.in_(room_events)),
        ):
            await self._conn.execute(stmt)

    async def delete_events(self, room_id: str, limit: int) -> int:
        """Delete up to ``limit`` of the room's oldest events with their edges;
        the number deleted (0: none left)."""
        stmt = (
            select(events.c.event_id, events.c.stream_ordering)
            .where(events.c.room_id == room_id)
            .order_by(events.c.stream_ordering)
            .limit(limit)
        )
        rows = list(await self._conn.execute(stmt))
        ids = [row.event_id for row in rows]
        if ids:
            await self._search.forget([row.stream_ordering for row in rows])
            await self._conn.execute(delete(event_edges).where(event_edges.c.event_id.in_(ids)))
            await self._conn.execute(delete(events).where(events.c.event_id.in_(ids)))
        return len(ids)
