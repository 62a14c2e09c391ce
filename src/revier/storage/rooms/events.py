"""Room events: the PDUs, their graph, and the state they make up."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, Unpack

import orjson
from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.filters import EventQuery
from revier.events.pdu import Pdu
from revier.events.types import JsonDict, StateKey
from revier.storage.direct import Prepared
from revier.storage.rooms.event_filters import filter_clauses
from revier.storage.rooms.tables import (
    current_state,
    events,
    forward_extremities,
    rooms,
)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A PDU with its place in the stream."""

    pdu: Pdu
    stream_ordering: int
    redacted_by: str | None
    # Some event relates to this one: look up its bundled aggregations.
    has_children: bool = False

    @property
    def event_id(self) -> str:
        return self.pdu.event_id


COLUMNS = (
    events.c.event_id,
    events.c.json,
    events.c.stream_ordering,
    events.c.redacted_by,
    events.c.has_children,
)

# Statements every send and every /sync runs, built once: building one costs more than
# running it (SQLAlchemy then also computes its cache key only once).
_EXTREMITIES = (
    select(forward_extremities.c.event_id, events.c.depth)
    .join(events, events.c.event_id == forward_extremities.c.event_id)
    .where(forward_extremities.c.room_id == bindparam("room"))
)
# By exact (type, state_key): by type alone, the sender's membership check
# on every send would load every member event of the room.
STATE_EVENTS = (
    select(current_state.c.type, current_state.c.state_key, events.c.room_id, *COLUMNS)
    .join(events, events.c.event_id == current_state.c.event_id)
    .where(
        current_state.c.room_id == bindparam("room"),
        tuple_(current_state.c.type, current_state.c.state_key).in_(
            bindparam("keys", expanding=True)
        ),
    )
)
_STATE_EVENTS = Prepared(STATE_EVENTS)
_BY_ID = Prepared(select(events.c.room_id, *COLUMNS).where(events.c.event_id == bindparam("event")))
_BY_IDS = Prepared(
    select(events.c.room_id, *COLUMNS).where(
        events.c.event_id.in_(bindparam("events", expanding=True))
    )
)
_STATE_IDS = select(
    current_state.c.type, current_state.c.state_key, current_state.c.event_id
).where(
    current_state.c.room_id == bindparam("room"),
    tuple_(current_state.c.type, current_state.c.state_key).in_(bindparam("keys", expanding=True)),
)
_ROOM = select(rooms.c.room_version, rooms.c.tenant).where(rooms.c.room_id == bindparam("room"))


@cache
def _range(after: bool, upto: bool, backwards: bool) -> Select[Any]:
    """A room's events in a stream range (each bound optional), newest or oldest first.

    One statement per shape, built once; filters are added per call.
    """
    stmt = select(events.c.room_id, *COLUMNS).where(events.c.room_id == bindparam("room"))
    if after:
        stmt = stmt.where(events.c.stream_ordering > bindparam("after"))
    if upto:
        stmt = stmt.where(events.c.stream_ordering <= bindparam("upto"))
    order = events.c.stream_ordering.desc() if backwards else events.c.stream_ordering.asc()
    return stmt.order_by(order).limit(bindparam("limit", type_=Integer))


class EventRepository:
    def __init__(self, conn: AsyncConnection, room_versions: dict[str, tuple[str, str]]) -> None:
        self._conn = conn
        # room_id -> (version, tenant), shared by all transactions: neither ever changes.
        self._room_versions = room_versions

    async def replace_json(self, event_id: str, pdu: Pdu, redacted_by: str) -> None:
        """Keep only the redacted form of an event (the content is gone for good)."""
        await self._conn.execute(
            update(events)
            .where(events.c.event_id == event_id)
            .values(json=orjson.dumps(pdu.to_dict()).decode(), redacted_by=redacted_by)
        )

    async def extremities_and_depth(self, room_id: str) -> tuple[list[str], int]:
        """The room's forward extremities and the greatest depth among them."""
        rows = list(await self._conn.execute(_EXTREMITIES, {"room": room_id}))
        return [row.event_id for row in rows], max((int(row.depth) for row in rows), default=0)

    async def current_state_events(
        self, room_id: str, keys: Iterable[StateKey]
    ) -> dict[StateKey, Pdu]:
        """Some of the room's current state, loaded in one query."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = await _STATE_EVENTS.rows(self._conn, {"room": room_id, "keys": wanted})
        return {(row.type, row.state_key): (await self.parse(row)).pdu for row in rows}

    async def get(self, event_id: str) -> StoredEvent | None:
        row = (await _BY_ID.rows(self._conn, {"event": event_id})).first()
        return await self.parse(row) if row else None

    async def get_many(self, event_ids: Iterable[str]) -> dict[str, StoredEvent]:
        ids = list(set(event_ids))
        if not ids:
            return {}
        out: dict[str, StoredEvent] = {}
        for start in range(0, len(ids), 500):
            for row in await _BY_IDS.rows(self._conn, {"events": ids[start : start + 500]}):
                stored = await self.parse(row)
                out[stored.event_id] = stored
        return out

    async def current_state_ids(
        self, room_id: str, types: Iterable[StateKey] | None = None
    ) -> dict[StateKey, str]:
        stmt = select(
            current_state.c.type, current_state.c.state_key, current_state.c.event_id
        ).where(current_state.c.room_id == room_id)
        if types is not None:
            wanted = set(types)
            if not wanted:
                return {}
            # Exact keys, as in current_state_events: by type alone a room's
            # every member row would be read to find one. A statement built once:
            # one with the keys inline is compiled anew on every call.
            params = {"room": room_id, "keys": list(wanted)}
            rows = await self._conn.execute(_STATE_IDS, params)
            return {(r.type, r.state_key): r.event_id for r in rows}
        return {(r.type, r.state_key): r.event_id for r in await self._conn.execute(stmt)}

    async def current_state_ids_of_types(
        self, room_id: str, types: Iterable[str]
    ) -> dict[StateKey, str]:
        """Every current state key of these types (``[type, "*"]`` in sliding sync)."""
        wanted = sorted(set(types))
        if not wanted:
            return {}
        stmt = select(
            current_state.c.type, current_state.c.state_key, current_state.c.event_id
        ).where(current_state.c.room_id == room_id, current_state.c.type.in_(wanted))
        return {(r.type, r.state_key): r.event_id for r in await self._conn.execute(stmt)}

    async def state_changes(self, room_id: str, after: int, upto: int) -> list[StoredEvent]:
        """The room's state events in ``(after, upto]``, the newest per key, oldest first:
        how its state changed between two positions."""
        stmt = (
            select(events.c.room_id, events.c.type, events.c.state_key, *COLUMNS)
            .where(
                events.c.room_id == room_id,
                events.c.state_key.isnot(None),
                events.c.stream_ordering > after,
                events.c.stream_ordering <= upto,
            )
            .order_by(events.c.stream_ordering)
        )
        newest: dict[StateKey, object] = {}
        for row in await self._conn.execute(stmt):
            newest[(row.type, row.state_key)] = row
        return sorted(
            [await self.parse(row) for row in newest.values()], key=lambda e: e.stream_ordering
        )

    async def current_state(self, room_id: str) -> dict[StateKey, Pdu]:
        ids = await self.current_state_ids(room_id)
        loaded = await self.get_many(ids.values())
        return {key: loaded[eid].pdu for key, eid in ids.items() if eid in loaded}

    async def state_ids_at(self, room_id: str, stream_ordering: int) -> dict[StateKey, str]:
        """The room's state after the event at ``stream_ordering`` (inclusive).

        While a room lives on one server its events form a single chain in
        stream order, so the state at an event is the newest state event per
        key at or before it.
        """
        latest = (
            select(
                events.c.type, events.c.state_key, func.max(events.c.stream_ordering).label("so")
            )
            .where(
                events.c.room_id == room_id,
                events.c.state_key.isnot(None),
                events.c.stream_ordering <= stream_ordering,
            )
            .group_by(events.c.type, events.c.state_key)
            .subquery()
        )
        stmt = select(events.c.type, events.c.state_key, events.c.event_id).join(
            latest,
            and_(events.c.room_id == room_id, events.c.stream_ordering == latest.c.so),
        )
        return {(r.type, r.state_key): r.event_id for r in await self._conn.execute(stmt)}

    async def state_event_at(
        self, room_id: str, key: StateKey, stream_ordering: int
    ) -> StoredEvent | None:
        """The state event for one key as it was at ``stream_ordering`` (inclusive)."""
        stmt = (
            select(events.c.room_id, *COLUMNS)
            .where(
                events.c.room_id == room_id,
                events.c.type == key[0],
                events.c.state_key == key[1],
                events.c.stream_ordering <= stream_ordering,
            )
            .order_by(events.c.stream_ordering.desc())
            .limit(1)
        )
        row = (await self._conn.execute(stmt)).first()
        return await self.parse(row) if row else None

    async def state_history(self, room_id: str, key: StateKey) -> list[tuple[int, JsonDict]]:
        """Every value one state key has had: (stream_ordering, content), oldest first."""
        stmt = (
            select(events.c.stream_ordering, events.c.json)
            .where(
                events.c.room_id == room_id,
                events.c.type == key[0],
                events.c.state_key == key[1],
            )
            .order_by(events.c.stream_ordering)
        )
        return [
            (int(row.stream_ordering), orjson.loads(row.json).get("content", {}))
            for row in await self._conn.execute(stmt)
        ]

    async def room_events(
        self,
        room_id: str,
        *,
        after: int | None = None,
        upto: int | None = None,
        limit: int,
        backwards: bool = True,
        **filters: Unpack[EventQuery],
    ) -> list[StoredEvent]:
        """Events with ``after < stream_ordering <= upto``, oldest first.

        ``backwards`` takes the newest ``limit`` of that range (timelines,
        /messages dir=b); otherwise the oldest (dir=f). ``filters``: the
        RoomEventFilter's fields, see ``event_filters.filter_clauses``.
        """
        stmt = _range(after is not None, upto is not None, backwards)
        clauses = filter_clauses(**filters)
        if clauses:
            stmt = stmt.where(*clauses)
        params = {"room": room_id, "after": after, "upto": upto, "limit": limit}
        rows = list(await self._conn.execute(stmt, params))
        if backwards:
            rows.reverse()
        return [await self.parse(row) for row in rows]

    async def stream_ordering_of(self, event_id: str) -> int | None:
        stmt = select(events.c.stream_ordering).where(events.c.event_id == event_id)
        value = (await self._conn.execute(stmt)).scalar()
        return int(value) if value is not None else None

    async def room_version(self, room_id: str) -> str | None:
        known = await self._room(room_id)
        return known[0] if known else None

    async def room_tenant(self, room_id: str) -> str | None:
        """The tenant a room belongs to (None: no such room); never changes, so cached."""
        known = await self._room(room_id)
        return known[1] if known else None

    async def _room(self, room_id: str) -> tuple[str, str] | None:
        if room_id not in self._room_versions:
            row = (await self._conn.execute(_ROOM, {"room": room_id})).first()
            if row is None:
                return None
            self._room_versions[room_id] = (str(row.room_version), str(row.tenant))
        return self._room_versions[room_id]

    async def parse(self, row: object) -> StoredEvent:
        version = await self.room_version(row.room_id)  # type: ignore[attr-defined]
        assert version is not None
        pdu = Pdu.from_storage(orjson.loads(row.json), version, row.event_id)  # type: ignore[attr-defined]
        children = bool(row.has_children)  # type: ignore[attr-defined]
        return StoredEvent(pdu, row.stream_ordering, row.redacted_by, children)  # type: ignore[attr-defined]


def _position(event: StoredEvent) -> int:
    return event.stream_ordering
