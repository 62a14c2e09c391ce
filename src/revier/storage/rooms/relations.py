"""Child events and threads: the ``event_relations`` and ``threads`` tables.

Every read here takes the stream ranges the reader may see (``PositionRange``,
from history visibility), so counts and pages leave out what they could not read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import FromClause

from revier.events.relations import REFERENCE, REPLACE, THREAD
from revier.events.visibility import PositionRange
from revier.storage.rooms.tables import event_relations, events, threads

r = event_relations


@dataclass(frozen=True, slots=True)
class RelationRow:
    event_id: str
    relates_to_id: str
    rel_type: str
    room_id: str
    sender: str
    type: str
    aggregation_key: str | None
    # The thread the child is in; None: the main timeline.
    thread_id: str | None
    stream_ordering: int


@dataclass(frozen=True, slots=True)
class Child:
    """A child event as bundling needs it (an edit, a reference)."""

    relates_to_id: str
    event_id: str
    rel_type: str
    origin_server_ts: int


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    latest_event_id: str
    count: int
    # The reader sent one of the replies (the root's sender is the caller's check).
    participated: bool


# The reader's visible ranges (PositionRange) become SQL by their shape: whether
# each has a lower and an upper bound. Statements on the hot path are built once
# per shape and bound with ``_bounds`` (building one costs more than running it,
# see storage/rooms/events.py).
Shape = tuple[tuple[bool, bool], ...]


def _shape(ranges: Sequence[PositionRange]) -> Shape:
    return tuple((low is not None, high is not None) for low, high in ranges)


def _bounds(ranges: Sequence[PositionRange]) -> dict[str, int]:
    out = {}
    for i, (low, high) in enumerate(ranges):
        if low is not None:
            out[f"low{i}"] = low
        if high is not None:
            out[f"high{i}"] = high
    return out


def _in_shape(column: ColumnElement[int], shape: Shape) -> ColumnElement[bool]:
    """``column`` lies in one of the ranges (callers skip the query when none)."""
    clauses = []
    for i, (low, high) in enumerate(shape):
        bounds = []
        if low:
            bounds.append(column >= bindparam(f"low{i}", type_=BigInteger))
        if high:
            bounds.append(column <= bindparam(f"high{i}", type_=BigInteger))
        if not bounds:
            return true()
        clauses.append(and_(*bounds))
    return or_(*clauses)


@cache
def _edits_and_references(shape: Shape) -> Select[Any]:
    return (
        select(r.c.relates_to_id, r.c.event_id, r.c.rel_type, events.c.origin_server_ts)
        .join(events, events.c.event_id == r.c.event_id)
        .where(
            r.c.relates_to_id.in_(bindparam("parents", expanding=True)),
            r.c.rel_type.in_((REPLACE, REFERENCE)),
            _in_shape(r.c.stream_ordering, shape),
        )
        .order_by(r.c.stream_ordering)
    )


@cache
def _thread_summaries(shape: Shape) -> Select[Any]:
    per_root = (
        select(
            r.c.relates_to_id,
            func.count().label("replies"),
            func.max(r.c.stream_ordering).label("newest"),
            func.max(case((r.c.sender == bindparam("user"), 1), else_=0)).label("mine"),
        )
        .where(
            r.c.relates_to_id.in_(bindparam("parents", expanding=True)),
            r.c.rel_type == THREAD,
            _in_shape(r.c.stream_ordering, shape),
        )
        .group_by(r.c.relates_to_id)
        .subquery()
    )
    latest = r.alias("latest")
    return select(
        per_root.c.relates_to_id, per_root.c.replies, per_root.c.mine, latest.c.event_id
    ).join(
        latest,
        and_(
            latest.c.relates_to_id == per_root.c.relates_to_id,
            latest.c.rel_type == THREAD,
            latest.c.stream_ordering == per_root.c.newest,
        ),
    )


def related_by(
    event_id: ColumnElement[str],
    senders: Sequence[str] | None,
    rel_types: Sequence[str] | None,
) -> ColumnElement[bool]:
    """The filter API's ``related_by_senders``/``related_by_rel_types``: events that
    have a child from one of the senders and of one of the types (both on one child)."""
    stmt = select(r.c.relates_to_id)
    if senders is not None:
        stmt = stmt.where(r.c.sender.in_(senders))
    if rel_types is not None:
        stmt = stmt.where(r.c.rel_type.in_(rel_types))
    return event_id.in_(stmt)


class RelationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # --- writing ---------------------------------------------------------------

    async def add(self, row: RelationRow) -> None:
        """Record a child, and mark its parent as having children."""
        await self._conn.execute(insert(r).values(**_values(row)))
        await self._conn.execute(
            update(events).where(events.c.event_id == row.relates_to_id).values(has_children=True)
        )

    async def remove(self, event_id: str) -> RelationRow | None:
        """A redacted child is nobody's child any more: its row goes (returned)."""
        row = await self.get(event_id)
        if row is not None:
            await self._conn.execute(delete(r).where(r.c.event_id == event_id))
        return row

    async def get(self, event_id: str) -> RelationRow | None:
        found = (await self._conn.execute(select(r).where(r.c.event_id == event_id))).first()
        return RelationRow(**found._mapping) if found else None

    async def thread_ids(self, event_ids: Iterable[str]) -> dict[str, str | None]:
        """event_id -> the thread of those of the events that are children."""
        ids = list(set(event_ids))
        if not ids:
            return {}
        stmt = select(r.c.event_id, r.c.thread_id).where(r.c.event_id.in_(ids))
        return {row.event_id: row.thread_id for row in await self._conn.execute(stmt)}

    async def has_annotation(self, parent_id: str, sender: str, event_type: str, key: str) -> bool:
        """Whether the sender annotated the parent with this type and key already."""
        stmt = select(r.c.event_id).where(
            r.c.relates_to_id == parent_id,
            r.c.rel_type == "m.annotation",
            r.c.sender == sender,
            r.c.type == event_type,
            r.c.aggregation_key == key,
        )
        return (await self._conn.execute(stmt.limit(1))).first() is not None

    async def thread_replied(
        self, room_id: str, root_id: str, event_id: str, position: int
    ) -> None:
        """A new reply is its thread's newest (positions only grow)."""
        where = and_(threads.c.room_id == room_id, threads.c.thread_id == root_id)
        values = {"latest_event_id": event_id, "stream_ordering": position}
        moved = await self._conn.execute(update(threads).where(where).values(**values))
        if moved.rowcount == 0:
            await self._conn.execute(
                insert(threads).values(room_id=room_id, thread_id=root_id, **values)
            )

    async def refresh_thread(self, room_id: str, root_id: str) -> None:
        """After a reply was redacted: the newest reply left, or no thread at all."""
        where = and_(threads.c.room_id == room_id, threads.c.thread_id == root_id)
        newest = (
            await self._conn.execute(
                select(r.c.event_id, r.c.stream_ordering)
                .where(r.c.relates_to_id == root_id, r.c.rel_type == THREAD)
                .order_by(r.c.stream_ordering.desc())
                .limit(1)
            )
        ).first()
        if newest is None:
            await self._conn.execute(delete(threads).where(where))
            return
        await self._conn.execute(
            update(threads)
            .where(where)
            .values(latest_event_id=newest.event_id, stream_ordering=newest.stream_ordering)
        )

    # --- bundled aggregations ------------------------------------------------

    async def edits_and_references(
        self, parent_ids: Sequence[str], ranges: Sequence[PositionRange]
    ) -> list[Child]:
        """The parents' m.replace and m.reference children the reader may see."""
        params = {"parents": list(parent_ids), **_bounds(ranges)}
        rows = await self._conn.execute(_edits_and_references(_shape(ranges)), params)
        return [Child(*row) for row in rows]

    async def thread_summaries(
        self, root_ids: Sequence[str], user_id: str, ranges: Sequence[PositionRange]
    ) -> dict[str, ThreadSummary]:
        """Per thread root: its newest reply, how many replies, and whether ``user_id``
        sent one — counting only replies the reader may see. One query for all."""
        params = {"parents": list(root_ids), "user": user_id, **_bounds(ranges)}
        rows = await self._conn.execute(_thread_summaries(_shape(ranges)), params)
        return {
            row.relates_to_id: ThreadSummary(row.event_id, int(row.replies), bool(row.mine))
            for row in rows
        }

    # --- pages -----------------------------------------------------------------

    async def children_page(
        self,
        parent_id: str,
        *,
        rel_type: str | None,
        event_type: str | None,
        depth: int,
        ranges: Sequence[PositionRange],
        after: int | None,
        upto: int | None,
        backwards: bool,
        limit: int,
    ) -> list[tuple[str, int]]:
        """(event_id, stream_ordering) of the parent's children in ``(after, upto]``,
        newest first if ``backwards``: children of children too, ``depth`` levels
        deep, each level matching the filters (GET /relations)."""

        def matching(table: FromClause) -> list[ColumnElement[bool]]:
            clauses = []
            if rel_type is not None:
                clauses.append(table.c.rel_type == rel_type)
            if event_type is not None:
                clauses.append(table.c.type == event_type)
            return clauses

        anchor = select(r.c.event_id, r.c.stream_ordering, literal(1).label("depth")).where(
            r.c.relates_to_id == parent_id, *matching(r)
        )
        related = anchor.cte("related", recursive=depth > 1)
        if depth > 1:
            child = r.alias("child")
            related = related.union_all(
                select(child.c.event_id, child.c.stream_ordering, related.c.depth + 1)
                .join(related, child.c.relates_to_id == related.c.event_id)
                .where(related.c.depth < depth, *matching(child))
            )
        position = related.c.stream_ordering
        stmt = select(related.c.event_id, position).where(_in_shape(position, _shape(ranges)))
        if after is not None:
            stmt = stmt.where(position > after)
        if upto is not None:
            stmt = stmt.where(position <= upto)
        stmt = stmt.order_by(position.desc() if backwards else position.asc()).limit(limit)
        return [(row[0], int(row[1])) for row in await self._conn.execute(stmt, _bounds(ranges))]

    async def threads_page(
        self, room_id: str, *, before: int | None, limit: int, participant: str | None
    ) -> list[tuple[str, int]]:
        """(root event ID, position of its newest reply) of the room's threads, the
        most recently active first; ``participant``: only threads that user started
        or replied in."""
        t = threads
        stmt = select(t.c.thread_id, t.c.stream_ordering).where(t.c.room_id == room_id)
        if before is not None:
            stmt = stmt.where(t.c.stream_ordering < before)
        if participant is not None:
            replied = exists().where(
                r.c.relates_to_id == t.c.thread_id,
                r.c.rel_type == THREAD,
                r.c.sender == participant,
            )
            started = exists().where(
                events.c.event_id == t.c.thread_id, events.c.sender == participant
            )
            stmt = stmt.where(or_(replied, started))
        stmt = stmt.order_by(t.c.stream_ordering.desc()).limit(limit)
        return [(row[0], int(row[1])) for row in await self._conn.execute(stmt)]


def _values(row: RelationRow) -> dict[str, object]:
    return {
        "event_id": row.event_id,
        "relates_to_id": row.relates_to_id,
        "rel_type": row.rel_type,
        "room_id": row.room_id,
        "sender": row.sender,
        "type": row.type,
        "aggregation_key": row.aggregation_key,
        "thread_id": row.thread_id,
        "stream_ordering": row.stream_ordering,
    }
