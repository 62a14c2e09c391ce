"""Notifications decided at send time, counted for unread badges.

What a member is owed is the sum over three tables (``owed.py``): a shared row
per message that notifies its members the common way, a row per member it
treats otherwise, and each member's read positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Integer,
    Select,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.relations import MAIN_THREAD
from revier.storage.direct import Prepared
from revier.storage.notifications.owed import UNTHREADED, owed
from revier.storage.notifications.tables import (
    event_notifications,
    event_push_actions,
    notification_reads,
)
from revier.storage.rooms.tables import memberships


@dataclass(frozen=True, slots=True)
class PushAction:
    user_id: str
    room_id: str
    stream_ordering: int
    highlight: bool
    # The thread the event is in; None: the main timeline.
    thread_id: str | None = None
    # False: the member is not notified, only left out of the event's shared row.
    notify: bool = True


@dataclass(frozen=True, slots=True)
class SharedNotification:
    """A message that notifies every member joined when it came the common way
    (a notification, no highlight), but its sender and those with a row of their own."""

    room_id: str
    stream_ordering: int
    sender: str
    thread_id: str | None = None


@dataclass(frozen=True, slots=True)
class UnreadCounts:
    notification_count: int
    highlight_count: int


_INSERT = insert(event_push_actions)
_INSERT_COLUMNS = ("user_id", "room_id", "stream_ordering", "highlight", "thread_id", "notify")


@cache
def _insert_sql(dialect: Dialect) -> str:
    """The insert of one row, in ``dialect``'s SQL, its parameters in ``_INSERT_COLUMNS``' order."""
    compiled = _INSERT.compile(dialect=dialect)
    # Positional paramstyles only (SQLite's qmark, asyncpg's numeric_dollar).
    assert tuple(compiled.positiontup or ()) == _INSERT_COLUMNS, compiled.positiontup
    return str(compiled)


_A, _E, _M = event_push_actions, event_notifications, memberships
_SHARED_INSERT = Prepared(insert(_E))


def _counted(rows: CompoundSelect[Any], *by: str) -> Select[Any]:
    """count and highlights of ``rows`` (an ``owed`` selectable), grouped ``by``."""
    sub = rows.subquery()
    return select(
        *(sub.c[name] for name in by),
        func.count(),
        func.coalesce(func.sum(func.cast(sub.c.highlight, Integer)), 0),
    ).group_by(*(sub.c[name] for name in by))


# Every statement is built once, its values bound at execution: building and
# caching a statement of this size costs more than running it (a sliding-sync
# answer that built its count per request spent ~1 ms there).
_USER: BindParameter[str] = bindparam("user")
_ROOM: BindParameter[str] = bindparam("room")
_USERS: BindParameter[list[str]] = bindparam("users", expanding=True)
_ROOMS: BindParameter[list[str]] = bindparam("rooms", expanding=True)
_ONE_ROOM = owed(
    [_A.c.user_id == _USER, _A.c.room_id == _ROOM], [_M.c.user_id == _USER, _M.c.room_id == _ROOM]
)
_SOME_ROOMS = owed(
    [_A.c.user_id == _USER, _A.c.room_id.in_(_ROOMS)],
    [_M.c.user_id == _USER, _M.c.room_id.in_(_ROOMS)],
)
# Every /sync runs one of these (a woken one, one of the first two).
_UNREAD = Prepared(_counted(_ONE_ROOM))
_UNREAD_BY_THREAD = Prepared(_counted(_ONE_ROOM, "thread_id"))
_UNREAD_IN_ROOMS = Prepared(_counted(_SOME_ROOMS, "room_id"))
_UNREAD_BY_THREAD_IN_ROOMS = Prepared(_counted(_SOME_ROOMS, "room_id", "thread_id"))

_OF_USERS = owed([_A.c.user_id.in_(_USERS)], [_M.c.user_id.in_(_USERS)]).subquery()
_BADGES = select(_OF_USERS.c.user_id, func.count(func.distinct(_OF_USERS.c.room_id))).group_by(
    _OF_USERS.c.user_id
)
_RANKED = select(
    _OF_USERS.c.user_id,
    _OF_USERS.c.room_id,
    _OF_USERS.c.stream_ordering,
    _OF_USERS.c.highlight,
    func.row_number()
    .over(partition_by=_OF_USERS.c.user_id, order_by=_OF_USERS.c.stream_ordering.desc())
    .label("n"),
).subquery()
_NEWEST = select(
    _RANKED.c.user_id, _RANKED.c.room_id, _RANKED.c.stream_ordering, _RANKED.c.highlight
).where(_RANKED.c.n == 1)

_AFTER: BindParameter[int] = bindparam("after")
_UPTO: BindParameter[int] = bindparam("upto")
_OWED_IN_RANGE = owed(
    [_A.c.user_id.in_(_USERS), _A.c.stream_ordering > _AFTER, _A.c.stream_ordering <= _UPTO],
    [_M.c.user_id.in_(_USERS), _E.c.stream_ordering > _AFTER, _E.c.stream_ordering <= _UPTO],
).subquery()
_PENDING = select(
    _OWED_IN_RANGE.c.user_id,
    _OWED_IN_RANGE.c.room_id,
    _OWED_IN_RANGE.c.stream_ordering,
    _OWED_IN_RANGE.c.highlight,
).order_by(_OWED_IN_RANGE.c.stream_ordering, _OWED_IN_RANGE.c.user_id)


@cache
def _read_upto(is_sqlite: bool) -> Any:
    """A member's read position moved to ``upto``, never back (every read receipt)."""
    r = notification_reads
    insert_ = sqlite.insert(r) if is_sqlite else postgresql.insert(r)
    new = insert_.excluded.upto
    return insert_.on_conflict_do_update(
        index_elements=[r.c.user_id, r.c.room_id, r.c.thread_key],
        set_={"upto": case((r.c.upto < new, new), else_=r.c.upto)},
    )


@cache
def _page(before: bool, highlight_only: bool) -> Select[Any]:
    """GET /notifications: one user's, newest first, ``before`` a position if asked."""
    own = [_A.c.user_id == _USER]
    shared = [_M.c.user_id == _USER]
    if before:
        own.append(_A.c.stream_ordering < bindparam("before"))
        shared.append(_E.c.stream_ordering < bindparam("before"))
    if highlight_only:
        own.append(_A.c.highlight.is_(True))
        shared.append(false())  # a shared row is never a highlight
    rows = owed(own, shared).subquery()
    return (
        select(rows.c.user_id, rows.c.room_id, rows.c.stream_ordering, rows.c.highlight)
        .order_by(rows.c.stream_ordering.desc())
        .limit(bindparam("limit", type_=Integer))
    )


class PushActionRepository:
    def __init__(self, conn: AsyncConnection, *, is_sqlite: bool) -> None:
        self._conn = conn
        self._is_sqlite = is_sqlite

    async def add(
        self, actions: Sequence[PushAction], shared: SharedNotification | None = None
    ) -> None:
        """An event's notifications: its shared row if any, and the members' own rows."""
        if shared is not None:
            await _SHARED_INSERT.rows(
                self._conn,
                {
                    "room_id": shared.room_id,
                    "stream_ordering": shared.stream_ordering,
                    "sender": shared.sender,
                    "thread_id": shared.thread_id,
                },
            )
        if actions:
            # SQLAlchemy's processing of each row's parameters cost as much as
            # SQLite's inserts themselves (docs/benchmarks.md), so the rows go to
            # the driver as tuples, in the insert compiled once for the dialect.
            await self._conn.exec_driver_sql(
                _insert_sql(self._conn.dialect),
                [
                    (a.user_id, a.room_id, a.stream_ordering, a.highlight, a.thread_id, a.notify)
                    for a in actions
                ],
            )

    async def unread(self, user_id: str, room_id: str) -> UnreadCounts:
        """The member's unread notifications in the room."""
        row = (await _UNREAD.rows(self._conn, {"user": user_id, "room": room_id})).one()
        return UnreadCounts(int(row[0]), int(row[1]))

    async def unread_in_rooms(
        self, user_id: str, room_ids: Sequence[str]
    ) -> dict[str, UnreadCounts]:
        """room_id -> ``unread`` of the room, for many rooms (one: the statement
        without a list, ~20 µs less for the woken /sync that asks for one)."""
        if len(room_ids) == 1:
            return {room_ids[0]: await self.unread(user_id, room_ids[0])}
        out = {r: UnreadCounts(0, 0) for r in room_ids}
        for start in range(0, len(room_ids), 500):
            params = {"user": user_id, "rooms": list(room_ids[start : start + 500])}
            for row in await _UNREAD_IN_ROOMS.rows(self._conn, params):
                out[row[0]] = UnreadCounts(int(row[1]), int(row[2]))
        return out

    async def pending(self, user_ids: Sequence[str], after: int, upto: int) -> list[PushAction]:
        """The users' notifications in (after, upto], oldest first: what their pushers
        are owed. Read ones are not (a receipt deletes rows and moves the read
        positions), so a phone is never woken for what its owner read elsewhere."""
        params = {"users": list(user_ids), "after": after, "upto": upto}
        return [PushAction(*row) for row in await self._conn.execute(_PENDING, params)]

    async def badges(self, user_ids: Sequence[str]) -> dict[str, int]:
        """Per user, the rooms with unread notifications: a push's ``counts.unread``
        (Synapse's default, ``group_unread_count_by_room``)."""
        rows = await self._conn.execute(_BADGES, {"users": list(user_ids)})
        return {row[0]: int(row[1]) for row in rows}

    async def newest(self, user_ids: Sequence[str]) -> dict[str, PushAction]:
        """Per user, the newest unread notification (what a duty-start push shows)."""
        rows = await self._conn.execute(_NEWEST, {"users": list(user_ids)})
        return {row[0]: PushAction(*row) for row in rows}

    async def page(
        self, user_id: str, before: int | None, limit: int, *, highlight_only: bool
    ) -> list[PushAction]:
        """GET /notifications: the user's notifications before ``before``, newest first."""
        params: dict[str, object] = {"user": user_id, "limit": limit}
        if before is not None:
            params["before"] = before
        stmt = _page(before is not None, highlight_only)
        return [PushAction(*row) for row in await self._conn.execute(stmt, params)]

    async def unread_by_thread(self, user_id: str, room_id: str) -> dict[str | None, UnreadCounts]:
        """The unread counts per thread (None: the main timeline), threads without
        any left out."""
        params = {"user": user_id, "room": room_id}
        return {
            row[0]: UnreadCounts(int(row[1]), int(row[2] or 0))
            for row in await _UNREAD_BY_THREAD.rows(self._conn, params)
        }

    async def unread_by_thread_in_rooms(
        self, user_id: str, room_ids: Sequence[str]
    ) -> dict[str, dict[str | None, UnreadCounts]]:
        """room_id -> ``unread_by_thread`` of the room, for many rooms (one: as above)."""
        if len(room_ids) == 1:
            return {room_ids[0]: await self.unread_by_thread(user_id, room_ids[0])}
        out: dict[str, dict[str | None, UnreadCounts]] = {r: {} for r in room_ids}
        for start in range(0, len(room_ids), 500):
            params = {"user": user_id, "rooms": list(room_ids[start : start + 500])}
            for row in await _UNREAD_BY_THREAD_IN_ROOMS.rows(self._conn, params):
                out[row[0]][row[1]] = UnreadCounts(int(row[2]), int(row[3] or 0))
        return out

    async def clear_upto(
        self, user_id: str, room_id: str, upto: int, thread_id: str | None = None
    ) -> None:
        """Read up to ``upto``: nothing before it counts any more — everywhere (an
        unthreaded receipt, a join or a leave), or only in one thread (``main``: the
        main timeline). The member's own rows go; the read position moves (never back)."""
        a = event_push_actions
        stmt = delete(a).where(
            a.c.user_id == user_id, a.c.room_id == room_id, a.c.stream_ordering <= upto
        )
        if thread_id == MAIN_THREAD:
            stmt = stmt.where(a.c.thread_id.is_(None))
        elif thread_id is not None:
            stmt = stmt.where(a.c.thread_id == thread_id)
        await self._conn.execute(stmt)
        thread_key = UNTHREADED if thread_id is None else thread_id
        await self._conn.execute(
            _read_upto(self._is_sqlite),
            {"user_id": user_id, "room_id": room_id, "thread_key": thread_key, "upto": upto},
        )

    async def forget_events(self, positions: Sequence[int]) -> None:
        """Purged events' notifications (stream positions are unique across rooms)."""
        if positions:
            for table in (event_push_actions, event_notifications):
                await self._conn.execute(
                    delete(table).where(table.c.stream_ordering.in_(positions))
                )

    async def forget_room(self, room_id: str) -> None:
        """A purged room notifies nobody any more."""
        for table in (event_push_actions, event_notifications, notification_reads):
            await self._conn.execute(delete(table).where(table.c.room_id == room_id))
