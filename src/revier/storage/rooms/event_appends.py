"""Storing a new event: its stream position, row, edges, the room's extremity and
bump stamp — in as few statements as the engine allows.

Every send runs this, so statements count: on PostgreSQL it is one statement
(data-modifying CTEs), on SQLite, which has no DML in a CTE, one per table.

The stream's invariant (``storage/streams.py``) holds on both: positions commit
in the order they were taken. PostgreSQL's CTE updates the counter row as the
separate UPDATE did, so the row lock is held until commit just the same; SQLite
has one writer.
"""

from __future__ import annotations

import orjson
from sqlalchemy import BigInteger, Boolean, Text, bindparam, insert, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.pdu import Pdu
from revier.events.types import StateKey
from revier.storage import streams
from revier.storage.direct import Prepared
from revier.storage.rooms.tables import (
    current_state,
    event_edges,
    events,
    forward_extremities,
    rooms,
)
from revier.storage.streams import StreamChanges, StreamRepository

_INSERT_EVENT = Prepared(insert(events))
_INSERT_EDGES = Prepared(insert(event_edges))
_MOVE_EXTREMITY = Prepared(
    update(forward_extremities)
    .where(forward_extremities.c.room_id == bindparam("room"))
    .values(event_id=bindparam("event"))
)
# A state event (every join) moves the room's current state at its key.
_MOVE_STATE = Prepared(
    update(current_state)
    .where(
        current_state.c.room_id == bindparam("room"),
        current_state.c.type == bindparam("event_type"),
        current_state.c.state_key == bindparam("key"),
    )
    .values(event_id=bindparam("event"))
)
_ADD_STATE = Prepared(insert(current_state))
_SET_BUMP_STAMP = Prepared(
    update(rooms).where(rooms.c.room_id == bindparam("room")).values(bump_stamp=bindparam("pos"))
)

# PostgreSQL: the position taken and everything the send writes of the room's
# graph, in one round trip. Each CTE runs exactly once whether or not the final
# SELECT reads it; all see the snapshot from before the statement, which none
# of them needs to look past (the event's own row is only written, never read).
_APPEND_PG = text(
    """
    WITH pos AS (
        UPDATE stream_counter SET position = position + 1 WHERE id = 1
        RETURNING position
    ), ev AS (
        INSERT INTO events (event_id, stream_ordering, room_id, type, state_key, sender,
                            depth, origin_server_ts, json)
        SELECT :event_id, pos.position, :room, :type, :state_key, :sender,
               CAST(:depth AS bigint), CAST(:ts AS bigint), :json FROM pos
    ), edges AS (
        INSERT INTO event_edges (event_id, prev_event_id)
        SELECT :event_id, prev FROM unnest(CAST(:prevs AS text[])) AS prev
    ), moved AS (
        UPDATE forward_extremities SET event_id = :event_id WHERE room_id = :room
        RETURNING 1
    ), bumped AS (
        UPDATE rooms SET bump_stamp = pos.position FROM pos
        WHERE rooms.room_id = :room AND CAST(:bump AS boolean)
    )
    SELECT pos.position, (SELECT count(*) FROM moved) AS moved FROM pos
    """
).bindparams(
    bindparam("event_id", type_=Text),
    bindparam("room", type_=Text),
    bindparam("type", type_=Text),
    bindparam("state_key", type_=Text),
    bindparam("sender", type_=Text),
    bindparam("depth", type_=BigInteger),
    bindparam("ts", type_=BigInteger),
    bindparam("json", type_=Text),
    bindparam("prevs", type_=ARRAY(Text)),
    bindparam("bump", type_=Boolean),
)


class EventAppendRepository:
    def __init__(self, conn: AsyncConnection, *, is_sqlite: bool, changes: StreamChanges) -> None:
        self._conn = conn
        self._is_sqlite = is_sqlite
        self._changes = changes

    async def append(self, pdu: Pdu, *, bump: bool) -> int:
        """Take the next stream position and store the event at it, with its edges;
        make it the room's extremity and, if ``bump``, its bump stamp. Returns the
        position. Call it once the event is known to be valid: what follows in the
        transaction should be short (the position is held until commit)."""
        if self._is_sqlite or not pdu.prev_events:
            position = await self._append_in_steps(pdu, bump=bump)
        else:
            row = (await self._conn.execute(_APPEND_PG, self._params(pdu, bump))).one()
            position = int(row.position)
            self._changes.positions.append(position)  # taken here, not by StreamRepository
            if row.moved == 0:  # a room without an extremity yet (not after its create)
                await self._add_extremity(pdu)
        self._changes.record(position, streams.EVENT, pdu.room_id)
        if pdu.state_key is not None:
            await self._set_current_state(pdu.room_id, (pdu.type, pdu.state_key), pdu.event_id)
        return position

    @staticmethod
    def _params(pdu: Pdu, bump: bool) -> dict[str, object]:
        return {
            "event_id": pdu.event_id,
            "room": pdu.room_id,
            "type": pdu.type,
            "state_key": pdu.state_key,
            "sender": pdu.sender,
            "depth": pdu.depth,
            "ts": pdu.origin_server_ts,
            "json": orjson.dumps(pdu.to_dict()).decode(),
            "prevs": list(pdu.prev_events),
            "bump": bump,
        }

    async def _append_in_steps(self, pdu: Pdu, *, bump: bool) -> int:
        position = await StreamRepository(self._conn, self._changes).next_position()
        await _INSERT_EVENT.rows(
            self._conn,
            {
                "event_id": pdu.event_id,
                "stream_ordering": position,
                "room_id": pdu.room_id,
                "type": pdu.type,
                "state_key": pdu.state_key,
                "sender": pdu.sender,
                "depth": pdu.depth,
                "origin_server_ts": pdu.origin_server_ts,
                "json": orjson.dumps(pdu.to_dict()).decode(),
            },
        )
        if pdu.prev_events:
            await _INSERT_EDGES.many(
                self._conn,
                [{"event_id": pdu.event_id, "prev_event_id": p} for p in pdu.prev_events],
            )
        # A room on one server has one extremity: move it (one statement on
        # the hot path), or create it for the room's first event.
        moved = await _MOVE_EXTREMITY.rows(self._conn, {"room": pdu.room_id, "event": pdu.event_id})
        if moved.rowcount == 0:
            await self._add_extremity(pdu)
        if bump:
            await _SET_BUMP_STAMP.rows(self._conn, {"room": pdu.room_id, "pos": position})
        return position

    async def _add_extremity(self, pdu: Pdu) -> None:
        await self._conn.execute(
            insert(forward_extremities).values(room_id=pdu.room_id, event_id=pdu.event_id)
        )

    async def _set_current_state(self, room_id: str, key: StateKey, event_id: str) -> None:
        params = {"room": room_id, "event_type": key[0], "key": key[1], "event": event_id}
        if (await _MOVE_STATE.rows(self._conn, params)).rowcount == 0:
            row = {"room_id": room_id, "type": key[0], "state_key": key[1], "event_id": event_id}
            await _ADD_STATE.rows(self._conn, row)
