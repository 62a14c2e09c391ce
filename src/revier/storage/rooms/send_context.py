"""What a new event is built on, read in one round trip.

Every send needs three things of its room before it writes: the current state
its auth rules check, the forward extremities (its prev_events, and their
depth), and — for a message — the joined members whose push rules it meets.
They are one ``UNION ALL`` here, one branch each, told apart by ``kind``,
instead of three statements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Label, Select, bindparam, literal_column, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.pdu import Pdu
from revier.events.types import StateKey
from revier.storage.direct import Prepared
from revier.storage.rooms.events import STATE_EVENTS, EventRepository
from revier.storage.rooms.tables import events, forward_extremities, memberships

_STATE, _EXTREMITY, _MEMBER = 0, 1, 2


def _branch(kind: int, stmt: Select[Any]) -> Select[Any]:
    return stmt.add_columns(literal_column(str(kind)).label("kind"))


def _none(name: str) -> Label[Any]:
    return null().label(name)


# Columns of every branch: kind, type, state_key, room_id, event_id, json,
# stream_ordering, redacted_by, has_children, depth, displayname.
_STATE_ROWS = _branch(_STATE, STATE_EVENTS.add_columns(events.c.depth, _none("displayname")))
_EXTREMITY_ROWS = _branch(
    _EXTREMITY,
    select(
        _none("type"),
        _none("state_key"),
        events.c.room_id,
        events.c.event_id,
        _none("json"),
        events.c.stream_ordering,
        events.c.redacted_by,
        events.c.has_children,
        events.c.depth,
        _none("displayname"),
    )
    .join_from(forward_extremities, events, events.c.event_id == forward_extremities.c.event_id)
    .where(forward_extremities.c.room_id == bindparam("room")),
)
# A member's user ID is the state key of their m.room.member event.
_MEMBER_ROWS = _branch(
    _MEMBER,
    select(
        _none("type"),
        memberships.c.user_id.label("state_key"),
        memberships.c.room_id,
        *(_none(name) for name in ("event_id", "json", "stream_ordering", "redacted_by")),
        *(_none(name) for name in ("has_children", "depth")),
        memberships.c.displayname,
    ).where(memberships.c.room_id == bindparam("room"), memberships.c.membership == "join"),
)
_WITHOUT_MEMBERS = Prepared(union_all(_STATE_ROWS, _EXTREMITY_ROWS))
_WITH_MEMBERS = Prepared(union_all(_STATE_ROWS, _EXTREMITY_ROWS, _MEMBER_ROWS))


@dataclass
class SendContext:
    state: dict[StateKey, Pdu] = field(default_factory=dict)
    prev_events: list[str] = field(default_factory=list)
    prev_depth: int = 0
    # Joined members (user ID, display name); None: not asked for.
    members: list[tuple[str, str | None]] | None = None


class SendContextRepository:
    def __init__(self, conn: AsyncConnection, events: EventRepository) -> None:
        self._conn = conn
        self._events = events

    async def read(self, room_id: str, keys: Iterable[StateKey], *, members: bool) -> SendContext:
        """The current state at ``keys``, the room's extremities and their greatest
        depth, and if ``members`` (an event that may notify) its joined members."""
        found = SendContext(members=[] if members else None)
        stmt = _WITH_MEMBERS if members else _WITHOUT_MEMBERS
        params = {"room": room_id, "keys": sorted(set(keys))}
        for row in await stmt.rows(self._conn, params):
            if row.kind == _STATE:
                found.state[(row.type, row.state_key)] = (await self._events.parse(row)).pdu
            elif row.kind == _EXTREMITY:
                found.prev_events.append(row.event_id)
                found.prev_depth = max(found.prev_depth, int(row.depth))
            elif found.members is not None:
                found.members.append((row.state_key, row.displayname))
        return found
