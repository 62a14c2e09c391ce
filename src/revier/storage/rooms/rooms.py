"""Rooms, memberships and send transaction IDs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage import streams
from revier.storage.direct import Prepared
from revier.storage.rooms.tables import memberships, room_aliases, rooms
from revier.storage.streams import StreamChanges, in_window

# Statements every send runs, built once (see revier.storage.events).
_JOINED_WITH_NAMES = select(memberships.c.user_id, memberships.c.displayname).where(
    memberships.c.room_id == bindparam("room"), memberships.c.membership == "join"
)
# And those every /sync runs.
_CHANGED_FOR_USER = select(memberships).where(
    memberships.c.user_id == bindparam("user"),
    *in_window(memberships.c.stream_ordering),
)
_MEMBERSHIP_CHANGES = select(memberships.c.user_id, memberships.c.membership).where(
    memberships.c.room_id.in_(bindparam("rooms", expanding=True)),
    *in_window(memberships.c.stream_ordering),
)
_MEMBERSHIP_FIELDS = (
    "room_id",
    "user_id",
    "membership",
    "event_id",
    "stream_ordering",
    "forgotten",
    "displayname",
)
LISTED = (
    select(  # in Membership's order, then the stamp (read by position)
        *(memberships.c[name] for name in _MEMBERSHIP_FIELDS),
        rooms.c.bump_stamp,
    )
    .join(rooms, rooms.c.room_id == memberships.c.room_id)
    .where(
        memberships.c.user_id == bindparam("user"),
        memberships.c.forgotten.is_(False),
        memberships.c.stream_ordering <= bindparam("upto"),
    )
)
# A user's membership of a room, read and written for every member event:
# built once (building the expression per call was a tenth of the read's CPU).
_ONE_MEMBERSHIP = and_(
    memberships.c.room_id == bindparam("room"), memberships.c.user_id == bindparam("user")
)
_GET_MEMBERSHIP = Prepared(select(memberships).where(_ONE_MEMBERSHIP))
_UPDATE_MEMBERSHIP = Prepared(update(memberships).where(_ONE_MEMBERSHIP))
_INSERT_MEMBERSHIP = Prepared(insert(memberships))
_GET_ROOM = Prepared(select(rooms).where(rooms.c.room_id == bindparam("room")))
# Who a room's member counts and heroes are made of.
JOINED_OR_INVITED = memberships.c.membership.in_(("join", "invite"))
_COUNTS = (
    select(memberships.c.membership, func.count())
    .where(memberships.c.room_id == bindparam("room"), JOINED_OR_INVITED)
    .group_by(memberships.c.membership)
)


def heroes_of(room: str) -> Select[Any]:
    """The first ``limit`` joined or invited members but ``user``, by user ID, of the
    room bound as ``room``: a summary's heroes (one room here, many in ``many_rooms``)."""
    return (
        select(memberships.c.room_id, memberships.c.user_id)
        .where(
            memberships.c.room_id == bindparam(room),
            JOINED_OR_INVITED,
            memberships.c.user_id != bindparam("user"),
        )
        .order_by(memberships.c.user_id)
        .limit(bindparam("limit", type_=Integer))
    )


_HEROES = heroes_of("room")


@cache
def _for_user(some_kinds: bool, include_forgotten: bool) -> Select[Any]:
    stmt = select(memberships).where(memberships.c.user_id == bindparam("user"))
    if some_kinds:
        stmt = stmt.where(memberships.c.membership.in_(bindparam("kinds", expanding=True)))
    if not include_forgotten:
        stmt = stmt.where(memberships.c.forgotten.is_(False))
    return stmt


@dataclass(frozen=True, slots=True)
class Room:
    room_id: str
    tenant: str
    room_version: str
    creator: str
    created_ts: int
    is_public: bool
    bump_stamp: int | None = None


@dataclass(frozen=True, slots=True)
class Membership:
    room_id: str
    user_id: str
    membership: str
    event_id: str
    stream_ordering: int
    forgotten: bool
    displayname: str | None


# LISTED reads by position.
assert tuple(Membership.__dataclass_fields__) == _MEMBERSHIP_FIELDS


class RoomRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(self, room: Room) -> None:
        await self._conn.execute(
            insert(rooms).values(
                room_id=room.room_id,
                tenant=room.tenant,
                room_version=room.room_version,
                creator=room.creator,
                created_ts=room.created_ts,
                is_public=room.is_public,
                bump_stamp=room.bump_stamp,
            )
        )

    async def get(self, room_id: str) -> Room | None:
        row = (await _GET_ROOM.rows(self._conn, {"room": room_id})).first()
        return Room(**row._asdict()) if row else None

    async def set_public(self, room_id: str, is_public: bool) -> None:
        await self._conn.execute(
            update(rooms).where(rooms.c.room_id == room_id).values(is_public=is_public)
        )

    async def public_room_ids(self, tenant: str) -> list[str]:
        stmt = select(rooms.c.room_id).where(rooms.c.tenant == tenant, rooms.c.is_public.is_(True))
        return [row.room_id for row in await self._conn.execute(stmt)]


class MembershipRepository:
    def __init__(self, conn: AsyncConnection, changes: StreamChanges) -> None:
        self._conn = conn
        self._changes = changes

    async def record(
        self,
        room_id: str,
        user_id: str,
        membership: str,
        event_id: str,
        stream_ordering: int,
        displayname: str | None,
        *,
        exists: bool | None = None,
    ) -> None:
        """The user's membership row as of this event. ``exists``: whether the
        row is there already, when the caller knows (one statement instead of
        an update that finds nothing and then an insert)."""
        self._changes.record(stream_ordering, streams.ROOM_MEMBERS, room_id)
        self._changes.record(stream_ordering, streams.MEMBERSHIP, user_id)
        values = {
            "membership": membership,
            "event_id": event_id,
            "stream_ordering": stream_ordering,
            "forgotten": False,
            "displayname": displayname,
        }
        if exists is not False:
            # The parameters named like columns are what the UPDATE sets.
            params = {"room": room_id, "user": user_id, **values}
            if (await _UPDATE_MEMBERSHIP.rows(self._conn, params)).rowcount > 0:
                return
        await _INSERT_MEMBERSHIP.rows(
            self._conn, {"room_id": room_id, "user_id": user_id, **values}
        )

    async def get(self, room_id: str, user_id: str) -> Membership | None:
        row = (await _GET_MEMBERSHIP.rows(self._conn, {"room": room_id, "user": user_id})).first()
        return Membership(**row._asdict()) if row else None

    async def for_user(
        self, user_id: str, kinds: Sequence[str] | None = None, *, include_forgotten: bool = False
    ) -> list[Membership]:
        stmt = _for_user(kinds is not None, include_forgotten)
        params = {"user": user_id, "kinds": list(kinds or ())}
        return [Membership(**row._mapping) for row in await self._conn.execute(stmt, params)]

    async def changed_for_user(self, user_id: str, after: int, upto: int) -> list[Membership]:
        params = {"user": user_id, "after": after, "upto": upto}
        rows = await self._conn.execute(_CHANGED_FOR_USER, params)
        return [Membership(**row._mapping) for row in rows]

    async def members(
        self, room_id: str, kinds: Sequence[str] = ("join",), *, limit: int | None = None
    ) -> list[str]:
        """Member user IDs in a stable order (so batches of a big room make progress)."""
        stmt = (
            select(memberships.c.user_id)
            .where(memberships.c.room_id == room_id, memberships.c.membership.in_(kinds))
            .order_by(memberships.c.user_id)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return [row.user_id for row in await self._conn.execute(stmt)]

    async def joined_with_names(self, room_id: str) -> list[tuple[str, str | None]]:
        rows = await self._conn.execute(_JOINED_WITH_NAMES, {"room": room_id})
        return [(row.user_id, row.displayname) for row in rows]

    async def counts(self, room_id: str) -> tuple[int, int]:
        """(joined, invited) member counts."""
        rows = await self._conn.execute(_COUNTS, {"room": room_id})
        counted = {row[0]: int(row[1]) for row in rows}
        return counted.get("join", 0), counted.get("invite", 0)

    async def heroes(self, room_id: str, user_id: str, limit: int) -> list[str]:
        """A few other joined or invited members, in a stable order."""
        params = {"room": room_id, "user": user_id, "limit": limit}
        return [row.user_id for row in await self._conn.execute(_HEROES, params)]

    async def count(self, room_id: str, membership: str = "join") -> int:
        stmt = select(func.count()).where(
            memberships.c.room_id == room_id, memberships.c.membership == membership
        )
        return int((await self._conn.execute(stmt)).scalar_one())

    async def forget(self, room_id: str, user_id: str, position: int) -> None:
        """``position``: the forget's own stream position (the user's room list
        changes; the membership keeps the position of its event)."""
        self._changes.record(position, streams.MEMBERSHIP, user_id)
        await self._conn.execute(
            update(memberships)
            .where(memberships.c.room_id == room_id, memberships.c.user_id == user_id)
            .values(forgotten=True)
        )

    async def listed_for_user(self, user_id: str, upto: int) -> list[tuple[Membership, int | None]]:
        """The user's memberships up to ``upto`` (forgotten rooms left out), each with
        its room's bump stamp: what sliding sync's room lists are made of."""
        rows = await self._conn.execute(LISTED, {"user": user_id, "upto": upto})
        # Unpacked by position: a user in a thousand rooms reads a thousand rows on
        # every sliding-sync request, and attribute lookups on rows add up.
        return [(Membership(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]), r[7]) for r in rows]

    async def joined_members(self, room_ids: Sequence[str]) -> set[str]:
        """Everyone joined to one of the rooms."""
        stmt = (
            select(memberships.c.user_id)
            .where(memberships.c.room_id.in_(list(room_ids)), memberships.c.membership == "join")
            .distinct()
        )
        return {row.user_id for row in await self._conn.execute(stmt)}

    async def joined_by_room(self, room_ids: Sequence[str]) -> dict[str, set[str]]:
        """Per room, who is joined."""
        stmt = select(memberships.c.room_id, memberships.c.user_id).where(
            memberships.c.room_id.in_(list(room_ids)), memberships.c.membership == "join"
        )
        out: dict[str, set[str]] = {}
        for row in await self._conn.execute(stmt):
            out.setdefault(row.room_id, set()).add(row.user_id)
        return out

    async def changes_in_rooms(
        self, room_ids: Sequence[str], after: int, upto: int
    ) -> list[tuple[str, str]]:
        """(user_id, membership) of those whose membership in these rooms changed in the window."""
        if not room_ids:
            return []
        params = {"rooms": list(room_ids), "after": after, "upto": upto}
        rows = await self._conn.execute(_MEMBERSHIP_CHANGES, params)
        return [(row.user_id, row.membership) for row in rows]

    async def sharing_a_room_among(self, user_id: str, candidates: Iterable[str]) -> set[str]:
        """Those of ``candidates`` who share a joined room with ``user_id``."""
        wanted = list(set(candidates))
        if not wanted:
            return set()
        mine = select(memberships.c.room_id).where(
            memberships.c.user_id == user_id, memberships.c.membership == "join"
        )
        out: set[str] = set()
        for start in range(0, len(wanted), 500):
            stmt = (
                select(memberships.c.user_id)
                .where(
                    memberships.c.room_id.in_(mine),
                    memberships.c.membership == "join",
                    memberships.c.user_id.in_(wanted[start : start + 500]),
                )
                .distinct()
            )
            out |= {row.user_id for row in await self._conn.execute(stmt)}
        return out

    async def users_sharing_a_room(self, user_id: str) -> set[str]:
        mine = select(memberships.c.room_id).where(
            memberships.c.user_id == user_id, memberships.c.membership == "join"
        )
        stmt = (
            select(memberships.c.user_id)
            .where(memberships.c.room_id.in_(mine), memberships.c.membership == "join")
            .distinct()
        )
        return {row.user_id for row in await self._conn.execute(stmt)}


class AliasRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(self, room_alias: str, room_id: str, creator: str) -> None:
        await self._conn.execute(
            insert(room_aliases).values(room_alias=room_alias, room_id=room_id, creator=creator)
        )

    async def room_id_for(self, room_alias: str) -> str | None:
        stmt = select(room_aliases.c.room_id).where(room_aliases.c.room_alias == room_alias)
        value = (await self._conn.execute(stmt)).scalar()
        return str(value) if value is not None else None

    async def creator_of(self, room_alias: str) -> str | None:
        stmt = select(room_aliases.c.creator).where(room_aliases.c.room_alias == room_alias)
        value = (await self._conn.execute(stmt)).scalar()
        return str(value) if value is not None else None

    async def for_room(self, room_id: str) -> list[str]:
        stmt = select(room_aliases.c.room_alias).where(room_aliases.c.room_id == room_id)
        return [row.room_alias for row in await self._conn.execute(stmt)]

    async def delete(self, room_alias: str) -> None:
        await self._conn.execute(
            delete(room_aliases).where(room_aliases.c.room_alias == room_alias)
        )
