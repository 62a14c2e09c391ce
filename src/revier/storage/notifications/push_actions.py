"""Notifications decided at send time, counted for unread badges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Integer, bindparam, delete, func, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.relations import MAIN_THREAD
from revier.storage.notifications.tables import event_push_actions


@dataclass(frozen=True, slots=True)
class PushAction:
    user_id: str
    room_id: str
    stream_ordering: int
    highlight: bool
    # The thread the event is in; None: the main timeline.
    thread_id: str | None = None


@dataclass(frozen=True, slots=True)
class UnreadCounts:
    notification_count: int
    highlight_count: int


_INSERT = insert(event_push_actions)
_INSERT_COLUMNS = ("user_id", "room_id", "stream_ordering", "highlight", "thread_id")


@cache
def _insert_sql(dialect: Dialect) -> str:
    """The insert of one row, in ``dialect``'s SQL, its parameters in ``_INSERT_COLUMNS``' order."""
    compiled = _INSERT.compile(dialect=dialect)
    # Positional paramstyles only (SQLite's qmark, asyncpg's numeric_dollar).
    assert tuple(compiled.positiontup or ()) == _INSERT_COLUMNS, compiled.positiontup
    return str(compiled)


_UNREAD = select(
    func.count(),
    func.coalesce(func.sum(func.cast(event_push_actions.c.highlight, Integer)), 0),
).where(
    event_push_actions.c.user_id == bindparam("user"),
    event_push_actions.c.room_id == bindparam("room"),
    event_push_actions.c.stream_ordering > bindparam("after"),
)


class PushActionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, actions: Sequence[PushAction]) -> None:
        if actions:
            # A message writes a row per notified member: SQLAlchemy's processing
            # of each row's parameters cost as much as SQLite's inserts themselves
            # (docs/benchmarks.md), so the rows go to the driver as tuples, in the
            # insert compiled once for the engine's dialect.
            await self._conn.exec_driver_sql(
                _insert_sql(self._conn.dialect),
                [
                    (a.user_id, a.room_id, a.stream_ordering, a.highlight, a.thread_id)
                    for a in actions
                ],
            )

    async def unread(self, user_id: str, room_id: str, after: int) -> UnreadCounts:
        """Notifications for events after ``after`` (the user's read receipt)."""
        params = {"user": user_id, "room": room_id, "after": after}
        row = (await self._conn.execute(_UNREAD, params)).one()
        return UnreadCounts(int(row[0]), int(row[1]))

    async def unread_in_rooms(
        self, user_id: str, room_ids: Sequence[str]
    ) -> dict[str, UnreadCounts]:
        """room_id -> the user's notifications in it, for many rooms (all of them: a read
        receipt deletes what it covers)."""
        out = {r: UnreadCounts(0, 0) for r in room_ids}
        for start in range(0, len(room_ids), 500):
            stmt = (
                select(
                    event_push_actions.c.room_id,
                    func.count(),
                    func.coalesce(func.sum(func.cast(event_push_actions.c.highlight, Integer)), 0),
                )
                .where(
                    event_push_actions.c.user_id == user_id,
                    event_push_actions.c.room_id.in_(room_ids[start : start + 500]),
                )
                .group_by(event_push_actions.c.room_id)
            )
            for row in await self._conn.execute(stmt):
                out[row[0]] = UnreadCounts(int(row[1]), int(row[2]))
        return out

    async def pending(self, user_ids: Sequence[str], after: int, upto: int) -> list[PushAction]:
        """The users' notifications in (after, upto], oldest first: what their pushers
        are owed. Read ones are gone already (``clear_upto``), so a phone is never
        woken for what its owner read elsewhere meanwhile."""
        a = event_push_actions
        stmt = (
            select(a.c.user_id, a.c.room_id, a.c.stream_ordering, a.c.highlight)
            .where(a.c.user_id.in_(user_ids), a.c.stream_ordering > after)
            .where(a.c.stream_ordering <= upto)
            .order_by(a.c.stream_ordering)
        )
        return [PushAction(*row) for row in await self._conn.execute(stmt)]

    async def badges(self, user_ids: Sequence[str]) -> dict[str, int]:
        """Per user, the rooms with unread notifications: a push's ``counts.unread``
        (Synapse's default, ``group_unread_count_by_room``)."""
        a = event_push_actions
        stmt = (
            select(a.c.user_id, func.count(func.distinct(a.c.room_id)))
            .where(a.c.user_id.in_(user_ids))
            .group_by(a.c.user_id)
        )
        return {row[0]: int(row[1]) for row in await self._conn.execute(stmt)}

    async def newest(self, user_ids: Sequence[str]) -> dict[str, PushAction]:
        """Per user, the newest unread notification (what a duty-start push shows)."""
        a = event_push_actions
        newest = (
            select(a.c.user_id, func.max(a.c.stream_ordering).label("latest"))
            .where(a.c.user_id.in_(user_ids))
            .group_by(a.c.user_id)
            .subquery()
        )
        stmt = select(a.c.user_id, a.c.room_id, a.c.stream_ordering, a.c.highlight).join(
            newest,
            (a.c.user_id == newest.c.user_id) & (a.c.stream_ordering == newest.c.latest),
        )
        return {row[0]: PushAction(*row) for row in await self._conn.execute(stmt)}

    async def page(
        self, user_id: str, before: int | None, limit: int, *, highlight_only: bool
    ) -> list[PushAction]:
        """GET /notifications: the user's notifications before ``before``, newest first."""
        a = event_push_actions
        stmt = select(a.c.user_id, a.c.room_id, a.c.stream_ordering, a.c.highlight).where(
            a.c.user_id == user_id
        )
        if before is not None:
            stmt = stmt.where(a.c.stream_ordering < before)
        if highlight_only:
            stmt = stmt.where(a.c.highlight.is_(True))
        stmt = stmt.order_by(a.c.stream_ordering.desc()).limit(limit)
        return [PushAction(*row) for row in await self._conn.execute(stmt)]

    async def unread_by_thread(self, user_id: str, room_id: str) -> dict[str | None, UnreadCounts]:
        """The unread counts per thread (None: the main timeline), threads without
        any left out."""
        a = event_push_actions
        stmt = (
            select(a.c.thread_id, func.count(), func.sum(func.cast(a.c.highlight, Integer)))
            .where(a.c.user_id == user_id, a.c.room_id == room_id)
            .group_by(a.c.thread_id)
        )
        return {
            row[0]: UnreadCounts(int(row[1]), int(row[2] or 0))
            for row in await self._conn.execute(stmt)
        }

    async def unread_by_thread_in_rooms(
        self, user_id: str, room_ids: Sequence[str]
    ) -> dict[str, dict[str | None, UnreadCounts]]:
        """room_id -> ``unread_by_thread`` of the room, for many rooms."""
        a = event_push_actions
        out: dict[str, dict[str | None, UnreadCounts]] = {r: {} for r in room_ids}
        for start in range(0, len(room_ids), 500):
            stmt = (
                select(
                    a.c.room_id,
                    a.c.thread_id,
                    func.count(),
                    func.sum(func.cast(a.c.highlight, Integer)),
                )
                .where(a.c.user_id == user_id, a.c.room_id.in_(room_ids[start : start + 500]))
                .group_by(a.c.room_id, a.c.thread_id)
            )
            for row in await self._conn.execute(stmt):
                out[row[0]][row[1]] = UnreadCounts(int(row[2]), int(row[3] or 0))
        return out

    async def clear_upto(
        self, user_id: str, room_id: str, upto: int, thread_id: str | None = None
    ) -> None:
        """Read up to ``upto``: nothing before it counts any more — everywhere (an
        unthreaded receipt), or only in one thread (``main``: the main timeline)."""
        a = event_push_actions
        stmt = delete(a).where(
            a.c.user_id == user_id, a.c.room_id == room_id, a.c.stream_ordering <= upto
        )
        if thread_id == MAIN_THREAD:
            stmt = stmt.where(a.c.thread_id.is_(None))
        elif thread_id is not None:
            stmt = stmt.where(a.c.thread_id == thread_id)
        await self._conn.execute(stmt)

    async def forget_events(self, positions: Sequence[int]) -> None:
        """Purged events' actions (stream positions are unique across rooms)."""
        if positions:
            await self._conn.execute(
                delete(event_push_actions).where(
                    event_push_actions.c.stream_ordering.in_(positions)
                )
            )

    async def forget_room(self, room_id: str) -> None:
        """A purged room notifies nobody any more."""
        await self._conn.execute(
            delete(event_push_actions).where(event_push_actions.c.room_id == room_id)
        )
