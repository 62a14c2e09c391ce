"""Stream positions: one counter for every change a client syncs."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ColumnElement, Integer, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.metadata import metadata

# One row. Every change a client must see takes the next position from it
# (UPDATE … RETURNING): the row lock makes positions commit in the order they
# were taken, so "everything after position P" never skips a late commit.
# A new room event takes its position inside the statement that stores it on
# PostgreSQL (``rooms/event_appends.py``: the same UPDATE, as a CTE, the same lock).
stream_counter = Table(
    "stream_counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("position", BigInteger, nullable=False),
)


# An incremental sync's range of the stream is short: read it whole (the stream
# position is indexed) and pick the rooms in Python, rather than send the list of
# every room a user is in — a thousand bound parameters — to look each one up.
SHORT_RANGE = 1000


def in_window(position: ColumnElement[int]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """``after < position <= upto``: what changed between two sync tokens.

    For statements built once; the caller binds ``after`` and ``upto``.
    """
    return position > bindparam("after"), position <= bindparam("upto")


_NEXT = (
    update(stream_counter)
    .where(stream_counter.c.id == 1)
    .values(position=stream_counter.c.position + 1)
    .returning(stream_counter.c.position)
)
_CURRENT = select(stream_counter.c.position).where(stream_counter.c.id == 1)


class StreamRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def next_position(self) -> int:
        """Take the next position; call it last in a write transaction.

        On PostgreSQL the UPDATE holds the counter row until commit, so
        positions become visible strictly in order (a reader that has seen
        position P has seen every position below it). SQLite has one writer.
        """
        return int((await self._conn.execute(_NEXT)).scalar_one())

    async def current(self) -> int:
        """The newest committed position."""
        return int((await self._conn.execute(_CURRENT)).scalar_one())
