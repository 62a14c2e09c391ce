"""What the admin room list shows: many rooms' metadata in a handful of queries.

Each method answers for a whole page of rooms at once (never one query per
room), so listing thousands of rooms stays a few round trips. Only state
events' content is read, never a message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import orjson
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.types import JsonDict
from revier.storage.rooms.rooms import Room
from revier.storage.rooms.tables import current_state, events, memberships, room_aliases, rooms

_CHUNK = 500


class RoomOverviewRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def rooms(self, tenant: str, *, offset: int = 0, limit: int | None = None) -> list[Room]:
        """The tenant's rooms, newest first."""
        stmt = (
            select(rooms)
            .where(rooms.c.tenant == tenant)
            .order_by(rooms.c.created_ts.desc(), rooms.c.room_id)
            .offset(offset)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return [Room(**row._mapping) for row in await self._conn.execute(stmt)]

    async def count(self, tenant: str) -> int:
        stmt = select(func.count()).select_from(rooms).where(rooms.c.tenant == tenant)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def state_contents(
        self, room_ids: Sequence[str], types: Iterable[str]
    ) -> dict[str, dict[str, JsonDict]]:
        """room_id -> {event type: content} of the current state events with
        state_key "" of these types."""
        out: dict[str, dict[str, JsonDict]] = defaultdict(dict)
        for chunk in _chunks(room_ids):
            await self._state_contents(current_state.c.room_id.in_(chunk), types, out)
        return out

    async def tenant_state_contents(
        self, tenant: str, types: Iterable[str]
    ) -> dict[str, dict[str, JsonDict]]:
        """``state_contents`` of every room of the tenant, in one query (for searching)."""
        out: dict[str, dict[str, JsonDict]] = defaultdict(dict)
        of_tenant = select(rooms.c.room_id).where(rooms.c.tenant == tenant)
        await self._state_contents(current_state.c.room_id.in_(of_tenant), types, out)
        return out

    async def _state_contents(
        self,
        which: ColumnElement[bool],
        types: Iterable[str],
        out: dict[str, dict[str, JsonDict]],
    ) -> None:
        stmt = (
            select(current_state.c.room_id, current_state.c.type, events.c.json)
            .join(events, events.c.event_id == current_state.c.event_id)
            .where(which, current_state.c.type.in_(list(types)), current_state.c.state_key == "")
        )
        for row in await self._conn.execute(stmt):
            content = orjson.loads(row.json).get("content")
            out[row.room_id][row.type] = content if isinstance(content, dict) else {}

    async def member_counts(self, room_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """room_id -> {membership: count} for joined, invited and knocking members."""
        out: dict[str, dict[str, int]] = defaultdict(dict)
        for chunk in _chunks(room_ids):
            stmt = (
                select(memberships.c.room_id, memberships.c.membership, func.count())
                .where(
                    memberships.c.room_id.in_(chunk),
                    memberships.c.membership.in_(("join", "invite", "knock")),
                )
                .group_by(memberships.c.room_id, memberships.c.membership)
            )
            for room_id, membership, count in await self._conn.execute(stmt):
                out[room_id][membership] = int(count)
        return out

    async def aliases(self, room_ids: Sequence[str]) -> dict[str, list[str]]:
        """room_id -> the room's local aliases (sorted)."""
        out: dict[str, list[str]] = defaultdict(list)
        for chunk in _chunks(room_ids):
            await self._aliases(room_aliases.c.room_id.in_(chunk), out)
        return {room_id: sorted(found) for room_id, found in out.items()}

    async def tenant_aliases(self, tenant: str) -> dict[str, list[str]]:
        """``aliases`` of every room of the tenant, in one query (for searching)."""
        out: dict[str, list[str]] = defaultdict(list)
        of_tenant = select(rooms.c.room_id).where(rooms.c.tenant == tenant)
        await self._aliases(room_aliases.c.room_id.in_(of_tenant), out)
        return dict(out)

    async def _aliases(self, which: ColumnElement[bool], out: dict[str, list[str]]) -> None:
        stmt = select(room_aliases.c.room_id, room_aliases.c.room_alias).where(which)
        for row in await self._conn.execute(stmt):
            out[row.room_id].append(row.room_alias)


def _chunks(items: Sequence[str]) -> Iterable[list[str]]:
    values = list(items)
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
